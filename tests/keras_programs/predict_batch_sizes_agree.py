import keras
import numpy as np

model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="relu"), keras.layers.Dense(2)])
x = np.random.default_rng(0).standard_normal((37, 4)).astype("float32")
ref = model.predict(x, batch_size=37, verbose=0)
for bs in (1, 5, 32):
    np.testing.assert_allclose(model.predict(x, batch_size=bs, verbose=0), ref, rtol=1e-5, atol=1e-6)
