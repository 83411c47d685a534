import zipfile

import keras
import numpy as np

keras.utils.set_random_seed(0)
model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8, activation="relu"), keras.layers.Dropout(0.1),
                          keras.layers.Dense(3, activation="softmax")])
model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
x = np.random.default_rng(0).standard_normal((32, 4)).astype("float32")
y = np.arange(32) % 3
model.fit(x, y, epochs=2, verbose=0)
model.save("model.keras")
assert set(zipfile.ZipFile("model.keras").namelist()) >= {"config.json", "metadata.json", "model.weights.h5"}
loaded = keras.models.load_model("model.keras")
np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-6, atol=1e-7)
loaded.fit(x, y, epochs=1, verbose=0)  # compiled again from the file, optimizer state included
