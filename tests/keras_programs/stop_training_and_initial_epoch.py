import keras
import numpy as np

x = np.ones((20, 2), "float32")
y = np.zeros((20, 1), "float32")


class StopAfterTwo(keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        if epoch == 3:
            self.model.stop_training = True


model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
model.compile(optimizer="sgd", loss="mse")
hist = model.fit(x, y, epochs=10, initial_epoch=2, verbose=0, callbacks=[StopAfterTwo()])
assert hist.epoch == [2, 3], hist.epoch
assert len(hist.history["loss"]) == 2
