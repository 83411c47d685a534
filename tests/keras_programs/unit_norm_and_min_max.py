import keras
import numpy as np

w = np.random.default_rng(0).standard_normal((5, 3)).astype("float32")
unit = keras.constraints.UnitNorm(axis=0)(w)
np.testing.assert_allclose(np.linalg.norm(np.asarray(unit), axis=0), np.ones(3), rtol=1e-5)
mm = np.asarray(keras.constraints.MinMaxNorm(min_value=0.5, max_value=1.0)(w))
norms = np.linalg.norm(mm, axis=0)
assert np.all(norms >= 0.5 - 1e-5) and np.all(norms <= 1.0 + 1e-5)
assert keras.constraints.get("non_neg").__class__.__name__ == "NonNeg"
