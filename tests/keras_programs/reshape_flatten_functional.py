import keras
import numpy as np

inp = keras.Input((12,))
h = keras.layers.Reshape((3, 4))(inp)
h = keras.layers.Dense(2)(h)
out = keras.layers.Flatten()(h)
model = keras.Model(inp, out)
assert model.output_shape == (None, 6)
x = np.arange(24, dtype="float32").reshape(2, 12)
w, b = model.get_weights()
np.testing.assert_allclose(model.predict(x, verbose=0), (x.reshape(2, 3, 4) @ w + b).reshape(2, 6), rtol=1e-5)
