import keras
import numpy as np

keras.utils.set_random_seed(0)
rng = np.random.default_rng(0)
a = rng.standard_normal((256, 3)).astype("float32")
b = rng.standard_normal((256, 2)).astype("float32")
y = (a.sum(1, keepdims=True) - 2 * b[:, :1]).astype("float32")
ia, ib = keras.Input((3,), name="left"), keras.Input((2,), name="right")
h = keras.layers.concatenate([keras.layers.Dense(8, activation="relu")(ia), keras.layers.Dense(8, activation="relu")(ib)])
model = keras.Model(inputs=[ia, ib], outputs=keras.layers.Dense(1)(h))
model.compile(optimizer=keras.optimizers.Adam(0.02), loss="mse")
hist = model.fit([a, b], y, batch_size=32, epochs=20, verbose=0, validation_data=([a[:64], b[:64]], y[:64]))
assert hist.history["loss"][-1] < 0.1 * hist.history["loss"][0], hist.history["loss"]
by_list = model.predict([a[:5], b[:5]], verbose=0)
by_name = model.predict({"left": a[:5], "right": b[:5]}, verbose=0)
np.testing.assert_array_equal(by_list, by_name)
assert abs(model.evaluate({"left": a, "right": b}, y, verbose=0) - model.evaluate([a, b], y, verbose=0)) < 1e-6
try:
    model.predict([a], verbose=0)
except ValueError:
    pass
else:
    raise AssertionError("one array for a two-input model must be an error")
