"""Callbacks driven by a small fit loop over a fake model: History, CallbackList
dispatch, EarlyStopping, LearningRateScheduler, ReduceLROnPlateau, ModelCheckpoint,
TerminateOnNaN, ProgbarLogger output; explicit and inferred modes; a few real fits."""

import math

import numpy as np
import pytest
from nnrs import callbacks as C
from nnrs import metrics, optimizers


class FakeOptimizer:
    def __init__(self, lr=0.1):
        self._lr = lr

    @property
    def learning_rate(self):
        return self._lr

    @learning_rate.setter
    def learning_rate(self, v):
        self._lr = float(v)


class FakeModel:
    """What callbacks see of a model. Epoch k of ``fit`` sets every weight to k."""

    def __init__(self, optimizer=None, metrics_=()):
        self.stop_training = False
        self.optimizer = optimizer or FakeOptimizer()
        self.weights = [np.zeros(2), np.zeros((1, 3))]
        self.metrics = list(metrics_)

    def get_weights(self):
        return [w.copy() for w in self.weights]

    def set_weights(self, ws):
        self.weights = [np.array(w) for w in ws]


def fit(model, callbacks, epoch_logs, steps=3, batch_losses=None, verbose=0):
    """A fit loop as models.fit drives callbacks; epoch_logs[k] are the logs of epoch k."""
    history = C.History()
    cbl = C.CallbackList(list(callbacks) + [history], model=model)
    cbl.set_params({"epochs": len(epoch_logs), "steps": steps, "verbose": verbose})
    model.stop_training = False
    cbl.on_train_begin()
    for epoch, logs in enumerate(epoch_logs):
        cbl.on_epoch_begin(epoch)
        for step in range(steps):
            cbl.on_train_batch_begin(step)
            loss = batch_losses[epoch][step] if batch_losses else logs.get("loss", 1.0)
            cbl.on_train_batch_end(step, {"loss": loss})
            if model.stop_training:
                break
        model.set_weights([np.full_like(w, epoch) for w in model.weights])
        cbl.on_epoch_end(epoch, dict(logs))
        if model.stop_training:
            break
    cbl.on_train_end()
    return history


# ---- History / CallbackList -----------------------------------------------------------

def test_history_records_epochs():
    model = FakeModel()
    h = fit(model, [], [{"loss": 1.0, "val_loss": 2.0}, {"loss": 0.5, "val_loss": 1.5}])
    assert h.epoch == [0, 1]
    assert h.history == {"loss": [1.0, 0.5], "val_loss": [2.0, 1.5]}
    assert model.history is h
    assert h.params["epochs"] == 2 and h.model is model


def test_callback_list_dispatch_and_legacy_batch_hooks():
    seen = []

    class Legacy(C.Callback):
        def on_batch_end(self, batch, logs=None):
            seen.append(("legacy", batch))

    class Modern(C.Callback):
        def on_train_batch_begin(self, batch, logs=None):
            seen.append(("begin", batch))

        def on_epoch_end(self, epoch, logs=None):
            seen.append(("epoch", epoch, logs["loss"]))

    lam = C.LambdaCallback(on_train_end=lambda logs: seen.append(("end",)))
    plain = C.Callback()
    cbl = C.CallbackList([Legacy(), Modern(), lam, plain], model=FakeModel())
    # only the callbacks overriding a batch hook get batch calls
    assert len(cbl._hooks["on_train_batch_end"]) == 1
    assert len(cbl._hooks["on_train_batch_begin"]) == 1
    assert cbl._hooks["on_test_batch_end"] == []
    cbl.on_train_batch_begin(0)
    cbl.on_train_batch_end(0, {"loss": 1.0})
    cbl.on_epoch_end(0, {"loss": np.float32(0.5)})
    cbl.on_train_end()
    assert seen == [("begin", 0), ("legacy", 0), ("epoch", 0, 0.5), ("end",)]
    assert type(seen[2][2]) is float  # epoch logs are plain Python floats
    assert plain.model is cbl.model


