"""Batch normalization and the image augmentations as autograd nodes (one kernel each way)."""

from ..function import Function


class BatchNorm(Function):
    """``(x - mean) / sqrt(var + epsilon) * gamma + beta`` over x's last axis.

    With ``training`` the statistics are the batch's (the gradient wrt x goes through
    them) and, when ``stats`` is a dict, the batch mean and variance are left in it
    (``stats["mean"]``, ``stats["var"]``: backend arrays) for the caller's moving-average
    update, which is not part of the graph. Otherwise ``mean`` / ``var`` (backend arrays,
    not Tensors: the moving statistics get no gradient) are used. gamma / beta may be None
    (Keras' ``scale=False`` / ``center=False``); the backward returns one gradient per
    Tensor among x, gamma, beta."""

    @staticmethod
    def forward(ctx, x, gamma, beta, mean=None, var=None, epsilon=1e-3, training=True, stats=None):
        y, m, v = ctx.b.batch_norm_forward(x, gamma, beta, None if training else mean, None if training else var,
                                          epsilon, training)
        if stats is not None:
            stats["mean"], stats["var"] = m, v
        ctx.x, ctx.gamma, ctx.mean, ctx.var = x, gamma, m, v
        ctx.eps, ctx.training, ctx.has_beta = epsilon, training, beta is not None
        return y

    @staticmethod
    def backward(ctx, g):
        gx, gg, gb = ctx.b.batch_norm_backward(g, ctx.x, ctx.gamma, ctx.mean, ctx.var, ctx.eps, ctx.training)
        out = [gx]
        if ctx.gamma is not None:
            out.append(gg)
        if ctx.has_beta:
            out.append(gb)
        return tuple(out)


class AffineTransform(Function):
    """Images (batch, height, width, channels) warped by one transform each (``transforms``:
    a backend array (batch, 8), not differentiated); the gradient wrt the images is
    ``affine_transform_backward``."""

    @staticmethod
    def forward(ctx, images, transforms, interpolation="bilinear", fill_mode="constant", fill_value=0.0):
        ctx.t, ctx.interp, ctx.mode = transforms, interpolation, fill_mode
        return ctx.b.affine_transform(images, transforms, interpolation, fill_mode, fill_value)

    @staticmethod
    def backward(ctx, g):
        return (ctx.b.affine_transform_backward(g, ctx.t, ctx.interp, ctx.mode),)


class Flip(Function):
    """Per-sample flips of (batch, height, width, ...) images: ``rows`` (batch, height) and
    ``cols`` (batch, width) are host index arrays, each row either ``arange`` or its
    reverse. A gather (layout only); a flip is its own inverse, so the backward is the
    same gather of the gradient."""

    @staticmethod
    def forward(ctx, x, rows, cols):
        xp = ctx.b.xp
        n = xp.arange(x.shape[0])[:, None, None]
        ctx.idx = (n, xp.asarray(rows)[:, :, None], xp.asarray(cols)[:, None, :])
        return xp.ascontiguousarray(x[ctx.idx])

    @staticmethod
    def backward(ctx, g):
        return (ctx.b.xp.ascontiguousarray(g[ctx.idx]),)


class GaussianNoise(Function):
    """``x + stddev * normal(seed)``; the gradient passes through unchanged."""

    @staticmethod
    def forward(ctx, x, stddev, seed):
        return ctx.b.gaussian_noise_forward(x, stddev, seed)

    @staticmethod
    def backward(ctx, g):
        return (g,)
