import keras
import numpy as np

model = keras.Sequential([keras.Input((5, 3)), keras.layers.Dense(4, activation="relu"), keras.layers.Dense(2)])
assert model.output_shape == (None, 5, 2)
x = np.random.default_rng(0).standard_normal((7, 5, 3)).astype("float32")
w1, b1, w2, b2 = model.get_weights()
want = np.maximum(x @ w1 + b1, 0) @ w2 + b2
np.testing.assert_allclose(model.predict(x, verbose=0), want, rtol=1e-5, atol=1e-6)
