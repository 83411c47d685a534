"""A Keras 3 script runs after ``import nnrs as keras``; callbacks drive the real fit loop."""

import math

import nnrs as keras
import numpy as np
import pytest


def data(n=400, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 8)).astype("float32")
    y = (x[:, :2].sum(1) > 0).astype("int64") + 2 * (x[:, 2] > 0.5)
    return x, y


def make_model():
    keras.utils.set_random_seed(0)
    model = keras.Sequential([
        keras.Input(shape=(8,)),
        keras.layers.Dense(32, activation="relu", kernel_initializer="he_normal",
                           kernel_regularizer=keras.regularizers.L2(1e-4)),
        keras.layers.Dropout(0.1),
        keras.layers.Dense(4, activation="softmax"),
    ])
    return model


def test_keras_style_script(backend):
    x, y = data()
    model = make_model()
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.01, clipnorm=1.0),
                  loss=keras.losses.SparseCategoricalCrossentropy(), metrics=["accuracy"])
    x_val, y_val = data(100, seed=1)
    history = model.fit(
        x, y, batch_size=32, epochs=40, validation_data=(x_val, y_val), verbose=0,
        callbacks=[
            keras.callbacks.EarlyStopping(monitor="val_loss", patience=3, restore_best_weights=True),
            keras.callbacks.ReduceLROnPlateau(monitor="val_loss", factor=0.5, patience=1),
            keras.callbacks.TerminateOnNaN(),
        ],
    )
    epochs_run = len(history.history["loss"])
    assert epochs_run < 40, "early stopping should have stopped the run"
    best = min(history.history["val_loss"])
    val_loss, val_acc = model.evaluate(x_val, y_val, verbose=0)
    # restore_best_weights: the model is back at the best epoch (evaluate adds the L2 penalty too)
    assert abs(val_loss - best) < 1e-4
    assert val_acc > 0.8
    assert model.optimizer.learning_rate < 0.01  # the plateau callback lowered it
    probs = model.predict(x_val, verbose=0)
    assert probs.shape == (100, 4)
    onehot = keras.utils.to_categorical(y_val, 4)
    assert onehot.shape == (100, 4) and onehot.dtype == np.float64  # a float64 numpy array, as Keras 3 returns


def test_learning_rate_scheduler_sets_the_rate(backend):
    x, y = data(64)
    model = make_model()
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="sparse_categorical_crossentropy")
    seen = []
    sched = keras.callbacks.LearningRateScheduler(lambda epoch, lr: 0.1 * 0.5 ** epoch)
    spy = keras.callbacks.LambdaCallback(on_epoch_begin=lambda e, logs: seen.append(model.optimizer.learning_rate))
    model.fit(x, y, epochs=3, verbose=0, callbacks=[sched, spy])
    np.testing.assert_allclose(seen, [0.1, 0.05, 0.025], rtol=1e-6)


def test_terminate_on_nan_stops_training(backend):
    x, y = data(64)
    x[5, 0] = np.nan
    model = make_model()
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    h = model.fit(x, y, epochs=5, batch_size=64, verbose=0, callbacks=[keras.callbacks.TerminateOnNaN()])
    assert len(h.history["loss"]) == 1 and math.isnan(h.history["loss"][0])


def test_schedule_object_as_learning_rate(backend):
    x, y = data(64)
    model = make_model()
    sched = keras.optimizers.schedules.ExponentialDecay(0.1, decay_steps=1, decay_rate=0.5)
    model.compile(optimizer=keras.optimizers.SGD(sched), loss="sparse_categorical_crossentropy")
    model.fit(x, y, epochs=1, batch_size=16, verbose=0)  # 4 steps
    assert model.optimizer.iterations == 4
    assert model.optimizer.learning_rate == pytest.approx(0.1 * 0.5 ** 4)
