"""Callbacks with Keras 3 names, defaults and semantics.

``fit`` drives a ``CallbackList``; each callback sees the model (``self.model``) and
the run parameters (``self.params``: ``epochs``, ``steps``, ``verbose``) and gets
``logs`` dicts of floats: per batch the running ``loss`` and metrics, per epoch
those plus the ``val_`` ones.
"""

from __future__ import annotations

import math
import sys
import time
import warnings

import numpy as np

__all__ = [
    "Callback", "CallbackList", "History", "EarlyStopping", "LearningRateScheduler",
    "ReduceLROnPlateau", "TerminateOnNaN", "ProgbarLogger", "LambdaCallback",
]


class Callback:
    """Base class: override the hooks you need. ``on_train_batch_*`` call the
    legacy ``on_batch_*`` hooks, as in Keras."""

    def __init__(self):
        self.params = None
        self._model = None

    def set_params(self, params):
        self.params = params

    def set_model(self, model):
        self._model = model

    @property
    def model(self):
        return self._model

    def on_batch_begin(self, batch, logs=None):
        """A backwards compatibility alias for ``on_train_batch_begin``."""

    def on_batch_end(self, batch, logs=None):
        """A backwards compatibility alias for ``on_train_batch_end``."""

    def on_epoch_begin(self, epoch, logs=None):
        pass

    def on_epoch_end(self, epoch, logs=None):
        pass

    def on_train_batch_begin(self, batch, logs=None):
        self.on_batch_begin(batch, logs=logs)

    def on_train_batch_end(self, batch, logs=None):
        self.on_batch_end(batch, logs=logs)

    def on_test_batch_begin(self, batch, logs=None):
        pass

    def on_test_batch_end(self, batch, logs=None):
        pass

    def on_predict_batch_begin(self, batch, logs=None):
        pass

    def on_predict_batch_end(self, batch, logs=None):
        pass

    def on_train_begin(self, logs=None):
        pass

    def on_train_end(self, logs=None):
        pass

    def on_test_begin(self, logs=None):
        pass

    def on_test_end(self, logs=None):
        pass

    def on_predict_begin(self, logs=None):
        pass

    def on_predict_end(self, logs=None):
        pass


_BATCH_HOOKS = {
    "on_train_batch_begin": ("on_train_batch_begin", "on_batch_begin"),
    "on_train_batch_end": ("on_train_batch_end", "on_batch_end"),
    "on_test_batch_begin": ("on_test_batch_begin",),
    "on_test_batch_end": ("on_test_batch_end",),
    "on_predict_batch_begin": ("on_predict_batch_begin",),
    "on_predict_batch_end": ("on_predict_batch_end",),
}


def _overrides(cb, names):
    cls = type(cb)
    for n in names:
        if getattr(cls, n, None) is not getattr(Callback, n):
            return True
        if n in getattr(cb, "__dict__", {}):
            return True
    return False


def _pythonify(logs):
    """Epoch-level logs as plain Python floats (numpy scalars and 0-d arrays converted)."""
    if not logs:
        return {} if logs is None else logs
    out = {}
    for k, v in logs.items():
        if isinstance(v, (np.ndarray, np.generic)) and np.ndim(v) == 0:
            v = float(v)
        out[k] = v
    return out