def test_callback_list_defaults_and_params():
    model = FakeModel()
    cbl = C.CallbackList(None, add_history=True, add_progbar=True, model=model, verbose=2, epochs=3, steps=5)
    kinds = [type(c) for c in cbl]
    assert kinds == [C.ProgbarLogger, C.History]
    assert cbl.callbacks[0].verbose == 2 and cbl.callbacks[0].epochs == 3
    assert cbl.callbacks[1].params == {"verbose": 2, "epochs": 3, "steps": 5}
    assert model.history is cbl.callbacks[1]
    extra = C.Callback()
    cbl.append(extra)
    assert extra.model is model and extra.params["steps"] == 5


# ---- EarlyStopping --------------------------------------------------------------------

def _val(*values, key="val_loss"):
    return [{"loss": 1.0, key: v} for v in values]


def test_early_stopping_patience():
    es = C.EarlyStopping(patience=2)
    model = FakeModel()
    h = fit(model, [es], _val(1.0, 0.9, 0.95, 0.91, 0.8, 0.7))
    # best at epoch 1; epochs 2 and 3 do not improve -> stop at epoch 3
    assert h.epoch == [0, 1, 2, 3]
    assert es.stopped_epoch == 3 and model.stop_training
    assert es.best == 0.9 and es.best_epoch == 1


def test_early_stopping_patience_zero_and_min_delta():
    es = C.EarlyStopping(min_delta=0.1)
    h = fit(FakeModel(), [es], _val(1.0, 0.95, 0.5))
    assert h.epoch == [0, 1] and es.stopped_epoch == 1  # 0.05 better is not enough
    es = C.EarlyStopping(min_delta=0.1)
    h = fit(FakeModel(), [es], _val(1.0, 0.85, 0.7))
    assert h.epoch == [0, 1, 2] and es.stopped_epoch == 0


def test_early_stopping_auto_mode_maximises_accuracy():
    es = C.EarlyStopping(monitor="val_accuracy", patience=1)
    h = fit(FakeModel(), [es], _val(0.5, 0.6, 0.7, 0.65, 0.9, key="val_accuracy"))
    assert h.epoch == [0, 1, 2, 3]  # epoch 3 is worse than 0.7
    es = C.EarlyStopping(monitor="val_accuracy", mode="min", patience=0)
    h = fit(FakeModel(), [es], _val(0.5, 0.6, key="val_accuracy"))
    assert h.epoch == [0, 1]


def test_early_stopping_auto_mode_uses_metric_direction():
    model = FakeModel(metrics_=[metrics.get("mae")])
    es = C.EarlyStopping(monitor="val_mae")
    h = fit(model, [es], _val(1.0, 0.5, 0.7, key="val_mae"))
    assert h.epoch == [0, 1, 2] and es.stopped_epoch == 2
    with pytest.raises(ValueError, match="mode='max'"):
        fit(FakeModel(), [C.EarlyStopping(monitor="val_mystery")], _val(1.0, key="val_mystery"))


def test_early_stopping_restore_best_weights():
    es = C.EarlyStopping(patience=2, restore_best_weights=True)
    model = FakeModel()
    fit(model, [es], _val(1.0, 0.5, 0.7, 0.8, 0.1))
    assert es.stopped_epoch == 3
    for w in model.weights:
        assert np.all(w == 1)  # weights after epoch 1, the best
    # without early stopping the best weights are restored too
    es = C.EarlyStopping(patience=5, restore_best_weights=True)
    model = FakeModel()
    fit(model, [es], _val(1.0, 0.5, 0.7))
    assert es.stopped_epoch == 0 and np.all(model.weights[0] == 1)
    es = C.EarlyStopping(patience=5)
    model = FakeModel()
    fit(model, [es], _val(1.0, 0.5, 0.7))
    assert np.all(model.weights[0] == 2)


def test_early_stopping_baseline():
    es = C.EarlyStopping(patience=2, baseline=0.5)
    h = fit(FakeModel(), [es], _val(0.9, 0.8, 0.85, 0.4))
    # improvements that do not beat the baseline do not reset the patience counter
    assert h.epoch == [0, 1, 2] and es.stopped_epoch == 2
    es = C.EarlyStopping(patience=2)
    h = fit(FakeModel(), [es], _val(0.9, 0.8, 0.85, 0.4))
    assert h.epoch == [0, 1, 2, 3] and es.stopped_epoch == 0


