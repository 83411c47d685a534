"""Elementwise math of Keras' numpy-like ops (sin ... trunc) and two layout nodes with a
gradient (broadcast_to, pad). The forward of each math op is one ``unary`` kernel; each
backward is built from kernels too (the derivative written with other unary ops)."""

import math

from ..function import Function
from .elementwise import sum_to_shape

#: The ``unary`` ops added for ``nnrs.ops`` (also in ``backend.base.UNARY_OPS``).
MATH_OPS = ("sin", "cos", "tan", "arcsin", "arccos", "arctan", "sinh", "cosh", "arcsinh", "arccosh", "arctanh",
            "log1p", "expm1", "log2", "log10", "floor", "ceil", "round", "trunc")
#: Ops whose derivative is 0 wherever it exists (piecewise constant).
_STEPS = frozenset({"floor", "ceil", "round", "trunc"})


def _over(be, g, d):
    return be.binary("div", g, d)


class Math(Function):
    """``op(x)`` for op in ``MATH_OPS``."""

    @staticmethod
    def forward(ctx, x, op):
        ctx.x, ctx.op = x, op
        ctx.y = y = ctx.b.unary(op, x)
        return y

    @staticmethod
    def backward(ctx, g):
        be, x, y, op = ctx.b, ctx.x, ctx.y, ctx.op
        mul, un, sc = be.binary, be.unary, be.binary_scalar
        if op in _STEPS:
            return (be.xp.zeros_like(g),)
        if op == "sin":
            return (mul("mul", g, un("cos", x)),)
        if op == "cos":
            return (un("neg", mul("mul", g, un("sin", x))),)
        if op == "tan":  # 1 + tan^2
            return (mul("mul", g, sc("add", un("square", y), 1.0)),)
        if op in ("arcsin", "arccos"):  # +-1 / sqrt(1 - x^2)
            d = _over(be, g, un("sqrt", sc("sub", un("square", x), 1.0, True)))
            return (d if op == "arcsin" else un("neg", d),)
        if op == "arctan":
            return (_over(be, g, sc("add", un("square", x), 1.0)),)
        if op == "sinh":
            return (mul("mul", g, un("cosh", x)),)
        if op == "cosh":
            return (mul("mul", g, un("sinh", x)),)
        if op == "arcsinh":
            return (_over(be, g, un("sqrt", sc("add", un("square", x), 1.0))),)
        if op == "arccosh":
            return (_over(be, g, un("sqrt", sc("sub", un("square", x), 1.0))),)
        if op == "arctanh":
            return (_over(be, g, sc("sub", un("square", x), 1.0, True)),)
        if op == "log1p":
            return (_over(be, g, sc("add", x, 1.0)),)
        if op == "expm1":
            return (mul("mul", g, sc("add", y, 1.0)),)
        if op in ("log2", "log10"):
            return (_over(be, g, sc("mul", x, math.log(2.0 if op == "log2" else 10.0))),)
        raise ValueError(f"Math: unknown op {op!r}")


class BroadcastTo(Function):
    """``x`` broadcast to ``shape`` (a copy); the gradient is summed back to x's shape."""

    @staticmethod
    def forward(ctx, x, shape):
        ctx.shape = x.shape
        xp = ctx.b.xp
        return xp.ascontiguousarray(xp.broadcast_to(x, shape))

    @staticmethod
    def backward(ctx, g):
        return (sum_to_shape(ctx.b, g, ctx.shape),)


class Pad(Function):
    """``x`` with ``widths[i] = (before, after)`` elements of ``value`` around axis i; the
    gradient is the slice of g where x sits."""

    @staticmethod
    def forward(ctx, x, widths, value):
        ctx.window = tuple(slice(lo, lo + n) for (lo, _), n in zip(widths, x.shape))
        return ctx.b.xp.pad(x, widths, mode="constant", constant_values=value)

    @staticmethod
    def backward(ctx, g):
        return (ctx.b.xp.ascontiguousarray(g[ctx.window]),)
