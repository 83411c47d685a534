"""Function: one differentiable op, a node of the autograd graph.

A subclass defines ``forward(ctx, *args)`` on backend arrays (saving on ``ctx`` what its
backward needs) and ``backward(ctx, grad)`` returning one gradient per Tensor argument
(None where it has none). ``Function.apply`` unwraps Tensors, runs forward, and links
the result into the graph only when grad mode is on and some input requires a gradient.
"""

from __future__ import annotations

from . import backend as _backend
from . import tensor as _tensor
from .tensor import Tensor


class Function:
    """Base of every differentiable op; an instance is the context of one application."""

    @staticmethod
    def forward(ctx, *args):  # pragma: no cover - documentation
        raise NotImplementedError

    @staticmethod
    def backward(ctx, grad):  # pragma: no cover - documentation
        raise NotImplementedError

    @classmethod
    def apply(cls, *args):
        ctx = cls.__new__(cls)
        ctx.b = _backend._current or _backend.current()
        track = False
        if _tensor._grad_enabled:
            raw, parents, needs = [], [], []
            for a in args:
                if isinstance(a, Tensor):
                    raw.append(a.data)
                    parents.append(a)
                    needs.append(a.requires_grad)
                    track = track or a.requires_grad
                else:
                    raw.append(a)
            ctx.needs_grad = needs
        else:  # inference: no graph, so no bookkeeping
            raw = [a.data if isinstance(a, Tensor) else a for a in args]
            ctx.needs_grad = ()
        t = Tensor.__new__(Tensor)
        t.data = cls.forward(ctx, *raw)
        t.grad = None
        t._keras_logits = None
        t.requires_grad = track
        if track:
            ctx.parents = parents
            t._ctx = ctx
        else:
            t._ctx = None
        return t
