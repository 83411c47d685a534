import keras
import numpy as np


class Residual(keras.layers.Layer):
    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.inner = [keras.layers.Dense(units, activation="relu"), keras.layers.Dense(units)]

    def call(self, x):
        h = x
        for layer in self.inner:
            h = layer(h)
        return x + h


model = keras.Sequential([keras.Input((6,)), Residual(6), Residual(6), keras.layers.Dense(1)])
assert len(model.trainable_weights) == 2 * 4 + 2 and model.count_params() == 2 * (2 * (36 + 6)) + 7
x = np.random.default_rng(0).standard_normal((64, 6)).astype("float32")
model.compile(optimizer="adam", loss="mse")
hist = model.fit(x, x[:, :1] * 2, epochs=10, verbose=0)
assert hist.history["loss"][-1] < hist.history["loss"][0]
