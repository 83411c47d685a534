import keras
import numpy as np

# Masking marks the steps whose features are all 0; the loss, the mean metrics and
# GlobalAveragePooling1D then leave those steps out.
rng = np.random.default_rng(0)
x = rng.standard_normal((8, 6, 3)).astype("float32")
x[0, 4:] = 0.0
x[3, :2] = 0.0
x[5, 1] = 0.0
mask = np.any(x != 0, axis=-1)
y = rng.standard_normal((8, 6, 2)).astype("float32")

masking = keras.layers.Masking(0.0)
np.testing.assert_array_equal(keras.ops.convert_to_numpy(masking.compute_mask(keras.ops.convert_to_tensor(x))), mask)

model = keras.Sequential([keras.Input((6, 3)), masking, keras.layers.Dense(2)])
model.compile(optimizer="sgd", loss="mse", metrics=["mae"])
pred = model.predict(x, verbose=0)
per_step = ((pred - y) ** 2).mean(-1)
loss, mae = model.evaluate(x, y, batch_size=8, verbose=0)
np.testing.assert_allclose(loss, per_step[mask].mean(), rtol=1e-5)
np.testing.assert_allclose(mae, np.abs(pred - y).mean(-1)[mask].mean(), rtol=1e-5)
assert abs(loss - per_step.mean()) > 1e-4  # the masked steps would change it

# targets of masked steps do not matter, for the loss or for a training step
y2 = y.copy()
y2[~mask] = 50.0
np.testing.assert_allclose(model.evaluate(x, y2, batch_size=8, verbose=0)[0], loss, rtol=1e-5)

# temporal sample weights (batch, time) combine with the mask
sw = rng.uniform(0.5, 2.0, size=(8, 6)).astype("float32")
wloss = model.evaluate(x, y, sample_weight=sw, batch_size=8, verbose=0)[0]
np.testing.assert_allclose(wloss, (per_step * sw * mask).sum() / mask.sum(), rtol=1e-5)

# a sequence classifier: accuracy counts the unmasked steps only
labels = rng.integers(0, 3, size=(8, 6))
clf = keras.Sequential([keras.Input((6, 3)), keras.layers.Masking(0.0), keras.layers.Dense(3, activation="softmax")])
clf.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
probs = clf.predict(x, verbose=0)
ce = -np.log(np.take_along_axis(probs, labels[..., None], -1)[..., 0])
closs, acc = clf.evaluate(x, labels, batch_size=8, verbose=0)
np.testing.assert_allclose(closs, ce[mask].mean(), rtol=1e-5)
np.testing.assert_allclose(acc, (probs.argmax(-1) == labels)[mask].mean(), rtol=1e-6)

# a masked average over time
pool = keras.Sequential([keras.Input((6, 3)), keras.layers.Masking(0.0), keras.layers.GlobalAveragePooling1D()])
np.testing.assert_allclose(pool.predict(x, verbose=0), x.sum(1) / mask.sum(1, keepdims=True), rtol=1e-5)

# training runs with the masks
hist = clf.fit(x, labels, epochs=3, batch_size=4, verbose=0)
assert len(hist.history["loss"]) == 3