def test_early_stopping_start_from_epoch():
    es = C.EarlyStopping(patience=0, start_from_epoch=2)
    h = fit(FakeModel(), [es], _val(1.0, 2.0, 3.0, 4.0, 0.0))
    assert h.epoch == [0, 1, 2, 3] and es.stopped_epoch == 3 and es.best == 3.0
    es = C.EarlyStopping(patience=0)
    h = fit(FakeModel(), [es], _val(1.0, 2.0, 3.0, 4.0, 0.0))
    assert h.epoch == [0, 1] and es.stopped_epoch == 1


def test_early_stopping_reusable():
    es = C.EarlyStopping(patience=0)
    fit(FakeModel(), [es], _val(1.0, 2.0))
    assert es.stopped_epoch == 1
    h = fit(FakeModel(), [es], _val(1.0, 0.5, 0.2))
    assert h.epoch == [0, 1, 2] and es.stopped_epoch == 0


def test_missing_monitor_warns_with_available_keys():
    es = C.EarlyStopping(monitor="val_loss")
    with pytest.warns(UserWarning, match=r"no 'val_loss' in the logs.*they hold loss, accuracy"):
        h = fit(FakeModel(), [es], [{"loss": 1.0, "accuracy": 0.5}] * 2)
    assert h.epoch == [0, 1]
    rl = C.ReduceLROnPlateau(monitor="val_acc")
    with pytest.warns(UserWarning, match=r"ReduceLROnPlateau: no 'val_acc' in the logs.*they hold loss, learning_rate"):
        fit(FakeModel(), [rl], [{"loss": 1.0}])


# ---- learning rate callbacks ----------------------------------------------------------

def test_learning_rate_scheduler_two_and_one_argument_forms():
    model = FakeModel(FakeOptimizer(1.0))
    seen = []
    sched = C.LearningRateScheduler(lambda epoch, lr: seen.append(lr) or lr * 0.5)
    h = fit(model, [sched], [{"loss": 1.0}] * 3)
    assert seen == [1.0, 0.5, 0.25]
    assert h.history["learning_rate"] == [0.5, 0.25, 0.125]
    model = FakeModel(FakeOptimizer(1.0))
    fit(model, [C.LearningRateScheduler(lambda epoch: 0.1 * (epoch + 1))], [{"loss": 1.0}] * 2)
    assert model.optimizer.learning_rate == pytest.approx(0.2)
    with pytest.raises(ValueError, match="returned 'fast'.*must return a number"):
        fit(FakeModel(), [C.LearningRateScheduler(lambda e, lr: "fast")], [{"loss": 1.0}])


def test_learning_rate_scheduler_drives_a_real_optimizer():
    model = FakeModel(optimizers.Adam(0.01))
    fit(model, [C.LearningRateScheduler(lambda e, lr: lr / 10)], [{"loss": 1.0}] * 2)
    assert model.optimizer.learning_rate == pytest.approx(1e-4)


def test_learning_rate_scheduler_does_not_hide_errors_of_the_schedule():
    # a TypeError raised inside a two-argument schedule is the schedule's own error, not
    # a sign that it wants one argument: it must reach the caller unchanged
    def broken(epoch, lr):
        return lr + "oops"

    with pytest.raises(TypeError, match="unsupported operand"):
        fit(FakeModel(), [C.LearningRateScheduler(broken)], [{"loss": 1.0}])
    seen = []
    fit(FakeModel(FakeOptimizer(1.0)), [C.LearningRateScheduler(lambda epoch, lr=5.0: seen.append(lr) or lr)],
        [{"loss": 1.0}])
    assert seen == [1.0]  # a defaulted second parameter still receives the current rate


