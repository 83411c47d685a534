import keras
import numpy as np

model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)])
model.compile(optimizer="sgd", loss="mse", metrics=["mae"])
hist = model.fit(np.ones((6, 1), "float32"), np.ones((6, 1), "float32"), epochs=4, verbose=0, validation_split=0.5)
assert hist.epoch == [0, 1, 2, 3] and hist.params["epochs"] == 4
assert set(hist.history) == {"loss", "mae", "val_loss", "val_mae"} and all(len(v) == 4 for v in hist.history.values())
assert model.history is hist
