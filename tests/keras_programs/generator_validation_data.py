import keras
import numpy as np

x = np.random.default_rng(0).standard_normal((96, 3)).astype("float32")
y = x[:, :1]


def val_batches():
    while True:
        yield x[:32], y[:32]


model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
hist = model.fit(x, y, batch_size=32, epochs=4, verbose=0, validation_data=val_batches(), validation_steps=1, validation_freq=2)
assert len(hist.history["loss"]) == 4 and len(hist.history["val_loss"]) == 2
