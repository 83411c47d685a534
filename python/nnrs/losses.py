"""Losses with Keras 3 names. A loss is called as ``loss(y_true, y_pred, sample_weight=None)``
and returns a scalar Tensor: the sum of the (weighted) per-sample losses over the batch size.

Cross-entropies take the fused, numerically stable kernels whenever the logits are known:
``from_logits=True``, or a prediction made by a softmax/sigmoid activation of nnrs (which
remembers its logits, as Keras does).
"""

from __future__ import annotations

import numpy as np

from . import functions as F
from . import ops
from ._util import snake_case, to_host
from .tensor import Tensor, as_tensor

_EPS = 1e-7


def _weight(sample_weight, n, y_pred, who):
    if sample_weight is None:
        return None
    w = to_host(sample_weight).astype(y_pred.dtype, copy=False).reshape(-1)
    if w.shape[0] != n:
        raise ValueError(f"{who}: sample_weight has {w.shape[0]} entries, expected one per sample ({n})")
    return y_pred.backend.asarray(w)


def _weighted_mean(per_sample: Tensor, w, n):
    """sum(w * per_sample) / n."""
    if w is not None:
        per_sample = ops.multiply(per_sample, Tensor.wrap(w, per_sample.backend))
    return ops.divide(ops.sum(per_sample), float(max(n, 1)))


class Loss:
    """Base class; subclasses implement ``call(y_true, y_pred, w)`` returning a scalar Tensor."""

    def __init__(self, name=None, reduction="sum_over_batch_size"):
        if reduction not in ("sum_over_batch_size", "auto"):
            raise ValueError(f"{type(self).__name__}: only reduction='sum_over_batch_size' is supported, got {reduction!r}")
        self.name = name or snake_case(type(self).__name__)
        self.reduction = reduction

    def __call__(self, y_true, y_pred, sample_weight=None):
        y_pred = as_tensor(y_pred)
        n = y_pred.data.shape[0] if y_pred.ndim else 1
        w = _weight(sample_weight, n, y_pred, self.name)
        return self.call(y_true, y_pred, w)

    def call(self, y_true, y_pred, w):  # pragma: no cover - documentation
        raise NotImplementedError

    def get_config(self):
        return {"name": self.name}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


def _float_target(y_true, y_pred, who, same_shape=True):
    t = to_host(y_true)
    if t.dtype.kind not in "biuf":
        raise TypeError(f"{who}: y_true must be numeric, got dtype {t.dtype}")
    t = t.astype(y_pred.dtype, copy=False)
    if same_shape and tuple(t.shape) != y_pred.shape:
        if t.size == y_pred.size and (t.ndim == 1 or y_pred.ndim == 1 or t.shape[0] == y_pred.shape[0]):
            t = t.reshape(y_pred.shape)
        else:
            raise ValueError(f"{who}: y_true shape {tuple(t.shape)} does not match y_pred shape {y_pred.shape}")
    return y_pred.backend.asarray(np.ascontiguousarray(t))


class _Regression(Loss):
    kernel = "mse"

    def call(self, y_true, y_pred, w):
        t = _float_target(y_true, y_pred, self.name)
        return F.Loss.apply(y_pred, t, w, self.kernel, getattr(self, "delta", 1.0))


class MeanSquaredError(_Regression):
    kernel = "mse"


class MeanAbsoluteError(_Regression):
    kernel = "mae"


class Huber(_Regression):
    kernel = "huber"

    def __init__(self, delta=1.0, **kwargs):
        super().__init__(**kwargs)
        self.delta = float(delta)

    def get_config(self):
        return {"name": self.name, "delta": self.delta}


def _logits_of(y_pred, kind):
    lg = y_pred._keras_logits
    return lg[1] if lg is not None and lg[0] == kind else None


class BinaryCrossentropy(Loss):
    def __init__(self, from_logits=False, **kwargs):
        super().__init__(**kwargs)
        self.from_logits = from_logits

    def call(self, y_true, y_pred, w):
        t = _float_target(y_true, y_pred, self.name)
        logits = y_pred if self.from_logits else _logits_of(y_pred, "sigmoid")
        if logits is not None:
            return F.Loss.apply(logits, t, w, "binary_crossentropy_logits", 1.0)
        n = y_pred.shape[0]
        p = ops.clip(y_pred, _EPS, 1.0 - _EPS)
        tt = Tensor.wrap(t, y_pred.backend)
        ll = ops.add(ops.multiply(tt, ops.log(p)), ops.multiply(ops.subtract(1.0, tt), ops.log(ops.subtract(1.0, p))))
        per = ops.negative(ops.mean(ops.reshape(ll, (n, -1)), axis=1))
        return _weighted_mean(per, w, n)

    def get_config(self):
        return {"name": self.name, "from_logits": self.from_logits}


