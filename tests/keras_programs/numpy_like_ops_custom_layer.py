import keras
import numpy as np
from keras import ops


class RMSNorm(keras.layers.Layer):
    def build(self, input_shape):
        self.scale = self.add_weight(shape=(input_shape[-1],), initializer="ones", name="scale")

    def call(self, x):
        rms = ops.sqrt(ops.mean(ops.square(x), axis=-1, keepdims=True) + 1e-6)
        return x / rms * self.scale


x = np.random.default_rng(0).standard_normal((4, 8)).astype("float32")
layer = RMSNorm()
got = ops.convert_to_numpy(layer(x))
want = x / np.sqrt((x ** 2).mean(-1, keepdims=True) + 1e-6)
np.testing.assert_allclose(got, want, rtol=1e-5)
assert sum(callable(getattr(keras.ops, n)) for n in dir(keras.ops) if not n.startswith("_")) >= 100
np.testing.assert_allclose(ops.convert_to_numpy(ops.logsumexp(x, axis=-1)), np.log(np.exp(x).sum(-1)), rtol=1e-5)
np.testing.assert_allclose(ops.convert_to_numpy(ops.cumsum(x, axis=1)), np.cumsum(x, axis=1), rtol=1e-5, atol=1e-5)
vals, idx = ops.top_k(x, k=2)
np.testing.assert_allclose(ops.convert_to_numpy(vals), -np.sort(-x, axis=-1)[:, :2], rtol=1e-6)
