import keras
import numpy as np


class Scripted(keras.callbacks.Callback):
    def __init__(self, values):
        super().__init__()
        self.values = values

    def on_epoch_end(self, epoch, logs=None):
        logs["score"] = self.values[epoch]


model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)])
model.compile(optimizer="sgd", loss="mse")
x = np.ones((4, 1), "float32")
stop = keras.callbacks.EarlyStopping(monitor="score", mode="max", patience=1, baseline=0.9)
hist = model.fit(x, x, epochs=10, verbose=0, callbacks=[Scripted([0.5, 0.6, 0.7, 0.8] + [0.95] * 6), stop])
assert len(hist.history["loss"]) == 6  # the count real Keras 3.15 gives for this script
later = keras.callbacks.EarlyStopping(monitor="score", mode="max", patience=1, start_from_epoch=3)
hist = model.fit(x, x, epochs=10, verbose=0, callbacks=[Scripted([0.5, 0.4, 0.3, 0.2, 0.1] + [0.0] * 5), later])
assert len(hist.history["loss"]) == 5, len(hist.history["loss"])  # likewise checked against Keras 3.15
