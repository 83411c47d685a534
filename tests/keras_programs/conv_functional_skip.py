import os
import tempfile

import keras
import numpy as np

inp = keras.Input((10, 10, 3))
stem = keras.layers.Conv2D(6, 3, padding="same", activation="relu", name="stem")(inp)
left = keras.layers.Conv2D(6, 3, padding="same", name="left")(stem)
right = keras.layers.Conv2D(6, 1, name="right")(stem)
joined = keras.layers.add([left, right, stem])  # branches and a skip connection
pooled = keras.layers.GlobalAveragePooling2D()(keras.layers.Activation("relu")(joined))
wide = keras.layers.concatenate([pooled, keras.layers.GlobalMaxPooling2D()(stem)])
out = keras.layers.Dense(3, activation="softmax")(wide)
model = keras.Model(inp, out)
assert model.get_layer("right").kernel.shape == (1, 1, 6, 6)
assert model.output_shape == (None, 3)
rng = np.random.default_rng(1)
x, y = rng.normal(size=(32, 10, 10, 3)).astype("float32"), rng.integers(0, 3, size=32)
model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
hist = model.fit(x, y, epochs=6, verbose=0)
assert hist.history["loss"][-1] < hist.history["loss"][0]
path = os.path.join(tempfile.mkdtemp(), "skip.keras")
model.save(path)
back = keras.models.load_model(path)
np.testing.assert_allclose(back.predict(x, verbose=0), model.predict(x, verbose=0), atol=1e-5)
