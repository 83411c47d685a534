"""Losses with Keras 3 names, arguments and results.

Two forms, as in Keras:

* functions ``fn(y_true, y_pred, ...)`` (``mean_squared_error``, ``binary_crossentropy``,
  ...) return the per-sample loss: one value per entry of every axis but the last
  (shape ``(batch,)`` for 2-D inputs), as Tensors that take part in autograd;
* ``Loss`` objects, called as ``loss(y_true, y_pred, sample_weight=None)``, compute the
  per-sample values with ``call(y_true, y_pred)``, multiply them by ``sample_weight`` and
  reduce them with ``reduction``:

  - ``"sum_over_batch_size"`` (the default) and ``"mean"``: the weighted sum divided by the
    number of per-sample values (a zero weight still counts in the divisor);
  - ``"mean_with_sample_weight"``: the weighted sum divided by the sum of the weights;
  - ``"sum"``: the weighted sum;
  - ``"none"`` or ``None``: the weighted per-sample values themselves.

A ``Loss`` subclass overrides ``call(y_true, y_pred)`` (``y_true`` arrives as a Tensor of
``y_pred``'s dtype on its backend) and gets weighting and reduction from the base class.

The built-in cross-entropies, MSE, MAE and Huber take one fused kernel
(``Backend.loss_forward``/``loss_backward``) when that kernel computes exactly the reduced
value: the default reduction, per-sample weights (or none), no label smoothing. Cross-
entropies use the numerically stable logit form whenever the logits are known:
``from_logits=True``, or a prediction made by a softmax/sigmoid activation of nnrs (which
remembers its logits, as Keras does with TensorFlow).

Masks (Keras 3's rule): when ``y_pred`` carries a mask (a layer such as ``Masking`` made
one), masked entries get weight 0; for ``"sum_over_batch_size"``/``"mean"`` the unmasked ones
get ``total / valid``, so the result is the mean over unmasked entries; other reductions use
the mask as 0/1 weights. The mask multiplies ``sample_weight`` where both are given.

Departure from Keras: with ``dtype=None`` a loss computes in the float dtype of
``y_pred`` (Keras casts to ``floatx()``), so float64 models keep float64 losses.
"""

from __future__ import annotations

import math

import numpy as np

from . import functions as F
from . import ops
from ._util import snake_case, to_host
from .layers.base import get_keras_mask
from .tensor import Tensor, as_tensor

_EPS = 1e-7
_REDUCTIONS = ("sum_over_batch_size", "sum", "none", None, "mean", "mean_with_sample_weight")
_FUSED_REDUCTIONS = ("sum_over_batch_size", "mean")


# ---- helpers ------------------------------------------------------------------------------

def _pred(y_pred) -> Tensor:
    p = as_tensor(y_pred)
    return p if p.dtype.kind == "f" else ops._floating(p)


def _true(y_true, y_pred: Tensor) -> Tensor:
    """``y_true`` as a Tensor of ``y_pred``'s dtype on its backend (no gradient)."""
    if isinstance(y_true, Tensor):
        if y_true.backend is not y_pred.backend:
            y_true = to_host(y_true)
        else:
            return ops.cast(y_true.detach(), y_pred.dtype)
    t = to_host(y_true)
    if t.dtype.kind not in "biuf":
        raise TypeError(f"y_true must be numeric, got dtype {t.dtype}")
    return Tensor.wrap(y_pred.backend.asarray(np.ascontiguousarray(t, dtype=y_pred.dtype)), y_pred.backend)


def _same_rank(t: Tensor, p: Tensor):
    """Keras' squeeze-or-expand for ranks that differ by one: a rank-1 operand gets a trailing
    axis; otherwise the higher-rank operand loses a trailing axis of size 1, or else the
    lower-rank one gets a trailing axis."""
    if abs(t.ndim - p.ndim) != 1:
        return t, p
    hi, lo = (t, p) if t.ndim > p.ndim else (p, t)
    if lo.ndim != 1 and hi.shape[-1] == 1:
        hi = ops.reshape(hi, hi.shape[:-1])
    else:
        lo = ops.reshape(lo, lo.shape + (1,))
    return (hi, lo) if t.ndim > p.ndim else (lo, hi)


def _pair(y_true, y_pred):
    p = _pred(y_pred)
    return _same_rank(_true(y_true, p), p)


