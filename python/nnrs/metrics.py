"""Metrics with Keras 3 names and semantics, computed on the host with numpy.

A metric accumulates over batches: ``update_state(y_true, y_pred, sample_weight=None)``,
``result() -> float``, ``reset_state()``. Inputs may be numpy arrays, lists, nnrs
tensors (anything with ``.numpy()``) or CuPy arrays; they are brought to the host.
Accumulators are float64.

``result()`` returns Python floats (a list for a metric with several values), also for a
user's subclass whose ``result`` returns a Tensor or a variable: the value is brought to
the host once, for the logs (Keras returns a tensor there).

A user's metric subclasses ``Metric`` as in Keras 3: state made with ``add_variable``
(or ``add_weight``) in ``__init__``, changed with ``assign``/``assign_add``/``assign_sub``
in ``update_state``, read in ``result``; the default ``reset_state`` sets every such
variable back to zero.
"""

from __future__ import annotations

import numpy as np

from . import initializers as _initializers
from . import losses as _losses
from ._util import snake_case, to_host
from .layers.base import get_keras_mask
from .tensor import Tensor, Variable

__all__ = [
    "Metric", "Mean", "Sum", "MeanMetricWrapper", "Accuracy", "BinaryAccuracy", "CategoricalAccuracy",
    "SparseCategoricalAccuracy", "TopKCategoricalAccuracy", "SparseTopKCategoricalAccuracy",
    "Precision", "Recall", "MeanSquaredError", "MeanAbsoluteError", "RootMeanSquaredError",
    "MeanAbsolutePercentageError", "MeanSquaredLogarithmicError", "R2Score", "AUC", "F1Score", "FBetaScore",
    "mean_absolute_percentage_error", "mean_squared_logarithmic_error",
    "BinaryCrossentropy", "CategoricalCrossentropy", "SparseCategoricalCrossentropy", "KLDivergence", "Poisson",
    "LogCoshError", "CosineSimilarity", "Hinge", "SquaredHinge", "CategoricalHinge",
    "binary_crossentropy", "binary_focal_crossentropy", "categorical_crossentropy", "categorical_focal_crossentropy",
    "sparse_categorical_crossentropy", "kl_divergence", "poisson", "log_cosh", "huber", "hinge", "squared_hinge",
    "categorical_hinge",
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


class MetricVariable(Variable):
    """State of a metric: a non-trainable Variable that also adds in place."""

    def _value_of(self, value):
        if isinstance(value, Tensor) and value.backend is not self.backend:
            value = to_host(value)
        return value

    def assign(self, value) -> None:
        value = self._value_of(value)
        if isinstance(value, Tensor):
            if value.dtype != self.dtype:
                value = value.backend.cast(value.data, self.dtype)
        else:
            value = np.broadcast_to(np.asarray(to_host(value), dtype=self.dtype), self.shape)
        super().assign(value)

    def assign_add(self, value) -> None:
        from . import ops

        self.assign(ops.add(self.detach(), self._value_of(value)))

    def assign_sub(self, value) -> None:
        from . import ops

        self.assign(ops.subtract(self.detach(), self._value_of(value)))


def _to_python(v):
    """A metric value as a Python float, or a list of floats."""
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return float(v)
    if isinstance(v, list):
        return v
    a = np.asarray(to_host(v), dtype=np.float64)
    return float(a) if a.ndim == 0 else a.tolist()


class Metric:
    """Base class of metrics: ``update_state``, ``result``, ``reset_state``, ``name``,
    ``add_variable``/``add_weight``, ``variables``.

    ``_direction`` is ``"up"`` for metrics where higher is better and ``"down"``
    otherwise (EarlyStopping's ``mode="auto"`` reads it).
    """

    _direction = None

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        res = cls.__dict__.get("result")
        if res is not None and not getattr(res, "_host_result", False):
            def result(self, _res=res):
                return _to_python(_res(self))

            result.__doc__ = res.__doc__
            result._host_result = True
            cls.result = result

    def __init__(self, name=None, dtype=None):
        self.name = name or snake_case(type(self).__name__)
        self.dtype = dtype or "float32"
        self._variables = []
        # the built-in metrics keep their state in plain attributes, set up by their own
        # reset_state (also under a user's subclass that overrides reset_state)
        for klass in type(self).__mro__:
            if klass is Metric:
                break
            if klass.__module__ == __name__ and "reset_state" in klass.__dict__:
                klass.reset_state(self)
                break

    @property
    def variables(self):
        return list(self.__dict__.get("_variables", ()))

    def add_variable(self, shape=(), initializer="zeros", dtype=None, aggregation="sum", name=None):
        """A state variable of ``shape`` (Keras 3's name); reset to zeros by the default ``reset_state``."""
        if aggregation not in ("sum", "mean", "none", None, "only_first_replica"):
            raise ValueError(f"{self.name}: aggregation must be 'sum', 'mean', 'only_first_replica' or None, got {aggregation!r}")
        shape = (shape,) if isinstance(shape, int) else tuple(shape or ())
        dt = dtype or self.dtype
        init = _initializers.get(initializer)
        value = to_host(init(shape, dtype=dt)) if init is not None else np.zeros(shape, dtype=dt)
        v = MetricVariable(np.asarray(value, dtype=dt), name=name or f"variable_{len(self.__dict__.get('_variables', ()))}",
                           trainable=False, dtype=dt)
        self.__dict__.setdefault("_variables", []).append(v)
        return v

    def add_weight(self, name=None, shape=(), initializer="zeros", dtype=None, aggregation="sum"):
        """``add_variable`` with the Keras 2 argument order."""
        return self.add_variable(shape=shape, initializer=initializer, dtype=dtype, aggregation=aggregation, name=name)

    def update_state(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} must define update_state")

    def result(self):
        raise NotImplementedError(f"{type(self).__name__} must define result")

    def reset_state(self):
        """Every variable made with ``add_variable`` back to zeros."""
        for v in self.variables:
            v.assign(np.zeros(v.shape, dtype=v.dtype))

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


def apply_mask(sample_weight, mask):
    """The weights of a mean metric for predictions with ``mask`` (Keras 3's rule): the mask as
    0/1, times ``sample_weight`` where one is given. Per-sample weights of shape (batch,) weigh
    each sample's unmasked steps (Keras 3.15 fails on that combination; give (batch, time)
    weights there for a script that runs in both)."""
    m = np.asarray(to_host(mask), dtype=np.float64)
    if sample_weight is None:
        return m
    w = np.asarray(to_host(sample_weight), dtype=np.float64)
    while w.ndim > m.ndim and w.shape[-1] == 1:
        w = w.reshape(w.shape[:-1])
    if w.ndim < m.ndim:
        w = w.reshape(w.shape + (1,) * (m.ndim - w.ndim))
    try:
        return w * m
    except ValueError:
        raise ValueError(f"sample_weight of shape {np.shape(to_host(sample_weight))} does not fit the predictions' mask "
                         f"of shape {m.shape}") from None


class MeanMetricWrapper(Mean):
    """Mean over samples of ``fn(y_true, y_pred, **kwargs)``; a mask on ``y_pred`` (a Tensor
    that carries one) weighs the values, as in Keras, so masked steps do not count."""

    def __init__(self, fn, name=None, dtype=None, **kwargs):
        self._fn = fn
        self._fn_kwargs = kwargs
        super().__init__(name=name or getattr(fn, "__name__", None), dtype=dtype)

    def update_state(self, y_true, y_pred, sample_weight=None):
        mask = get_keras_mask(y_pred)
        if mask is not None:
            sample_weight = apply_mask(sample_weight, mask)
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


def mean_absolute_percentage_error(y_true, y_pred):
    """``100 *`` the mean over the last axis of ``|y_true - y_pred| / max(|y_true|, 1e-7)``."""
    y_true, y_pred = _same_rank(np.asarray(to_host(y_true), np.float64), np.asarray(to_host(y_pred), np.float64))
    return 100.0 * (np.abs(y_true - y_pred) / np.maximum(np.abs(y_true), 1e-7)).mean(axis=-1)


def mean_squared_logarithmic_error(y_true, y_pred):
    """Mean over the last axis of ``(log(1 + y_pred) - log(1 + y_true))**2``, both floored at 1e-7."""
    y_true, y_pred = _same_rank(np.asarray(to_host(y_true), np.float64), np.asarray(to_host(y_pred), np.float64))
    d = np.log1p(np.maximum(y_pred, 1e-7)) - np.log1p(np.maximum(y_true, 1e-7))
    return np.square(d).mean(axis=-1)


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


class MeanAbsolutePercentageError(MeanMetricWrapper):
    """Mean absolute percentage error."""
    _direction = "down"

    def __init__(self, name="mean_absolute_percentage_error", dtype=None):
        super().__init__(mean_absolute_percentage_error, name=name, dtype=dtype)


class MeanSquaredLogarithmicError(MeanMetricWrapper):
    """Mean squared logarithmic error."""
    _direction = "down"

    def __init__(self, name="mean_squared_logarithmic_error", dtype=None):
        super().__init__(mean_squared_logarithmic_error, name=name, dtype=dtype)


# ---- losses as metrics: the mean over samples of a loss function of nnrs.losses --------------

def _cosine(y_true, y_pred, axis=-1):
    """Cosine similarity along ``axis`` (the loss is its negative)."""
    return -np.asarray(to_host(_losses.cosine_similarity(y_true, y_pred, axis=axis)))


def _loss_metric(cls_name, fn, default_name, direction="down", params=()):
    """A MeanMetricWrapper class over ``fn`` whose keyword arguments ``params`` (name, default) follow name and dtype."""
    names = [k for k, _ in params]
    defaults = dict(params)

    def __init__(self, name=default_name, dtype=None, **kwargs):
        unknown = set(kwargs) - set(names)
        if unknown:
            raise TypeError(f"{cls_name}: unexpected argument(s) {', '.join(sorted(unknown))}")
        MeanMetricWrapper.__init__(self, fn, name=name, dtype=dtype, **{**defaults, **kwargs})

    doc = f"Mean over samples of ``{getattr(fn, '__name__', cls_name)}``."
    return type(cls_name, (MeanMetricWrapper,), {"__init__": __init__, "_direction": direction, "__doc__": doc,
                                                 "__module__": __name__})


def _host_fn(fn):
    def f(y_true, y_pred, **kwargs):
        return np.asarray(to_host(fn(y_true, y_pred, **kwargs)))

    f.__name__ = fn.__name__
    f.__doc__ = f"``nnrs.losses.{fn.__name__}`` per sample, as a numpy array (a metric function)."
    return f


binary_crossentropy = _host_fn(_losses.binary_crossentropy)
binary_focal_crossentropy = _host_fn(_losses.binary_focal_crossentropy)
categorical_crossentropy = _host_fn(_losses.categorical_crossentropy)
categorical_focal_crossentropy = _host_fn(_losses.categorical_focal_crossentropy)
sparse_categorical_crossentropy = _host_fn(_losses.sparse_categorical_crossentropy)
kl_divergence = _host_fn(_losses.kl_divergence)
poisson = _host_fn(_losses.poisson)
log_cosh = _host_fn(_losses.log_cosh)
huber = _host_fn(_losses.huber)
hinge = _host_fn(_losses.hinge)
squared_hinge = _host_fn(_losses.squared_hinge)
categorical_hinge = _host_fn(_losses.categorical_hinge)


BinaryCrossentropy = _loss_metric("BinaryCrossentropy", _losses.binary_crossentropy, "binary_crossentropy",
                                  params=(("from_logits", False), ("label_smoothing", 0)))
CategoricalCrossentropy = _loss_metric("CategoricalCrossentropy", _losses.categorical_crossentropy, "categorical_crossentropy",
                                       params=(("from_logits", False), ("label_smoothing", 0), ("axis", -1)))
SparseCategoricalCrossentropy = _loss_metric("SparseCategoricalCrossentropy", _losses.sparse_categorical_crossentropy,
                                             "sparse_categorical_crossentropy",
                                             params=(("from_logits", False), ("ignore_class", None), ("axis", -1)))
KLDivergence = _loss_metric("KLDivergence", _losses.kl_divergence, "kl_divergence")
Poisson = _loss_metric("Poisson", _losses.poisson, "poisson")
LogCoshError = _loss_metric("LogCoshError", _losses.log_cosh, "logcosh")
CosineSimilarity = _loss_metric("CosineSimilarity", _cosine, "cosine_similarity", direction="up", params=(("axis", -1),))
Hinge = _loss_metric("Hinge", _losses.hinge, "hinge")
SquaredHinge = _loss_metric("SquaredHinge", _losses.squared_hinge, "squared_hinge")
CategoricalHinge = _loss_metric("CategoricalHinge", _losses.categorical_hinge, "categorical_hinge")


def _float_pred(y_pred):
    """Predictions on the host in their own float dtype (float64 for other dtypes)."""
    p = np.asarray(to_host(y_pred))
    return p if p.dtype in (np.float32, np.float64) else p.astype(np.float64)


class R2Score(Metric):
    """Coefficient of determination over all batches seen, per output column, aggregated by
    ``class_aggregation`` ("uniform_average", "variance_weighted_average" or None for one
    value per column); ``num_regressors`` > 0 gives the adjusted R^2."""

    _direction = "up"

    def __init__(self, class_aggregation="uniform_average", num_regressors=0, name="r2_score", dtype=None):
        if class_aggregation not in ("uniform_average", "variance_weighted_average", None):
            raise ValueError(f"R2Score: class_aggregation must be 'uniform_average', 'variance_weighted_average' or None, "
                             f"got {class_aggregation!r}")
        if int(num_regressors) < 0:
            raise ValueError(f"R2Score: num_regressors must be >= 0, got {num_regressors}")
        self.class_aggregation = class_aggregation
        self.num_regressors = int(num_regressors)
        super().__init__(name=name, dtype=dtype)

    def reset_state(self):
        self.num_samples = 0
        self.sums = None  # per column: sum w y, sum w y^2, sum w (y - p)^2, sum w

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true = np.asarray(to_host(y_true), dtype=np.float64)
        y_pred = np.asarray(to_host(y_pred), dtype=np.float64)
        y_true, y_pred = _same_rank(y_true, y_pred)
        if y_true.ndim == 1:
            y_true, y_pred = y_true[:, None], y_pred[:, None]
        if y_true.ndim != 2 or y_true.shape != y_pred.shape:
            raise ValueError(f"R2Score: y_true and y_pred must have one shape (samples, outputs), got {y_true.shape} "
                             f"and {y_pred.shape}")
        w = np.ones_like(y_true)
        if sample_weight is not None:
            sw = np.asarray(to_host(sample_weight), dtype=np.float64)
            w = np.broadcast_to(sw.reshape(sw.shape + (1,) * (2 - sw.ndim)), y_true.shape)
        part = np.stack([(w * y_true).sum(0), (w * y_true * y_true).sum(0), (w * (y_true - y_pred) ** 2).sum(0), w.sum(0)])
        self.sums = part if self.sums is None else self.sums + part
        self.num_samples += y_true.size  # Keras counts entries, not rows, for the adjusted R^2

    def result(self):
        if self.sums is None:
            return 0.0
        s, sq, sse, cnt = self.sums
        with np.errstate(divide="ignore", invalid="ignore"):
            total = sq - s * (s / cnt)
            raw = 1.0 - sse / total
        raw = np.where(np.isinf(raw), 0.0, raw)
        if self.class_aggregation == "uniform_average":
            r2 = raw.mean()
        elif self.class_aggregation == "variance_weighted_average":
            r2 = (total * raw).sum() / total.sum()
        else:
            r2 = raw
        n, p = self.num_samples, self.num_regressors
        if p and n - p - 1 > 0:
            r2 = 1.0 - (1.0 - r2) * (n - 1) / (n - p - 1)
        return r2

    def get_config(self):
        return {**super().get_config(), "class_aggregation": self.class_aggregation, "num_regressors": self.num_regressors}


class AUC(Metric):
    """Area under the ROC or precision-recall curve, from confusion counts at
    ``num_thresholds`` thresholds evenly spaced in [0, 1] (plus one just below 0 and one
    just above 1), summed with ``summation_method``: "interpolation" (trapezoids for ROC,
    the interpolated precision of Davis & Goadrich for PR), "minoring" or "majoring".
    With ``multi_label=True`` each column of (samples, labels) data has its own curve and
    the result is their mean, weighted by ``label_weights`` when given."""

    _direction = "up"

    def __init__(self, num_thresholds=200, curve="ROC", summation_method="interpolation", name=None, dtype=None,
                 thresholds=None, multi_label=False, num_labels=None, label_weights=None, from_logits=False):
        curve = str(curve).upper()
        if curve not in ("ROC", "PR"):
            raise ValueError(f"AUC: curve must be 'ROC' or 'PR', got {curve!r}")
        if summation_method not in ("interpolation", "minoring", "majoring"):
            raise ValueError(f"AUC: summation_method must be 'interpolation', 'minoring' or 'majoring', got {summation_method!r}")
        if label_weights is not None and not multi_label:
            raise ValueError("AUC: label_weights is supported with multi_label=True only")
        if thresholds is not None:
            inner = sorted(float(t) for t in thresholds)
            num_thresholds = len(inner) + 2
        else:
            if int(num_thresholds) <= 1:
                raise ValueError(f"AUC: num_thresholds must be > 1, got {num_thresholds}")
            num_thresholds = int(num_thresholds)
            inner = [(i + 1) / (num_thresholds - 1) for i in range(num_thresholds - 2)]
        self._thresholds_given = thresholds is not None
        self.thresholds = np.array([-1e-7] + inner + [1.0 + 1e-7])
        self.num_thresholds = num_thresholds
        self.curve = curve
        self.summation_method = summation_method
        self.multi_label = bool(multi_label)
        self.num_labels = None if num_labels is None else int(num_labels)
        self.label_weights = None if label_weights is None else np.asarray(label_weights, dtype=np.float64)
        self.from_logits = from_logits
        super().__init__(name=name or "auc", dtype=dtype)

    def reset_state(self):
        shape = (len(self.thresholds),) if not self.multi_label or self.num_labels is None else \
            (len(self.thresholds), self.num_labels)
        self.true_positives, self.false_positives = np.zeros(shape), np.zeros(shape)
        self.true_negatives, self.false_negatives = np.zeros(shape), np.zeros(shape)

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true = np.asarray(to_host(y_true), dtype=np.float64)
        y_pred = _float_pred(y_pred)
        y_true, y_pred = _same_rank(y_true, y_pred)
        if self.from_logits:
            y_pred = 1 / (1 + np.exp(-y_pred))
        w = np.ones(y_true.shape)
        if sample_weight is not None:
            sw = np.asarray(to_host(sample_weight), dtype=np.float64)
            sw = sw.reshape(sw.shape + (1,) * (y_true.ndim - sw.ndim)) if sw.ndim < y_true.ndim else sw
            w = np.broadcast_to(sw, y_true.shape)
        if self.multi_label:
            if y_true.ndim != 2:
                raise ValueError(f"{self.name}: multi_label data has the shape (samples, labels), got {y_true.shape}")
            k = y_true.shape[1]
            if self.true_positives.ndim == 1:  # the number of labels is known now
                self.num_labels = k
                self.reset_state()
            elif self.true_positives.shape[1] != k:
                raise ValueError(f"{self.name}: expected {self.true_positives.shape[1]} labels, got {k}")
            pos, p = y_true != 0, y_pred
        else:
            pos, p, w = y_true.ravel() != 0, y_pred.ravel(), w.ravel()
        th = self.thresholds.astype(p.dtype).reshape((-1,) + (1,) * p.ndim)
        above = p[None] > th  # (thresholds, *data), compared in the predictions' dtype
        self.true_positives += ((above & pos) * w).sum(axis=1)
        self.false_positives += ((above & ~pos) * w).sum(axis=1)
        self.false_negatives += ((~above & pos) * w).sum(axis=1)
        self.true_negatives += ((~above & ~pos) * w).sum(axis=1)

    @staticmethod
    def _ratio(a, b):
        return np.divide(a, b, out=np.zeros_like(a, dtype=np.float64), where=b != 0)

    def _heights(self, y):
        if self.summation_method == "minoring":
            return np.minimum(y[:-1], y[1:])
        if self.summation_method == "majoring":
            return np.maximum(y[:-1], y[1:])
        return (y[:-1] + y[1:]) / 2

    def _areas(self):
        """The area under each curve: a scalar, or one per label (summed over the threshold axis 0)."""
        tp, fp, tn, fn = self.true_positives, self.false_positives, self.true_negatives, self.false_negatives
        if self.curve == "PR" and self.summation_method == "interpolation":
            # precision is interpolated linearly in tp between neighbouring thresholds, integrated over recall
            d_tp = tp[:-1] - tp[1:]
            pred_pos = tp + fp
            d_pos = pred_pos[:-1] - pred_pos[1:]
            slope = self._ratio(d_tp, np.maximum(d_pos, 0))
            intercept = tp[1:] - slope * pred_pos[1:]
            both = (pred_pos[:-1] > 0) & (pred_pos[1:] > 0)
            ratio = np.where(both, self._ratio(pred_pos[:-1], np.maximum(pred_pos[1:], 0)), 1.0)
            log_ratio = np.where(both, np.log(np.where(both, ratio, 1.0)), 0.0)
            return self._ratio(slope * (d_tp + intercept * log_ratio), np.maximum(tp[1:] + fn[1:], 0)).sum(axis=0)
        recall = self._ratio(tp, tp + fn)
        if self.curve == "ROC":
            x, y = self._ratio(fp, fp + tn), recall
        else:
            x, y = recall, self._ratio(tp, tp + fp)
        return ((x[:-1] - x[1:]) * self._heights(y)).sum(axis=0)

    def result(self):
        area = self._areas()
        if np.ndim(area) == 0:
            return float(area)
        if self.label_weights is not None:
            lw = self.label_weights
            return float((area * lw).sum() / lw.sum()) if lw.sum() else 0.0
        return float(area.mean())

    def get_config(self):
        c = {**super().get_config(), "num_thresholds": self.num_thresholds, "curve": self.curve,
             "summation_method": self.summation_method, "multi_label": self.multi_label, "num_labels": self.num_labels,
             "label_weights": None if self.label_weights is None else self.label_weights.tolist(),
             "from_logits": self.from_logits}
        if self._thresholds_given:
            c["thresholds"] = [float(t) for t in self.thresholds[1:-1]]
        return c


class FBetaScore(Metric):
    """F-beta score of multi-label or one-hot predictions, per class (``average=None``) or
    averaged: "micro" (global counts), "macro" (plain mean of classes), "weighted" (mean
    weighted by each class's number of true samples). With ``threshold=None`` the largest
    prediction of each row counts as the positive one; otherwise ``y_pred > threshold``."""

    _direction = "up"

    def __init__(self, average=None, beta=1.0, threshold=None, name="fbeta_score", dtype=None):
        if average not in (None, "micro", "macro", "weighted"):
            raise ValueError(f"{type(self).__name__}: average must be None, 'micro', 'macro' or 'weighted', got {average!r}")
        if not beta > 0:
            raise ValueError(f"{type(self).__name__}: beta must be > 0, got {beta}")
        if threshold is not None and not 0.0 <= float(threshold) <= 1.0:
            raise ValueError(f"{type(self).__name__}: threshold must lie in [0, 1], got {threshold}")
        self.average, self.beta, self.threshold = average, float(beta), threshold
        super().__init__(name=name, dtype=dtype)

    def reset_state(self):
        self.counts = None  # tp, fp, fn, true per class (or summed over classes for "micro")

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true = np.asarray(to_host(y_true), dtype=np.float64)
        y_pred = _float_pred(y_pred)
        if y_true.ndim != 2 or y_true.shape != y_pred.shape:
            raise ValueError(f"{self.name}: y_true and y_pred must have one shape (samples, classes), got {y_true.shape} "
                             f"and {y_pred.shape}")
        if self.threshold is None:
            pred = (y_pred >= y_pred.max(axis=-1, keepdims=True)) & (np.abs(y_pred) > 1e-9)
        else:  # compared in the predictions' dtype, as Keras does
            pred = y_pred > y_pred.dtype.type(self.threshold)
        pred = pred.astype(np.float64)
        w = 1.0 if sample_weight is None else np.asarray(to_host(sample_weight), dtype=np.float64).reshape(-1, 1)
        axis = None if self.average == "micro" else 0
        part = np.stack([np.sum(w * pred * y_true, axis=axis), np.sum(w * pred * (1 - y_true), axis=axis),
                         np.sum(w * (1 - pred) * y_true, axis=axis), np.sum(w * y_true, axis=axis)])
        self.counts = part if self.counts is None else self.counts + part

    def result(self):
        if self.counts is None:
            return 0.0
        tp, fp, fn, true = self.counts
        r = AUC._ratio
        precision, recall = r(tp, tp + fp), r(tp, tp + fn)
        b2 = self.beta ** 2
        score = (1 + b2) * r(precision * recall, b2 * precision + recall)
        if self.average == "weighted":
            return float((score * r(true, np.full_like(true, true.sum()))).sum())
        if self.average is not None:
            return float(np.mean(score))
        return score

    def get_config(self):
        return {**super().get_config(), "average": self.average, "beta": self.beta, "threshold": self.threshold}


class F1Score(FBetaScore):
    """F1 score: the F-beta score with beta = 1."""

    def __init__(self, average=None, threshold=None, name="f1_score", dtype=None):
        super().__init__(average=average, beta=1.0, threshold=threshold, name=name, dtype=dtype)

    def get_config(self):
        c = super().get_config()
        del c["beta"]
        return c


# ---- lookup ---------------------------------------------------------------------------

_CLASSES = {
    c.__name__: c for c in (
        Mean, Sum, Accuracy, BinaryAccuracy, CategoricalAccuracy, SparseCategoricalAccuracy,
        TopKCategoricalAccuracy, SparseTopKCategoricalAccuracy, Precision, Recall,
        MeanSquaredError, MeanAbsoluteError, RootMeanSquaredError, MeanAbsolutePercentageError,
        MeanSquaredLogarithmicError, R2Score, AUC, F1Score, FBetaScore, BinaryCrossentropy, CategoricalCrossentropy,
        SparseCategoricalCrossentropy, KLDivergence, Poisson, LogCoshError, CosineSimilarity, Hinge, SquaredHinge,
        CategoricalHinge,
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
    "mean_absolute_percentage_error": MeanAbsolutePercentageError, "mape": MeanAbsolutePercentageError,
    "mean_squared_logarithmic_error": MeanSquaredLogarithmicError, "msle": MeanSquaredLogarithmicError,
    "auc": AUC, "f1_score": F1Score, "fbeta_score": FBetaScore, "r2_score": R2Score,
    "binary_crossentropy": BinaryCrossentropy, "bce": BinaryCrossentropy, "categorical_crossentropy": CategoricalCrossentropy,
    "sparse_categorical_crossentropy": SparseCategoricalCrossentropy, "kl_divergence": KLDivergence, "poisson": Poisson,
    "log_cosh_error": LogCoshError, "logcosh": LogCoshError, "cosine_similarity": CosineSimilarity, "hinge": Hinge,
    "squared_hinge": SquaredHinge, "categorical_hinge": CategoricalHinge,
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
