import os
import tempfile

import keras
import numpy as np

# which half of a sequence holds the larger sum: an order-dependent task for stacked recurrent layers
rng = np.random.default_rng(0)
x = rng.normal(size=(128, 8, 3)).astype("float32")
y = (x[:, :4].sum(axis=(1, 2)) > x[:, 4:].sum(axis=(1, 2))).astype("int64")
model = keras.Sequential([
    keras.Input((8, 3)),
    keras.layers.LSTM(16, return_sequences=True),
    keras.layers.Bidirectional(keras.layers.GRU(8)),
    keras.layers.Dense(2, activation="softmax"),
])
assert model.layers[0].cell.kernel.shape == (3, 64)
assert model.layers[0].cell.recurrent_kernel.shape == (16, 64)
assert model.layers[1].forward_layer.cell.bias.shape == (2, 24)
assert model.layers[1].backward_layer.go_backwards
assert model.layers[1].forward_layer.name.startswith("forward_")
assert tuple(model.layers[0].compute_output_shape((None, 8, 3))) == (None, 8, 16)
lstm_params = 3 * 64 + 16 * 64 + 64
gru_params = 2 * (16 * 24 + 8 * 24 + 2 * 24)
assert model.count_params() == lstm_params + gru_params + (16 * 2 + 2)
model.compile(optimizer=keras.optimizers.Adam(0.01), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
hist = model.fit(x, y, batch_size=32, epochs=12, verbose=0)
assert hist.history["loss"][-1] < 0.7 * hist.history["loss"][0], hist.history["loss"]
path = os.path.join(tempfile.mkdtemp(), "rnn.keras")
model.save(path)
back = keras.models.load_model(path)
np.testing.assert_allclose(back.predict(x, verbose=0), model.predict(x, verbose=0), atol=1e-5)
