import keras
import numpy as np

a, b = keras.Input((2, 3)), keras.Input((4, 3))
out = keras.layers.Concatenate(axis=1)([a, b])
assert out.shape == (None, 6, 3)
model = keras.Model([a, b], out)
xa, xb = np.ones((5, 2, 3), "float32"), np.zeros((5, 4, 3), "float32")
np.testing.assert_array_equal(model.predict([xa, xb], verbose=0), np.concatenate([xa, xb], axis=1))