def _weights_like(sample_weight, values: Tensor) -> Tensor:
    """``sample_weight`` on ``values``' backend and dtype, its rank matched to ``values``
    (trailing size-1 axes dropped, or trailing axes added so that it broadcasts per sample)."""
    w = to_host(sample_weight)
    if w.dtype.kind not in "biuf":
        raise TypeError(f"sample_weight must be numeric, got dtype {w.dtype}")
    w = np.asarray(w, dtype=values.dtype)
    while w.ndim > values.ndim and w.shape[-1] == 1:
        w = w.reshape(w.shape[:-1])
    if w.ndim < values.ndim:
        w = w.reshape(w.shape + (1,) * (values.ndim - w.ndim))
    try:
        np.broadcast_shapes(w.shape, values.shape)
    except ValueError:
        raise ValueError(f"sample_weight of shape {np.shape(to_host(sample_weight))} does not fit per-sample "
                         f"loss values of shape {values.shape}") from None
    return Tensor.wrap(values.backend.asarray(np.ascontiguousarray(w)), values.backend)


def _mask_weights(mask, values: Tensor, reduction) -> Tensor:
    """The weights a mask gives the per-sample ``values`` (Keras 3's rule): for the mean
    reductions ``total / valid`` on unmasked entries and 0 on masked ones, so that the mean
    over all entries is the mean over the unmasked ones; 1 and 0 for the other reductions."""
    m = as_tensor(mask)
    while m.ndim > values.ndim and m.shape[-1] == 1:
        m = ops.reshape(m, m.shape[:-1])
    if m.ndim < values.ndim:
        m = ops.reshape(m, m.shape + (1,) * (values.ndim - m.ndim))
    try:
        np.broadcast_shapes(m.shape, values.shape)
    except ValueError:
        raise ValueError(f"the mask of the predictions, of shape {tuple(as_tensor(mask).shape)}, does not fit per-sample "
                         f"loss values of shape {values.shape}") from None
    fm = ops.cast(m, values.dtype)
    if reduction in ("mean", "sum_over_batch_size"):
        valid = ops.maximum(ops.sum(fm), 1.0)  # no valid entry: every weight is 0 anyway
        fm = ops.multiply(fm, ops.divide(float(max(m.size, 1)), valid))
    return fm


