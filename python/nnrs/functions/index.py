"""Index & logic ops with a gradient: where, cast (between float dtypes) and take.

Comparisons, one_hot and casts to or from integers have no gradient; ``nnrs.ops`` calls
their kernels directly and returns Tensors that never require grad.
"""

from ..function import Function
from .elementwise import sum_to_shape


class Where(Function):
    """``a`` where ``cond`` else ``b`` (numpy broadcasting); cond is a bool backend array,
    not a Tensor. Each gradient is ``g`` where its branch was taken, 0 elsewhere, summed
    back to that input's shape."""

    @staticmethod
    def forward(ctx, cond, a, b):
        ctx.cond, ctx.shapes = cond, (a.shape, b.shape)
        return ctx.b.where(cond, a, b)

    @staticmethod
    def backward(ctx, g):
        be, cond = ctx.b, ctx.cond
        zero = be.xp.zeros((), dtype=g.dtype)  # a 0-d operand broadcasts: layout, not compute
        na, nb = ctx.needs_grad
        ga = sum_to_shape(be, be.where(cond, g, zero), ctx.shapes[0]) if na else None
        gb = sum_to_shape(be, be.where(cond, zero, g), ctx.shapes[1]) if nb else None
        return ga, gb


class Cast(Function):
    """``x`` converted to another float dtype; the gradient is cast back to x's dtype."""

    @staticmethod
    def forward(ctx, x, dtype):
        ctx.src = x.dtype
        return ctx.b.cast(x, dtype)

    @staticmethod
    def backward(ctx, g):
        return (ctx.b.cast(g, ctx.src),)


class Take(Function):
    """``x`` gathered along ``axis`` at ``indices`` (an int32/int64 backend array, not a
    Tensor); the gradient is scattered back with ``scatter_add`` (repeated indices add)."""

    @staticmethod
    def forward(ctx, x, indices, axis):
        ctx.idx, ctx.axis, ctx.size = indices, axis, x.shape[axis]
        return ctx.b.take(x, indices, axis)

    @staticmethod
    def backward(ctx, g):
        return (ctx.b.scatter_add(g, ctx.idx, ctx.axis, ctx.size),)
