import os
import tempfile

import keras
import numpy as np


@keras.saving.register_keras_serializable(package="Programs")
class SmallConvNet(keras.Model):
    def __init__(self, widths=(4, 8), classes=2, **kwargs):
        super().__init__(**kwargs)
        self.widths, self.classes = tuple(widths), classes
        self.convs = [keras.layers.Conv2D(w, 3, padding="same", activation="relu") for w in self.widths]
        self.pool = keras.layers.MaxPooling2D(2)
        self.head = keras.layers.Dense(classes)

    def call(self, x):
        for conv in self.convs:
            x = self.pool(conv(x))
        return self.head(keras.ops.mean(x, axis=(1, 2)))

    def get_config(self):
        return {"widths": list(self.widths), "classes": self.classes, "name": self.name}


model = SmallConvNet()
rng = np.random.default_rng(2)
x, y = rng.normal(size=(24, 8, 8, 1)).astype("float32"), rng.integers(0, 2, size=24)
model(x[:1])
assert len(model.trainable_weights) == 6 and model.convs[1].kernel.shape == (3, 3, 4, 8)
model.compile(optimizer=keras.optimizers.Adam(0.01), loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
hist = model.fit(x, y, epochs=6, verbose=0)
assert hist.history["loss"][-1] < hist.history["loss"][0]
path = os.path.join(tempfile.mkdtemp(), "sub.keras")
model.save(path)
back = keras.models.load_model(path)
np.testing.assert_allclose(back.predict(x, verbose=0), model.predict(x, verbose=0), atol=1e-5)