def reduce_weighted_values(values, sample_weight=None, reduction="sum_over_batch_size", mask=None):
    """Weight the per-sample ``values`` by ``sample_weight`` and reduce them (module docstring).
    ``mask`` (boolean, the predictions' mask) drops masked entries (module docstring)."""
    values = as_tensor(values)
    w = None
    if sample_weight is not None:
        w = _weights_like(sample_weight, values)
    if mask is not None:
        fm = _mask_weights(mask, values, reduction)
        w = fm if w is None else ops.multiply(w, fm)
    if w is not None:
        values = ops.multiply(values, w)
    if reduction is None or reduction == "none":
        return values
    total = ops.sum(values)
    if reduction == "sum":
        return total
    if reduction == "mean_with_sample_weight" and w is not None:
        # the divisor is the sum of the weights broadcast to the values' shape, in which
        # every weight appears values.size / w.size times
        den = ops.multiply(ops.sum(w), float(values.size // max(w.size, 1)))
        # weights that sum to 0 (every entry masked or weighted 0) give 0, not nan, as in Keras
        return ops.divide(total, ops.where(ops.equal(den, 0.0), ops.ones_like(den), den))
    return ops.divide(total, float(max(values.size, 1)))


def _floor(x, lo):
    """``max(x, lo)`` for a number ``lo``, differentiable in x (gradient 1 above the floor, 0 below)."""
    return ops.clip(x, lo, math.inf)


def _check_reduction(owner, reduction):
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{owner}: reduction must be one of {', '.join(map(repr, _REDUCTIONS))}; got {reduction!r}")


# ---- per-sample loss functions (Keras 3 definitions) ----------------------------------------

def mean_squared_error(y_true, y_pred):
    """Mean over the last axis of ``(y_true - y_pred) ** 2``."""
    t, p = _pair(y_true, y_pred)
    return ops.mean(ops.square(ops.subtract(p, t)), axis=-1)


def mean_absolute_error(y_true, y_pred):
    """Mean over the last axis of ``|y_true - y_pred|``."""
    t, p = _pair(y_true, y_pred)
    return ops.mean(ops.abs(ops.subtract(p, t)), axis=-1)


def mean_absolute_percentage_error(y_true, y_pred):
    """``100 *`` the mean over the last axis of ``|y_true - y_pred| / max(|y_true|, eps)``."""
    t, p = _pair(y_true, y_pred)
    rel = ops.divide(ops.abs(ops.subtract(t, p)), _floor(ops.abs(t), _EPS))
    return ops.multiply(ops.mean(rel, axis=-1), 100.0)


def mean_squared_logarithmic_error(y_true, y_pred):
    """Mean over the last axis of ``(log(1 + y_pred) - log(1 + y_true)) ** 2`` (both floored at eps)."""
    t, p = _pair(y_true, y_pred)
    lp = ops.log(ops.add(_floor(p, _EPS), 1.0))
    lt = ops.log(ops.add(_floor(t, _EPS), 1.0))
    return ops.mean(ops.square(ops.subtract(lp, lt)), axis=-1)


def huber(y_true, y_pred, delta=1.0):
    """Mean over the last axis of ``0.5 d**2`` where ``|d| <= delta``, else ``delta * (|d| - delta / 2)``."""
    t, p = _pair(y_true, y_pred)
    d = ops.subtract(p, t)
    a = ops.abs(d)
    quad = ops.multiply(ops.square(d), 0.5)
    lin = ops.subtract(ops.multiply(a, float(delta)), 0.5 * float(delta) ** 2)
    return ops.mean(ops.where(ops.less_equal(a, float(delta)), quad, lin), axis=-1)


def log_cosh(y_true, y_pred):
    """Mean over the last axis of ``log(cosh(y_pred - y_true))``, computed as ``x + softplus(-2x) - log 2``."""
    t, p = _pair(y_true, y_pred)
    x = ops.subtract(p, t)
    return ops.mean(ops.subtract(ops.add(x, ops.softplus(ops.multiply(x, -2.0))), math.log(2.0)), axis=-1)


def kl_divergence(y_true, y_pred):
    """Sum over the last axis of ``y_true * log(y_true / y_pred)``, both clipped to ``[eps, 1]``."""
    t, p = _pair(y_true, y_pred)
    t, p = ops.clip(t, _EPS, 1.0), ops.clip(p, _EPS, 1.0)
    return ops.sum(ops.multiply(t, ops.log(ops.divide(t, p))), axis=-1)


def poisson(y_true, y_pred):
    """Mean over the last axis of ``y_pred - y_true * log(y_pred + eps)``."""
    t, p = _pair(y_true, y_pred)
    return ops.mean(ops.subtract(p, ops.multiply(t, ops.log(ops.add(p, _EPS)))), axis=-1)


def _l2_normalize(x, axis):
    return ops.multiply(x, ops.reciprocal(ops.sqrt(_floor(ops.sum(ops.square(x), axis=axis, keepdims=True), 1e-12))))


def cosine_similarity(y_true, y_pred, axis=-1):
    """Minus the cosine similarity of ``y_true`` and ``y_pred`` along ``axis`` (-1: aligned, 1: opposite)."""
    t, p = _pair(y_true, y_pred)
    return ops.negative(ops.sum(ops.multiply(_l2_normalize(t, axis), _l2_normalize(p, axis)), axis=axis))


def _hinge_labels(t: Tensor) -> Tensor:
    """Labels in {0, 1} become {-1, 1}; other labels are kept (Keras' rule)."""
    off = ops.sum(ops.abs(ops.multiply(t, ops.subtract(t, 1.0))))  # 0 exactly when every label is 0 or 1
    if off.item() == 0:
        return ops.subtract(ops.multiply(t, 2.0), 1.0)
    return t


def hinge(y_true, y_pred):
    """Mean over the last axis of ``max(1 - y_true * y_pred, 0)`` (0/1 labels taken as -1/1)."""
    t, p = _pair(y_true, y_pred)
    return ops.mean(ops.relu(ops.subtract(1.0, ops.multiply(_hinge_labels(t), p))), axis=-1)


def squared_hinge(y_true, y_pred):
    """Mean over the last axis of ``max(1 - y_true * y_pred, 0) ** 2`` (0/1 labels taken as -1/1)."""
    t, p = _pair(y_true, y_pred)
    return ops.mean(ops.square(ops.relu(ops.subtract(1.0, ops.multiply(_hinge_labels(t), p)))), axis=-1)


def categorical_hinge(y_true, y_pred):
    """``max(0, 1 + max((1 - y_true) * y_pred) - sum(y_true * y_pred))`` over the last axis."""
    t, p = _pair(y_true, y_pred)
    pos = ops.sum(ops.multiply(t, p), axis=-1)
    neg = ops.max(ops.multiply(ops.subtract(1.0, t), p), axis=-1)
    return ops.relu(ops.add(ops.subtract(neg, pos), 1.0))


def _smooth_binary(t, label_smoothing):
    ls = float(label_smoothing)
    return t if not ls else ops.add(ops.multiply(t, 1.0 - ls), 0.5 * ls)


def _smooth_categorical(t, label_smoothing, axis):
    ls = float(label_smoothing)
    if not ls:
        return t
    k = t.shape[axis]
    return ops.add(ops.multiply(t, 1.0 - ls), ls / k)


def _logits_of(y_pred, kind):
    lg = getattr(y_pred, "_keras_logits", None)
    return lg[1] if lg is not None and lg[0] == kind else None


def _bce_values(t, p, from_logits):
    """Elementwise binary cross-entropy of probabilities (clipped) or logits (stable form)."""
    z = p if from_logits else _logits_of(p, "sigmoid")
    if z is not None:  # max(z, 0) - z t + log(1 + exp(-|z|))
        return ops.add(ops.subtract(ops.relu(z), ops.multiply(z, t)), ops.softplus(ops.negative(ops.abs(z))))
    q = ops.clip(p, _EPS, 1.0 - _EPS)
    ll = ops.add(ops.multiply(t, ops.log(q)), ops.multiply(ops.subtract(1.0, t), ops.log(ops.subtract(1.0, q))))
    return ops.negative(ll)


def binary_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0, axis=-1):
    """Mean over ``axis`` of the binary cross-entropy; targets are smoothed towards 0.5 by ``label_smoothing``."""
    t, p = _pair(y_true, y_pred)
    return ops.mean(_bce_values(_smooth_binary(t, label_smoothing), p, from_logits), axis=axis)


def _log_probs(p, from_logits, axis):
    z = p if from_logits else _logits_of(p, "softmax")
    if z is not None:
        return ops.log_softmax(z, axis=axis)
    q = ops.divide(p, ops.sum(p, axis=axis, keepdims=True))
    return ops.log(ops.clip(q, _EPS, 1.0 - _EPS))


def categorical_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0, axis=-1):
    """``-sum(y_true * log(y_pred))`` over ``axis``; one-hot targets are smoothed by ``label_smoothing``."""
    p = _pred(y_pred)
    t = _smooth_categorical(_true(y_true, p), label_smoothing, axis)
    return ops.negative(ops.sum(ops.multiply(t, _log_probs(p, from_logits, axis)), axis=axis))


