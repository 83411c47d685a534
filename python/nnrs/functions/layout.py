"""Layout ops (no arithmetic): reshape, transpose, indexing, concatenation."""

import numpy as np

from ..function import Function
from ..tensor import Tensor


class Reshape(Function):
    @staticmethod
    def forward(ctx, x, shape):
        ctx.shape = x.shape
        return x.reshape(shape)

    @staticmethod
    def backward(ctx, g):
        return (g.reshape(ctx.shape),)


class Transpose(Function):
    @staticmethod
    def forward(ctx, x, axes=None):
        ctx.axes = axes
        return ctx.b.xp.ascontiguousarray(x.transpose(axes))

    @staticmethod
    def backward(ctx, g):
        xp = ctx.b.xp
        inv = None if ctx.axes is None else tuple(int(i) for i in np.argsort(ctx.axes))
        return (xp.ascontiguousarray(g.transpose(inv)),)


class GetItem(Function):
    """``x[idx]``; the gradient is scattered back into zeros of x's shape."""

    @staticmethod
    def forward(ctx, x, idx):
        idx = _index_on(ctx.b, idx)
        ctx.shape, ctx.dtype, ctx.idx = x.shape, x.dtype, idx
        return ctx.b.xp.asarray(x[idx], order="C")  # (ascontiguousarray would make a 0-d result 1-d)

    @staticmethod
    def backward(ctx, g):
        xp = ctx.b.xp
        out = xp.zeros(ctx.shape, dtype=ctx.dtype)
        xp.add.at(out, ctx.idx, g) if _fancy(ctx.idx) else out.__setitem__(ctx.idx, g)
        return (out,)


def _index_on(b, idx):
    """``idx`` with its index arrays (numpy arrays, Tensors) on backend ``b``, where x lives."""
    def one(i):
        if isinstance(i, Tensor):
            i = i.data
        return b.asarray(i) if hasattr(i, "shape") and not isinstance(i, np.generic) else i  # arrays of any backend

    return tuple(one(i) for i in idx) if isinstance(idx, tuple) else one(idx)


def _fancy(idx):
    items = idx if isinstance(idx, tuple) else (idx,)
    return any(not isinstance(i, (int, slice, type(None), type(Ellipsis))) for i in items)


class Concatenate(Function):
    """Concatenation of several tensors along ``axis``."""

    @staticmethod
    def forward(ctx, axis, *xs):
        ctx.axis = axis
        ctx.sizes = [x.shape[axis] for x in xs]
        return ctx.b.xp.concatenate(xs, axis=axis)

    @staticmethod
    def backward(ctx, g):
        xp = ctx.b.xp
        cuts = []
        acc = 0
        for s in ctx.sizes[:-1]:
            acc += s
            cuts.append(acc)
        return tuple(xp.ascontiguousarray(p) for p in xp.split(g, cuts, axis=ctx.axis))
