import keras
import numpy as np

rng = np.random.default_rng(0)
x = rng.standard_normal((256, 4)).astype("float32")
y = (x @ np.array([1.0, -2.0, 0.5, 3.0], "float32"))[:, None]


def batches():
    while True:  # an endless generator, as Keras users write them
        for lo in range(0, 256, 32):
            yield x[lo:lo + 32], y[lo:lo + 32]


keras.utils.set_random_seed(0)
model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
model.compile(optimizer=keras.optimizers.SGD(0.05), loss="mse")
hist = model.fit(batches(), steps_per_epoch=8, epochs=6, verbose=0)
losses = hist.history["loss"]
assert len(losses) == 6 and losses[-1] < 0.2 * losses[0], losses
assert abs(model.evaluate(batches(), steps=8, verbose=0) - model.evaluate(x, y, verbose=0)) < 1e-5
assert model.predict(batches(), steps=2, verbose=0).shape == (64, 1)