def _sparse_labels(y_true, p: Tensor, who):
    """Integer labels with the shape of ``p`` less its last axis, on ``p``'s backend (checked on the host)."""
    t = y_true if type(y_true) is np.ndarray else to_host(y_true)
    if t.dtype.kind not in "biuf":
        raise TypeError(f"{who}: y_true must hold integer class indices, got dtype {t.dtype}")
    shape = p.shape
    if t.ndim == len(shape) and t.shape[-1] == 1:
        t = t.reshape(t.shape[:-1])
    if t.shape != shape[:-1]:
        raise ValueError(f"{who}: y_true shape {tuple(np.shape(to_host(y_true)))} does not match y_pred shape {p.shape}; "
                         f"expected {p.shape[:-1]} class indices")
    if t.dtype.kind == "f" and not np.all(np.equal(np.mod(t, 1), 0)):
        raise ValueError(f"{who}: y_true must hold integer class indices, got non-integer values")
    t = t.astype(np.int64, copy=False)
    k = shape[-1]
    if t.size and (t.min() < 0 or t.max() >= k):
        bad = t[(t < 0) | (t >= k)][0]
        raise ValueError(f"{who}: class index {bad} is out of range for {k} classes")
    return p.backend.asarray(np.ascontiguousarray(t))


def sparse_categorical_crossentropy(y_true, y_pred, from_logits=False, ignore_class=None, axis=-1):
    """Categorical cross-entropy with integer class targets (shape of y_pred less its last axis)."""
    if ignore_class is not None:
        raise ValueError("sparse_categorical_crossentropy: ignore_class is not supported by nnrs")
    p = _pred(y_pred)
    if axis not in (-1, p.ndim - 1):
        raise ValueError(f"sparse_categorical_crossentropy: only axis=-1 is supported, got axis={axis}")
    labels = _sparse_labels(y_true, p, "sparse_categorical_crossentropy")
    t = ops.one_hot(Tensor.wrap(labels, p.backend), p.shape[-1], dtype=p.dtype)  # on p's backend, not the active one
    return ops.negative(ops.sum(ops.multiply(t, _log_probs(p, from_logits, -1)), axis=-1))