def test_verbose_messages(capsys):
    model = SavingModel()
    callbacks = [C.EarlyStopping(monitor="val_loss", patience=1, verbose=1, restore_best_weights=True),
                 C.ReduceLROnPlateau(monitor="val_loss", patience=1, factor=0.5, verbose=1),
                 C.ModelCheckpoint("w", save_best_only=True, save_weights_only=True, verbose=1),
                 C.LearningRateScheduler(lambda epoch, lr: lr, verbose=1)]
    fit(model, callbacks, _val(1.0, 2.0, 3.0))
    out = capsys.readouterr().out
    assert "stopped after epoch 2" in out and "weights set back to those after epoch 1" in out
    assert "learning rate 0.1 -> 0.05 after epoch 2" in out
    assert "val_loss improved from nothing to 1; saved w" in out and "2 is not better than 1" in out
    assert "epoch 1 runs with learning rate 0.1" in out


def test_reduce_lr_on_plateau():
    model = FakeModel(FakeOptimizer(1.0))
    rl = C.ReduceLROnPlateau(factor=0.5, patience=2, min_lr=0.2)
    h = fit(model, [rl], _val(1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0))
    # no improvement after epoch 0: reduce at epochs 2, 4 and 6 (clamped to min_lr); as
    # in Keras the logged rate is the one the epoch ran with (logged before reducing)
    assert h.history["learning_rate"] == [1.0, 1.0, 1.0, 0.5, 0.5, 0.25, 0.25]
    assert model.optimizer.learning_rate == 0.2


def test_reduce_lr_on_plateau_min_delta_and_cooldown():
    model = FakeModel(FakeOptimizer(1.0))
    rl = C.ReduceLROnPlateau(factor=0.1, patience=1, cooldown=2, min_delta=0.01)
    h = fit(model, [rl], _val(1.0, 0.995, 0.99, 0.985, 0.98, 0.975))
    # epoch 1: 0.005 better is no improvement -> reduce, cooldown 2 (epochs 2-3 cannot
    # reduce); epoch 3 improves on the best (1.0) by 0.015; epoch 4 does not -> reduce;
    # epoch 5 is in cooldown again. Logged rates are those each epoch ran with.
    assert h.history["learning_rate"] == pytest.approx([1.0, 1.0, 0.1, 0.1, 0.1, 0.01])
    assert model.optimizer.learning_rate == pytest.approx(0.01)
    assert rl.best == 0.985 and rl.cooldown_counter == 1
    model = FakeModel(FakeOptimizer(1.0))
    fit(model, [C.ReduceLROnPlateau(factor=0.1, patience=1, min_delta=0.001)], _val(1.0, 0.995, 0.99))
    assert model.optimizer.learning_rate == 1.0  # improvements above min_delta


def test_reduce_lr_on_plateau_accuracy_mode_and_validation():
    model = FakeModel(FakeOptimizer(1.0))
    rl = C.ReduceLROnPlateau(monitor="val_acc", factor=0.5, patience=1)
    h = fit(model, [rl], _val(0.5, 0.6, 0.55, 0.7, key="val_acc"))
    assert h.history["learning_rate"] == [1.0, 1.0, 1.0, 0.5]
    assert model.optimizer.learning_rate == 0.5
    with pytest.raises(ValueError):
        C.ReduceLROnPlateau(factor=1.0)


# ---- explicit and inferred modes -------------------------------------------------------
#
# Every case is one line: a callback watching a rising or a falling series. A falling
# series is progress for mode="min" and stagnation for mode="max", and the reverse for
# a rising one, so swapping the two modes anywhere changes the outcome of each line.

_RISING = (1.0, 2.0, 3.0, 4.0, 5.0)
_FALLING = (5.0, 4.0, 3.0, 2.0, 1.0)


