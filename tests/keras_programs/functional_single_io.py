import keras
import numpy as np

inputs = keras.Input(shape=(6,))
h = keras.layers.Dense(16, activation="tanh")(inputs)
h = keras.layers.Dropout(0.1)(h)
outputs = keras.layers.Dense(3)(h)
model = keras.Model(inputs=inputs, outputs=outputs)
assert len(model.layers) == 4  # InputLayer, Dense, Dropout, Dense
assert [w.shape for w in model.get_weights()] == [(6, 16), (16,), (16, 3), (3,)]
model.compile(optimizer="rmsprop", loss="mse")
x = np.random.default_rng(0).standard_normal((64, 6)).astype("float32")
y = np.random.default_rng(1).standard_normal((64, 3)).astype("float32")
before = model.evaluate(x, y, verbose=0)
model.fit(x, y, epochs=20, batch_size=16, verbose=0)
assert model.evaluate(x, y, verbose=0) < before
assert model.predict(x, verbose=0).shape == (64, 3)