class CategoricalCrossentropy(Loss):
    def __init__(self, from_logits=False, **kwargs):
        super().__init__(**kwargs)
        self.from_logits = from_logits

    def _target(self, y_true, y_pred):
        return _float_target(y_true, y_pred, self.name)

    def call(self, y_true, y_pred, w):
        if y_pred.ndim != 2:
            raise ValueError(f"{self.name}: expected y_pred of shape (batch, classes), got {y_pred.shape}")
        t = self._target(y_true, y_pred)
        logits = y_pred if self.from_logits else _logits_of(y_pred, "softmax")
        if logits is not None:
            return F.Loss.apply(logits, t, w, "softmax_crossentropy", 1.0)
        n = y_pred.shape[0]
        if t.ndim == 1:  # class indices: one-hot them on the host (layout, not arithmetic)
            oh = np.zeros(y_pred.shape, dtype=y_pred.dtype)
            oh[np.arange(n), y_pred.backend.to_numpy(t)] = 1
            t = y_pred.backend.asarray(oh)
        p = ops.divide(y_pred, ops.sum(y_pred, axis=-1, keepdims=True))
        p = ops.clip(p, _EPS, 1.0 - _EPS)
        per = ops.negative(ops.sum(ops.multiply(Tensor.wrap(t, y_pred.backend), ops.log(p)), axis=-1))
        return _weighted_mean(per, w, n)

    def get_config(self):
        return {"name": self.name, "from_logits": self.from_logits}


class SparseCategoricalCrossentropy(CategoricalCrossentropy):
    """Cross-entropy with integer class targets, shape (batch,) or (batch, 1)."""

    def _target(self, y_true, y_pred):
        t = to_host(y_true)
        if t.dtype.kind not in "biuf":
            raise TypeError(f"{self.name}: y_true must hold integer class indices, got dtype {t.dtype}")
        n, k = y_pred.shape
        if t.ndim == 2 and t.shape[1] == 1:
            t = t[:, 0]
        if t.shape != (n,):
            raise ValueError(f"{self.name}: y_true shape {tuple(t.shape)} does not match y_pred shape {y_pred.shape}; "
                             f"expected ({n},) class indices")
        if t.dtype.kind == "f" and not np.all(np.equal(np.mod(t, 1), 0)):
            raise ValueError(f"{self.name}: y_true must hold integer class indices, got non-integer values")
        t = t.astype(np.int64, copy=False)
        if n and (t.min() < 0 or t.max() >= k):
            bad = t[(t < 0) | (t >= k)][0]
            raise ValueError(f"{self.name}: class index {bad} is out of range for {k} classes")
        return y_pred.backend.asarray(np.ascontiguousarray(t))


class LossFunctionWrapper(Loss):
    """A plain function ``fn(y_true, y_pred) -> per-sample Tensor`` used as a loss."""

    def __init__(self, fn, name=None):
        super().__init__(name=name or getattr(fn, "__name__", "custom_loss"))
        self.fn = fn

    def call(self, y_true, y_pred, w):
        out = as_tensor(self.fn(y_true, y_pred))
        if out.ndim == 0:
            return out
        n = out.shape[0]
        if out.ndim > 1:
            out = ops.mean(ops.reshape(out, (n, -1)), axis=1)
        return _weighted_mean(out, w, n)


_NAMES = {
    "mse": MeanSquaredError, "mean_squared_error": MeanSquaredError,
    "mae": MeanAbsoluteError, "mean_absolute_error": MeanAbsoluteError,
    "huber": Huber, "huber_loss": Huber,
    "binary_crossentropy": BinaryCrossentropy, "bce": BinaryCrossentropy,
    "categorical_crossentropy": CategoricalCrossentropy,
    "sparse_categorical_crossentropy": SparseCategoricalCrossentropy,
}
_CLASSES = {c.__name__: c for c in set(_NAMES.values())}


def get(identifier) -> Loss:
    """A Loss from a name, a Loss, a config dict or a function ``fn(y_true, y_pred)``."""
    if isinstance(identifier, Loss):
        return identifier
    if isinstance(identifier, str):
        key = identifier.lower()
        if key in _NAMES:
            return _NAMES[key]()
        if identifier in _CLASSES:
            return _CLASSES[identifier]()
        raise ValueError(f"unknown loss {identifier!r}; expected one of {sorted(_NAMES)}")
    if isinstance(identifier, dict):
        cls = _CLASSES.get(identifier.get("class_name"))
        if cls is None:
            raise ValueError(f"unknown loss config {identifier!r}")
        return cls.from_config(identifier.get("config", {}))
    if callable(identifier):
        return LossFunctionWrapper(identifier)
    raise TypeError(f"cannot interpret {identifier!r} (type {type(identifier).__name__}) as a loss")


def serialize(loss):
    return {"class_name": type(loss).__name__, "config": loss.get_config()}


# Keras' function-style aliases
mean_squared_error = mse = lambda y_true, y_pred: MeanSquaredError()(y_true, y_pred)  # noqa: E731
mean_absolute_error = mae = lambda y_true, y_pred: MeanAbsoluteError()(y_true, y_pred)  # noqa: E731
