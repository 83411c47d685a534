import h5py
import keras
import numpy as np

model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4), keras.layers.Dense(2)])
model.save_weights("w.weights.h5")
with h5py.File("w.weights.h5") as f:
    names = []
    f.visit(names.append)
assert any(n.endswith("vars/0") for n in names)
other = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4), keras.layers.Dense(2)])
other.load_weights("w.weights.h5")
for a, b in zip(model.get_weights(), other.get_weights()):
    np.testing.assert_array_equal(a, b)
try:
    model.save_weights("w.h5")
except ValueError as e:
    assert ".weights.h5" in str(e)
else:
    raise AssertionError("Keras 3 requires the .weights.h5 suffix")
