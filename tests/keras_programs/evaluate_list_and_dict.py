import keras
import numpy as np

model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1, kernel_initializer="zeros")])
model.compile(loss="mse", metrics=["mae", "mse"])
x, y = np.ones((4, 1), "float32"), np.full((4, 1), 2.0, "float32")
as_list = model.evaluate(x, y, verbose=0)
as_dict = model.evaluate(x, y, verbose=0, return_dict=True)
assert isinstance(as_list, list) and len(as_list) == 3
assert abs(as_dict["loss"] - 4.0) < 1e-6 and abs(as_dict["mae"] - 2.0) < 1e-6 and abs(as_dict["mse"] - 4.0) < 1e-6
