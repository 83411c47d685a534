import keras
import numpy as np

rng = np.random.default_rng(1)
x = rng.standard_normal((200, 3)).astype("float32")
y = (x.sum(axis=1) > 0).astype("int64")


class Batches(keras.utils.PyDataset):
    def __init__(self, x, y, batch_size, **kwargs):
        super().__init__(**kwargs)
        self.x, self.y, self.batch_size = x, y, batch_size
        self.epochs_seen = 0

    def __len__(self):
        return int(np.ceil(len(self.x) / self.batch_size))

    def __getitem__(self, i):
        s = slice(i * self.batch_size, (i + 1) * self.batch_size)
        return self.x[s], self.y[s]

    def on_epoch_end(self):
        self.epochs_seen += 1


keras.utils.set_random_seed(0)
data = Batches(x, y, 32)
model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(8, activation="relu"), keras.layers.Dense(2)])
model.compile(optimizer="adam", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
seen = []
cb = keras.callbacks.LambdaCallback(on_train_batch_end=lambda batch, logs: seen.append(batch))
hist = model.fit(data, epochs=3, verbose=0, callbacks=[cb], validation_data=Batches(x[:64], y[:64], 32))
assert data.epochs_seen >= 3  # at least once per epoch (Keras 3.15 also calls it once more at the end)
assert seen == list(range(7)) * 3, seen
assert set(hist.history) == {"loss", "accuracy", "val_loss", "val_accuracy"}, hist.history.keys()
assert hist.history["loss"][-1] < hist.history["loss"][0]
