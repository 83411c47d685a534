import keras
import numpy as np

x = np.random.default_rng(0).standard_normal((64, 2)).astype("float32")
y = x[:, :1]
model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
model.compile(optimizer=keras.optimizers.SGD(2.5), loss="mse")  # diverges after a few epochs
stop = keras.callbacks.EarlyStopping(monitor="loss", patience=2, restore_best_weights=True)
hist = model.fit(x, y, epochs=50, batch_size=64, verbose=0, callbacks=[stop])
losses = hist.history["loss"]
assert len(losses) < 50 and stop.stopped_epoch > 0
best = int(np.argmin(losses))
assert abs(model.evaluate(x, y, verbose=0) - min(losses)) <= max(1e-3, 0.6 * min(losses)) or best == 0
