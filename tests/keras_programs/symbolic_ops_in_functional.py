import keras
import numpy as np
from keras import ops

inputs = keras.Input((4,))
h = ops.relu(inputs) * 2.0 + 1.0
h = h - ops.mean(h, axis=-1, keepdims=True)
centered = keras.layers.Dense(3, kernel_initializer="ones", bias_initializer="zeros")(h[:, :3])
out = ops.concatenate([centered, -inputs[:, :1]], axis=-1)
model = keras.Model(inputs, out)
assert out.shape == (None, 4)
x = np.random.default_rng(0).standard_normal((5, 4)).astype("float32")
h_np = np.maximum(x, 0) * 2 + 1
h_np = h_np - h_np.mean(-1, keepdims=True)
want = np.concatenate([np.repeat(h_np[:, :3].sum(1, keepdims=True), 3, axis=1), -x[:, :1]], axis=1)
np.testing.assert_allclose(model.predict(x, verbose=0), want, rtol=1e-5, atol=1e-5)
model.compile(optimizer="sgd", loss="mse")
model.fit(x, np.zeros((5, 4), "float32"), epochs=2, verbose=0)  # trains through the op nodes
