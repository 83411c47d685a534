"""Metrics with Keras 3 names and semantics, computed on the host with numpy.

A metric accumulates over batches: ``update_state(y_true, y_pred, sample_weight=None)``,
``result() -> float``, ``reset_state()``. Inputs may be numpy arrays, lists, nnrs
tensors (anything with ``.numpy()``) or CuPy arrays; they are brought to the host.
Accumulators are float64.
"""

from __future__ import annotations

import numpy as np

from ._util import snake_case, to_host

__all__ = [
    "Metric", "Mean", "Sum", "MeanMetricWrapper", "Accuracy", "BinaryAccuracy", "CategoricalAccuracy",
    "SparseCategoricalAccuracy", "TopKCategoricalAccuracy", "SparseTopKCategoricalAccuracy",
    "Precision", "Recall", "MeanSquaredError", "MeanAbsoluteError", "RootMeanSquaredError",
    "accuracy", "binary_accuracy", "categorical_accuracy", "sparse_categorical_accuracy",
    "top_k_categorical_accuracy", "sparse_top_k_categorical_accuracy",
    "mean_squared_error", "mean_absolute_error", "get", "serialize", "deserialize",
]


def _same_rank(a, b):
    """Keras' squeeze_or_expand_to_same_rank: when the ranks differ by one, squeeze a
    trailing 1 from the higher-rank array, else add one to the lower-rank array."""
    if a.ndim == b.ndim + 1:
        if a.shape[-1] == 1:
            a = a.reshape(a.shape[:-1])
        else:
            b = b[..., None]
    elif b.ndim == a.ndim + 1:
        if b.shape[-1] == 1:
            b = b.reshape(b.shape[:-1])
        else:
            a = a[..., None]
    return a, b


class Metric:
    """Base class of metrics: ``update_state``, ``result``, ``reset_state``, ``name``.

    ``_direction`` is ``"up"`` for metrics where higher is better and ``"down"``
    otherwise (EarlyStopping's ``mode="auto"`` reads it).
    """

    _direction = None

    def __init__(self, name=None, dtype=None):
        self.name = name or snake_case(type(self).__name__)
        self.dtype = dtype or "float32"
        self.reset_state()

    def update_state(self, *args, **kwargs):
        raise NotImplementedError

    def result(self):
        raise NotImplementedError

    def reset_state(self):
        raise NotImplementedError

    def __call__(self, *args, **kwargs):
        """Update with one batch and return the result so far."""
        self.update_state(*args, **kwargs)
        return self.result()

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name!r}>"


class _Reduce(Metric):
    def reset_state(self):
        self.total = 0.0
        self.count = 0.0

    def _accumulate(self, values, sample_weight):
        """Keras' reduce_to_samplewise_values: per-sample weighted means of ``values``."""
        values = np.asarray(to_host(values), dtype=np.float64)
        if sample_weight is not None:
            w = np.asarray(to_host(sample_weight), dtype=np.float64)
            values, w = _same_rank(values, w)
            if values.ndim > w.ndim:
                values = values.mean(axis=tuple(range(w.ndim, values.ndim)))
            w = np.broadcast_to(w, values.shape)
            values = values * w
            if values.ndim > 1:
                axes = tuple(range(1, values.ndim))
                values, w = values.mean(axis=axes), w.mean(axis=axes)
            self.total += float(values.sum())
            self.count += float(w.sum())
        else:
            if values.ndim > 1:
                values = values.mean(axis=tuple(range(1, values.ndim)))
            self.total += float(values.sum())
            self.count += float(values.shape[0]) if values.ndim else 1.0


class Mean(_Reduce):
    """The (weighted) mean of the values given to ``update_state(values, sample_weight)``."""

    def update_state(self, values, sample_weight=None):
        self._accumulate(values, sample_weight)

    def result(self):
        return self.total / self.count if self.count else 0.0


class Sum(_Reduce):
    """The (weighted) sum of the values given to ``update_state(values, sample_weight)``."""

    def update_state(self, values, sample_weight=None):
        values = np.asarray(to_host(values), dtype=np.float64)
        if sample_weight is not None:
            w = np.asarray(to_host(sample_weight), dtype=np.float64)
            values, w = _same_rank(values, w)
            values = values * w
        self.total += float(values.sum())

    def result(self):
        return self.total


