import os
import tempfile

import keras
import numpy as np

rng = np.random.default_rng(0)
x = rng.random((64, 12, 12, 1)).astype("float32")
y = (x[:, :6].mean(axis=(1, 2, 3)) > x[:, 6:].mean(axis=(1, 2, 3))).astype("int64")  # top half brighter?
model = keras.Sequential([
    keras.Input((12, 12, 1)),
    keras.layers.Conv2D(8, 3, padding="same", activation="relu"),
    keras.layers.BatchNormalization(),
    keras.layers.MaxPooling2D(2),
    keras.layers.Conv2D(8, 3, activation="relu"),
    keras.layers.Flatten(),
    keras.layers.Dropout(0.2),
    keras.layers.Dense(2, activation="softmax"),
])
assert model.layers[0].kernel.shape == (3, 3, 1, 8)
assert tuple(model.layers[3].compute_output_shape((None, 6, 6, 8))) == (None, 4, 4, 8)
assert model.count_params() == (9 * 8 + 8) + 4 * 8 + (9 * 8 * 8 + 8) + (128 * 2 + 2)
model.compile(optimizer=keras.optimizers.Adam(0.01), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
hist = model.fit(x, y, batch_size=16, epochs=8, verbose=0)
assert hist.history["loss"][-1] < hist.history["loss"][0]
path = os.path.join(tempfile.mkdtemp(), "conv.keras")
model.save(path)
back = keras.models.load_model(path)
np.testing.assert_allclose(back.predict(x, verbose=0), model.predict(x, verbose=0), atol=1e-5)
