"""Pooling and nearest upsampling of channels-last images (Functions with backward).

``MaxPool2D`` and ``AvgPool2D`` run one kernel each way (``max_pool2d_*`` / ``avg_pool2d_*``);
1-D pooling is the 2-D kernel with height 1 (``ops.max_pool`` reshapes). ``UpSample2D``
repeats pixels (a layout copy) and its backward sums each block with the ``reduce`` kernel.
"""

from __future__ import annotations

from ..function import Function


def pool_padding(size, pool, stride, padding):
    """``(before, after)`` padding of one axis of ``size`` for Keras' ``padding``:
    ``"valid"`` pads nothing; ``"same"`` (TensorFlow's rule) pads to ``ceil(size / stride)``
    outputs, the odd element after (bottom / right)."""
    if padding == "valid":
        return 0, 0
    out = -(-size // stride)
    total = max((out - 1) * stride + pool - size, 0)
    return total // 2, total - total // 2


class MaxPool2D(Function):
    """Max pooling of x (N, H, W, C) with ``pool_size``, ``strides`` and explicit ``padding``
    (top, bottom, left, right). The backward recomputes each window's argmax from x."""

    @staticmethod
    def forward(ctx, x, pool_size, strides, padding):
        ctx.x, ctx.geom = x, (pool_size, strides, padding)
        return ctx.b.max_pool2d_forward(x, pool_size, strides, padding)

    @staticmethod
    def backward(ctx, g):
        return (ctx.b.max_pool2d_backward(ctx.x, g, *ctx.geom),)


class AvgPool2D(Function):
    """Average pooling of x (N, H, W, C) over the real (non-padded) elements of each window."""

    @staticmethod
    def forward(ctx, x, pool_size, strides, padding):
        ctx.shape, ctx.geom = tuple(x.shape), (pool_size, strides, padding)
        return ctx.b.avg_pool2d_forward(x, pool_size, strides, padding)

    @staticmethod
    def backward(ctx, g):
        return (ctx.b.avg_pool2d_backward(g, ctx.shape, *ctx.geom),)


class UpSample2D(Function):
    """Nearest upsampling of x (N, H, W, C) by ``size`` (sh, sw): every pixel repeated into an
    sh x sw block. The gradient of a pixel is the sum of its block's gradients."""

    @staticmethod
    def forward(ctx, x, size):
        ctx.shape, ctx.size = tuple(x.shape), tuple(size)
        xp = ctx.b.xp
        return xp.ascontiguousarray(xp.repeat(xp.repeat(x, size[0], axis=1), size[1], axis=2))

    @staticmethod
    def backward(ctx, g):
        n, h, w, c = ctx.shape
        sh, sw = ctx.size
        return (ctx.b.reduce("sum", ctx.b.xp.ascontiguousarray(g).reshape(n, h, sh, w, sw, c), (2, 4)),)
