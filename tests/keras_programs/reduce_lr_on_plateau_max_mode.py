import keras
import numpy as np


class FakeAccuracy(keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        logs["score"] = 0.5  # a plateau of a metric where larger is better


x = np.ones((8, 1), "float32")
model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)])
model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
plateau = keras.callbacks.ReduceLROnPlateau(monitor="score", mode="max", factor=0.5, patience=1, min_lr=0.01)
model.fit(x, x, epochs=6, verbose=0, callbacks=[FakeAccuracy(), plateau])
lr = float(model.optimizer.learning_rate)
assert 0.01 - 1e-7 <= lr < 0.1, lr
