import keras
import numpy as np

shared = keras.layers.Dense(4)
a, b = keras.Input((3,)), keras.Input((3,))
model = keras.Model([a, b], keras.layers.add([shared(a), shared(b)]))
assert model.count_params() == 16 and len(model.trainable_weights) == 2
x = np.ones((2, 3), "float32")
w, bias = shared.get_weights()
np.testing.assert_allclose(model.predict([x, 2 * x], verbose=0), (x @ w + bias) + (2 * x @ w + bias), rtol=1e-5)
