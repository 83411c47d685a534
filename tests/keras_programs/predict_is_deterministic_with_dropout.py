import keras
import numpy as np

inp = keras.Input((10,))
out = keras.layers.Dense(5)(keras.layers.Dropout(0.5)(keras.layers.Dense(20, activation="relu")(inp)))
model = keras.Model(inp, out)
x = np.random.default_rng(0).standard_normal((8, 10)).astype("float32")
np.testing.assert_array_equal(model.predict(x, verbose=0), model.predict(x, verbose=0))
a = keras.ops.convert_to_numpy(model(x, training=True))
b = keras.ops.convert_to_numpy(model(x, training=True))
assert not np.allclose(a, b)  # fresh dropout masks in training mode
