import numpy as np
from keras import ops

a = ops.convert_to_tensor(np.arange(6, dtype="float32").reshape(2, 3))
b = ops.convert_to_tensor(np.ones((3,), "float64"))
c = a + b
assert str(ops.convert_to_numpy(c).dtype) == "float64"  # promotion as numpy
np.testing.assert_allclose(ops.convert_to_numpy(ops.sum(a, axis=1)), [3.0, 12.0])
np.testing.assert_allclose(ops.convert_to_numpy(ops.softmax(a, axis=0)).sum(axis=0), np.ones(3), rtol=1e-6)
np.testing.assert_allclose(ops.convert_to_numpy(ops.matmul(a, ops.transpose(a))), np.arange(6.0).reshape(2, 3) @ np.arange(6.0).reshape(2, 3).T)
idx = ops.convert_to_tensor(np.array([2, 0]))
np.testing.assert_allclose(ops.convert_to_numpy(ops.take(a, idx, axis=1)), [[2.0, 0.0], [5.0, 3.0]])
mean, var = ops.moments(a, axes=[0])
np.testing.assert_allclose(ops.convert_to_numpy(var), np.full(3, 2.25))
assert ops.convert_to_numpy(ops.one_hot(idx, 3)).tolist() == [[0.0, 0.0, 1.0], [1.0, 0.0, 0.0]]
try:
    ops.sum(a, axis=2)
except (ValueError, IndexError):  # nnrs: ValueError naming the axis; Keras on torch: IndexError
    pass
else:
    raise AssertionError("axis 2 of a 2-D tensor must be an error")
