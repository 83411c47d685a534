import keras

m = keras.metrics.Mean()
m.update_state([1.0, 2.0, 3.0])
m.update_state([10.0], sample_weight=[2.0])
assert abs(float(m.result()) - 26.0 / 5.0) < 1e-6
s = keras.metrics.Sum()
s.update_state([1.0, 2.0])
assert abs(float(s.result()) - 3.0) < 1e-6
s.reset_state()
assert float(s.result()) == 0.0
