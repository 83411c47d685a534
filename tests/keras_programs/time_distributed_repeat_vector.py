import os
import tempfile

import keras
import numpy as np

# encoder -> RepeatVector -> TimeDistributed(Dense): a vector becomes a sequence
rng = np.random.default_rng(1)
inp = keras.Input((5,))
code = keras.layers.Dense(4, activation="tanh", name="enc")(inp)
seq = keras.layers.RepeatVector(3, name="rep")(code)
out = keras.layers.TimeDistributed(keras.layers.Dense(2), name="td")(seq)
model = keras.Model(inp, out)
assert model.output_shape == (None, 3, 2)
assert model.get_layer("rep").compute_output_shape((None, 4)) == (None, 3, 4)

x = rng.standard_normal((6, 5)).astype("float32")
we, be = model.get_layer("enc").get_weights()
wd, bd = model.get_layer("td").get_weights()  # one Dense's weights, shared by every step
assert wd.shape == (4, 2) and bd.shape == (2,)
h = np.tanh(x @ we + be)
want = np.repeat((h @ wd + bd)[:, None, :], 3, axis=1)
np.testing.assert_allclose(model.predict(x, verbose=0), want, rtol=1e-5, atol=1e-6)

# TimeDistributed(Conv2D): the same conv on each frame
frames = rng.standard_normal((2, 4, 6, 6, 1)).astype("float32")
conv = keras.layers.Conv2D(3, 3, padding="same")
td = keras.layers.TimeDistributed(conv)
y = keras.ops.convert_to_numpy(td(frames))
assert y.shape == (2, 4, 6, 6, 3)
for t in range(4):
    np.testing.assert_allclose(y[:, t], keras.ops.convert_to_numpy(conv(frames[:, t])), rtol=1e-5, atol=1e-5)

# config and a saved model round trip
cfg = model.get_layer("td").get_config()
assert cfg["layer"]["class_name"] == "Dense" and cfg["layer"]["config"]["units"] == 2
model.compile(optimizer="adam", loss="mse")
model.fit(x, want + 0.1, epochs=2, batch_size=3, verbose=0)
path = os.path.join(tempfile.mkdtemp(), "seq.keras")
model.save(path)
back = keras.models.load_model(path)
np.testing.assert_allclose(back.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-5, atol=1e-6)
