import keras
import numpy as np

rng = np.random.default_rng(0)
x = rng.standard_normal((64, 4)).astype("float32")
for loss, y, act in [("hinge", np.where(x[:, :1] > 0, 1.0, -1.0), "tanh"), ("poisson", np.exp(0.3 * x[:, :1]), "softplus"),
                     ("log_cosh", x[:, :1], None), ("kl_divergence", np.full((64, 1), 1.0), "sigmoid"),
                     ("huber", x[:, :1] * 3, None)]:
    keras.utils.set_random_seed(1)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1, activation=act)])
    model.compile(optimizer=keras.optimizers.Adam(0.05), loss=loss)
    h = model.fit(x, y.astype("float32"), epochs=10, verbose=0).history["loss"]
    assert np.isfinite(h).all() and h[-1] <= h[0], (loss, h)
