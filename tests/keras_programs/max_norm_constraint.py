import keras
import numpy as np

dense = keras.layers.Dense(3, kernel_constraint=keras.constraints.MaxNorm(0.5), bias_constraint=keras.constraints.NonNeg())
model = keras.Sequential([keras.Input((4,)), dense])
model.compile(optimizer=keras.optimizers.SGD(0.5), loss="mse")
x = np.random.default_rng(0).standard_normal((32, 4)).astype("float32")
model.fit(x, -10 * np.ones((32, 3), "float32"), epochs=5, verbose=0)
w, b = dense.get_weights()
assert np.all(np.linalg.norm(w, axis=0) <= 0.5 + 1e-5) and np.all(b >= 0)
