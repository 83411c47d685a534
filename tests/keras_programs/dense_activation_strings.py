import keras
import numpy as np

x = np.random.default_rng(0).standard_normal((4, 3)).astype("float32")
for act, f in [("relu", lambda v: np.maximum(v, 0)), ("tanh", np.tanh), ("linear", lambda v: v), (None, lambda v: v)]:
    layer = keras.layers.Dense(2, activation=act)
    out = keras.ops.convert_to_numpy(layer(x))
    w, b = layer.get_weights()
    np.testing.assert_allclose(out, f(x @ w + b), rtol=1e-5, atol=1e-6, err_msg=str(act))
