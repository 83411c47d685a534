import keras
import numpy as np

model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)])
model.compile(optimizer=keras.optimizers.SGD(1e6), loss="mse")
x = np.full((16, 1), 1e3, "float32")
hist = model.fit(x, x, batch_size=4, epochs=5, verbose=0, callbacks=[keras.callbacks.TerminateOnNaN()])
assert len(hist.history["loss"]) == 1  # stopped within the first epoch
