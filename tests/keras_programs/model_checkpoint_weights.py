import os

import keras
import numpy as np

x = np.random.default_rng(0).standard_normal((32, 2)).astype("float32")
y = x[:, :1] - x[:, 1:]
model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
ckpt = keras.callbacks.ModelCheckpoint("best.weights.h5", monitor="loss", save_best_only=True, save_weights_only=True)
model.fit(x, y, epochs=5, verbose=0, callbacks=[ckpt])
assert os.path.exists("best.weights.h5")
trained = model.get_weights()
fresh = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
fresh.load_weights("best.weights.h5")
np.testing.assert_allclose(fresh.get_weights()[0], trained[0], rtol=1e-6)
