"""Matrix products: Matmul, and Dense (x @ w + b, then an activation) as one graph node."""

import math

from ..function import Function
from .elementwise import sum_to_shape

# Activations whose backward needs only their output y (not the pre-activation z),
# so a Dense node need not keep z alive.
_BY_OUTPUT = frozenset({"linear", "sigmoid", "tanh", "relu", "elu", "selu", "softmax", "log_softmax"})


class Matmul(Function):
    """``a @ b`` for a (..., m, k) and b (..., k, n), batch dimensions broadcast as in numpy.

    Backward: ``ga = g @ b^T`` and ``gb = a^T @ g`` (batched), each summed back over the
    batch dimensions its operand was broadcast along. When b is one matrix under a stack
    of a's, ``gb`` is a single product of the stacks seen as tall matrices.
    """

    @staticmethod
    def forward(ctx, a, b):
        ctx.a, ctx.bm = a, b
        return ctx.b.matmul(a, b)

    @staticmethod
    def backward(ctx, g):
        be, a, b = ctx.b, ctx.a, ctx.bm
        na, nb = ctx.needs_grad
        ga = sum_to_shape(be, be.matmul(g, b, False, True), a.shape) if na else None
        if not nb:
            gb = None
        elif b.ndim == 2 and a.ndim > 2:
            # sum over the batch of a_i^T g_i == (all rows of a)^T @ (all rows of g)
            rows = math.prod(a.shape[:-1])
            gb = be.matmul(a.reshape(rows, a.shape[-1]), g.reshape(rows, g.shape[-1]), True, False)
        else:
            gb = sum_to_shape(be, be.matmul(a, g, True, False), b.shape)
        return ga, gb


class Dense(Function):
    """``activation(x @ w + b)`` for x (n, in), w (in, out), b (out,) or None.

    One node: forward is one fused kernel (``linear_forward`` with the activation) when
    the backward can work from the output alone (relu, tanh, sigmoid, ...), else two;
    backward is ``activation_backward`` then ``linear_backward``.
    """

    @staticmethod
    def forward(ctx, x, w, b, activation="linear", alpha=0.0):
        be = ctx.b
        if not ctx.needs_grad:  # inference: one fused kernel, nothing saved
            return be.linear_forward(x, w, b, activation, alpha)
        ctx.x, ctx.w, ctx.act, ctx.alpha = x, w, activation, alpha
        if activation in _BY_OUTPUT:
            # one fused kernel; the backward reads what it needs from the output
            y = be.linear_forward(x, w, b, activation, alpha)
            ctx.z = ctx.y = y
            return y
        z = be.linear_forward(x, w, b)
        ctx.z = z
        ctx.y = y = be.activation_forward(activation, z, alpha)
        return y

    @staticmethod
    def backward(ctx, g):
        be = ctx.b
        if ctx.act != "linear":
            g = be.activation_backward(ctx.act, g, ctx.z, ctx.y, ctx.alpha)
        needs = ctx.needs_grad
        has_b = len(needs) > 2
        gx, gw, gb = be.linear_backward(ctx.x, ctx.w, g, needs[0], has_b and needs[2])
        return (gx, gw, gb) if has_b else (gx, gw)
