import keras
import numpy as np

calls = []


class Recorder(keras.callbacks.Callback):
    def on_train_begin(self, logs=None):
        calls.append(("train_begin", logs))

    def on_epoch_begin(self, epoch, logs=None):
        calls.append(("epoch_begin", epoch))

    def on_train_batch_end(self, batch, logs=None):
        calls.append(("train_batch_end", batch, sorted(logs)))

    def on_epoch_end(self, epoch, logs=None):
        calls.append(("epoch_end", epoch, sorted(logs)))

    def on_test_begin(self, logs=None):
        calls.append(("test_begin",))

    def on_test_batch_end(self, batch, logs=None):
        calls.append(("test_batch_end", batch))

    def on_test_end(self, logs=None):
        calls.append(("test_end", sorted(logs)))

    def on_predict_batch_end(self, batch, logs=None):
        calls.append(("predict_batch_end", batch, sorted(logs)))

    def on_train_end(self, logs=None):
        calls.append(("train_end", sorted(logs)))


x = np.ones((10, 2), "float32")
y = np.ones((10, 1), "float32")
model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
model.compile(optimizer="sgd", loss="mse", metrics=["mae"])
model.fit(x, y, batch_size=5, epochs=2, verbose=0, callbacks=[Recorder()], validation_data=(x, y), validation_freq=[2])
kinds = [c[0] for c in calls]
assert kinds[0] == "train_begin" and kinds[-1] == "train_end"
assert kinds.count("epoch_begin") == 2 and kinds.count("train_batch_end") == 4
assert ("epoch_end", 0, ["loss", "mae"]) in calls  # no validation after epoch 1 (validation_freq=[2])
assert ("epoch_end", 1, ["loss", "mae", "val_loss", "val_mae"]) in calls
assert ("train_batch_end", 0, ["loss", "mae"]) in calls
calls.clear()
model.evaluate(x, y, batch_size=5, verbose=0, callbacks=[Recorder()])
assert [c[0] for c in calls] == ["test_begin", "test_batch_end", "test_batch_end", "test_end"]
assert calls[-1] == ("test_end", ["loss", "mae"])
calls.clear()
model.predict(x, batch_size=4, verbose=0, callbacks=[Recorder()])
assert [c[1] for c in calls] == [0, 1, 2] and calls[0][2] == ["outputs"]
