import keras
import numpy as np

x = np.ones((8, 3), "float32")
y = np.full((8, 1), 3.0, "float32")
model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1, kernel_initializer="zeros")])
model.compile(optimizer=keras.optimizers.SGD(0.05), loss="mse", metrics=["mae"])
first = model.train_on_batch(x, y)
assert abs(first[0] - 9.0) < 1e-5 and abs(first[1] - 3.0) < 1e-5
for _ in range(40):
    model.train_on_batch(x, y)
res = model.test_on_batch(x, y, return_dict=True)
assert res["loss"] < 0.01 and set(res) == {"loss", "mae"}
assert abs(float(model.predict_on_batch(x)[0, 0]) - 3.0) < 0.1
