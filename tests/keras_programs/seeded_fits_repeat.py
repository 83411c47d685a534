import keras
import numpy as np

x = np.random.default_rng(0).standard_normal((64, 3)).astype("float32")
y = (x[:, :1] > 0).astype("float32")


def run():
    keras.utils.set_random_seed(7)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(8, activation="relu"), keras.layers.Dropout(0.3),
                              keras.layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer="adam", loss="binary_crossentropy")
    model.fit(x, y, epochs=3, batch_size=16, verbose=0)
    return model.predict(x, verbose=0)


np.testing.assert_allclose(run(), run(), rtol=1e-6)
