import csv

import keras
import numpy as np

x = np.random.default_rng(0).standard_normal((32, 3)).astype("float32")
y = x[:, :1] * 2.0
model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
model.compile(optimizer="sgd", loss="mse", metrics=["mae"])
model.fit(x, y, epochs=3, verbose=0, callbacks=[keras.callbacks.CSVLogger("log.csv")])
model.fit(x, y, epochs=2, verbose=0, callbacks=[keras.callbacks.CSVLogger("log.csv", append=True)])
rows = list(csv.reader(open("log.csv")))
assert rows[0] == ["epoch", "loss", "mae", "val_loss", "val_mae"], rows[0]  # val_ columns kept, as Keras does
assert [r[0] for r in rows[1:]] == ["0", "1", "2", "0", "1"], rows
assert all(float(r[1]) > 0 and r[3] == "NA" for r in rows[1:])