class CallbackList(Callback):
    """Calls a list of callbacks. Batch hooks only reach the callbacks that override
    them, so a step with no batch-level callbacks costs almost nothing."""

    def __init__(self, callbacks=None, add_history=False, add_progbar=False, model=None, **params):
        super().__init__()
        self.callbacks = list(callbacks) if callbacks else []
        self._history = None
        self._progbar = None
        verbose = params.get("verbose", 1)
        self._add_default_callbacks(add_history, add_progbar, 1 if verbose == "auto" else verbose)
        self._update_hooks()
        if model is not None:
            self.set_model(model)
        if params:
            self.set_params(params)

    def _add_default_callbacks(self, add_history, add_progbar, verbose):
        for cb in self.callbacks:
            if isinstance(cb, ProgbarLogger):
                self._progbar = cb
            elif isinstance(cb, History):
                self._history = cb
        if self._progbar is None and add_progbar:
            self._progbar = ProgbarLogger(verbose=verbose)
            self.callbacks.insert(0, self._progbar)
        if self._history is None and add_history:
            self._history = History()
            self.callbacks.append(self._history)

    def _update_hooks(self):
        self._hooks = {
            hook: [getattr(cb, hook) for cb in self.callbacks if _overrides(cb, names)]
            for hook, names in _BATCH_HOOKS.items()
        }

    def append(self, callback):
        self.callbacks.append(callback)
        if self._model is not None:
            callback.set_model(self._model)
        if self.params is not None:
            callback.set_params(self.params)
        self._update_hooks()

    def __iter__(self):
        return iter(self.callbacks)

    def __len__(self):
        return len(self.callbacks)

    def set_params(self, params):
        self.params = params
        for cb in self.callbacks:
            cb.set_params(params)

    def set_model(self, model):
        self._model = model
        if self._history is not None:
            model.history = self._history
        for cb in self.callbacks:
            cb.set_model(model)

    # batch hooks: only the callbacks that override them
    def on_train_batch_begin(self, batch, logs=None):
        for f in self._hooks["on_train_batch_begin"]:
            f(batch, logs)

    def on_train_batch_end(self, batch, logs=None):
        for f in self._hooks["on_train_batch_end"]:
            f(batch, logs)

    on_batch_begin = on_train_batch_begin
    on_batch_end = on_train_batch_end

    def on_test_batch_begin(self, batch, logs=None):
        for f in self._hooks["on_test_batch_begin"]:
            f(batch, logs)

    def on_test_batch_end(self, batch, logs=None):
        for f in self._hooks["on_test_batch_end"]:
            f(batch, logs)

    def on_predict_batch_begin(self, batch, logs=None):
        for f in self._hooks["on_predict_batch_begin"]:
            f(batch, logs)

    def on_predict_batch_end(self, batch, logs=None):
        for f in self._hooks["on_predict_batch_end"]:
            f(batch, logs)

    # epoch and run hooks: every callback
    def on_epoch_begin(self, epoch, logs=None):
        logs = _pythonify(logs)
        for cb in self.callbacks:
            cb.on_epoch_begin(epoch, logs)

    def on_epoch_end(self, epoch, logs=None):
        logs = _pythonify(logs)
        for cb in self.callbacks:
            cb.on_epoch_end(epoch, logs)

    def on_train_begin(self, logs=None):
        logs = _pythonify(logs)
        for cb in self.callbacks:
            cb.on_train_begin(logs)

    def on_train_end(self, logs=None):
        logs = _pythonify(logs)
        for cb in self.callbacks:
            cb.on_train_end(logs)

    def on_test_begin(self, logs=None):
        logs = _pythonify(logs)
        for cb in self.callbacks:
            cb.on_test_begin(logs)

    def on_test_end(self, logs=None):
        logs = _pythonify(logs)
        for cb in self.callbacks:
            cb.on_test_end(logs)

    def on_predict_begin(self, logs=None):
        logs = _pythonify(logs)
        for cb in self.callbacks:
            cb.on_predict_begin(logs)

    def on_predict_end(self, logs=None):
        logs = _pythonify(logs)
        for cb in self.callbacks:
            cb.on_predict_end(logs)


class History(Callback):
    """Records the epoch logs: ``history`` maps each key to a list with one value per
    epoch, ``epoch`` lists the epoch indices. ``fit`` returns it."""

    def __init__(self):
        super().__init__()
        self.history = {}
        self.epoch = []

    def on_train_begin(self, logs=None):
        self.epoch = []

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        self.epoch.append(epoch)
        for k, v in logs.items():
            self.history.setdefault(k, []).append(v)
        if self.model is not None:
            self.model.history = self


def _missing_monitor_warning(what, monitor, logs):
    warnings.warn(
        f"{what} conditioned on metric `{monitor}` which is not available. "
        f"Available metrics are: {','.join(list(logs.keys()))}",
        stacklevel=3,
    )


_UP_NAMES = ("acc", "accuracy", "precision", "recall", "auc", "f1", "r2")


def _metric_direction(model, name):
    """'up', 'down' or None for the metric called ``name`` (without ``val_``)."""
    if name == "loss":
        return "down"
    for m in getattr(model, "metrics", None) or getattr(model, "_metrics", None) or []:
        if getattr(m, "name", None) == name and getattr(m, "_direction", None):
            return m._direction
    low = name.lower()
    if any(low == u or low.endswith("_" + u) or low.startswith(u) for u in _UP_NAMES) or "accuracy" in low:
        return "up"
    if low.endswith("loss") or low in ("mse", "mae", "rmse", "mape", "msle") or "error" in low:
        return "down"
    return None


