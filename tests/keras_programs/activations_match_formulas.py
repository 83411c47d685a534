import math

import keras
import numpy as np

x = np.linspace(-3, 3, 13, dtype="float32")[None, :]
erf = np.vectorize(math.erf)
formulas = {
    "relu": lambda v: np.maximum(v, 0), "sigmoid": lambda v: 1 / (1 + np.exp(-v)), "tanh": np.tanh,
    "elu": lambda v: np.where(v > 0, v, np.exp(v) - 1), "softplus": lambda v: np.log1p(np.exp(v)),
    "swish": lambda v: v / (1 + np.exp(-v)), "gelu": lambda v: 0.5 * v * (1 + erf(v / np.sqrt(2))),
    "selu": lambda v: 1.0507009873554805 * np.where(v > 0, v, 1.6732632423543772 * (np.exp(v) - 1)),
    "softmax": lambda v: np.exp(v) / np.exp(v).sum(-1, keepdims=True),
}
for name, f in formulas.items():
    got = keras.ops.convert_to_numpy(keras.layers.Activation(name)(x))
    np.testing.assert_allclose(got, f(x.astype("float64")), rtol=1e-4, atol=1e-5, err_msg=name)
