"""Weight constraints (Keras 3 names): ``MaxNorm``, ``NonNeg``, ``UnitNorm``, ``MinMaxNorm``.

A constraint is called on a weight and returns the projected weight. A layer stores it on
its Variable (``variable.constraint``, e.g. through Dense's ``kernel_constraint``) and the
optimizer writes the projection into the variable after each update of it. The
projection runs on the weight's backend through ``nnrs.ops`` (its kernels), with no graph.

The norms are taken along ``axis`` (Keras' default 0: for a Dense kernel ``(in, out)``,
each output unit's incoming weight vector), and the rescaling divides by
``epsilon() + norm`` (``nnrs.config.epsilon()``, 1e-7), as Keras does, so a column whose
norm is already within bounds is left unchanged up to that epsilon.
"""

from __future__ import annotations

from . import config as _config
from . import ops
from .tensor import Tensor, as_tensor, no_grad


class Constraint:
    """Base class: ``__call__(w)`` returns the constrained weight (a Tensor)."""

    def __call__(self, w):
        return w

    def get_config(self) -> dict:
        return {}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


def _norms(w: Tensor, axis):
    return ops.sqrt(ops.sum(ops.square(w), axis=axis, keepdims=True))


def _rescale(w: Tensor, desired, norms):
    """``w * desired / (epsilon + norms)``."""
    return ops.multiply(w, ops.divide(desired, ops.add(norms, _config.epsilon())))


class MaxNorm(Constraint):
    """Rescale each weight vector along ``axis`` whose L2 norm exceeds ``max_value`` down to
    ``max_value``: ``w * clip(norm, 0, max_value) / (epsilon + norm)``."""

    def __init__(self, max_value=2, axis=0):
        self.max_value = max_value
        self.axis = axis

    def __call__(self, w):
        with no_grad():
            w = as_tensor(w)
            norms = _norms(w, self.axis)
            return _rescale(w, ops.clip(norms, 0.0, float(self.max_value)), norms)

    def get_config(self):
        return {"max_value": self.max_value, "axis": self.axis}


class NonNeg(Constraint):
    """Zero the negative weights: ``w * (w >= 0)``."""

    def __call__(self, w):
        with no_grad():
            w = as_tensor(w)
            return ops.multiply(w, ops.cast(ops.greater_equal(w, 0.0), w.dtype))


class UnitNorm(Constraint):
    """Scale each weight vector along ``axis`` to unit L2 norm: ``w / (epsilon + norm)``."""

    def __init__(self, axis=0):
        self.axis = axis

    def __call__(self, w):
        with no_grad():
            w = as_tensor(w)
            return ops.divide(w, ops.add(_norms(w, self.axis), _config.epsilon()))

    def get_config(self):
        return {"axis": self.axis}


class MinMaxNorm(Constraint):
    """Pull the L2 norm of each weight vector along ``axis`` into ``[min_value, max_value]``
    at ``rate`` (1.0: all the way; less: part of the way each step):
    ``desired = rate * clip(norm, min_value, max_value) + (1 - rate) * norm``, then
    ``w * desired / (epsilon + norm)``."""

    def __init__(self, min_value=0.0, max_value=1.0, rate=1.0, axis=0):
        if min_value > max_value:
            raise ValueError(f"MinMaxNorm: min_value ({min_value}) must not exceed max_value ({max_value})")
        self.min_value = min_value
        self.max_value = max_value
        self.rate = rate
        self.axis = axis

    def __call__(self, w):
        with no_grad():
            w = as_tensor(w)
            norms = _norms(w, self.axis)
            rate = float(self.rate)
            desired = ops.multiply(ops.clip(norms, float(self.min_value), float(self.max_value)), rate)
            if rate != 1.0:
                desired = ops.add(desired, ops.multiply(norms, 1.0 - rate))
            return _rescale(w, desired, norms)

    def get_config(self):
        return {"min_value": self.min_value, "max_value": self.max_value, "rate": self.rate, "axis": self.axis}


# Keras' snake_case aliases (keras.constraints.max_norm is the class MaxNorm).
max_norm, non_neg, unit_norm, min_max_norm = MaxNorm, NonNeg, UnitNorm, MinMaxNorm

_CLASSES = {c.__name__: c for c in (Constraint, MaxNorm, NonNeg, UnitNorm, MinMaxNorm)}
_NAMES = {"max_norm": MaxNorm, "non_neg": NonNeg, "unit_norm": UnitNorm, "min_max_norm": MinMaxNorm, **_CLASSES}


def serialize(constraint):
    """The Keras 3 config dict of ``constraint`` (None stays None)."""
    if constraint is None:
        return None
    if not isinstance(constraint, Constraint):
        if callable(constraint) and hasattr(constraint, "__name__"):
            return constraint.__name__  # a plain function: its name (reload it with custom_objects)
        raise TypeError(f"serialize: cannot serialize {constraint!r}; expected an nnrs.constraints.Constraint")
    return {"module": "keras.constraints", "class_name": type(constraint).__name__,
            "config": constraint.get_config(), "registered_name": None}


def deserialize(config, custom_objects=None):
    """A constraint from a config dict made by ``serialize`` (or Keras) or a name."""
    if isinstance(config, str):
        if custom_objects and config in custom_objects:
            return custom_objects[config]
        return get(config)
    if not isinstance(config, dict) or "class_name" not in config:
        raise ValueError(f"deserialize: expected a dict with 'class_name' and 'config', got {config!r}")
    name = config["class_name"]
    cls = (custom_objects or {}).get(name) or _CLASSES.get(name)
    if cls is None:
        raise ValueError(f"unknown constraint class {name!r}; expected one of {sorted(_CLASSES)} or a custom_objects entry")
    return cls.from_config(config.get("config") or {})


def get(identifier):
    """A constraint from None, an instance, a callable, a name ("max_norm", "non_neg",
    "unit_norm", "min_max_norm", or the class name) or a config dict."""
    if identifier is None or isinstance(identifier, Constraint):
        return identifier
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if isinstance(identifier, str):
        cls = _NAMES.get(identifier)
        if cls is None:
            raise ValueError(f"Could not interpret constraint identifier {identifier!r}; expected one of "
                             f"{sorted(_NAMES)}")
        return cls()
    if callable(identifier):
        return identifier
    raise ValueError(f"Could not interpret constraint identifier {identifier!r}")


__all__ = ["Constraint", "MaxNorm", "NonNeg", "UnitNorm", "MinMaxNorm", "max_norm", "non_neg", "unit_norm",
           "min_max_norm", "get", "serialize", "deserialize"]
