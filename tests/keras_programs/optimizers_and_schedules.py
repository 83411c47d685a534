import keras
import numpy as np

x = np.random.default_rng(0).standard_normal((64, 3)).astype("float32")
y = x @ np.array([[1.0], [-1.0], [2.0]], "float32")
for opt in [keras.optimizers.SGD(0.1, momentum=0.9, nesterov=True), keras.optimizers.Adam(0.05), keras.optimizers.AdamW(0.05),
            keras.optimizers.RMSprop(0.05), keras.optimizers.Adagrad(0.5),
            keras.optimizers.SGD(keras.optimizers.schedules.ExponentialDecay(0.1, decay_steps=10, decay_rate=0.9))]:
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile(optimizer=opt, loss="mse")
    losses = model.fit(x, y, batch_size=16, epochs=25, verbose=0).history["loss"]
    assert losses[-1] < 0.1 * losses[0], (type(opt).__name__, losses[0], losses[-1])
