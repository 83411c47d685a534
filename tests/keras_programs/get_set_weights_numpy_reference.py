import keras
import numpy as np

model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4, activation="relu"), keras.layers.Dense(2)])
rng = np.random.default_rng(0)
ws = [rng.standard_normal(w.shape).astype("float32") for w in model.get_weights()]
model.set_weights(ws)
x = rng.standard_normal((5, 3)).astype("float32")
want = np.maximum(x @ ws[0] + ws[1], 0) @ ws[2] + ws[3]
np.testing.assert_allclose(model.predict(x, verbose=0), want, rtol=1e-5, atol=1e-6)
np.testing.assert_allclose(keras.ops.convert_to_numpy(model(x)), want, rtol=1e-5, atol=1e-6)
np.testing.assert_allclose(model.predict_on_batch(x), want, rtol=1e-5, atol=1e-6)
