import numpy as np
from keras import ops

x = np.array([[-1.0, 2.0], [3.0, -4.0]], "float32")
np.testing.assert_array_equal(ops.convert_to_numpy(ops.where(x > 0, x, ops.zeros_like(x))), np.maximum(x, 0))
assert str(ops.convert_to_numpy(ops.cast(x, "int32")).dtype) == "int32"
np.testing.assert_array_equal(ops.convert_to_numpy(ops.cast(x, "int32")), x.astype("int32"))
oh = ops.convert_to_numpy(ops.one_hot(np.array([1, 0, 2]), 3))
np.testing.assert_array_equal(oh, np.eye(3)[[1, 0, 2]])
np.testing.assert_array_equal(ops.convert_to_numpy(ops.greater(x, 0.0)), x > 0)