class MeanMetricWrapper(Mean):
    """Mean over samples of ``fn(y_true, y_pred, **kwargs)``."""

    def __init__(self, fn, name=None, dtype=None, **kwargs):
        self._fn = fn
        self._fn_kwargs = kwargs
        super().__init__(name=name or getattr(fn, "__name__", None), dtype=dtype)

    def update_state(self, y_true, y_pred, sample_weight=None):
        values = self._fn(to_host(y_true), to_host(y_pred), **self._fn_kwargs)
        self._accumulate(values, sample_weight)

    def get_config(self):
        c = super().get_config()
        c.update(self._fn_kwargs)
        return c


# ---- per-sample metric functions (Keras 3 definitions) --------------------------------

def accuracy(y_true, y_pred):
    """1.0 where ``y_true == y_pred`` elementwise."""
    y_true, y_pred = _same_rank(np.asarray(to_host(y_true)), np.asarray(to_host(y_pred)))
    return (y_true == y_pred).astype(np.float64)


def binary_accuracy(y_true, y_pred, threshold=0.5):
    """1.0 where ``y_true == (y_pred > threshold)`` elementwise."""
    y_true, y_pred = _same_rank(np.asarray(to_host(y_true)), np.asarray(to_host(y_pred)))
    return (y_true.astype(np.float64) == (y_pred > threshold)).astype(np.float64)


def categorical_accuracy(y_true, y_pred):
    """1.0 where ``argmax(y_true) == argmax(y_pred)`` along the last axis."""
    y_true, y_pred = np.asarray(to_host(y_true)), np.asarray(to_host(y_pred))
    return (np.argmax(y_true, axis=-1) == np.argmax(y_pred, axis=-1)).astype(np.float64)


def _sparse_labels(y_true, y_pred):
    y_true = np.asarray(to_host(y_true))
    if y_true.ndim == y_pred.ndim and y_true.shape[-1] == 1:
        y_true = y_true.reshape(y_true.shape[:-1])
    return y_true


def sparse_categorical_accuracy(y_true, y_pred):
    """1.0 where the integer label equals ``argmax(y_pred)``; labels (n,) or (n, 1)."""
    y_pred = np.asarray(to_host(y_pred))
    y_true = _sparse_labels(y_true, y_pred)
    return (y_true.astype(np.int64) == np.argmax(y_pred, axis=-1)).astype(np.float64)


def _in_top_k(y_pred, labels, k):
    # Ties count as in the top k, as in tf.math.in_top_k: fewer than k strictly greater scores.
    target = np.take_along_axis(y_pred, labels[..., None], axis=-1)
    return ((y_pred > target).sum(axis=-1) < k).astype(np.float64)


def top_k_categorical_accuracy(y_true, y_pred, k=5):
    """1.0 where the one-hot target class is among the k largest predictions."""
    y_pred = np.asarray(to_host(y_pred))
    return _in_top_k(y_pred, np.argmax(np.asarray(to_host(y_true)), axis=-1), k)


def sparse_top_k_categorical_accuracy(y_true, y_pred, k=5):
    """1.0 where the integer target class is among the k largest predictions."""
    y_pred = np.asarray(to_host(y_pred))
    return _in_top_k(y_pred, _sparse_labels(y_true, y_pred).astype(np.int64), k)


def mean_squared_error(y_true, y_pred):
    """Mean over the last axis of ``(y_true - y_pred)**2``."""
    y_true, y_pred = _same_rank(np.asarray(to_host(y_true), np.float64), np.asarray(to_host(y_pred), np.float64))
    return np.square(y_true - y_pred).mean(axis=-1)


def mean_absolute_error(y_true, y_pred):
    """Mean over the last axis of ``|y_true - y_pred|``."""
    y_true, y_pred = _same_rank(np.asarray(to_host(y_true), np.float64), np.asarray(to_host(y_pred), np.float64))
    return np.abs(y_true - y_pred).mean(axis=-1)


# ---- metric classes -------------------------------------------------------------------

class Accuracy(MeanMetricWrapper):
    """How often predictions equal labels exactly."""
    _direction = "up"

    def __init__(self, name="accuracy", dtype=None):
        super().__init__(accuracy, name=name, dtype=dtype)


class BinaryAccuracy(MeanMetricWrapper):
    """How often ``y_pred > threshold`` matches the binary label."""
    _direction = "up"

    def __init__(self, name="binary_accuracy", dtype=None, threshold=0.5):
        super().__init__(binary_accuracy, name=name, dtype=dtype, threshold=threshold)
        self.threshold = threshold


class CategoricalAccuracy(MeanMetricWrapper):
    """How often the argmax of the prediction matches the argmax of the one-hot label."""
    _direction = "up"

    def __init__(self, name="categorical_accuracy", dtype=None):
        super().__init__(categorical_accuracy, name=name, dtype=dtype)


