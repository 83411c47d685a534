"""Callbacks with Keras 3 names, defaults and semantics.

``fit`` drives a ``CallbackList``; each callback sees the model (``self.model``) and
the run parameters (``self.params``: ``epochs``, ``steps``, ``verbose``) and gets
``logs`` dicts of floats: per batch the running ``loss`` and metrics, per epoch
those plus the ``val_`` ones.
"""

from __future__ import annotations

import csv
import inspect
import math
import os
import sys
import time
import warnings

import numpy as np

__all__ = [
    "Callback", "CallbackList", "History", "EarlyStopping", "LearningRateScheduler",
    "ReduceLROnPlateau", "ModelCheckpoint", "TerminateOnNaN", "ProgbarLogger", "LambdaCallback", "CSVLogger", "TensorBoard",
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
        """Older name of ``on_train_batch_begin``; the default of that hook calls it."""

    def on_batch_end(self, batch, logs=None):
        """Older name of ``on_train_batch_end``; the default of that hook calls it."""

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
        verbose = params.get("verbose", 1)
        # the History and ProgbarLogger already in the list, else new ones if asked for
        self._history = next((cb for cb in self.callbacks if isinstance(cb, History)), None)
        self._progbar = next((cb for cb in self.callbacks if isinstance(cb, ProgbarLogger)), None)
        if add_progbar and self._progbar is None:
            self._progbar = ProgbarLogger(verbose=1 if verbose == "auto" else verbose)
            self.callbacks = [self._progbar, *self.callbacks]  # first: it prints before the others
        if add_history and self._history is None:
            self._history = History()
            self.callbacks.append(self._history)
        self._update_hooks()
        if model is not None:
            self.set_model(model)
        if params:
            self.set_params(params)

    def _update_hooks(self):
        self._hooks = {
            hook: [getattr(cb, hook) for cb in self.callbacks if _overrides(cb, names)]
            for hook, names in _BATCH_HOOKS.items()
        }

    def wants(self, hook):
        """Whether some callback overrides the batch hook ``hook`` (so its logs must be built)."""
        return bool(self._hooks[hook])

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
        self.epoch = []  # ``history`` keeps its lists: a second fit appends to them

    def on_epoch_end(self, epoch, logs=None):
        self.epoch.append(epoch)
        for key, value in (logs or {}).items():
            if key not in self.history:
                self.history[key] = []
            self.history[key].append(value)
        if self.model is not None:  # the latest record, also when fit ends early
            self.model.history = self


# ---- watching one logged quantity ---------------------------------------------------
#
# EarlyStopping, ReduceLROnPlateau and ModelCheckpoint all follow one number of the
# epoch logs and ask "is this better than before?". ``_Watch`` answers that: it knows
# the key, whether smaller or larger is better and by how much a value must beat the
# reference to count as progress.

_HIGHER_IS_BETTER = frozenset({"acc", "accuracy", "precision", "recall", "auc", "f1", "r2", "iou"})
_LOWER_IS_BETTER = frozenset({"loss", "mse", "mae", "rmse", "mape", "msle", "error", "crossentropy",
                              "hinge", "divergence", "logcosh", "huber"})


def _goal_from_name(model, key):
    """``"max"``, ``"min"`` or None for the logged quantity ``key``.

    A compiled metric of that name (``val_`` stripped) decides first; otherwise the
    words of the name do (``val_accuracy`` -> max, ``mean_squared_error`` -> min)."""
    name = key[len("val_"):] if key.startswith("val_") else key
    for metric in getattr(model, "metrics", None) or getattr(model, "_metrics", None) or []:
        if getattr(metric, "name", None) == name:
            direction = getattr(metric, "_direction", None)
            if direction is not None:
                return "max" if direction == "up" else "min"
    words = set(name.lower().split("_"))
    if words & _LOWER_IS_BETTER:
        return "min"
    if words & _HIGHER_IS_BETTER:
        return "max"
    return None


class _Watch:
    """One monitored log key: reading it from the logs and comparing values."""

    def __init__(self, owner, key, mode, delta):
        if mode not in ("auto", "min", "max"):
            warnings.warn(f"{owner}: mode must be 'auto', 'min' or 'max', not {mode!r}; using 'auto'",
                          stacklevel=3)
            mode = "auto"
        self.owner = owner
        self.key = key
        self.mode = mode
        self.delta = abs(delta)
        self.goal = None if mode == "auto" else mode  # settled by settle() for "auto"

    def settle(self, model, unknown=None):
        """Fix the direction of an "auto" watch from the key (and the model's metrics).
        A name that says nothing gets ``unknown``; None there means it is an error."""
        if self.goal is not None:
            return
        goal = _goal_from_name(model, self.key) or unknown
        if goal is None:
            raise ValueError(
                f"{self.owner}: cannot tell from the name {self.key!r} whether larger or smaller values "
                "are better; pass mode='min' (smaller is better) or mode='max' (larger is better)")
        self.goal = goal

    def worst(self):
        """A starting reference every real value beats."""
        return math.inf if self.goal == "min" else -math.inf

    def read(self, logs):
        """The monitored value of ``logs`` as a float, or None (with a warning) when absent."""
        logs = logs or {}
        value = logs.get(self.key)
        if value is None:
            keys = ", ".join(logs) if logs else "nothing"
            warnings.warn(f"{self.owner}: no {self.key!r} in the logs of this epoch (they hold {keys}); "
                          "skipping it", stacklevel=4)
            return None
        return float(value)

    def beats(self, value, reference):
        """Whether ``value`` is better than ``reference`` by more than ``delta`` (a None
        reference is beaten by anything)."""
        if reference is None:
            return True
        if self.goal == "min":
            return value < reference - self.delta
        return value > reference + self.delta


class EarlyStopping(Callback):
    """End ``fit`` once ``monitor`` has not made progress for ``patience`` epochs.

    An epoch makes progress when its value is better than the best so far by more
    than ``min_delta`` ("better" means smaller with ``mode="min"``, larger with
    ``mode="max"``; ``"auto"`` reads it from the name and the compiled metrics and
    raises if it cannot tell). With a ``baseline`` an epoch only resets the patience
    count when its value also beats the baseline. Epochs before ``start_from_epoch``
    are not looked at. ``restore_best_weights=True`` puts back the weights of the
    best epoch when training ends, whether it stopped early or not.

    After ``fit``: ``stopped_epoch`` is the (0-based) epoch training stopped at, 0 if
    it ran to the end; ``best`` and ``best_epoch`` the best value and its epoch;
    ``wait`` the epochs counted since the last progress."""

    def __init__(self, monitor="val_loss", min_delta=0, patience=0, verbose=0, mode="auto",
                 baseline=None, restore_best_weights=False, start_from_epoch=0):
        super().__init__()
        self.monitor = monitor
        self.min_delta = abs(min_delta)
        self.patience = patience
        self.verbose = verbose
        self.baseline = baseline
        self.restore_best_weights = restore_best_weights
        self.start_from_epoch = start_from_epoch
        self._watch = _Watch("EarlyStopping", monitor, mode, min_delta)
        self.mode = self._watch.mode
        self._forget()

    def _forget(self):
        self.wait = 0
        self.stopped_epoch = 0
        self.best = None
        self.best_epoch = 0
        self.best_weights = None

    def on_train_begin(self, logs=None):
        self._forget()  # the same instance may serve several fit calls

    def on_epoch_end(self, epoch, logs=None):
        self._watch.settle(self.model)
        value = self._watch.read(logs)
        if value is None or epoch < self.start_from_epoch:
            return
        # every looked-at epoch counts; progress that also clears the baseline resets it
        self.wait += 1
        if self._watch.beats(value, self.best):
            self.best, self.best_epoch = value, epoch
            if self.restore_best_weights:
                self.best_weights = self.model.get_weights()
            if self.baseline is None or self._watch.beats(value, self.baseline):
                self.wait = 0
        elif self.wait >= self.patience:
            self.stopped_epoch = epoch
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        if self.verbose > 0 and self.stopped_epoch > 0:
            print(f"EarlyStopping: {self.monitor} made no progress for {self.wait} epochs; "
                  f"stopped after epoch {self.stopped_epoch + 1}.")
        if self.restore_best_weights and self.best_weights is not None:
            if self.verbose > 0:
                print(f"EarlyStopping: weights set back to those after epoch {self.best_epoch + 1} "
                      f"({self.monitor} = {self.best:.6g}).")
            self.model.set_weights(self.best_weights)


def _learning_rate(model):
    opt = getattr(model, "optimizer", None)
    if opt is None or not hasattr(opt, "learning_rate"):
        raise ValueError("learning-rate callbacks need model.optimizer with a settable learning_rate "
                         f"(model.optimizer is {type(opt).__name__})")
    return float(opt.learning_rate)


def _set_learning_rate(model, value):
    model.optimizer.learning_rate = value


def _takes_two_arguments(fn):
    """Whether ``fn`` can be called as ``fn(epoch, lr)`` (otherwise it is ``fn(epoch)``)."""
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):  # builtins without a signature: assume the full form
        return True
    try:
        sig.bind(0, 0.0)
    except TypeError:
        return False
    return True


