import keras
import numpy as np

rng = np.random.default_rng(0)
x = rng.standard_normal((2, 3, 5)).astype("float32")
y = rng.standard_normal((2, 4, 5)).astype("float32")
got = keras.layers.Dot(axes=(2, 2))([x, y]).numpy()
np.testing.assert_allclose(got, np.einsum("bnd,bmd->bnm", x, y), rtol=1e-5, atol=1e-6)
u = rng.standard_normal((6, 8)).astype("float32")
v = rng.standard_normal((6, 8)).astype("float32")
cos = keras.layers.dot([u, v], axes=1, normalize=True).numpy()
want = (u * v).sum(1) / np.linalg.norm(u, axis=1) / np.linalg.norm(v, axis=1)
np.testing.assert_allclose(cos[:, 0], want, rtol=1e-5)
try:
    keras.layers.Subtract()([u, v, u])
except ValueError as e:
    assert "expected 2 inputs" in str(e)
else:
    raise AssertionError("Subtract of three inputs must be an error")