@pytest.mark.parametrize("mode, key, series, reduced", [
    ("min", "val_loss", _FALLING, False),
    ("min", "val_loss", _RISING, True),
    ("max", "val_loss", _FALLING, True),
    ("max", "val_loss", _RISING, False),
    ("min", "val_accuracy", _RISING, True),    # explicit mode wins over the name
    ("max", "val_accuracy", _FALLING, True),
    ("auto", "val_accuracy", _RISING, False),  # accuracy: larger is better
    ("auto", "val_accuracy", _FALLING, True),
    ("auto", "acc", _RISING, False),
    ("auto", "acc", _FALLING, True),
    ("auto", "loss", _FALLING, False),         # loss: smaller is better
    ("auto", "loss", _RISING, True),
    ("auto", "val_mystery", _FALLING, False),  # names that say nothing: smaller is better
    ("auto", "val_mystery", _RISING, True),
])
def test_reduce_lr_on_plateau_modes(mode, key, series, reduced):
    model = FakeModel(FakeOptimizer(1.0))
    fit(model, [C.ReduceLROnPlateau(monitor=key, mode=mode, factor=0.5, patience=1, min_delta=0)],
        _val(*series, key=key))
    assert (model.optimizer.learning_rate < 1.0) is reduced


@pytest.mark.parametrize("mode, key, series, stopped_at", [
    ("min", "val_loss", _FALLING, 0),
    ("min", "val_loss", _RISING, 2),
    ("max", "val_loss", _FALLING, 2),
    ("max", "val_loss", _RISING, 0),
    ("min", "val_accuracy", _RISING, 2),
    ("max", "val_accuracy", _FALLING, 2),
    ("auto", "val_accuracy", _RISING, 0),
    ("auto", "val_accuracy", _FALLING, 2),
    ("auto", "acc", _FALLING, 2),
    ("auto", "loss", _FALLING, 0),
    ("auto", "loss", _RISING, 2),
    ("auto", "val_mean_squared_error", _RISING, 2),
    ("auto", "val_precision", _FALLING, 2),
])
def test_early_stopping_modes(mode, key, series, stopped_at):
    es = C.EarlyStopping(monitor=key, mode=mode, patience=2)
    h = fit(FakeModel(), [es], _val(*series, key=key))
    assert es.stopped_epoch == stopped_at
    assert len(h.epoch) == (stopped_at + 1 if stopped_at else len(series))
    assert es.best == (series[0] if stopped_at else series[-1])


def test_early_stopping_max_mode_min_delta_baseline_restore():
    # min_delta in max mode: +0.05 is not progress, +0.2 is
    es = C.EarlyStopping(monitor="val_auc", mode="max", min_delta=0.1, patience=2)
    h = fit(FakeModel(), [es], _val(0.5, 0.55, 0.75, 0.8, 0.84, key="val_auc"))
    assert es.best == 0.75 and es.best_epoch == 2 and es.stopped_epoch == 4 and len(h.epoch) == 5
    # a max-mode baseline: rising values below it never reset the patience count
    es = C.EarlyStopping(monitor="val_accuracy", baseline=0.9, patience=2)
    h = fit(FakeModel(), [es], _val(0.5, 0.6, 0.55, 0.95, key="val_accuracy"))
    assert es.stopped_epoch == 2 and h.epoch == [0, 1, 2]
    es = C.EarlyStopping(monitor="val_accuracy", baseline=0.4, patience=2)
    h = fit(FakeModel(), [es], _val(0.5, 0.6, 0.55, 0.95, key="val_accuracy"))
    assert es.stopped_epoch == 0 and len(h.epoch) == 4
    # restore_best_weights picks the largest value in max mode (epoch 1 here)
    model = FakeModel()
    es = C.EarlyStopping(monitor="score", mode="max", patience=2, restore_best_weights=True)
    fit(model, [es], _val(0.3, 0.9, 0.2, 0.1, 0.0, key="score"))
    assert es.stopped_epoch == 3 and np.all(model.weights[0] == 1)


def test_early_stopping_start_from_epoch_in_max_mode():
    # epochs 0-2 are not looked at, so the early peak does not count as the best
    es = C.EarlyStopping(monitor="val_accuracy", patience=1, start_from_epoch=3)
    h = fit(FakeModel(), [es], _val(0.99, 0.1, 0.1, 0.5, 0.6, 0.55, 0.5, key="val_accuracy"))
    assert es.best == 0.6 and es.best_epoch == 4 and es.stopped_epoch == 5 and len(h.epoch) == 6