def categorical_focal_crossentropy(y_true, y_pred, alpha=0.25, gamma=2.0, from_logits=False, label_smoothing=0.0, axis=-1):
    """Categorical cross-entropy with each term scaled by ``alpha * (1 - p) ** gamma`` (focal loss)."""
    p = _pred(y_pred)
    t = _smooth_categorical(_true(y_true, p), label_smoothing, axis)
    if from_logits:
        p = ops.softmax(p, axis=axis)
    p = ops.clip(ops.divide(p, ops.sum(p, axis=axis, keepdims=True)), _EPS, 1.0 - _EPS)
    ce = ops.negative(ops.multiply(t, ops.log(p)))
    factor = ops.multiply(ops.power(ops.subtract(1.0, p), float(gamma)), float(alpha))
    return ops.sum(ops.multiply(factor, ce), axis=axis)


def binary_focal_crossentropy(y_true, y_pred, apply_class_balancing=False, alpha=0.25, gamma=2.0, from_logits=False,
                              label_smoothing=0.0, axis=-1):
    """Binary cross-entropy with each term scaled by ``(1 - p_t) ** gamma`` (p_t: the probability given to the
    true label) and, with ``apply_class_balancing``, by ``alpha`` for positives and ``1 - alpha`` for negatives."""
    t, p = _pair(y_true, y_pred)
    t = _smooth_binary(t, label_smoothing)
    bce = _bce_values(t, p, from_logits)
    prob = ops.sigmoid(p) if from_logits else p
    p_t = ops.add(ops.multiply(t, prob), ops.multiply(ops.subtract(1.0, t), ops.subtract(1.0, prob)))
    focal = ops.multiply(ops.power(ops.subtract(1.0, p_t), float(gamma)), bce)
    if apply_class_balancing:
        a = float(alpha)
        focal = ops.multiply(ops.add(ops.multiply(t, 2 * a - 1.0), 1.0 - a), focal)  # alpha t + (1 - alpha)(1 - t)
    return ops.mean(focal, axis=axis)


# Keras' short names
mse = MSE = mean_squared_error
mae = MAE = mean_absolute_error
mape = MAPE = mean_absolute_percentage_error
msle = MSLE = mean_squared_logarithmic_error
kld = KLD = kullback_leibler_divergence = kl_divergence
logcosh = log_cosh


# ---- Loss objects -----------------------------------------------------------------------

class Loss:
    """Base of losses: ``loss(y_true, y_pred, sample_weight=None)`` is ``call(y_true, y_pred)``
    weighted and reduced by ``reduction`` (module docstring). Subclasses override ``call``."""

    def __init__(self, name=None, reduction="sum_over_batch_size", dtype=None):
        _check_reduction(type(self).__name__, reduction)
        self.name = name or snake_case(type(self).__name__)
        self.reduction = reduction
        self.dtype = None if dtype is None else str(np.dtype(dtype))

    def __call__(self, y_true, y_pred, sample_weight=None):
        mask = get_keras_mask(y_pred)
        p = _pred(y_pred)
        if self.dtype is not None and p.dtype != np.dtype(self.dtype):
            p = ops.cast(p, self.dtype)
        if mask is None and self.reduction in _FUSED_REDUCTIONS:
            out = self._fused(y_true, p, sample_weight)
            if out is not None:
                return out
        values = as_tensor(self.call(_true(y_true, p), p))
        out_mask = get_keras_mask(values)  # a call may mask its own values too: both masks apply
        if out_mask is not None:
            mask = out_mask if mask is None else ops.logical_and(mask, out_mask)
        return reduce_weighted_values(values, sample_weight, self.reduction, mask=mask)

    def call(self, y_true, y_pred):
        """The per-sample loss values (a Tensor); subclasses define it."""
        raise NotImplementedError(f"{type(self).__name__} must define call(y_true, y_pred)")

    def _fused(self, y_true, y_pred, sample_weight):
        """The reduced loss through one fused kernel, or None where that kernel does not apply."""
        return None

    def get_config(self):
        return {"name": self.name, "reduction": self.reduction}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


