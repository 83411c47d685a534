import keras
import numpy as np

layer = keras.layers.Dense(2)
layer.build((None, 3))
try:
    layer.set_weights([np.zeros((4, 2)), np.zeros(2)])
except ValueError:
    pass
else:
    raise AssertionError("a kernel of the wrong shape must be a ValueError")
layer.set_weights([np.ones((3, 2)), np.zeros(2)])
np.testing.assert_array_equal(layer.get_weights()[0], np.ones((3, 2)))