class SparseCategoricalAccuracy(MeanMetricWrapper):
    """How often the argmax of the prediction matches the integer label."""
    _direction = "up"

    def __init__(self, name="sparse_categorical_accuracy", dtype=None):
        super().__init__(sparse_categorical_accuracy, name=name, dtype=dtype)


class TopKCategoricalAccuracy(MeanMetricWrapper):
    """How often the one-hot target is among the top ``k`` predictions."""
    _direction = "up"

    def __init__(self, k=5, name="top_k_categorical_accuracy", dtype=None):
        super().__init__(top_k_categorical_accuracy, name=name, dtype=dtype, k=k)
        self.k = k


class SparseTopKCategoricalAccuracy(MeanMetricWrapper):
    """How often the integer target is among the top ``k`` predictions."""
    _direction = "up"

    def __init__(self, k=5, name="sparse_top_k_categorical_accuracy", dtype=None):
        super().__init__(sparse_top_k_categorical_accuracy, name=name, dtype=dtype, k=k)
        self.k = k


class MeanSquaredError(MeanMetricWrapper):
    """Mean of ``(y_true - y_pred)**2``."""
    _direction = "down"

    def __init__(self, name="mean_squared_error", dtype=None):
        super().__init__(mean_squared_error, name=name, dtype=dtype)


class MeanAbsoluteError(MeanMetricWrapper):
    """Mean of ``|y_true - y_pred|``."""
    _direction = "down"

    def __init__(self, name="mean_absolute_error", dtype=None):
        super().__init__(mean_absolute_error, name=name, dtype=dtype)


class RootMeanSquaredError(Mean):
    """``sqrt`` of the mean of ``(y_true - y_pred)**2``."""
    _direction = "down"

    def __init__(self, name="root_mean_squared_error", dtype=None):
        super().__init__(name=name, dtype=dtype)

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true, y_pred = _same_rank(np.asarray(to_host(y_true), np.float64), np.asarray(to_host(y_pred), np.float64))
        self._accumulate(np.square(y_true - y_pred), sample_weight)

    def result(self):
        return float(np.sqrt(self.total / self.count)) if self.count else 0.0


class _Confusion(Metric):
    """True/false positives and false negatives at one or more thresholds
    (``y_pred > threshold`` is a positive prediction)."""

    _direction = "up"

    def __init__(self, thresholds=None, top_k=None, class_id=None, name=None, dtype=None):
        self.init_thresholds = thresholds
        self.top_k = top_k
        self.class_id = class_id
        default = 0.5 if top_k is None else -np.inf
        t = default if thresholds is None else thresholds
        self._scalar = np.ndim(t) == 0
        self.thresholds = [float(x) for x in np.atleast_1d(t)]
        for x in self.thresholds:
            if not (x == -np.inf or 0.0 <= x <= 1.0):
                raise ValueError(f"{type(self).__name__}: each threshold lies in [0, 1], got {t}")
        super().__init__(name=name, dtype=dtype)

    def reset_state(self):
        k = len(self.thresholds)
        self.true_positives = np.zeros(k)
        self.false_positives = np.zeros(k)
        self.false_negatives = np.zeros(k)

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true = np.asarray(to_host(y_true), dtype=np.float64)
        y_pred = np.asarray(to_host(y_pred), dtype=np.float64)
        y_true, y_pred = _same_rank(y_true, y_pred)
        if self.top_k is not None:
            # keep the top_k predictions of each row, the others never count as positive
            kth = -np.sort(-y_pred, axis=-1)[..., self.top_k - 1: self.top_k]
            y_pred = np.where(y_pred >= kth, y_pred, -np.inf)
        if self.class_id is not None:
            y_true, y_pred = y_true[..., self.class_id], y_pred[..., self.class_id]
        w = None
        if sample_weight is not None:
            w = np.asarray(to_host(sample_weight), dtype=np.float64)
            w = w.reshape(w.shape + (1,) * (y_true.ndim - w.ndim)) if w.ndim < y_true.ndim else w
            w = np.broadcast_to(w, y_true.shape).ravel()
        t = y_true.ravel() > 0.5
        p = y_pred.ravel()
        for i, th in enumerate(self.thresholds):
            pos = p > th
            tp, fp, fn = pos & t, pos & ~t, ~pos & t
            if w is None:
                self.true_positives[i] += tp.sum()
                self.false_positives[i] += fp.sum()
                self.false_negatives[i] += fn.sum()
            else:
                self.true_positives[i] += w[tp].sum()
                self.false_positives[i] += w[fp].sum()
                self.false_negatives[i] += w[fn].sum()

    def _out(self, num, den):
        r = np.divide(num, den, out=np.zeros_like(num), where=den > 0)
        return float(r[0]) if self._scalar else [float(x) for x in r]

    def get_config(self):
        return {"thresholds": self.init_thresholds, "top_k": self.top_k, "class_id": self.class_id,
                **super().get_config()}


