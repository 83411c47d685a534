"""Dynamic convolution (involution) as one autograd node: one fused kernel each way."""

from __future__ import annotations

from ..function import Function


class DynamicConv2D(Function):
    """``y = dynamic_conv2d(x, k)`` (see ``Backend.dynamic_conv2d_forward``): x
    ``(N, H, W, C)``, per-position kernels k ``(N, OH, OW, kh*kw, G)``; the backward gives
    the gradients wrt both x and k from one kernel call."""

    @staticmethod
    def forward(ctx, x, k, kernel_size, strides, padding, dilation):
        ctx.x, ctx.k, ctx.geom = x, k, (kernel_size, strides, padding, dilation)
        return ctx.b.dynamic_conv2d_forward(x, k, kernel_size, strides, padding, dilation)

    @staticmethod
    def backward(ctx, g):
        gx, gk = ctx.b.dynamic_conv2d_backward(g, ctx.x, ctx.k, *ctx.geom)
        return gx, gk


def pair(value, what):
    """An int or a pair of ints as a (h, w) tuple of positive ints; ValueError naming ``what``."""
    vals = (value, value) if isinstance(value, int) and not isinstance(value, bool) else tuple(value)
    if len(vals) != 2 or not all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in vals):
        raise ValueError(f"{what} must be a positive int or a pair of positive ints, got {value!r}")
    return vals


def explicit_padding(padding, size, kernel_size, strides, dilation, what="padding"):
    """``(top, bottom, left, right)`` for a Keras padding name over an image ``size`` (h, w):
    ``"valid"`` none; ``"same"`` as Keras/TensorFlow (output ``ceil(size / stride)``, the odd
    pixel of padding at the bottom/right). A 4-sequence of ints is returned as it is."""
    if isinstance(padding, str):
        mode = padding.lower()
        if mode == "valid":
            return (0, 0, 0, 0)
        if mode != "same":
            raise ValueError(f"{what} must be 'valid', 'same' or (top, bottom, left, right), got {padding!r}")
        out = []
        for n, k, s, d in zip(size, kernel_size, strides, dilation):
            total = max((-(-n // s) - 1) * s + (k - 1) * d + 1 - n, 0)
            out += [total // 2, total - total // 2]
        return tuple(out)
    pads = tuple(padding)
    if len(pads) != 4 or not all(isinstance(p, int) and not isinstance(p, bool) and p >= 0 for p in pads):
        raise ValueError(f"{what} must be 'valid', 'same' or (top, bottom, left, right) non-negative ints, got {padding!r}")
    return pads


def output_size(size, kernel_size, strides, padding, dilation):
    """(OH, OW) of a dynamic convolution with explicit ``padding`` (top, bottom, left, right)."""
    return tuple((n + padding[2 * a] + padding[2 * a + 1] - (k - 1) * d - 1) // s + 1
                 for a, (n, k, s, d) in enumerate(zip(size, kernel_size, strides, dilation)))