class LearningRateScheduler(Callback):
    """Set the learning rate at the start of each epoch to ``schedule(epoch, lr)``
    (``schedule(epoch)`` is accepted too); logs it as ``learning_rate``."""

    def __init__(self, schedule, verbose=0):
        super().__init__()
        self.schedule = schedule
        self.verbose = verbose
        self._two_args = _takes_two_arguments(schedule)

    def on_epoch_begin(self, epoch, logs=None):
        if self._two_args:
            lr = self.schedule(epoch, _learning_rate(self.model))
        else:
            lr = self.schedule(epoch)
        if isinstance(lr, bool) or not isinstance(lr, (int, float, np.floating, np.integer)):
            raise ValueError(f"LearningRateScheduler: the schedule returned {lr!r} ({type(lr).__name__}) "
                             f"for epoch {epoch}; it must return a number")
        lr = float(lr)
        _set_learning_rate(self.model, lr)
        if self.verbose > 0:
            print(f"\nLearningRateScheduler: epoch {epoch + 1} runs with learning rate {lr:.6g}.")

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["learning_rate"] = _learning_rate(self.model)


class ReduceLROnPlateau(Callback):
    """Multiply the learning rate by ``factor`` once ``monitor`` has made no progress
    (by more than ``min_delta``) for ``patience`` epochs, never going below ``min_lr``.

    After a reduction the next ``cooldown`` epochs (counting the epoch of the
    reduction, as Keras does) do not count towards ``patience``. ``mode`` is "min",
    "max" or "auto" (direction from the name; names that say nothing mean "min").
    Logs the rate each epoch ran with as ``learning_rate``."""

    def __init__(self, monitor="val_loss", factor=0.1, patience=10, verbose=0, mode="auto",
                 min_delta=1e-4, cooldown=0, min_lr=0.0, **kwargs):
        super().__init__()
        if not factor < 1.0:
            raise ValueError(f"ReduceLROnPlateau: factor={factor} would not lower the learning rate; "
                             "it must be below 1.0")
        self.monitor = monitor
        self.factor = factor
        self.patience = patience
        self.verbose = verbose
        self.min_delta = min_delta
        self.cooldown = cooldown
        self.min_lr = min_lr
        self._watch = _Watch("ReduceLROnPlateau", monitor, mode, min_delta)
        self.mode = self._watch.mode
        self._forget()

    def _forget(self):
        self.best = None
        self.wait = 0
        self.cooldown_counter = 0

    def on_train_begin(self, logs=None):
        self._forget()

    def on_epoch_end(self, epoch, logs=None):
        logs = logs if logs is not None else {}
        logs["learning_rate"] = _learning_rate(self.model)
        self._watch.settle(self.model, unknown="min")
        value = self._watch.read(logs)
        if value is None:
            return
        resting = False
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            resting = self.cooldown_counter > 0
            self.wait = 0
        if self._watch.beats(value, self.best):
            self.best = value
            self.wait = 0
            return
        if resting:
            return
        self.wait += 1
        if self.wait >= self.patience:
            self._lower(epoch)

    def _lower(self, epoch):
        old = _learning_rate(self.model)
        new = max(old * self.factor, self.min_lr)
        if new >= old or math.isclose(new, old, rel_tol=1e-6):
            return  # already at min_lr: nothing to do, keep counting
        _set_learning_rate(self.model, new)
        self.cooldown_counter = self.cooldown
        self.wait = 0
        if self.verbose > 0:
            print(f"\nReduceLROnPlateau: no progress in {self.monitor}; learning rate {old:.6g} -> {new:.6g} "
                  f"after epoch {epoch + 1}.")