def test_unknown_mode_warns_and_uses_auto():
    with pytest.warns(UserWarning, match="mode must be"):
        es = C.EarlyStopping(monitor="val_accuracy", mode="maximum", patience=0)
    assert es.mode == "auto"
    h = fit(FakeModel(), [es], _val(0.5, 0.6, 0.4, key="val_accuracy"))
    assert es.stopped_epoch == 2 and len(h.epoch) == 3
    with pytest.warns(UserWarning, match="mode must be"):
        assert C.ReduceLROnPlateau(mode="down").mode == "auto"


def test_reduce_lr_on_plateau_cooldown_spaces_reductions():
    # constant values, patience 1: without cooldown every epoch after the first reduces;
    # with cooldown=2 the epoch after each reduction cannot count (Keras' counting)
    model = FakeModel(FakeOptimizer(1.0))
    h = fit(model, [C.ReduceLROnPlateau(monitor="loss", factor=0.5, patience=1)], _val(*[1.0] * 6))
    assert h.history["learning_rate"] == [1.0, 1.0, 0.5, 0.25, 0.125, 0.0625]
    model = FakeModel(FakeOptimizer(1.0))
    rl = C.ReduceLROnPlateau(monitor="loss", factor=0.5, patience=1, cooldown=2)
    h = fit(model, [rl], _val(*[1.0] * 6))
    assert h.history["learning_rate"] == [1.0, 1.0, 0.5, 0.5, 0.25, 0.25]
    assert model.optimizer.learning_rate == 0.125
    model = FakeModel(FakeOptimizer(1.0))
    h = fit(model, [C.ReduceLROnPlateau(monitor="loss", factor=0.5, patience=1, cooldown=3)], _val(*[1.0] * 6))
    assert h.history["learning_rate"] == [1.0, 1.0, 0.5, 0.5, 0.5, 0.25]


def test_reduce_lr_on_plateau_stops_at_min_lr_and_min_delta_in_max_mode():
    model = FakeModel(FakeOptimizer(1.0))
    rl = C.ReduceLROnPlateau(monitor="loss", factor=0.1, patience=1, min_lr=0.05)
    fit(model, [rl], _val(*[1.0] * 5))
    assert model.optimizer.learning_rate == 0.05  # 1 -> 0.1 -> 0.05, then left alone
    assert rl.wait == 2  # the stagnation keeps being counted
    # max mode: +0.05 is below min_delta=0.1, so it is no progress and the rate drops
    model = FakeModel(FakeOptimizer(1.0))
    fit(model, [C.ReduceLROnPlateau(monitor="val_accuracy", mode="max", min_delta=0.1, factor=0.5, patience=1)],
        _val(0.5, 0.55, key="val_accuracy"))
    assert model.optimizer.learning_rate == 0.5
    model = FakeModel(FakeOptimizer(1.0))
    fit(model, [C.ReduceLROnPlateau(monitor="val_accuracy", mode="max", min_delta=0.1, factor=0.5, patience=1)],
        _val(0.5, 0.65, key="val_accuracy"))
    assert model.optimizer.learning_rate == 1.0


# ---- ModelCheckpoint ------------------------------------------------------------------

class SavingModel(FakeModel):
    """Records every save: (kind, path, the value of weights[0] at that moment)."""

    def __init__(self):
        super().__init__()
        self.saves = []

    def save_weights(self, path):
        self.saves.append(("weights", path, float(self.weights[0][0])))

    def save(self, path):
        self.saves.append(("model", path, float(self.weights[0][0])))


