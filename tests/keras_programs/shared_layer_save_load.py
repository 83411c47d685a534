import os
import tempfile

import keras
import numpy as np

# one Dense called on two inputs (a siamese pair), merged; the file keeps both calls
left, right = keras.Input((5,), name="left"), keras.Input((5,), name="right")
encode = keras.layers.Dense(4, activation="relu", name="encode")
distance = keras.layers.subtract([encode(left), encode(right)])
score = keras.layers.Dense(1, activation="sigmoid", name="score")(keras.layers.multiply([distance, distance]))
model = keras.Model([left, right], score)
assert len(model.weights) == 4
model.compile(optimizer="adam", loss="binary_crossentropy")
rng = np.random.default_rng(0)
a, b = rng.normal(size=(32, 5)).astype("float32"), rng.normal(size=(32, 5)).astype("float32")
model.fit([a, b], (rng.random(32) > 0.5).astype("float32"), epochs=2, verbose=0)
path = os.path.join(tempfile.mkdtemp(), "siamese.keras")
model.save(path)
back = keras.models.load_model(path)
assert [l.name for l in back.layers] == [l.name for l in model.layers]
np.testing.assert_allclose(back.predict([a, b], verbose=0), model.predict([a, b], verbose=0), atol=1e-6)
# the pair order matters only through the shared weights: swapping the inputs gives the same score
np.testing.assert_allclose(back.predict([b, a], verbose=0), model.predict([a, b], verbose=0), atol=1e-6)
