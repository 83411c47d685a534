"""Weight and activity penalties (Keras names): ``L1``, ``L2``, ``L1L2``.

A regularizer is called on a Tensor and returns a scalar Tensor that is added to the
loss; its gradient flows through autograd like any other op.
"""

from __future__ import annotations

from . import ops


class Regularizer:
    def __call__(self, x):  # pragma: no cover - documentation
        raise NotImplementedError

    def get_config(self) -> dict:
        return {}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


class L1L2(Regularizer):
    """``l1 * sum(|x|) + l2 * sum(x**2)``."""

    def __init__(self, l1=0.0, l2=0.0):
        self.l1, self.l2 = float(l1), float(l2)
        for n, v in (("l1", self.l1), ("l2", self.l2)):
            if v < 0:
                raise ValueError(f"{type(self).__name__}: {n} must be >= 0, got {v}")

    def __call__(self, x):
        out = None
        if self.l1:
            out = ops.multiply(ops.sum(ops.abs(x)), self.l1)
        if self.l2:
            t = ops.multiply(ops.sum(ops.square(x)), self.l2)
            out = t if out is None else ops.add(out, t)
        if out is None:
            out = ops.multiply(ops.sum(x), 0.0)
        return out

    def get_config(self):
        return {"l1": self.l1, "l2": self.l2}


class L1(L1L2):
    def __init__(self, l1=0.01):
        super().__init__(l1=l1)

    def get_config(self):
        return {"l1": self.l1}


class L2(L1L2):
    def __init__(self, l2=0.01):
        super().__init__(l2=l2)

    def get_config(self):
        return {"l2": self.l2}


l1, l2, l1_l2 = L1, L2, L1L2
_NAMES = {"l1": L1, "l2": L2, "l1_l2": L1L2, "l1l2": L1L2}


def get(identifier):
    """A regularizer from None, an instance, a callable, a name or a config dict."""
    if identifier is None or isinstance(identifier, Regularizer) or callable(identifier):
        return identifier
    if isinstance(identifier, str):
        key = identifier.lower()
        if key not in _NAMES:
            raise ValueError(f"unknown regularizer {identifier!r}; expected one of {sorted(_NAMES)}")
        return _NAMES[key]()
    if isinstance(identifier, dict):
        cls = _NAMES.get(str(identifier.get("class_name", "")).lower())
        if cls is None:
            raise ValueError(f"unknown regularizer config {identifier!r}")
        return cls(**identifier.get("config", {}))
    raise TypeError(f"cannot interpret {identifier!r} as a regularizer")


def serialize(reg):
    return None if reg is None else {"class_name": type(reg).__name__, "config": reg.get_config()}
