"""Losses as one node: the kernel returns the weighted batch mean, backward one kernel."""

from ..function import Function


class Loss(Function):
    """Scalar loss ``name(pred, target)`` (see ``Backend.loss_forward``); target and
    weight are backend arrays that receive no gradient."""

    @staticmethod
    def forward(ctx, pred, target, weight, name, delta=1.0):
        ctx.pred, ctx.target, ctx.weight, ctx.name, ctx.delta = pred, target, weight, name, delta
        return ctx.b.loss_forward(name, pred, target, weight, delta)

    @staticmethod
    def backward(ctx, g):
        return (ctx.b.loss_backward(ctx.name, ctx.pred, ctx.target, ctx.weight, g, ctx.delta),)
