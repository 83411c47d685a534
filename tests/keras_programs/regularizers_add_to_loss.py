import keras
import numpy as np

dense = keras.layers.Dense(2, kernel_initializer="ones", bias_initializer="zeros", kernel_regularizer=keras.regularizers.L2(0.1))
model = keras.Sequential([keras.Input((3,)), dense])
model.compile(optimizer="sgd", loss="mse")
x = np.zeros((4, 3), "float32")
y = np.zeros((4, 2), "float32")
# the data loss is 0; what is left is the penalty 0.1 * sum(w^2) = 0.1 * 6
assert abs(model.evaluate(x, y, verbose=0) - 0.6) < 1e-5
