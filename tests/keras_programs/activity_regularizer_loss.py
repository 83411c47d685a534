import keras
import numpy as np

layer = keras.layers.Dense(2, kernel_initializer="ones", bias_initializer="zeros", activity_regularizer=keras.regularizers.L1(0.5))
model = keras.Sequential([keras.Input((2,)), layer])
model.compile(loss="mse")
x = np.array([[1.0, 1.0], [1.0, 1.0]], "float32")
y = np.array([[2.0, 2.0], [2.0, 2.0]], "float32")
# outputs are exactly y; the activity penalty is 0.5 * sum|out| = 4 over the batch, averaged per sample: 2
assert abs(model.evaluate(x, y, verbose=0) - 2.0) < 1e-5, model.evaluate(x, y, verbose=0)
