import keras
import numpy as np

model = keras.Sequential()
model.add(keras.Input((4,)))
model.add(keras.layers.Dense(3))
model.add(keras.layers.Dense(2))
assert len(model.layers) == 2 and model.output_shape == (None, 2)
model.pop()
assert len(model.layers) == 1 and model.output_shape == (None, 3)
model.add(keras.layers.Dense(5, name="last"))
assert model.get_layer("last").units == 5 and model.get_layer(index=0).units == 3
assert model.predict(np.zeros((2, 4), "float32"), verbose=0).shape == (2, 5)
