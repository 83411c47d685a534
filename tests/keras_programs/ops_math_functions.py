import numpy as np
from keras import ops

x = np.linspace(0.1, 2.0, 7, dtype="float32")
for name, f in [("sin", np.sin), ("cos", np.cos), ("exp", np.exp), ("log1p", np.log1p), ("sqrt", np.sqrt),
                ("square", np.square), ("tanh", np.tanh), ("floor", np.floor), ("ceil", np.ceil), ("abs", np.abs)]:
    np.testing.assert_allclose(ops.convert_to_numpy(getattr(ops, name)(x)), f(x), rtol=1e-5, atol=1e-6, err_msg=name)
np.testing.assert_allclose(ops.convert_to_numpy(ops.power(x, 3.0)), x ** 3, rtol=1e-5)
np.testing.assert_allclose(ops.convert_to_numpy(ops.clip(x, 0.5, 1.5)), np.clip(x, 0.5, 1.5))
np.testing.assert_allclose(ops.convert_to_numpy(ops.std(x)), np.std(x), rtol=1e-5)