class EarlyStopping(Callback):
    """Stop training when ``monitor`` has stopped improving for ``patience`` epochs.

    Improvement means better than the best value so far by more than ``min_delta``;
    with ``baseline`` the patience counter only resets when the value also beats the
    baseline. With ``restore_best_weights`` the weights of the best epoch are put
    back at the end of training (whether or not it stopped early). Epochs before
    ``start_from_epoch`` are ignored. ``stopped_epoch`` is the epoch it stopped at
    (0 if it did not)."""

    def __init__(self, monitor="val_loss", min_delta=0, patience=0, verbose=0, mode="auto",
                 baseline=None, restore_best_weights=False, start_from_epoch=0):
        super().__init__()
        self.monitor = monitor
        self.patience = patience
        self.verbose = verbose
        self.baseline = baseline
        self.min_delta = abs(min_delta)
        self.wait = 0
        self.stopped_epoch = 0
        self.restore_best_weights = restore_best_weights
        self.best_weights = None
        self.start_from_epoch = start_from_epoch
        if mode not in ("auto", "min", "max"):
            warnings.warn(f"EarlyStopping mode {mode} is unknown, fallback to auto mode.", stacklevel=2)
            mode = "auto"
        self.mode = mode
        self.monitor_op = None
        self.best = None
        self.best_epoch = 0

    def _set_monitor_op(self):
        if self.mode == "min":
            self.monitor_op = np.less
        elif self.mode == "max":
            self.monitor_op = np.greater
        else:
            name = self.monitor[4:] if self.monitor.startswith("val_") else self.monitor
            direction = _metric_direction(self.model, name)
            if direction == "up":
                self.monitor_op = np.greater
            elif direction == "down":
                self.monitor_op = np.less
        if self.monitor_op is None:
            raise ValueError(
                f"EarlyStopping callback received monitor={self.monitor} but nnrs isn't able to "
                "automatically determine whether that metric should be maximized or minimized. "
                "Pass `mode='max'` in order to do early stopping based on the highest metric "
                "value, or pass `mode='min'` in order to use the lowest value."
            )
        if self.monitor_op is np.less:
            self.min_delta = -abs(self.min_delta)
        else:
            self.min_delta = abs(self.min_delta)

    def on_train_begin(self, logs=None):
        self.wait = 0
        self.stopped_epoch = 0
        self.best = None
        self.best_weights = None
        self.best_epoch = 0

    def on_epoch_end(self, epoch, logs=None):
        if self.monitor_op is None:
            self._set_monitor_op()
        current = self.get_monitor_value(logs)
        if current is None or epoch < self.start_from_epoch:
            return
        if self.restore_best_weights and self.best_weights is None:
            self.best_weights = self.model.get_weights()
            self.best_epoch = epoch
        self.wait += 1
        if self._is_improvement(current, self.best):
            self.best = current
            self.best_epoch = epoch
            if self.restore_best_weights:
                self.best_weights = self.model.get_weights()
            if self.baseline is None or self._is_improvement(current, self.baseline):
                self.wait = 0
            return
        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        if self.stopped_epoch > 0 and self.verbose > 0:
            print(f"Epoch {self.stopped_epoch + 1}: early stopping")
        if self.restore_best_weights and self.best_weights is not None:
            if self.verbose > 0:
                print(f"Restoring model weights from the end of the best epoch: {self.best_epoch + 1}.")
            self.model.set_weights(self.best_weights)

    def get_monitor_value(self, logs):
        logs = logs or {}
        value = logs.get(self.monitor)
        if value is None:
            _missing_monitor_warning("Early stopping", self.monitor, logs)
        return value

    def _is_improvement(self, value, reference):
        if reference is None:
            return True
        return bool(self.monitor_op(value - self.min_delta, reference))


def _set_lr(model, lr):
    model.optimizer.learning_rate = lr


def _get_lr(model):
    opt = getattr(model, "optimizer", None)
    if opt is None or not hasattr(opt, "learning_rate"):
        raise ValueError('Optimizer must have a "learning_rate" attribute.')
    return float(opt.learning_rate)


