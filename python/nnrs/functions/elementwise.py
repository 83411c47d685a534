"""Elementwise ops with numpy broadcasting; gradients are summed back to each input's shape."""

import math

from ..function import Function


def sum_to_shape(be, g, shape):
    """Sum ``g`` over the axes that broadcasting added or stretched, giving ``shape``."""
    shape = tuple(shape)
    if tuple(g.shape) == shape:
        return g
    lead = g.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(i + lead for i, s in enumerate(shape) if s == 1 and g.shape[i + lead] != 1)
    r = be.reduce("sum", g, axes, True) if axes else g
    return r.reshape(shape)


class Unary(Function):
    """``op(x)`` for op in neg, exp, log, sqrt, square, abs, sign, reciprocal."""

    @staticmethod
    def forward(ctx, x, op):
        ctx.x, ctx.op = x, op
        ctx.y = ctx.b.unary(op, x)
        return ctx.y

    @staticmethod
    def backward(ctx, g):
        be, x, y, op = ctx.b, ctx.x, ctx.y, ctx.op
        if op == "neg":
            return (be.unary("neg", g),)
        if op == "exp":
            return (be.binary("mul", g, y),)
        if op == "log":
            return (be.binary("div", g, x),)
        if op == "sqrt":
            return (be.binary("div", g, be.binary_scalar("mul", y, 2.0)),)
        if op == "square":
            return (be.binary("mul", g, be.binary_scalar("mul", x, 2.0)),)
        if op == "abs":
            return (be.binary("mul", g, be.unary("sign", x)),)
        if op == "sign":
            return (be.binary_scalar("mul", g, 0.0),)
        if op == "reciprocal":
            return (be.unary("neg", be.binary("mul", g, be.unary("square", y))),)
        raise ValueError(f"Unary: unknown op {op!r}")


class Binary(Function):
    """``op(a, b)`` for op in add, sub, mul, div, pow, maximum, minimum (broadcasting).

    The gradients of pow, maximum and minimum follow ``Backend.binary_backward``: for pow
    the gradient wrt the exponent is 0 where the base is <= 0, and maximum / minimum send
    the whole gradient to a on ties."""

    @staticmethod
    def forward(ctx, a, b, op):
        ctx.a, ctx.bb, ctx.op = a, b, op
        return ctx.b.binary(op, a, b)

    @staticmethod
    def backward(ctx, g):
        be, a, b, op = ctx.b, ctx.a, ctx.bb, ctx.op
        na, nb = ctx.needs_grad
        ga = gb = None
        if op == "add":
            ga, gb = g if na else None, g if nb else None
        elif op == "sub":
            ga, gb = g if na else None, be.unary("neg", g) if nb else None
        elif op in ("mul", "div", "pow", "maximum", "minimum"):
            # one kernel: both gradients, already summed back to a's and b's shapes
            ga, gb = be.binary_backward(op, a, b, g)
            return (ga if na else None, gb if nb else None)
        else:
            raise ValueError(f"Binary: no gradient for op {op!r}")
        return (
            sum_to_shape(be, ga, a.shape) if ga is not None else None,
            sum_to_shape(be, gb, b.shape) if gb is not None else None,
        )


class BinaryScalar(Function):
    """``op(x, s)`` (or ``op(s, x)`` with ``reverse``) for a Python float s."""

    @staticmethod
    def forward(ctx, x, s, op, reverse=False):
        ctx.x, ctx.s, ctx.op, ctx.rev = x, float(s), op, reverse
        ctx.y = ctx.b.binary_scalar(op, x, s, reverse)
        return ctx.y

    @staticmethod
    def backward(ctx, g):
        be, x, s, op, rev = ctx.b, ctx.x, ctx.s, ctx.op, ctx.rev
        if op == "add":
            return (g,)
        if op == "sub":
            return (be.unary("neg", g) if rev else g,)
        if op == "mul":
            return (be.binary_scalar("mul", g, s),)
        if op == "div":
            if rev:  # s / x
                return (be.unary("neg", be.binary("div", be.binary_scalar("mul", g, s), be.unary("square", x))),)
            return (be.binary_scalar("div", g, s),)
        if op == "pow":
            if rev:  # s ** x -> s**x * ln s; 0 for s <= 0, as binary_backward's gradient wrt b
                if s <= 0.0:
                    return (be.binary_scalar("mul", g, 0.0),)
                return (be.binary("mul", g, be.binary_scalar("mul", ctx.y, math.log(s))),)
            if s == 0.0:  # x ** 0 is the constant 1
                return (be.binary_scalar("mul", g, 0.0),)
            return (be.binary("mul", g, be.binary_scalar("mul", be.binary_scalar("pow", x, s - 1.0), s)),)
        raise ValueError(f"BinaryScalar: no gradient for op {op!r}")


class Clip(Function):
    """``min(max(x, lo), hi)``; the gradient passes where lo <= x <= hi."""

    @staticmethod
    def forward(ctx, x, lo, hi):
        ctx.x, ctx.lo, ctx.hi = x, lo, hi
        return ctx.b.clip(x, lo, hi)

    @staticmethod
    def backward(ctx, g):
        be, x = ctx.b, ctx.x
        # inside = 1 where x equals its clipped value
        d = be.unary("abs", be.unary("sign", be.binary("sub", be.clip(x, ctx.lo, ctx.hi), x)))
        return (be.binary("mul", g, be.binary_scalar("sub", d, 1.0, True)),)
