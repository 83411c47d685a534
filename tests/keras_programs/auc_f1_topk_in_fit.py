import keras
import numpy as np

keras.utils.set_random_seed(0)
rng = np.random.default_rng(0)
x = rng.standard_normal((300, 5)).astype("float32")
y = (x[:, 0] + 0.5 * x[:, 1] > 0).astype("float32")[:, None]
model = keras.Sequential([keras.Input((5,)), keras.layers.Dense(8, activation="relu"), keras.layers.Dense(1, activation="sigmoid")])
model.compile(optimizer=keras.optimizers.Adam(0.02), loss="binary_crossentropy", metrics=["auc", keras.metrics.Precision(), "binary_accuracy"])
hist = model.fit(x, y, epochs=15, batch_size=30, verbose=0)
assert hist.history["auc"][-1] > 0.95 and hist.history["binary_accuracy"][-1] > 0.9, hist.history
k = keras.metrics.TopKCategoricalAccuracy(k=2)
k.update_state(np.eye(3)[[0, 1, 2]], np.array([[0.5, 0.4, 0.1], [0.6, 0.1, 0.3], [0.2, 0.3, 0.5]]))
assert abs(float(k.result()) - 2 / 3) < 1e-6
f1 = keras.metrics.F1Score(average="micro", threshold=0.5)
f1.update_state(np.array([[1, 0], [0, 1]], "float32"), np.array([[0.9, 0.2], [0.6, 0.7]], "float32"))
assert abs(float(np.asarray(f1.result())) - 0.8) < 1e-6