class ModelCheckpoint(Callback):
    """Save the model (or only its weights) during training.

    ``filepath`` may hold ``str.format`` fields: ``{epoch}`` (1-based), ``{batch}``
    (1-based, with an integer ``save_freq``) and any log key, e.g.
    ``"ckpt-{epoch:02d}-{val_loss:.3f}.weights.h5"``. ``save_freq="epoch"`` saves at
    the end of every epoch, an integer ``n`` after every ``n`` training batches.

    With ``save_best_only=True`` a save happens only when ``monitor`` is better than
    the best value saved so far (``mode`` as in EarlyStopping: "min", "max" or
    "auto" from the name); ``initial_value_threshold`` is the value the first save
    has to beat. A missing ``monitor`` key skips the save with a warning.
    ``save_weights_only=True`` writes ``model.save_weights(path)``, otherwise
    ``model.save(path)``."""

    def __init__(self, filepath, monitor="val_loss", verbose=0, save_best_only=False,
                 save_weights_only=False, mode="auto", save_freq="epoch", initial_value_threshold=None):
        super().__init__()
        if save_freq != "epoch" and not (isinstance(save_freq, int) and save_freq > 0):
            raise ValueError(f"ModelCheckpoint: save_freq must be 'epoch' or a positive number of batches, "
                             f"not {save_freq!r}")
        self.filepath = os.fspath(filepath)
        self.monitor = monitor
        self.verbose = verbose
        self.save_best_only = save_best_only
        self.save_weights_only = save_weights_only
        self.save_freq = save_freq
        self.initial_value_threshold = initial_value_threshold
        self._watch = _Watch("ModelCheckpoint", monitor, mode, 0.0)
        self.mode = self._watch.mode
        self.best = initial_value_threshold
        self._epoch = 0
        self._batches = 0

    def on_train_begin(self, logs=None):
        if not self.save_weights_only and not callable(getattr(self.model, "save", None)):
            raise ValueError(f"ModelCheckpoint: {type(self.model).__name__} has no save(); "
                             "pass save_weights_only=True to keep checkpoints of the weights")
        if self.save_best_only:
            self._watch.settle(self.model)
        self._batches = 0

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if self.save_freq == "epoch":
            return
        self._batches += 1
        if self._batches % self.save_freq == 0:
            self._checkpoint(self._epoch, batch, logs)

    def on_epoch_end(self, epoch, logs=None):
        if self.save_freq == "epoch":
            self._checkpoint(epoch, None, logs)

    def _path(self, epoch, batch, logs):
        fields = dict(logs or {})
        fields["epoch"] = epoch + 1
        if batch is not None:
            fields["batch"] = batch + 1
        try:
            return self.filepath.format(**fields)
        except (KeyError, IndexError) as e:
            raise KeyError(f"ModelCheckpoint: filepath {self.filepath!r} names {e} which is neither "
                           f"epoch/batch nor a key of the logs ({', '.join(logs or {}) or 'none'})") from None

    def _checkpoint(self, epoch, batch, logs):
        where = f"epoch {epoch + 1}" if batch is None else f"epoch {epoch + 1}, batch {batch + 1}"
        if self.save_best_only:
            self._watch.settle(self.model)
            value = self._watch.read(logs)
            if value is None:
                return
            if not self._watch.beats(value, self.best):
                if self.verbose > 0:
                    print(f"\nModelCheckpoint ({where}): {self.monitor} = {value:.6g} is not better than "
                          f"{self.best:.6g}; not saved")
                return
            previous, self.best = self.best, value
        path = self._path(epoch, batch, logs)
        folder = os.path.dirname(path)
        if folder:
            os.makedirs(folder, exist_ok=True)
        if self.save_weights_only:
            self.model.save_weights(path)
        else:
            self.model.save(path)
        if self.verbose > 0:
            why = ""
            if self.save_best_only:
                before = "nothing" if previous is None else f"{previous:.6g}"
                why = f"{self.monitor} improved from {before} to {value:.6g}; "
            print(f"\nModelCheckpoint ({where}): {why}saved {path}")