@pytest.mark.parametrize("mode, key, series, saved_epochs", [
    ("min", "val_loss", (3.0, 2.0, 2.5, 1.0), [0, 1, 3]),
    ("max", "val_loss", (3.0, 2.0, 2.5, 4.0), [0, 3]),
    ("max", "val_loss", (1.0, 2.0, 1.5, 3.0), [0, 1, 3]),
    ("min", "val_loss", (1.0, 2.0, 1.5, 3.0), [0]),
    ("auto", "val_accuracy", (0.5, 0.7, 0.6, 0.8), [0, 1, 3]),
    ("auto", "acc", (0.5, 0.4, 0.6, 0.3), [0, 2]),
    ("auto", "loss", (0.5, 0.7, 0.4, 0.45), [0, 2]),
])
def test_model_checkpoint_save_best_only_modes(mode, key, series, saved_epochs):
    model = SavingModel()
    mc = C.ModelCheckpoint("ckpt-{epoch:02d}.weights.h5", monitor=key, mode=mode,
                           save_best_only=True, save_weights_only=True)
    fit(model, [mc], _val(*series, key=key))
    # the weights of epoch k are all k (FakeModel), so a save records its epoch
    assert [epoch for _, _, epoch in model.saves] == saved_epochs
    assert [path for _, path, _ in model.saves] == [f"ckpt-{e + 1:02d}.weights.h5" for e in saved_epochs]
    best = min(series) if (mode == "min" or key == "loss") else max(series)
    assert mc.best == (series[0] if saved_epochs == [0] else best)


def test_model_checkpoint_every_epoch_batches_threshold_and_missing_key(tmp_path):
    model = SavingModel()
    fit(model, [C.ModelCheckpoint(str(tmp_path / "m-{epoch}-{val_loss:.1f}.keras"))], _val(0.5, 0.25))
    assert model.saves == [("model", str(tmp_path / "m-1-0.5.keras"), 0.0),
                           ("model", str(tmp_path / "m-2-0.2.keras"), 1.0)]
    # an integer save_freq counts training batches across epochs (3 per epoch here)
    model = SavingModel()
    fit(model, [C.ModelCheckpoint("b{epoch}-{batch}", save_freq=2, save_weights_only=True)], _val(1, 1, 1))
    assert [p for _, p, _ in model.saves] == ["b1-2", "b2-1", "b2-3", "b3-2"]
    # the first save has to beat initial_value_threshold
    model = SavingModel()
    mc = C.ModelCheckpoint("w", save_best_only=True, save_weights_only=True, initial_value_threshold=0.6)
    fit(model, [mc], _val(0.9, 0.7, 0.5, 0.55))
    assert [e for _, _, e in model.saves] == [2] and mc.best == 0.5
    model = SavingModel()
    with pytest.warns(UserWarning, match="no 'val_loss'"):
        fit(model, [C.ModelCheckpoint("w", save_best_only=True)], [{"loss": 1.0}])
    assert model.saves == []
    with pytest.raises(ValueError, match="save_weights_only=True"):
        fit(FakeModel(), [C.ModelCheckpoint("w")], [{"loss": 1.0}])
    with pytest.raises(ValueError, match="save_freq"):
        C.ModelCheckpoint("w", save_freq="batch")
    with pytest.raises(ValueError, match="mode='min'"):
        fit(SavingModel(), [C.ModelCheckpoint("w", monitor="val_thing", save_best_only=True)],
            _val(1.0, key="val_thing"))


# ---- real fit runs --------------------------------------------------------------------

def _regression(seed=0):
    import nnrs

    nnrs.random.seed(seed)
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(64, 3)).astype("float32")
    y = x @ np.array([[1.0], [-2.0], [0.5]], dtype="float32")
    model = nnrs.Sequential([nnrs.Input((3,)), nnrs.layers.Dense(1)])
    model.compile(optimizer=nnrs.optimizers.SGD(0.05), loss="mse")
    return model, x, y


def test_fit_with_modes_on_a_real_model():
    # the loss of this linear regression falls every epoch: progress for "min" ...
    model, x, y = _regression()
    es = C.EarlyStopping(monitor="loss", mode="min", patience=0)
    h = model.fit(x, y, epochs=4, batch_size=16, verbose=0, callbacks=[es])
    assert len(h.epoch) == 4 and es.stopped_epoch == 0
    assert h.history["loss"] == sorted(h.history["loss"], reverse=True)
    # ... and stagnation for "max": stop after the second epoch, lower the rate each epoch
    model, x, y = _regression()
    es = C.EarlyStopping(monitor="loss", mode="max", patience=0)
    h = model.fit(x, y, epochs=4, batch_size=16, verbose=0, callbacks=[es])
    assert h.epoch == [0, 1] and es.stopped_epoch == 1
    model, x, y = _regression()
    rl = C.ReduceLROnPlateau(monitor="loss", mode="max", factor=0.5, patience=1)
    h = model.fit(x, y, epochs=3, batch_size=16, verbose=0, callbacks=[rl])
    assert h.history["learning_rate"] == pytest.approx([0.05, 0.05, 0.025])
    assert float(model.optimizer.learning_rate) == pytest.approx(0.0125)


