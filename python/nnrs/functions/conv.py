"""Convolutions: Conv2D (with bias and a fused activation), Conv2DTranspose, Im2Col and
Col2Im, plus the padding arithmetic the ops and layers share (Keras' "valid" / "same").

Images are channels-last (n, h, w, c) and kernels (kh, kw, c / groups, oc), as Keras
stores them; a 1-D convolution is the 2-D one with height 1.
"""

from __future__ import annotations

from ..function import Function
from .gemm import _BY_OUTPUT


def same_padding(size, k, stride, dilation):
    """(before, after) zeros of Keras/TensorFlow "same" along one axis: the output has
    ceil(size / stride) positions, the odd pixel of padding goes after (bottom/right)."""
    ext = (k - 1) * dilation + 1
    total = max((-(-size // stride) - 1) * stride + ext - size, 0)
    return total // 2, total - total // 2


def resolve_padding(padding, spatial, kernel_size, strides, dilation, who):
    """Explicit (top, bottom, left, right) padding of a 2-D convolution over ``spatial``
    (h, w) from "valid", "same", or explicit pairs ((top, bottom), (left, right)) / ints."""
    if isinstance(padding, str):
        mode = padding.lower()
        if mode == "valid":
            return (0, 0, 0, 0)
        if mode == "same":
            (t, b), (left, r) = (same_padding(s, k, st, d) for s, k, st, d in zip(spatial, kernel_size, strides, dilation))
            return (t, b, left, r)
        raise ValueError(f"{who}: padding must be 'valid' or 'same' (or explicit pairs), got {padding!r}")
    try:
        pairs = [(p, p) if isinstance(p, int) else tuple(p) for p in padding]
        out = tuple(int(v) for pair in pairs for v in pair)
    except (TypeError, ValueError):
        raise ValueError(f"{who}: padding must be 'valid', 'same' or ((top, bottom), (left, right)), got {padding!r}") from None
    if len(out) != 4 or min(out) < 0:
        raise ValueError(f"{who}: padding must be 'valid', 'same' or ((top, bottom), (left, right)), got {padding!r}")
    return out


def transpose_geometry(size, k, stride, dilation, padding, output_padding):
    """Of a transposed convolution along one axis (Keras' rules): the output length and
    the (before, after) padding of the convolution it is the transpose of."""
    ext = (k - 1) * dilation + 1
    if output_padding is None:
        out = size * stride + max(ext - stride, 0) if padding == "valid" else size * stride
        before = 0 if padding == "valid" else max(ext - stride, 0) // 2
    else:
        pad = ext // 2 if padding == "same" else 0
        out = (size - 1) * stride + ext - 2 * pad + output_padding
        if padding == "valid":
            before = 0
        else:
            pad_len = ext + ext % 2 - 2 + output_padding
            before = ext - 1 - min(pad_len // 2 + pad_len % 2, ext - 1)
    # the convolution from `out` back to `size` ends `after` zeros past the end (or needs
    # fewer rows than `out` has: then no padding, the last rows get nothing)
    after = max((size - 1) * stride + ext - out - before, 0)
    return out, before, after


class Conv2D(Function):
    """``activation(conv(x, w) + b)`` for x (n, h, w, c), w (kh, kw, c/groups, oc), b or None.

    As Dense: one fused kernel when the activation's backward needs only the output, else
    the convolution then the activation; backward is ``activation_backward``, then
    ``conv2d_backward_input`` and ``conv2d_backward_weight`` (which also gives the bias').
    """

    @staticmethod
    def forward(ctx, x, w, b, strides=(1, 1), padding=(0, 0, 0, 0), dilation=(1, 1), groups=1, activation="linear",
                alpha=0.0):
        be = ctx.b
        geo = (tuple(strides), tuple(padding), tuple(dilation), int(groups))
        if not ctx.needs_grad:
            return be.conv2d_forward(x, w, b, *geo, activation, alpha)
        ctx.x, ctx.w, ctx.geo, ctx.act, ctx.alpha = x, w, geo, activation, alpha
        if activation in _BY_OUTPUT and activation not in ("softmax", "log_softmax"):
            ctx.z = ctx.y = y = be.conv2d_forward(x, w, b, *geo, activation, alpha)
            return y
        ctx.z = z = be.conv2d_forward(x, w, b, *geo)
        ctx.y = y = be.activation_forward(activation, z, alpha)
        return y

    @staticmethod
    def backward(ctx, g):
        be, x, w = ctx.b, ctx.x, ctx.w
        if ctx.act != "linear":
            g = be.activation_backward(ctx.act, g, ctx.z, ctx.y, ctx.alpha)
        needs = ctx.needs_grad
        has_b = len(needs) > 2
        gx = be.conv2d_backward_input(g, w, tuple(x.shape), *ctx.geo) if needs[0] else None
        gw = gb = None
        if needs[1] or (has_b and needs[2]):
            gw, gb = be.conv2d_backward_weight(x, g, tuple(w.shape[:2]), *ctx.geo, has_b and needs[2])
        return (gx, gw, gb) if has_b else (gx, gw)


class Conv2DTranspose(Function):
    """The transpose of a convolution: y (``out_shape``) = conv2d_backward_input(x, w) + b,
    for x (n, h, w, cin) and w (kh, kw, filters, cin) (Keras' Conv2DTranspose kernel);
    ``padding`` is that of the convolution it transposes (see ``transpose_geometry``).

    Backward: gx = conv(g, w) (the convolution itself), gw = conv2d_backward_weight(g, x),
    gb = the sum of g over batch and pixels.
    """

    @staticmethod
    def forward(ctx, x, w, b, out_shape, strides=(1, 1), padding=(0, 0, 0, 0), dilation=(1, 1)):
        be = ctx.b
        geo = (tuple(strides), tuple(padding), tuple(dilation), 1)
        y = be.conv2d_backward_input(x, w, tuple(out_shape), *geo)
        if b is not None:
            y = be.binary("add", y, b)
        if ctx.needs_grad:
            ctx.x, ctx.w, ctx.geo = x, w, geo
        return y

    @staticmethod
    def backward(ctx, g):
        be, x, w = ctx.b, ctx.x, ctx.w
        needs = ctx.needs_grad
        has_b = len(needs) > 2
        gx = be.conv2d_forward(g, w, None, *ctx.geo) if needs[0] else None
        gw = be.conv2d_backward_weight(g, x, tuple(w.shape[:2]), *ctx.geo, False)[0] if needs[1] else None
        if not has_b:
            return gx, gw
        gb = be.reduce("sum", g, (0, 1, 2)) if needs[2] else None
        return gx, gw, gb


class Im2Col(Function):
    """The patches of x (n, h, w, c): (n, oh, ow, kh*kw*c) in (ky, kx, c) order; backward col2im."""

    @staticmethod
    def forward(ctx, x, kernel_size, strides=(1, 1), padding=(0, 0, 0, 0), dilation=(1, 1)):
        ctx.args = (tuple(kernel_size), tuple(strides), tuple(padding), tuple(dilation))
        ctx.x_shape = tuple(x.shape)
        return ctx.b.im2col(x, *ctx.args)

    @staticmethod
    def backward(ctx, g):
        return (ctx.b.col2im(g, ctx.x_shape, *ctx.args),)


class Col2Im(Function):
    """The adjoint of Im2Col: patches (n, oh, ow, kh*kw*c) summed back into (x_shape); backward im2col."""

    @staticmethod
    def forward(ctx, col, x_shape, kernel_size, strides=(1, 1), padding=(0, 0, 0, 0), dilation=(1, 1)):
        ctx.args = (tuple(kernel_size), tuple(strides), tuple(padding), tuple(dilation))
        return ctx.b.col2im(col, tuple(x_shape), *ctx.args)

    @staticmethod
    def backward(ctx, g):
        return (ctx.b.im2col(g, *ctx.args),)
