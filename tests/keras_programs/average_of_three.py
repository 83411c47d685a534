import keras
import numpy as np

xs = [np.full((2, 3), v, "float32") for v in (1.0, 2.0, 6.0)]
np.testing.assert_allclose(keras.ops.convert_to_numpy(keras.layers.Average()(xs)), np.full((2, 3), 3.0))
np.testing.assert_allclose(keras.ops.convert_to_numpy(keras.layers.add(xs)), np.full((2, 3), 9.0))
np.testing.assert_allclose(keras.ops.convert_to_numpy(keras.layers.multiply(xs)), np.full((2, 3), 12.0))
np.testing.assert_allclose(keras.ops.convert_to_numpy(keras.layers.maximum(xs)), np.full((2, 3), 6.0))
np.testing.assert_allclose(keras.ops.convert_to_numpy(keras.layers.minimum(xs)), np.full((2, 3), 1.0))