class Precision(_Confusion):
    """``tp / (tp + fp)`` of binary predictions (0 when nothing was predicted positive)."""

    def result(self):
        return self._out(self.true_positives, self.true_positives + self.false_positives)


class Recall(_Confusion):
    """``tp / (tp + fn)`` of binary predictions (0 when there are no positives)."""

    def result(self):
        return self._out(self.true_positives, self.true_positives + self.false_negatives)


# ---- lookup ---------------------------------------------------------------------------

_CLASSES = {
    c.__name__: c for c in (
        Mean, Sum, Accuracy, BinaryAccuracy, CategoricalAccuracy, SparseCategoricalAccuracy,
        TopKCategoricalAccuracy, SparseTopKCategoricalAccuracy, Precision, Recall,
        MeanSquaredError, MeanAbsoluteError, RootMeanSquaredError,
    )
}

_NAMES = {
    "accuracy": Accuracy, "acc": Accuracy,
    "binary_accuracy": BinaryAccuracy,
    "categorical_accuracy": CategoricalAccuracy,
    "sparse_categorical_accuracy": SparseCategoricalAccuracy,
    "top_k_categorical_accuracy": TopKCategoricalAccuracy,
    "sparse_top_k_categorical_accuracy": SparseTopKCategoricalAccuracy,
    "precision": Precision, "recall": Recall,
    "mean_squared_error": MeanSquaredError, "mse": MeanSquaredError,
    "mean_absolute_error": MeanAbsoluteError, "mae": MeanAbsoluteError,
    "root_mean_squared_error": RootMeanSquaredError, "rmse": RootMeanSquaredError,
    "mean": Mean, "sum": Sum,
}


def _loss_kind(loss):
    """'binary', 'sparse', 'categorical' or None from a loss name, object or function."""
    if loss is None:
        return None
    if isinstance(loss, str):
        name = loss
    else:
        name = getattr(loss, "name", None) or getattr(loss, "__name__", None) or type(loss).__name__
    key = snake_case(str(name)).replace("_", "")
    if key in ("binarycrossentropy", "bce", "binaryfocalcrossentropy"):
        return "binary"
    if key in ("sparsecategoricalcrossentropy", "scce"):
        return "sparse"
    if key in ("categoricalcrossentropy", "cce", "categoricalfocalcrossentropy"):
        return "categorical"
    return None


def serialize(metric):
    """``{"class_name": ..., "config": ...}`` of a metric."""
    return {"class_name": type(metric).__name__, "config": metric.get_config()}


def deserialize(config):
    """A metric from ``serialize``'s dict."""
    name = config.get("class_name")
    cls = _CLASSES.get(name)
    if cls is None:
        raise ValueError(f"Unknown metric class {name!r}; known: {', '.join(sorted(_CLASSES))}")
    return cls.from_config(dict(config.get("config") or {}))


def get(identifier, loss=None):
    """A Metric from a name, a Metric (returned as is), a config dict or a function
    ``fn(y_true, y_pred)`` (wrapped in a mean).

    'accuracy'/'acc' follow the loss like Keras: binary accuracy for
    binary_crossentropy, sparse categorical accuracy for
    sparse_categorical_crossentropy, categorical accuracy for
    categorical_crossentropy, exact-match accuracy otherwise. A metric made from a
    string keeps that string as its name (the key in ``History.history``)."""
    if identifier is None:
        return None
    if isinstance(identifier, Metric):
        return identifier
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if isinstance(identifier, type) and issubclass(identifier, Metric):
        return identifier()
    if isinstance(identifier, str):
        key = identifier if identifier in _CLASSES else identifier.lower()
        if identifier.lower() in ("accuracy", "acc"):
            kind = _loss_kind(loss)
            cls = {"binary": BinaryAccuracy, "sparse": SparseCategoricalAccuracy,
                   "categorical": CategoricalAccuracy}.get(kind, Accuracy)
        else:
            cls = _CLASSES.get(key) or _NAMES.get(key)
        if cls is None:
            raise ValueError(
                f"Unknown metric {identifier!r}; known metrics: {', '.join(sorted(_NAMES))}"
            )
        m = cls()
        m.name = identifier
        return m
    if callable(identifier):
        return MeanMetricWrapper(identifier)
    raise ValueError(f"metrics.get: expected a metric, its name or a function, got {identifier!r}")
