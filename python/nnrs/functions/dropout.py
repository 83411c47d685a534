"""Dropout: the mask comes from a seeded counter-based hash, identical on every backend."""

from ..function import Function


class Dropout(Function):
    """``x * mask``; mask is 1/(1-rate) where kept, 0 where dropped."""

    @staticmethod
    def forward(ctx, x, rate, seed):
        y, ctx.mask = ctx.b.dropout_forward(x, rate, seed)
        return y

    @staticmethod
    def backward(ctx, g):
        return (ctx.b.binary("mul", g, ctx.mask),)