class TerminateOnNaN(Callback):
    """Stop training as soon as a batch loss is NaN or infinite."""

    def on_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(float(loss)):
            print(f"TerminateOnNaN: the loss of batch {batch} is {float(loss)}; stopping training")
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


class TensorBoard(Callback):
    """Logs for TensorBoard, written by ``tensorboardX`` (an optional extra:
    ``pip install "nnrs[tensorboard]"``), laid out as Keras 3 writes them: ``log_dir/train``
    and ``log_dir/validation`` event files with ``epoch_<metric>`` scalars (the learning
    rate as ``epoch_learning_rate``), ``batch_<metric>`` scalars when ``update_freq`` is
    "batch" or a number of batches, and weight histograms every ``histogram_freq`` epochs.
    ``write_graph`` records the model's layer summary as text (nnrs has no graph proto).
    Image, profiling and embedding output are not supported (an error says so)."""

    def __init__(self, log_dir="logs", histogram_freq=0, write_graph=True, write_images=False,
                 write_steps_per_second=False, update_freq="epoch", profile_batch=0, embeddings_freq=0,
                 embeddings_metadata=None):
        super().__init__()
        for arg, val in (("write_images", write_images), ("profile_batch", profile_batch),
                         ("embeddings_freq", embeddings_freq), ("embeddings_metadata", embeddings_metadata)):
            if val:
                raise ValueError(f"TensorBoard: {arg}={val!r} is not supported by nnrs")
        if update_freq not in ("epoch", "batch") and not (isinstance(update_freq, int) and update_freq > 0):
            raise ValueError(f"TensorBoard: update_freq must be 'epoch', 'batch' or a positive int, got {update_freq!r}")
        self.log_dir = os.fspath(log_dir)
        self.histogram_freq = int(histogram_freq)
        self.write_graph = write_graph
        self.write_steps_per_second = write_steps_per_second
        self.update_freq = 1 if update_freq == "batch" else update_freq
        self._writers = {}
        self._step = 0

    def _writer(self, which):
        w = self._writers.get(which)
        if w is None:
            try:
                from tensorboardX import SummaryWriter
            except ImportError:
                raise ImportError("TensorBoard: writing event files needs tensorboardX (pip install tensorboardX, "
                                  'or pip install "nnrs[tensorboard]")') from None
            w = self._writers[which] = SummaryWriter(os.path.join(self.log_dir, which))
        return w

    def on_train_begin(self, logs=None):
        self._step = 0
        self._t_epoch = time.perf_counter()
        train = self._writer("train")
        if self.write_graph:
            lines = []
            self.model.summary(print_fn=lines.append)
            train.add_text("model_summary", "    " + "\n    ".join(lines), 0)

    def on_epoch_begin(self, epoch, logs=None):
        self._t_epoch = time.perf_counter()
        self._epoch_steps = 0

    def on_train_batch_end(self, batch, logs=None):
        self._step += 1
        self._epoch_steps = getattr(self, "_epoch_steps", 0) + 1
        if self.update_freq != "epoch" and self._step % self.update_freq == 0:
            train = self._writer("train")
            for k, v in (logs or {}).items():
                train.add_scalar(f"batch_{k}", float(v), self._step)

    def on_epoch_end(self, epoch, logs=None):
        logs = dict(logs or {})
        train, val = self._writer("train"), None
        for k, v in logs.items():
            if k.startswith("val_"):
                val = val or self._writer("validation")
                val.add_scalar(f"epoch_{k[4:]}", float(v), epoch)
            else:
                train.add_scalar(f"epoch_{k}", float(v), epoch)
        lr = getattr(getattr(self.model, "optimizer", None), "learning_rate", None)
        if lr is not None:
            train.add_scalar("epoch_learning_rate", float(lr), epoch)
        if self.write_steps_per_second:
            elapsed = time.perf_counter() - self._t_epoch
            train.add_scalar("epoch_steps_per_second", getattr(self, "_epoch_steps", 0) / max(elapsed, 1e-9), epoch)
        if self.histogram_freq and epoch % self.histogram_freq == 0:
            for layer in self.model._flatten_layers(include_self=False) if hasattr(self.model, "_flatten_layers") else []:
                for w in layer._children()[1]:
                    train.add_histogram(f"{layer.name}/{w.name}", w.numpy(), epoch)
        for w in self._writers.values():
            w.flush()

    def on_train_end(self, logs=None):
        for w in self._writers.values():
            w.close()
        self._writers = {}