def _per_sample_weight(sample_weight, n, dtype, backend):
    """A (n,) backend array of per-sample weights, or False when ``sample_weight`` is not one per sample."""
    if sample_weight is None:
        return None
    w = to_host(sample_weight)
    if w.size != n or (w.ndim > 1 and w.shape[0] != n) or w.dtype.kind not in "biuf":
        return False
    return backend.asarray(np.ascontiguousarray(w.reshape(-1), dtype=dtype))


def _host_target(y_true, y_pred):
    t = to_host(y_true)
    if t.dtype.kind not in "biuf":
        return None
    if tuple(t.shape) != y_pred.shape:
        if t.size == y_pred.size and (t.ndim == 1 or y_pred.ndim == 1 or t.shape[0] == y_pred.shape[0]):
            t = t.reshape(y_pred.shape)
        else:
            return None
    return y_pred.backend.asarray(np.ascontiguousarray(t, dtype=y_pred.dtype))


class LossFunctionWrapper(Loss):
    """A function ``fn(y_true, y_pred, **kwargs)`` returning per-sample values, used as a Loss."""

    def __init__(self, fn, reduction="sum_over_batch_size", name=None, dtype=None, **kwargs):
        super().__init__(name=name or getattr(fn, "__name__", "custom_loss"), reduction=reduction, dtype=dtype)
        self.fn = fn
        self._fn_kwargs = kwargs

    def call(self, y_true, y_pred):
        return self.fn(y_true, y_pred, **self._fn_kwargs)

    def __getattr__(self, name):
        # the function's keyword arguments read as attributes (loss.from_logits, loss.axis, ...)
        kwargs = self.__dict__.get("_fn_kwargs", {})
        if name in kwargs:
            return kwargs[name]
        raise AttributeError(f"{type(self).__name__} has no attribute {name!r}")

    def get_config(self):
        return {**super().get_config(), **self._fn_kwargs}


class _Regression(LossFunctionWrapper):
    _kernel = None
    _function = None
    _params = ()  # keyword arguments of the loss function a subclass passes on

    def __init__(self, reduction="sum_over_batch_size", name=None, dtype=None, **kwargs):
        unknown = set(kwargs) - set(self._params)
        if unknown:
            raise TypeError(f"{type(self).__name__}: unexpected argument(s) {', '.join(sorted(unknown))}")
        super().__init__(type(self)._function, reduction=reduction, name=name or self._default_name, dtype=dtype, **kwargs)

    def _fused(self, y_true, y_pred, sample_weight):
        if self._kernel is None or y_pred.ndim == 0:
            return None
        n = y_pred.shape[0]
        w = None if sample_weight is None else _per_sample_weight(sample_weight, n, y_pred.dtype, y_pred.backend)
        t = None if w is False else _host_target(y_true, y_pred)
        if t is None:
            return None
        return F.Loss.apply(y_pred, t, w, self._kernel, float(self._fn_kwargs.get("delta", 1.0)))

    def get_config(self):
        return {"name": self.name, "reduction": self.reduction, **self._fn_kwargs}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


def _regression(name, fn, default_name, kernel=None, doc=""):
    return type(name, (_Regression,), {"_function": staticmethod(fn), "_kernel": kernel, "_default_name": default_name,
                                       "__doc__": doc, "__module__": __name__})


MeanSquaredError = _regression("MeanSquaredError", mean_squared_error, "mean_squared_error", "mse",
                               "Mean of the squared differences (per sample over the last axis).")
MeanAbsoluteError = _regression("MeanAbsoluteError", mean_absolute_error, "mean_absolute_error", "mae",
                                "Mean of the absolute differences (per sample over the last axis).")
MeanAbsolutePercentageError = _regression("MeanAbsolutePercentageError", mean_absolute_percentage_error,
                                          "mean_absolute_percentage_error", None, "Mean absolute percentage error.")
MeanSquaredLogarithmicError = _regression("MeanSquaredLogarithmicError", mean_squared_logarithmic_error,
                                          "mean_squared_logarithmic_error", None, "Mean squared logarithmic error.")
KLDivergence = _regression("KLDivergence", kl_divergence, "kl_divergence", None,
                           "Kullback-Leibler divergence of y_pred from y_true.")
