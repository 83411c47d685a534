import keras
import numpy as np

opt = keras.optimizers.Adam(learning_rate=0.01)
model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
model.compile(optimizer=opt, loss="mse")
model.fit(np.ones((20, 2), "float32"), np.ones((20, 1), "float32"), batch_size=5, epochs=3, verbose=0)
assert int(opt.iterations) == 12
assert abs(float(opt.learning_rate) - 0.01) < 1e-9
opt.learning_rate = 0.5
assert abs(float(opt.learning_rate) - 0.5) < 1e-9