class LearningRateScheduler(Callback):
    """Set the learning rate at the start of each epoch to ``schedule(epoch, lr)``
    (``schedule(epoch)`` is accepted too); logs it as ``learning_rate``."""

    def __init__(self, schedule, verbose=0):
        super().__init__()
        self.schedule = schedule
        self.verbose = verbose

    def on_epoch_begin(self, epoch, logs=None):
        lr = _get_lr(self.model)
        try:
            lr = self.schedule(epoch, lr)
        except TypeError:  # the one-argument form
            lr = self.schedule(epoch)
        if isinstance(lr, bool) or not isinstance(lr, (int, float, np.floating, np.integer)):
            raise ValueError(f"The output of the `schedule` function should be a float. Got: {lr}")
        lr = float(lr)
        _set_lr(self.model, lr)
        if self.verbose > 0:
            print(f"\nEpoch {epoch + 1}: LearningRateScheduler setting learning rate to {lr}.")

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["learning_rate"] = _get_lr(self.model)


class ReduceLROnPlateau(Callback):
    """Multiply the learning rate by ``factor`` once ``monitor`` has not improved by
    ``min_delta`` for ``patience`` epochs; then wait ``cooldown`` epochs; never go
    below ``min_lr``. Logs the rate as ``learning_rate``."""

    def __init__(self, monitor="val_loss", factor=0.1, patience=10, verbose=0, mode="auto",
                 min_delta=1e-4, cooldown=0, min_lr=0.0, **kwargs):
        super().__init__()
        if factor >= 1.0:
            raise ValueError(f"ReduceLROnPlateau does not support a factor >= 1.0. Received factor={factor}")
        self.monitor = monitor
        self.factor = factor
        self.min_lr = min_lr
        self.min_delta = min_delta
        self.patience = patience
        self.verbose = verbose
        self.cooldown = cooldown
        self.cooldown_counter = 0
        self.wait = 0
        self.best = 0
        self.mode = mode
        self.monitor_op = None
        self._reset()

    def _reset(self):
        if self.mode not in ("auto", "min", "max"):
            warnings.warn(f"Learning rate reduction mode {self.mode} is unknown, fallback to auto mode.",
                          stacklevel=2)
            self.mode = "auto"
        if self.mode == "min" or (self.mode == "auto" and "acc" not in self.monitor):
            self.monitor_op = lambda a, b: np.less(a, b - self.min_delta)
            self.best = np.inf
        else:
            self.monitor_op = lambda a, b: np.greater(a, b + self.min_delta)
            self.best = -np.inf
        self.cooldown_counter = 0
        self.wait = 0

    def on_train_begin(self, logs=None):
        self._reset()

    def in_cooldown(self):
        return self.cooldown_counter > 0

    def on_epoch_end(self, epoch, logs=None):
        logs = logs if logs is not None else {}
        logs["learning_rate"] = _get_lr(self.model)
        current = logs.get(self.monitor)
        if current is None:
            _missing_monitor_warning("Learning rate reduction", self.monitor, logs)
            return
        if self.in_cooldown():
            self.cooldown_counter -= 1
            self.wait = 0
        if self.monitor_op(current, self.best):
            self.best = current
            self.wait = 0
        elif not self.in_cooldown():
            self.wait += 1
            if self.wait >= self.patience:
                old_lr = _get_lr(self.model)
                if old_lr > np.float32(self.min_lr):
                    new_lr = max(old_lr * self.factor, self.min_lr)
                    _set_lr(self.model, new_lr)
                    if self.verbose > 0:
                        print(f"\nEpoch {epoch + 1}: ReduceLROnPlateau reducing learning rate to {new_lr}.")
                    self.cooldown_counter = self.cooldown
                    self.wait = 0


class TerminateOnNaN(Callback):
    """Stop training as soon as a batch loss is NaN or infinite."""

    def on_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(float(loss)):
            print(f"Batch {batch}: Invalid loss, terminating training")
            self.model.stop_training = True


class LambdaCallback(Callback):
    """A callback from functions: ``LambdaCallback(on_epoch_end=lambda epoch, logs: ...)``."""

    def __init__(self, on_epoch_begin=None, on_epoch_end=None, on_train_begin=None, on_train_end=None,
                 on_train_batch_begin=None, on_train_batch_end=None, **kwargs):
        super().__init__()
        hooks = dict(on_epoch_begin=on_epoch_begin, on_epoch_end=on_epoch_end,
                     on_train_begin=on_train_begin, on_train_end=on_train_end,
                     on_train_batch_begin=on_train_batch_begin, on_train_batch_end=on_train_batch_end)
        for k in kwargs:
            if not hasattr(Callback, k):
                raise TypeError(f"LambdaCallback: unknown hook {k!r}")
        hooks.update(kwargs)
        for k, f in hooks.items():
            if f is not None:
                setattr(self, k, f)