LogCosh = _regression("LogCosh", log_cosh, "log_cosh", None, "Logarithm of the hyperbolic cosine of the error.")
Poisson = _regression("Poisson", poisson, "poisson", None, "Poisson loss: y_pred - y_true * log(y_pred).")
Hinge = _regression("Hinge", hinge, "hinge", None, "Hinge loss (labels -1/1, or 0/1 taken as -1/1).")
SquaredHinge = _regression("SquaredHinge", squared_hinge, "squared_hinge", None, "Squared hinge loss.")
CategoricalHinge = _regression("CategoricalHinge", categorical_hinge, "categorical_hinge", None, "Categorical hinge loss.")


class Huber(_Regression):
    """Quadratic for errors up to ``delta``, linear beyond."""
    _kernel = "huber"
    _function = staticmethod(huber)
    _params = ("delta",)
    _default_name = "huber_loss"

    def __init__(self, delta=1.0, reduction="sum_over_batch_size", name="huber_loss", dtype=None):
        super().__init__(reduction=reduction, name=name, dtype=dtype, delta=float(delta))

    @property
    def delta(self):
        return self._fn_kwargs["delta"]


class CosineSimilarity(_Regression):
    """Minus the cosine similarity along ``axis`` (so that minimising aligns the vectors)."""
    _function = staticmethod(cosine_similarity)
    _params = ("axis",)
    _default_name = "cosine_similarity"

    def __init__(self, axis=-1, reduction="sum_over_batch_size", name="cosine_similarity", dtype=None):
        super().__init__(reduction=reduction, name=name, dtype=dtype, axis=axis)


class BinaryCrossentropy(LossFunctionWrapper):
    """Binary cross-entropy of probabilities, or of logits with ``from_logits=True``."""

    def __init__(self, from_logits=False, label_smoothing=0.0, axis=-1, reduction="sum_over_batch_size",
                 name="binary_crossentropy", dtype=None):
        super().__init__(binary_crossentropy, reduction=reduction, name=name, dtype=dtype, from_logits=from_logits,
                         label_smoothing=float(label_smoothing), axis=axis)

    def _fused(self, y_true, y_pred, sample_weight):
        if self.label_smoothing or self.axis not in (-1, y_pred.ndim - 1) or y_pred.ndim == 0:
            return None
        z = y_pred if self.from_logits else _logits_of(y_pred, "sigmoid")
        if z is None:
            return None
        w = None if sample_weight is None else _per_sample_weight(sample_weight, y_pred.shape[0], y_pred.dtype, y_pred.backend)
        t = None if w is False else _host_target(y_true, y_pred)
        return None if t is None else F.Loss.apply(z, t, w, "binary_crossentropy_logits", 1.0)


class CategoricalCrossentropy(LossFunctionWrapper):
    """Cross-entropy of one-hot (or soft) targets and class probabilities, or logits with ``from_logits=True``."""

    def __init__(self, from_logits=False, label_smoothing=0.0, axis=-1, reduction="sum_over_batch_size",
                 name="categorical_crossentropy", dtype=None):
        super().__init__(categorical_crossentropy, reduction=reduction, name=name, dtype=dtype, from_logits=from_logits,
                         label_smoothing=float(label_smoothing), axis=axis)

    def _fused(self, y_true, y_pred, sample_weight):
        if self.label_smoothing or y_pred.ndim != 2 or self.axis not in (-1, 1):
            return None
        z = y_pred if self.from_logits else _logits_of(y_pred, "softmax")
        if z is None:
            return None
        w = None if sample_weight is None else _per_sample_weight(sample_weight, y_pred.shape[0], y_pred.dtype, y_pred.backend)
        t = None if w is False else _host_target(y_true, y_pred)
        return None if t is None else F.Loss.apply(z, t, w, "softmax_crossentropy", 1.0)


