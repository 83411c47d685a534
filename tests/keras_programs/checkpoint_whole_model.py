import keras
import numpy as np

x = np.random.default_rng(0).standard_normal((32, 2)).astype("float32")
y = x.sum(1, keepdims=True)
model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
model.fit(x, y, epochs=3, verbose=0, callbacks=[keras.callbacks.ModelCheckpoint("ckpt_{epoch}.keras")])
last = keras.models.load_model("ckpt_3.keras")
np.testing.assert_allclose(last.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-6)