def _fmt(v):
    """A log value as Keras' progress bar prints it."""
    try:
        f = float(v)
    except (TypeError, ValueError):
        return str(v)
    return f"{f:.4f}" if abs(f) > 1e-3 or f == 0.0 else f"{f:.4e}"


class ProgbarLogger(Callback):
    """Progress output of ``fit``/``evaluate``/``predict``.

    ``verbose=1``: one tqdm bar per epoch over its batches ("Epoch k/N", running loss
    and metrics in the postfix, elapsed time and rate); at the end of the epoch the
    postfix also shows the ``val_`` values. ``verbose=2``: one line per epoch
    ``Epoch k/N - 1.23s - 12ms/step - loss: ... - val_loss: ...``. ``verbose=0``:
    nothing. Output goes to ``sys.stdout``."""

    _REFRESH_S = 0.1  # postfix formatting at most this often (plus the last batch)

    def __init__(self, verbose=1):
        super().__init__()
        self.verbose = 1 if verbose == "auto" else int(verbose)
        self.epochs = None
        self.target = None
        self._bar = None
        self._in_fit = False
        self._epoch = 0
        self._t0 = 0.0
        self._seen = 0
        self._last_postfix = 0.0

    def set_params(self, params):
        super().set_params(params)
        params = params or {}
        self.epochs = params.get("epochs")
        self.target = params.get("steps")

    # ---- bars ---------------------------------------------------------------------
    def _open_bar(self, desc):
        from tqdm import tqdm

        self._close_bar()
        self._bar = tqdm(total=self.target, desc=desc, unit="step", file=sys.stdout,
                         dynamic_ncols=True, leave=True)
        self._last_postfix = 0.0

    def _close_bar(self):
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    def _postfix(self, logs):
        return ", ".join(f"{k}={_fmt(v)}" for k, v in logs.items())

    def _batch_update(self, batch, logs):
        self._seen = batch + 1
        bar = self._bar
        if bar is None:
            return
        now = time.monotonic()
        last = self.target is not None and batch + 1 >= self.target
        if logs and (last or now - self._last_postfix >= self._REFRESH_S):
            bar.set_postfix_str(self._postfix(logs), refresh=False)
            self._last_postfix = now
        bar.update(batch + 1 - bar.n)

    # ---- fit ----------------------------------------------------------------------
    def on_train_begin(self, logs=None):
        self._in_fit = True

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch
        self._seen = 0
        self._t0 = time.perf_counter()
        if self.verbose == 1:
            self._open_bar(f"Epoch {epoch + 1}/{self.epochs}" if self.epochs else f"Epoch {epoch + 1}")

    def on_train_batch_end(self, batch, logs=None):
        if self.verbose == 1:
            self._batch_update(batch, logs)
        else:
            self._seen = batch + 1

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        secs = time.perf_counter() - self._t0
        if self.verbose == 1:
            if self._bar is not None:
                if logs:
                    self._bar.set_postfix_str(self._postfix(logs), refresh=False)
                self._bar.refresh()
            self._close_bar()
        elif self.verbose == 2:
            head = f"Epoch {epoch + 1}/{self.epochs}" if self.epochs else f"Epoch {epoch + 1}"
            parts = [head, f"{secs:.2f}s"]
            if self._seen:
                per = secs / self._seen
                parts.append(f"{per:.0f}s/step" if per >= 1 else
                             f"{per * 1e3:.0f}ms/step" if per >= 1e-3 else f"{per * 1e6:.0f}us/step")
            parts += [f"{k}: {_fmt(v)}" for k, v in logs.items()]
            print(" - ".join(parts), file=sys.stdout, flush=True)

    def on_train_end(self, logs=None):
        self._close_bar()
        self._in_fit = False

    # ---- evaluate / predict outside fit -------------------------------------------
    def on_test_begin(self, logs=None):
        if not self._in_fit and self.verbose == 1:
            self._open_bar("Evaluate")

    def on_test_batch_end(self, batch, logs=None):
        if not self._in_fit and self.verbose == 1:
            self._batch_update(batch, logs)

    def on_test_end(self, logs=None):
        if not self._in_fit:
            if self.verbose == 1 and self._bar is not None and logs:
                self._bar.set_postfix_str(self._postfix(logs), refresh=False)
            self._close_bar()

    def on_predict_begin(self, logs=None):
        if self.verbose == 1:
            self._open_bar("Predict")

    def on_predict_batch_end(self, batch, logs=None):
        if self.verbose == 1:
            self._batch_update(batch, None)

    def on_predict_end(self, logs=None):
        self._close_bar()