class SparseCategoricalCrossentropy(LossFunctionWrapper):
    """Cross-entropy with integer class targets, of the shape of y_pred less its last axis (or with a trailing 1)."""

    def __init__(self, from_logits=False, ignore_class=None, reduction="sum_over_batch_size",
                 name="sparse_categorical_crossentropy", dtype=None):
        if ignore_class is not None:
            raise ValueError("SparseCategoricalCrossentropy: ignore_class is not supported by nnrs")
        super().__init__(sparse_categorical_crossentropy, reduction=reduction, name=name, dtype=dtype,
                         from_logits=from_logits, ignore_class=None)

    def __call__(self, y_true, y_pred, sample_weight=None):
        # the labels stay integers: the base class would pass them on as floats
        mask = get_keras_mask(y_pred)
        p = _pred(y_pred)
        if self.dtype is not None and p.dtype != np.dtype(self.dtype):
            p = ops.cast(p, self.dtype)
        if mask is None and self.reduction in _FUSED_REDUCTIONS:
            out = self._fused(y_true, p, sample_weight)
            if out is not None:
                return out
        return reduce_weighted_values(self.call(y_true, p), sample_weight, self.reduction, mask=mask)

    def _fused(self, y_true, y_pred, sample_weight):
        if y_pred.ndim != 2:
            return None
        z = y_pred if self.from_logits else _logits_of(y_pred, "softmax")
        if z is None:
            return None
        w = None if sample_weight is None else _per_sample_weight(sample_weight, y_pred.shape[0], y_pred.dtype, y_pred.backend)
        if w is False:
            return None
        t = _sparse_labels(y_true, y_pred, self.name)
        return F.Loss.apply(z, t, w, "softmax_crossentropy", 1.0)


class CategoricalFocalCrossentropy(LossFunctionWrapper):
    """Categorical cross-entropy down-weighting well-classified examples: ``alpha * (1 - p) ** gamma`` per term."""

    def __init__(self, alpha=0.25, gamma=2.0, from_logits=False, label_smoothing=0.0, axis=-1,
                 reduction="sum_over_batch_size", name="categorical_focal_crossentropy", dtype=None):
        super().__init__(categorical_focal_crossentropy, reduction=reduction, name=name, dtype=dtype, alpha=float(alpha),
                         gamma=float(gamma), from_logits=from_logits, label_smoothing=float(label_smoothing), axis=axis)


class BinaryFocalCrossentropy(LossFunctionWrapper):
    """Binary cross-entropy down-weighting well-classified examples by ``(1 - p_t) ** gamma``."""

    def __init__(self, apply_class_balancing=False, alpha=0.25, gamma=2.0, from_logits=False, label_smoothing=0.0, axis=-1,
                 reduction="sum_over_batch_size", name="binary_focal_crossentropy", dtype=None):
        super().__init__(binary_focal_crossentropy, reduction=reduction, name=name, dtype=dtype, from_logits=from_logits,
                         label_smoothing=float(label_smoothing), axis=axis, apply_class_balancing=bool(apply_class_balancing),
                         alpha=float(alpha), gamma=float(gamma))


for _cls in (BinaryCrossentropy, CategoricalCrossentropy, SparseCategoricalCrossentropy, CategoricalFocalCrossentropy,
             BinaryFocalCrossentropy):
    _cls.from_config = classmethod(lambda cls, config: cls(**config))


_NAMES = {
    "mse": MeanSquaredError, "mean_squared_error": MeanSquaredError,
    "mae": MeanAbsoluteError, "mean_absolute_error": MeanAbsoluteError,
    "mape": MeanAbsolutePercentageError, "mean_absolute_percentage_error": MeanAbsolutePercentageError,
    "msle": MeanSquaredLogarithmicError, "mean_squared_logarithmic_error": MeanSquaredLogarithmicError,
    "huber": Huber, "huber_loss": Huber,
    "log_cosh": LogCosh, "logcosh": LogCosh,
    "kl_divergence": KLDivergence, "kld": KLDivergence, "kullback_leibler_divergence": KLDivergence,
    "poisson": Poisson, "cosine_similarity": CosineSimilarity,
    "hinge": Hinge, "squared_hinge": SquaredHinge, "categorical_hinge": CategoricalHinge,
    "binary_crossentropy": BinaryCrossentropy, "bce": BinaryCrossentropy,
    "categorical_crossentropy": CategoricalCrossentropy,
    "sparse_categorical_crossentropy": SparseCategoricalCrossentropy,
    "categorical_focal_crossentropy": CategoricalFocalCrossentropy,
    "binary_focal_crossentropy": BinaryFocalCrossentropy,
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
    if isinstance(identifier, type) and issubclass(identifier, Loss):
        return identifier()
    if callable(identifier):
        return LossFunctionWrapper(identifier)
    raise TypeError(f"cannot interpret {identifier!r} (type {type(identifier).__name__}) as a loss")


def serialize(loss):
    return {"class_name": type(loss).__name__, "config": loss.get_config()}


def deserialize(config):
    return get(config)
