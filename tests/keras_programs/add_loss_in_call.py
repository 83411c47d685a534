import keras
import numpy as np
from keras import ops


class ActivityPenalty(keras.layers.Layer):
    def call(self, x):
        self.add_loss(0.5 * ops.sum(ops.square(x)))
        return x


model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(2, kernel_initializer="identity", bias_initializer="zeros"),
                          ActivityPenalty()])
model.compile(loss="mse")
x = np.array([[1.0, 2.0]], "float32")
# mse is 0 (the model copies x to y); the added loss is 0.5 * (1 + 4)
assert abs(model.evaluate(x, x, verbose=0) - 2.5) < 1e-5
model(x)
assert len(model.losses) == 1
