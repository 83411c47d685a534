import keras
import numpy as np

w = keras.ops.convert_to_numpy(keras.initializers.GlorotUniform(seed=3)((200, 100)))
limit = np.sqrt(6 / 300)
assert np.abs(w).max() <= limit and np.abs(w).max() > 0.9 * limit
he = keras.ops.convert_to_numpy(keras.initializers.HeNormal(seed=1)((500, 400)))
assert abs(np.std(he) - np.sqrt(2 / 500)) < 0.1 * np.sqrt(2 / 500)
keras.utils.set_random_seed(42)
a = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4)]).get_weights()[0]
keras.utils.set_random_seed(42)
b = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4)]).get_weights()[0]
np.testing.assert_array_equal(a, b)
layer = keras.layers.Dense(2, kernel_initializer=keras.initializers.Constant(0.5), bias_initializer="ones")
layer.build((None, 3))
assert (keras.ops.convert_to_numpy(layer.kernel) == 0.5).all() and (keras.ops.convert_to_numpy(layer.bias) == 1.0).all()
