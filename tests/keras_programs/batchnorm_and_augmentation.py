import os

import keras
import numpy as np

rng = np.random.default_rng(0)
x = rng.normal(2.0, 3.0, size=(32, 8, 8, 3)).astype("float32")
y = rng.normal(size=(32, 1)).astype("float32")

# BatchNormalization: inference uses the moving statistics, training the batch's
bn = keras.layers.BatchNormalization(momentum=0.5)
out = keras.ops.convert_to_numpy(bn(x, training=True))
assert np.allclose(out.reshape(-1, 3).mean(0), 0, atol=1e-4)
mm = keras.ops.convert_to_numpy(bn.moving_mean)
assert np.allclose(mm, 0.5 * x.reshape(-1, 3).mean(0), rtol=1e-4)
mv = keras.ops.convert_to_numpy(bn.moving_variance)
assert np.allclose(mv, 0.5 + 0.5 * x.reshape(-1, 3).var(0), rtol=1e-4)  # the biased batch variance
assert [w.name for w in bn.weights] == ["gamma", "beta", "moving_mean", "moving_variance"]
assert len(bn.trainable_weights) == 2 and len(bn.non_trainable_weights) == 2

# augmentation layers are the identity at inference and change the images in training
for layer in [keras.layers.RandomFlip(seed=1), keras.layers.RandomRotation(0.2, seed=2),
              keras.layers.RandomTranslation(0.2, 0.2, seed=3)]:
    assert np.array_equal(keras.ops.convert_to_numpy(layer(x, training=False)), x)
    assert not np.allclose(keras.ops.convert_to_numpy(layer(x, training=True)), x)
crop = keras.layers.RandomCrop(5, 6, seed=4)
assert tuple(crop(x, training=True).shape) == (32, 5, 6, 3)
noise = keras.layers.GaussianNoise(0.1, seed=5)
assert np.array_equal(keras.ops.convert_to_numpy(noise(x)), x)

model = keras.Sequential([
    keras.Input((8, 8, 3)),
    keras.layers.RandomFlip("horizontal", seed=1),
    keras.layers.RandomRotation(0.05, seed=2),
    keras.layers.GaussianNoise(0.05, seed=3),
    keras.layers.BatchNormalization(),
    keras.layers.Flatten(),
    keras.layers.Dense(1),
])
model.compile(optimizer="adam", loss="mse")
model.fit(x, y, batch_size=8, epochs=2, verbose=0)
bn = model.layers[-3]
assert np.all(keras.ops.convert_to_numpy(bn.moving_mean) > 0.02)
p1 = model.predict(x, verbose=0)
assert np.allclose(p1, model.predict(x, verbose=0))  # inference is deterministic

model.save("aug_bn.keras")
loaded = keras.models.load_model("aug_bn.keras")
assert np.allclose(loaded.predict(x, verbose=0), p1, atol=1e-5)
assert np.allclose(keras.ops.convert_to_numpy(loaded.layers[-3].moving_variance),
                   keras.ops.convert_to_numpy(bn.moving_variance))
os.remove("aug_bn.keras")
