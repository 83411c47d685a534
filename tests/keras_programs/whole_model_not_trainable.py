import keras
import numpy as np

model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4), keras.layers.Dense(1)])
model.trainable = False
assert model.trainable_weights == [] and len(model.non_trainable_weights) == 4
before = [w.copy() for w in model.get_weights()]
model.compile(optimizer="sgd", loss="mse")
model.fit(np.ones((8, 3), "float32"), np.zeros((8, 1), "float32"), epochs=2, verbose=0)
for a, b in zip(before, model.get_weights()):
    np.testing.assert_array_equal(a, b)
