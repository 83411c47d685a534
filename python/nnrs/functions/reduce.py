"""Reductions: sum, mean, max, min over axes; gradients broadcast back."""

from ..function import Function


def _axes(axes, ndim):
    if axes is None:
        return tuple(range(ndim))
    if isinstance(axes, int):
        axes = (axes,)
    return tuple(sorted(a % ndim for a in axes)) if ndim else ()


class Reduce(Function):
    """``op(x, axes, keepdims)`` for op in sum, mean, max, min."""

    @staticmethod
    def forward(ctx, x, op, axes=None, keepdims=False):
        ax = _axes(axes, x.ndim)
        ctx.x, ctx.op, ctx.ax, ctx.keep = x, op, ax, keepdims
        ctx.y = ctx.b.reduce(op, x, ax, keepdims)
        return ctx.y

    @staticmethod
    def backward(ctx, g):
        be, x, ax = ctx.b, ctx.x, ctx.ax
        kshape = tuple(1 if i in ax else s for i, s in enumerate(x.shape))
        g = g.reshape(kshape)
        xp = be.xp
        if ctx.op == "sum":  # broadcasting the gradient back is layout, not arithmetic
            return (xp.ascontiguousarray(xp.broadcast_to(g, x.shape)),)
        if ctx.op == "mean":
            n = 1
            for i in ax:
                n *= x.shape[i]
            return (xp.ascontiguousarray(xp.broadcast_to(be.binary_scalar("div", g, float(max(n, 1))), x.shape)),)
        # max/min: the gradient is shared among the elements equal to the extreme
        y = ctx.y.reshape(kshape)
        hit = be.binary_scalar("sub", be.unary("abs", be.unary("sign", be.binary("sub", x, y))), 1.0, True)
        count = be.reduce("sum", hit, ax, True)
        return (be.binary("mul", hit, be.binary("div", g, count)),)


class Moments(Function):
    """``(mean, variance)`` of x over ``axes``, stacked on a new first axis (a Function has
    one output; ``ops.moments`` takes the two apart). One kernel each way: the backward
    is ``moments_backward`` with g[0] the mean's gradient and g[1] the variance's."""

    @staticmethod
    def forward(ctx, x, axes=None, keepdims=False):
        axes = tuple(axes) if isinstance(axes, list) else axes  # the kernels check the range
        mean, var = ctx.b.moments(x, axes, keepdims)
        ctx.x, ctx.mean, ctx.axes = x, mean, axes
        return ctx.b.xp.stack([mean, var])

    @staticmethod
    def backward(ctx, g):
        return (ctx.b.moments_backward(ctx.x, ctx.mean, g[0, ...], g[1, ...], ctx.axes),)  # [i, ...]: arrays, even 0-d