def test_fit_checkpoint_saves_the_best_weights(tmp_path):
    model, x, y = _regression()
    path = tmp_path / "best.weights.h5"
    mc = C.ModelCheckpoint(str(path), monitor="val_loss", save_best_only=True, save_weights_only=True)
    h = model.fit(x, y, epochs=3, batch_size=16, verbose=0, validation_data=(x, y), callbacks=[mc])
    assert path.exists() and mc.best == min(h.history["val_loss"])
    fresh, _, _ = _regression(seed=1)
    fresh.load_weights(str(path))
    np.testing.assert_allclose(fresh.predict(x, verbose=0), model.predict(x, verbose=0))


# ---- TerminateOnNaN -------------------------------------------------------------------

def test_terminate_on_nan(capsys):
    model = FakeModel()
    h = fit(model, [C.TerminateOnNaN()], [{"loss": 1.0}] * 3, steps=4,
            batch_losses=[[1.0, 0.9, 0.8, 0.7], [0.6, float("nan"), 0.5, 0.4], [1, 1, 1, 1]])
    assert model.stop_training and h.epoch == [0, 1]
    assert "loss of batch 1 is nan" in capsys.readouterr().out
    model = FakeModel()
    fit(model, [C.TerminateOnNaN()], [{"loss": 1.0}], batch_losses=[[1.0, math.inf, 1.0]])
    assert model.stop_training
    model = FakeModel()
    fit(model, [C.TerminateOnNaN()], [{"loss": 1.0}] * 2)
    assert not model.stop_training


# ---- ProgbarLogger --------------------------------------------------------------------

_LOGS = [{"loss": 0.5, "accuracy": 0.75, "val_loss": 0.625, "val_accuracy": 0.5},
         {"loss": 0.25, "accuracy": 0.875, "val_loss": 0.375, "val_accuracy": 0.0001}]


def test_progbar_verbose_1_shows_a_bar_per_epoch(capsys):
    fit(FakeModel(), [C.ProgbarLogger(verbose=1)], _LOGS, steps=4, verbose=1)
    out = capsys.readouterr().out
    assert "Epoch 1/2" in out and "Epoch 2/2" in out
    assert "4/4" in out
    assert "loss=0.5000" in out and "loss=0.2500" in out
    assert "val_loss=0.6250" in out and "val_accuracy=1.0000e-04" in out


def test_progbar_verbose_2_prints_one_line_per_epoch(capsys):
    fit(FakeModel(), [C.ProgbarLogger(verbose=2)], _LOGS, steps=4, verbose=2)
    lines = [l for l in capsys.readouterr().out.splitlines() if l.strip()]
    assert len(lines) == 2
    assert lines[0].startswith("Epoch 1/2 - ") and lines[1].startswith("Epoch 2/2 - ")
    assert "loss: 0.5000 - accuracy: 0.7500 - val_loss: 0.6250 - val_accuracy: 0.5000" in lines[0]
    assert "s/step" in lines[0] and "s - " in lines[0]


def test_progbar_verbose_0_prints_nothing(capsys):
    fit(FakeModel(), [C.ProgbarLogger(verbose=0)], _LOGS, steps=4)
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""


def test_progbar_evaluate_outside_fit(capsys):
    p = C.ProgbarLogger(verbose=1)
    cbl = C.CallbackList([p], model=FakeModel(), verbose=1, steps=2)
    cbl.on_test_begin()
    cbl.on_test_batch_end(0, {"loss": 0.5})
    cbl.on_test_batch_end(1, {"loss": 0.25})
    cbl.on_test_end({"loss": 0.25})
    out = capsys.readouterr().out
    assert "2/2" in out and "loss=0.2500" in out
