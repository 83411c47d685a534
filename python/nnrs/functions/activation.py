"""Activation functions as one node: forward and backward are one kernel each."""

from ..function import Function


class Activation(Function):
    """``f(x)`` for f in ``backend.base.ACTIVATIONS``; ``alpha`` for leaky_relu and elu."""

    @staticmethod
    def forward(ctx, x, name, alpha=0.0):
        y = ctx.b.activation_forward(name, x, alpha)
        ctx.x, ctx.y, ctx.name, ctx.alpha = x, y, name, alpha
        return y

    @staticmethod
    def backward(ctx, g):
        return (ctx.b.activation_backward(ctx.name, g, ctx.x, ctx.y, ctx.alpha),)


class Softmax(Function):
    """softmax of x along ``axis`` (log_softmax with ``log``), any axis: one kernel each way."""

    @staticmethod
    def forward(ctx, x, axis, log=False):
        y = ctx.b.softmax_forward(x, axis, log)
        ctx.y, ctx.axis, ctx.log = y, axis, log
        return y

    @staticmethod
    def backward(ctx, g):
        return (ctx.b.softmax_backward(g, ctx.y, ctx.axis, ctx.log),)
