import keras
import numpy as np

model = keras.Sequential([keras.Input((2, 3, 4)), keras.layers.Flatten(), keras.layers.Reshape((4, 6)),
                          keras.layers.Activation("relu"), keras.layers.Flatten()])
assert model.output_shape == (None, 24)
x = np.random.default_rng(0).standard_normal((5, 2, 3, 4)).astype("float32")
np.testing.assert_array_equal(model.predict(x, verbose=0), np.maximum(x.reshape(5, 24), 0))