class CSVLogger(Callback):
    """Writes one CSV row per epoch: ``epoch`` then the epoch's logs in sorted key order,
    as Keras' CSVLogger. ``append=True`` continues an existing file (no second header)."""

    def __init__(self, filename, separator=",", append=False):
        super().__init__()
        self.filename = os.fspath(filename)
        self.sep = separator
        self.append = append
        self._file = None
        self._keys = None

    def on_train_begin(self, logs=None):
        resume = self.append and os.path.exists(self.filename) and os.path.getsize(self.filename) > 0
        self._file = open(self.filename, "a" if self.append else "w", newline="")  # noqa: SIM115 - closed in on_train_end
        self._keys = None
        self._header_written = resume

    def on_epoch_end(self, epoch, logs=None):
        logs = dict(logs or {})
        if self._keys is None:
            self._keys = sorted(logs)
            if not any(k.startswith("val_") for k in self._keys):  # validation may start later: keep its columns
                self._keys += [f"val_{k}" for k in self._keys]
        writer = csv.writer(self._file, delimiter=self.sep)
        if not self._header_written:
            writer.writerow(["epoch", *self._keys])
            self._header_written = True
        writer.writerow([epoch, *(_csv_value(logs.get(k, "NA")) for k in self._keys)])
        self._file.flush()

    def on_train_end(self, logs=None):
        if self._file is not None:
            self._file.close()
            self._file = None


def _csv_value(v):
    if isinstance(v, (np.ndarray, np.generic)) and np.ndim(v) == 0:
        return float(v)
    return v


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
