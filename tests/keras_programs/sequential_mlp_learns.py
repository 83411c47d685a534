import keras
import numpy as np

keras.utils.set_random_seed(0)
rng = np.random.default_rng(0)
x = rng.standard_normal((512, 8)).astype("float32")
y = (x[:, 0] * x[:, 1] > 0).astype("int64")
model = keras.Sequential([
    keras.Input(shape=(8,)),
    keras.layers.Dense(32, activation="relu"),
    keras.layers.Dense(32, activation="relu"),
    keras.layers.Dense(2, activation="softmax"),
])
model.compile(optimizer=keras.optimizers.Adam(1e-2), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
hist = model.fit(x, y, batch_size=32, epochs=15, verbose=0, validation_split=0.2)
assert hist.history["accuracy"][-1] > 0.9, hist.history["accuracy"]
assert model.count_params() == 8 * 32 + 32 + 32 * 32 + 32 + 32 * 2 + 2
loss, acc = model.evaluate(x, y, verbose=0)
assert acc > 0.9 and loss < 0.3
