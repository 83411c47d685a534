import numpy as np
from keras import ops

a = np.arange(6, dtype="float32").reshape(2, 3)
np.testing.assert_array_equal(ops.convert_to_numpy(ops.stack([a, a], axis=0)), np.stack([a, a]))
np.testing.assert_array_equal(ops.convert_to_numpy(ops.expand_dims(a, 1)), a[:, None, :])
np.testing.assert_array_equal(ops.convert_to_numpy(ops.squeeze(a[None])), a)
left, right = ops.split(a, [1], axis=1)
np.testing.assert_array_equal(ops.convert_to_numpy(left), a[:, :1])
np.testing.assert_array_equal(ops.convert_to_numpy(ops.flip(a, axis=1)), a[:, ::-1])
np.testing.assert_array_equal(ops.convert_to_numpy(ops.tile(a, (2, 1))), np.tile(a, (2, 1)))
assert tuple(ops.shape(a)) == (2, 3)
