import keras
import numpy as np

keras.config.set_floatx("float64")
try:
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    assert all(w.dtype == np.float64 for w in model.get_weights())
    x = np.random.default_rng(0).standard_normal((4, 3))
    out = model.predict(x, verbose=0)
    assert out.dtype == np.float64
    w, b = model.get_weights()
    np.testing.assert_allclose(out, x @ w + b, rtol=1e-6)
finally:
    keras.config.set_floatx("float32")
assert keras.config.floatx() == "float32"
