"""Function: one differentiable op, a node of the autograd graph.

A subclass defines ``forward(ctx, *args)`` on backend arrays (saving on ``ctx`` what its
backward needs) and ``backward(ctx, grad)`` returning one gradient per Tensor argument
(None where it has none). ``Function.apply`` unwraps Tensors, runs forward on their
backend, and links the result into the graph only when grad mode is on and some input
requires a gradient.

Every Tensor argument must live on one backend; an op never moves data silently. The
node remembers each input's version counter, so a backward after an input was changed
in place (an optimizer step, ``Variable.assign``) is an error, not a wrong gradient.
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
        b = None
        raw = []
        parents = []
        track = False
        for a in args:
            if isinstance(a, Tensor):
                if b is None:
                    b = a.backend
                elif a.backend is not b:
                    raise ValueError(f"{cls.__name__}: the operands live on different backends ({b.name!r} and "
                                     f"{a.backend.name!r}); make them on one backend")
                raw.append(a.data)
                parents.append(a)
                if a.requires_grad:
                    track = True
            else:
                raw.append(a)
        ctx.b = b if b is not None else _backend.current()
        if not (track and _tensor._grad.enabled):  # inference: no graph, no bookkeeping
            ctx.needs_grad = ()
            return Tensor.wrap(cls.forward(ctx, *raw), ctx.b)
        ctx.needs_grad = [p.requires_grad for p in parents]
        t = Tensor.wrap(cls.forward(ctx, *raw), ctx.b)
        t.requires_grad = True
        ctx.parents = parents
        ctx.versions = [p._version for p in parents]
        t._ctx = ctx
        return t

    def check_versions(self):
        """Raise if an input was changed in place after this node used it."""
        if not hasattr(self, "versions"):
            raise RuntimeError(f"{type(self).__name__}: backward through this graph a second time, but its saved arrays "
                               "were released after the first backward; call backward(retain_graph=True) the first time")
        for p, v in zip(self.parents, self.versions):
            if p._version != v:
                name = getattr(p, "name", None)
                what = f"variable {name!r}" if name else "an input"
                raise RuntimeError(f"{type(self).__name__}: {what} was changed in place (by an optimizer step or assign) "
                                   "after this graph used it, so its gradient would be wrong; run the forward again")

    def release(self):
        """Drop everything the forward saved (called once backward has used it)."""
        b, needs = self.b, self.needs_grad
        self.__dict__.clear()
        self.b, self.needs_grad = b, needs
        self.parents = ()
