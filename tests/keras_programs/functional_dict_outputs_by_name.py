import keras
import numpy as np

inp = keras.Input((2,), name="features")
a = keras.layers.Dense(1, name="first")(inp)
b = keras.layers.Dense(1, name="second")(inp)
model = keras.Model(inp, [a, b])
model.compile(optimizer=keras.optimizers.SGD(0.1), loss=["mse", "mae"], loss_weights=[0.5, 2.0])
x = np.random.default_rng(0).standard_normal((40, 2)).astype("float32")
res = model.evaluate(x, [x[:, :1], x[:, 1:]], verbose=0, return_dict=True)
assert abs(res["loss"] - (0.5 * res["first_loss"] + 2.0 * res["second_loss"])) < 1e-5, res
hist = model.fit({"features": x}, {"first": x[:, :1], "second": x[:, 1:]}, epochs=20, verbose=0)
assert hist.history["first_loss"][-1] < hist.history["first_loss"][0]
assert model.get_layer("second").units == 1
