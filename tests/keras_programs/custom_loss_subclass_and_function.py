import keras
import numpy as np
from keras import ops


class ScaledMSE(keras.losses.Loss):
    def __init__(self, scale=2.0, **kwargs):
        super().__init__(**kwargs)
        self.scale = scale

    def call(self, y_true, y_pred):
        return self.scale * ops.mean(ops.square(y_true - y_pred), axis=-1)


def abs_error(y_true, y_pred):
    return ops.mean(ops.abs(y_true - y_pred), axis=-1)


x = np.ones((4, 1), "float32")
y = np.array([[1.0], [2.0], [3.0], [4.0]], "float32")
model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1, kernel_initializer="zeros", bias_initializer="zeros")])
model.compile(loss=ScaledMSE(3.0))
assert abs(model.evaluate(x, y, verbose=0) - 3.0 * 7.5) < 1e-4
model.compile(loss=abs_error)
assert abs(model.evaluate(x, y, sample_weight=np.array([1.0, 1.0, 0.0, 0.0]), verbose=0) - 0.75) < 1e-6
per_sample = keras.losses.mean_squared_error(y, np.zeros_like(y))
assert tuple(per_sample.shape) == (4,)
