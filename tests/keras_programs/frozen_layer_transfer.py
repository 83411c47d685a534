import keras
import numpy as np

base = keras.layers.Dense(4, name="base")
head = keras.layers.Dense(1, name="head")
model = keras.Sequential([keras.Input((3,)), base, head])
base.trainable = False
assert len(model.trainable_weights) == 2 and len(model.non_trainable_weights) == 2
before = base.get_weights()[0].copy()
model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
x = np.random.default_rng(0).standard_normal((16, 3)).astype("float32")
model.fit(x, np.ones((16, 1), "float32"), epochs=3, verbose=0)
np.testing.assert_array_equal(base.get_weights()[0], before)
base.trainable = True
model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
model.fit(x, np.ones((16, 1), "float32"), epochs=1, verbose=0)
assert not np.array_equal(base.get_weights()[0], before)
