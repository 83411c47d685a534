"""The reference backend: short, obviously correct numpy. The oracle of every parity test."""

from __future__ import annotations

import math
import warnings

import numpy as np

from .base import INDEX_ERROR, Backend

_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


def splitmix_uniform(seed: int, n: int) -> np.ndarray:
    """``uniform(seed, i)`` for i in range(n), as float64 in [0, 1) (see ``dropout_forward``)."""
    with np.errstate(over="ignore"):
        z = np.uint64(seed & 0xFFFFFFFFFFFFFFFF) + (np.arange(1, n + 1, dtype=np.uint64) * _GOLDEN)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
    return (z >> np.uint64(11)).astype(np.float64) * (2.0 ** -53)


def _erf(x):
    return np.vectorize(math.erf, otypes=[np.float64])(x)


def _sigmoid(x):
    return np.where(x >= 0, 1.0 / (1.0 + np.exp(-np.abs(x))), np.exp(-np.abs(x)) / (1.0 + np.exp(-np.abs(x)))).astype(x.dtype)


def _c(a):
    """``a`` as a C-contiguous array (0-d stays 0-d, unlike ``np.ascontiguousarray``)."""
    return np.asarray(a, order="C")


def _norm_axes(axes, ndim):
    if axes is None:
        return tuple(range(ndim))
    if isinstance(axes, int):
        axes = (axes,)
    return tuple(sorted(a % ndim for a in axes))


def _sum_to(g, shape):
    """``g`` summed over the axes that broadcasting added or stretched, as a C-contiguous ``shape``."""
    lead = g.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(lead + i for i, s in enumerate(shape) if s == 1 and g.shape[lead + i] != 1)
    return np.array(np.sum(g, axis=axes).reshape(shape), dtype=g.dtype, order="C")


class NumpyBackend(Backend):
    name = "numpy"
    xp = np

    def asarray(self, x, dtype=None):
        return np.asarray(x, dtype=dtype)

    def to_numpy(self, a):
        return np.asarray(a)

    # gemm
    def matmul(self, a, b, trans_a=False, trans_b=False):
        return np.matmul(np.swapaxes(a, -1, -2) if trans_a else a, np.swapaxes(b, -1, -2) if trans_b else b)

    def linear_forward(self, x, w, b=None, activation="linear", alpha=0.0):
        y = x @ w
        if b is not None:
            y = y + b
        return y if activation == "linear" else self.activation_forward(activation, y, alpha)

    def linear_backward(self, x, w, gy, need_gx=True, need_gb=True):
        return (gy @ w.T if need_gx else None, x.T @ gy, gy.sum(0) if need_gb else None)

    # elementwise
    def unary(self, op, x):
        f = {
            "neg": np.negative, "exp": np.exp, "log": np.log, "sqrt": np.sqrt,
            "square": np.square, "abs": np.abs, "sign": np.sign, "reciprocal": np.reciprocal,
            "sin": np.sin, "cos": np.cos, "tan": np.tan, "arcsin": np.arcsin, "arccos": np.arccos,
            "arctan": np.arctan, "sinh": np.sinh, "cosh": np.cosh, "arcsinh": np.arcsinh, "arccosh": np.arccosh,
            "arctanh": np.arctanh, "log1p": np.log1p, "expm1": np.expm1, "log2": np.log2, "log10": np.log10,
            "floor": np.floor, "ceil": np.ceil, "round": np.round, "trunc": np.trunc,
        }[op]
        with np.errstate(invalid="ignore", divide="ignore"):  # NaN / inf outside the domain, as the kernels
            return f(x)

    def argsort(self, x):
        if x.ndim == 0:
            return np.zeros((), np.int64)
        return _c(np.argsort(x, axis=-1, kind="stable").astype(np.int64))

    _BIN = {
        "add": np.add, "sub": np.subtract, "mul": np.multiply, "div": np.divide,
        "pow": np.power, "maximum": np.maximum, "minimum": np.minimum,
    }

    def binary(self, op, a, b):
        return self._BIN[op](a, b)

    def binary_scalar(self, op, a, s, reverse=False):
        s = a.dtype.type(s)
        return self._BIN[op](s, a) if reverse else self._BIN[op](a, s)

    def clip(self, x, lo, hi):
        return np.minimum(np.maximum(x, x.dtype.type(lo)), x.dtype.type(hi))

    # reductions
    def reduce(self, op, x, axes=None, keepdims=False):
        axes = _norm_axes(axes, x.ndim)
        f = {"sum": np.sum, "mean": np.mean, "max": np.max, "min": np.min}[op]
        return np.asarray(f(x, axis=axes, keepdims=keepdims), dtype=x.dtype)

    def argmax(self, x, axis=-1):
        return np.argmax(x, axis=axis).astype(np.int64)

    def sum_squares(self, arrays):
        return np.asarray(sum(float(np.sum(np.square(a.astype(np.float64)))) for a in arrays), dtype=np.float64)

    # activations
    def activation_forward(self, name, x, alpha=0.0):
        t = x.dtype.type
        if name == "linear":
            return x.copy()
        if name == "sigmoid":
            return _sigmoid(x)
        if name == "tanh":
            return np.tanh(x)
        if name == "relu":
            return np.maximum(x, t(0))
        if name == "leaky_relu":
            return np.where(x > 0, x, x * t(alpha))
        if name == "elu":
            return np.where(x > 0, x, t(alpha) * np.expm1(np.minimum(x, t(0))))
        if name == "selu":
            return t(_SELU_SCALE) * np.where(x > 0, x, t(_SELU_ALPHA) * np.expm1(np.minimum(x, t(0))))
        if name == "gelu":  # exact (erf) form, as Keras' gelu(approximate=False)
            return (0.5 * x * (1.0 + _erf(x / math.sqrt(2.0)))).astype(x.dtype)
        if name == "swish":
            return x * _sigmoid(x)
        if name == "softplus":
            return (np.maximum(x, t(0)) + np.log1p(np.exp(-np.abs(x)))).astype(x.dtype)
        if name == "softmax":
            e = np.exp(x - x.max(axis=-1, keepdims=True))
            return e / e.sum(axis=-1, keepdims=True)
        if name == "log_softmax":
            s = x - x.max(axis=-1, keepdims=True)
            return s - np.log(np.exp(s).sum(axis=-1, keepdims=True))
        raise ValueError(f"activation_forward: unknown activation {name!r}")

    def activation_backward(self, name, gy, x, y, alpha=0.0):
        t = x.dtype.type
        if name == "linear":
            return gy.copy()
        if name == "sigmoid":
            return gy * y * (t(1) - y)
        if name == "tanh":
            return gy * (t(1) - y * y)
        if name == "relu":
            return np.where(x > 0, gy, t(0))
        if name == "leaky_relu":
            return np.where(x > 0, gy, gy * t(alpha))
        if name == "elu":
            return np.where(x > 0, gy, gy * (y + t(alpha)))
        if name == "selu":
            return np.where(x > 0, gy * t(_SELU_SCALE), gy * (y + t(_SELU_SCALE * _SELU_ALPHA)))
        if name == "gelu":
            cdf = 0.5 * (1.0 + _erf(x / math.sqrt(2.0)))
            pdf = np.exp(-0.5 * x.astype(np.float64) ** 2) / math.sqrt(2.0 * math.pi)
            return (gy * (cdf + x * pdf)).astype(x.dtype)
        if name == "swish":
            s = _sigmoid(x)
            return gy * (s + x * s * (t(1) - s))
        if name == "softplus":
            return gy * _sigmoid(x)
        if name == "softmax":
            return y * (gy - (gy * y).sum(axis=-1, keepdims=True))
        if name == "log_softmax":
            return gy - np.exp(y) * gy.sum(axis=-1, keepdims=True)
        raise ValueError(f"activation_backward: unknown activation {name!r}")

    # losses
    @staticmethod
    def _per_sample(name, pred, target, delta):
        n = pred.shape[0]
        if name == "softmax_crossentropy":
            s = pred - pred.max(axis=-1, keepdims=True)
            logp = s - np.log(np.exp(s).sum(axis=-1, keepdims=True))
            if target.ndim == 1:
                return -logp[np.arange(n), target]
            return -(target * logp).sum(axis=-1)
        d = (pred - target).reshape(n, -1)
        if name == "mse":
            per = d * d
        elif name == "mae":
            per = np.abs(d)
        elif name == "huber":
            a = np.abs(d)
            per = np.where(a <= delta, 0.5 * d * d, delta * (a - 0.5 * delta))
        elif name == "binary_crossentropy_logits":
            z, t = pred.reshape(n, -1), target.reshape(n, -1)
            per = np.maximum(z, 0) - z * t + np.log1p(np.exp(-np.abs(z)))
        else:
            raise ValueError(f"loss_forward: unknown loss {name!r}")
        return per.mean(axis=1)

    def loss_forward(self, name, pred, target, weight=None, delta=1.0):
        per = self._per_sample(name, pred, target, delta)
        if weight is not None:
            per = per * weight
        return np.asarray(per.sum(dtype=np.float64) / max(pred.shape[0], 1), dtype=pred.dtype)

    def loss_backward(self, name, pred, target, weight=None, grad=1.0, delta=1.0):
        n = pred.shape[0]
        if name == "softmax_crossentropy":
            e = np.exp(pred - pred.max(axis=-1, keepdims=True))
            p = e / e.sum(axis=-1, keepdims=True)
            if target.ndim == 1:
                g = p.copy()
                g[np.arange(n), target] -= 1
            else:
                g = p * target.sum(axis=-1, keepdims=True) - target
            scale = np.full((n, 1), float(grad) / max(n, 1), dtype=pred.dtype)
        else:
            m = pred.size // max(n, 1)
            d = pred - target
            if name == "mse":
                g = 2 * d
            elif name == "mae":
                g = np.sign(d)
            elif name == "huber":
                g = np.clip(d, -delta, delta)
            elif name == "binary_crossentropy_logits":
                g = _sigmoid(pred) - target
            else:
                raise ValueError(f"loss_backward: unknown loss {name!r}")
            scale = np.full((n,) + (1,) * (pred.ndim - 1), float(grad) / (max(n, 1) * m), dtype=pred.dtype)
        if weight is not None:
            scale = scale * weight.reshape(scale.shape)
        return (g * scale).astype(pred.dtype)

    # dropout
    def dropout_forward(self, x, rate, seed):
        u = splitmix_uniform(seed, x.size).reshape(x.shape)
        keep = u >= rate
        mask = np.where(keep, x.dtype.type(1.0 / (1.0 - rate)), x.dtype.type(0))
        return x * mask, mask

    # optimizers (in place)
    def sgd_update(self, param, grad, velocity, lr, momentum=0.0, nesterov=False, weight_decay=0.0):
        t = param.dtype.type
        if weight_decay:
            param -= t(lr * weight_decay) * param
        if momentum:
            velocity *= t(momentum)
            velocity -= t(lr) * grad
            if nesterov:
                param += t(momentum) * velocity - t(lr) * grad
            else:
                param += velocity
        else:
            param -= t(lr) * grad

    def adam_update(self, param, grad, m, v, lr, beta1, beta2, eps, step, weight_decay=0.0):
        t = param.dtype.type
        if weight_decay:
            param -= t(lr * weight_decay) * param
        lr_t = lr * math.sqrt(1.0 - beta2 ** step) / (1.0 - beta1 ** step)
        m += (grad - m) * t(1.0 - beta1)
        v += (grad * grad - v) * t(1.0 - beta2)
        param -= t(lr_t) * m / (np.sqrt(v) + t(eps))

    def rmsprop_update(self, param, grad, ms, mom, lr, rho, momentum, eps, weight_decay=0.0):
        t = param.dtype.type
        if weight_decay:
            param -= t(lr * weight_decay) * param
        ms *= t(rho)
        ms += t(1.0 - rho) * grad * grad
        inc = t(lr) * grad / np.sqrt(ms + t(eps))
        if momentum:
            mom *= t(momentum)
            mom += inc
            param -= mom
        else:
            param -= inc

    def adagrad_update(self, param, grad, acc, lr, eps, weight_decay=0.0):
        t = param.dtype.type
        if weight_decay:
            param -= t(lr * weight_decay) * param
        acc += grad * grad
        param -= t(lr) * grad / np.sqrt(acc + t(eps))

    # index & logic
    _CMP = {
        "equal": np.equal, "not_equal": np.not_equal, "less": np.less, "less_equal": np.less_equal,
        "greater": np.greater, "greater_equal": np.greater_equal,
    }

    def compare(self, op, a, b):
        return _c(self._CMP[op](a, b))

    def where(self, cond, a, b):
        return _c(np.where(cond, a, b))

    def cast(self, x, dtype):
        d = np.dtype(dtype)
        if x.dtype.kind == "f" and d.kind in "iu":
            # Truncate, then saturate: at or beyond 2**bits (the first value past the max,
            # exact in both float types) the max, below the min the min, NaN 0.
            info = np.iinfo(d)
            t = np.trunc(x)
            big = t >= x.dtype.type(float(info.max) + 1.0)
            small = t < x.dtype.type(info.min)
            inside = np.where(big | small | np.isnan(t), 0, t).astype(d)
            return _c(np.where(big, d.type(info.max), np.where(small, d.type(info.min), inside)))
        with np.errstate(over="ignore"):
            return x.astype(d, order="C")

    @staticmethod
    def _check_indices(kernel, indices, size, axis):
        bad = (indices < -size) | (indices >= size)
        if bad.any():
            first = indices.reshape(-1)[np.argmax(bad.reshape(-1))]
            raise ValueError(INDEX_ERROR.format(kernel=kernel, index=int(first), axis=axis, size=size))

    def take(self, x, indices, axis):
        ax = axis % x.ndim
        self._check_indices("take", indices, x.shape[ax], ax)
        return _c(np.take(x, indices, axis=ax))

    def scatter_add(self, updates, indices, axis, dim_size):
        ni = indices.ndim
        ax = axis % (updates.ndim - ni + 1)
        self._check_indices("scatter_add", indices, dim_size, ax)
        lead, tail = updates.shape[:ax], updates.shape[ax + ni:]
        out = np.zeros(lead + (dim_size,) + tail, dtype=updates.dtype)
        np.add.at(out, (slice(None),) * ax + (indices.reshape(-1),), updates.reshape(lead + (indices.size,) + tail))
        return out

    def one_hot(self, indices, num_classes, dtype="float32"):
        d = np.dtype("float32" if dtype is None else dtype)
        return (indices[..., None] == np.arange(num_classes)).astype(d)
    # gradients of elementwise ops
    def binary_backward(self, op, a, b, g):
        t = g.dtype.type
        zero = t(0)
        with np.errstate(all="ignore"):  # pow: negative bases, 0 ** negative
            if op == "add":
                ga, gb = g, g
            elif op == "sub":
                ga, gb = g, -g
            elif op == "mul":
                ga, gb = g * b, g * a
            elif op == "div":
                ga = g / b
                gb = -(ga * (a / b))
            elif op in ("maximum", "minimum"):
                to_a = ((a >= b) if op == "maximum" else (a <= b)) | np.isnan(a)
                ga, gb = np.where(to_a, g, zero), np.where(to_a, zero, g)
            elif op == "pow":
                ga = np.where(b == 0, zero, g * b * np.power(a, b - t(1)))
                gb = np.where(a <= 0, zero, g * np.power(a, b) * np.log(a))
            else:
                raise ValueError(f"binary_backward: unknown op {op!r}")
        return _sum_to(np.broadcast_to(ga, g.shape), a.shape), _sum_to(np.broadcast_to(gb, g.shape), b.shape)

    # softmax along any axis
    def softmax_forward(self, x, axis, log=False):
        if x.size == 0:
            return np.zeros(x.shape, x.dtype)
        s = x - x.max(axis=axis, keepdims=True)
        if log:
            return np.ascontiguousarray(s - np.log(np.exp(s).sum(axis=axis, keepdims=True)))
        e = np.exp(s)
        return np.ascontiguousarray(e / e.sum(axis=axis, keepdims=True))

    def softmax_backward(self, gy, y, axis, log=False):
        if log:
            return np.ascontiguousarray(gy - np.exp(y) * gy.sum(axis=axis, keepdims=True))
        return np.ascontiguousarray(y * (gy - (gy * y).sum(axis=axis, keepdims=True)))

    # mean and variance (batch norm statistics)
    def moments(self, x, axes=None, keepdims=False):
        ax = _norm_axes(axes, x.ndim)
        x64 = x.astype(np.float64)
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # numpy: mean of an empty slice
            mean = x64.mean(axis=ax, keepdims=True)
            var = np.square(x64 - mean).mean(axis=ax, keepdims=keepdims)
        mean = mean.reshape(var.shape)
        return np.array(mean, dtype=x.dtype, order="C"), np.array(var, dtype=x.dtype, order="C")

    def moments_backward(self, x, mean, g_mean, g_var, axes=None):
        ax = _norm_axes(axes, x.ndim)
        kept = tuple(1 if i in ax else s for i, s in enumerate(x.shape))
        t = x.dtype.type
        n = t(math.prod(x.shape[i] for i in ax))
        m, gm, gv = (a.reshape(kept) for a in (mean, g_mean, g_var))
        with np.errstate(all="ignore"):
            return np.array(gm / n + (gv + gv) / n * (x - m), dtype=x.dtype, order="C")

    # ---- norm family: batch normalization, image warps, gaussian noise ----
    def batch_norm_forward(self, x, gamma=None, beta=None, mean=None, var=None, epsilon=1e-3, training=True):
        t, c = x.dtype.type, x.shape[-1]
        x64 = x.reshape(-1, c).astype(np.float64)
        if training:
            with np.errstate(all="ignore"), warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # an empty batch: NaN statistics
                m = x64.mean(axis=0)
                v = np.square(x64 - m).mean(axis=0)
        else:
            m, v = mean.astype(np.float64), var.astype(np.float64)
        g = np.ones(c) if gamma is None else gamma.astype(np.float64)
        b = np.zeros(c) if beta is None else beta.astype(np.float64)
        inv = 1.0 / np.sqrt(v + epsilon)
        a, shift = (g * inv).astype(t), (b - m * g * inv).astype(t)
        y = np.array(x * a + shift, dtype=x.dtype, order="C")
        return y, np.array(m, dtype=x.dtype), np.array(v, dtype=x.dtype)

    def batch_norm_backward(self, gy, x, gamma, mean, var, epsilon=1e-3, training=True):
        c = x.shape[-1]
        g2, x2 = gy.reshape(-1, c).astype(np.float64), x.reshape(-1, c).astype(np.float64)
        n = x2.shape[0]
        inv = 1.0 / np.sqrt(var.astype(np.float64) + epsilon)
        gam = np.ones(c) if gamma is None else gamma.astype(np.float64)
        xhat = (x2 - mean.astype(np.float64)) * inv
        g_beta, g_gamma = g2.sum(axis=0), (g2 * xhat).sum(axis=0)
        if training and n:
            gx = gam * inv / n * (n * g2 - g_beta - xhat * g_gamma)
        else:
            gx = g2 * gam * inv
        d = x.dtype
        return np.array(gx.reshape(x.shape), dtype=d, order="C"), g_gamma.astype(d), g_beta.astype(d)

    def batch_norm_update(self, moving_mean, moving_var, mean, var, momentum):
        t = moving_mean.dtype.type
        for mv, b in ((moving_mean, mean), (moving_var, var)):
            mv[...] = mv * t(momentum) + b * t(1.0 - momentum)

    def affine_transform(self, images, transforms, interpolation="bilinear", fill_mode="constant", fill_value=0.0):
        out = np.empty(images.shape, dtype=np.float64)
        for i in range(images.shape[0]):
            rows, cols = _sample_points(images.shape[1:3], transforms[i])
            img = images[i].astype(np.float64)
            taps, fill = _taps(rows, cols, images.shape[1:3], interpolation, fill_mode)
            acc = fill[..., None] * fill_value
            for r, c, w in taps:
                acc = acc + w[..., None] * img[r, c]
            out[i] = acc
        return np.array(out, dtype=images.dtype, order="C")

    def affine_transform_backward(self, gy, transforms, interpolation="bilinear", fill_mode="constant"):
        gx = np.zeros(gy.shape, dtype=np.float64)
        for i in range(gy.shape[0]):
            rows, cols = _sample_points(gy.shape[1:3], transforms[i])
            g = gy[i].astype(np.float64)
            for r, c, w in _taps(rows, cols, gy.shape[1:3], interpolation, fill_mode)[0]:
                np.add.at(gx[i], (r, c), w[..., None] * g)
        return np.array(gx, dtype=gy.dtype, order="C")

    def gaussian_noise_forward(self, x, stddev, seed):
        u = splitmix_uniform(seed, 2 * x.size)
        z = np.sqrt(-2.0 * np.log(1.0 - u[0::2])) * np.cos(2.0 * np.pi * u[1::2])
        return np.array(x + (stddev * z).astype(x.dtype).reshape(x.shape), dtype=x.dtype, order="C")


    # dynamic convolution (involution): the oracle unfolds explicitly
    def dynamic_conv2d_forward(self, x, k, kernel_size, strides=(1, 1), padding=(0, 0, 0, 0), dilation=(1, 1)):
        n, oh, ow, kk, g = k.shape
        c = x.shape[3]
        cols = _unfold(x, kernel_size, strides, padding, dilation, oh, ow).reshape(n, oh, ow, kk, g, c // g)
        y = (cols * k[..., None]).sum(axis=3)
        return np.ascontiguousarray(y.reshape(n, oh, ow, c), dtype=x.dtype)

    def dynamic_conv2d_backward(self, gy, x, k, kernel_size, strides=(1, 1), padding=(0, 0, 0, 0), dilation=(1, 1)):
        n, oh, ow, kk, g = k.shape
        _, h, w, c = x.shape
        cols = _unfold(x, kernel_size, strides, padding, dilation, oh, ow).reshape(n, oh, ow, kk, g, c // g)
        g6 = gy.reshape(n, oh, ow, 1, g, c // g)
        gk = (cols * g6).sum(axis=5)
        gcols = (k[..., None] * g6).reshape(n, oh, ow, kk, c)
        gxp = np.zeros((n, h + padding[0] + padding[1], w + padding[2] + padding[3], c), x.dtype)
        for t, (rows, cols_) in enumerate(_patch_taps(kernel_size, strides, dilation, oh, ow)):
            gxp[:, rows, cols_, :] += gcols[:, :, :, t]
        gx = gxp[:, padding[0]:padding[0] + h, padding[2]:padding[2] + w]
        return np.ascontiguousarray(gx), np.ascontiguousarray(gk, dtype=x.dtype)

    # pooling (max / average, 2-D and 1-D)
    @staticmethod
    def _windows(x, pool_size, strides, padding, fill):
        """x padded with ``fill`` and its windows as a view (N, OH, OW, C, ph, pw)."""
        t, b, left, right = padding
        xp = np.pad(x, ((0, 0), (t, b), (left, right), (0, 0)), constant_values=fill)
        win = np.lib.stride_tricks.sliding_window_view(xp, tuple(pool_size), axis=(1, 2))
        return win[:, ::strides[0], ::strides[1]]

    def _counts(self, shape, pool_size, strides, padding, dtype):
        """Real (non-padded) elements under each window, shape (1, OH, OW, 1)."""
        real = self._windows(np.ones((1,) + tuple(shape[1:3]) + (1,), dtype), pool_size, strides, padding, 0)
        return real.sum(axis=(-2, -1))

    def max_pool2d_forward(self, x, pool_size, strides, padding):
        return np.ascontiguousarray(self._windows(x, pool_size, strides, padding, -np.inf).max(axis=(-2, -1)))

    def max_pool2d_backward(self, x, gy, pool_size, strides, padding):
        win = self._windows(x, pool_size, strides, padding, -np.inf)
        real = self._windows(np.ones_like(x, dtype=bool), pool_size, strides, padding, False)
        best = win.max(axis=(-2, -1), keepdims=True)
        hit = real & ((win == best) | (np.isnan(win) & np.isnan(best)))
        first = hit.reshape(hit.shape[:4] + (hit.shape[4] * hit.shape[5],)).argmax(axis=-1)  # the first maximum, row-major
        return self._scatter(gy, x.shape, pool_size, strides, padding, lambda di, dj: gy * (first == di * pool_size[1] + dj))

    def avg_pool2d_forward(self, x, pool_size, strides, padding):
        total = self._windows(x, pool_size, strides, padding, 0).sum(axis=(-2, -1))
        return np.ascontiguousarray(total / self._counts(x.shape, pool_size, strides, padding, x.dtype))

    def avg_pool2d_backward(self, gy, input_shape, pool_size, strides, padding):
        share = gy / self._counts(input_shape, pool_size, strides, padding, gy.dtype)
        return self._scatter(gy, input_shape, pool_size, strides, padding, lambda di, dj: share)

    @staticmethod
    def _scatter(gy, shape, pool_size, strides, padding, part):
        """Sum over window offsets (di, dj) of ``part(di, dj)`` (output-shaped) added at the
        input positions that offset reaches, padding cropped off at the end."""
        n, h, w, c = shape
        t, b, left, right = padding
        (sh, sw), (oh, ow) = strides, gy.shape[1:3]
        g = np.zeros((n, h + t + b, w + left + right, c), gy.dtype)
        for di in range(pool_size[0]):
            for dj in range(pool_size[1]):
                g[:, di:di + sh * (oh - 1) + 1:sh, dj:dj + sw * (ow - 1) + 1:sw] += part(di, dj)
        return np.ascontiguousarray(g[:, t:t + h, left:left + w])

    # ---- convolution family ------------------------------------------------------------
    # A clear loop over the kernel offsets: at offset (ky, kx) every output pixel reads one
    # strided slice of the zero-padded input, and the channels are a matrix product.
    @staticmethod
    def _conv_windows(xp, shape, kernel_size, strides, dilation):
        """(ky, kx, slice of the padded input read at that offset) for every kernel offset."""
        _, oh, ow = shape[:3]
        (kh, kw), (sh, sw), (dh, dw) = kernel_size, strides, dilation
        for ky in range(kh):
            for kx in range(kw):
                yield ky, kx, (slice(None), slice(ky * dh, ky * dh + (oh - 1) * sh + 1, sh),
                               slice(kx * dw, kx * dw + (ow - 1) * sw + 1, sw))

    @staticmethod
    def _conv_out(x_shape, kernel_size, oc, strides, padding, dilation):
        n, h, w, _ = x_shape
        (kh, kw), (sh, sw), (pt, pb, pl, pr), (dh, dw) = kernel_size, strides, padding, dilation
        return (n, (h + pt + pb - (kh - 1) * dh - 1) // sh + 1, (w + pl + pr - (kw - 1) * dw - 1) // sw + 1, oc)

    def conv2d_forward(self, x, w, b=None, strides=(1, 1), padding=(0, 0, 0, 0), dilation=(1, 1), groups=1,
                       activation="linear", alpha=0.0):
        pt, pb, pl, pr = padding
        xp = np.pad(x, ((0, 0), (pt, pb), (pl, pr), (0, 0)))
        kh, kw, cg, oc = w.shape
        ocg = oc // groups
        shape = self._conv_out(x.shape, (kh, kw), oc, strides, padding, dilation)
        y = np.zeros(shape, dtype=x.dtype)
        for ky, kx, win in self._conv_windows(xp, shape, (kh, kw), strides, dilation):
            for g in range(groups):
                y[..., g * ocg:(g + 1) * ocg] += xp[win][..., g * cg:(g + 1) * cg] @ w[ky, kx, :, g * ocg:(g + 1) * ocg]
        if b is not None:
            y = y + b
        return y if activation == "linear" else self.activation_forward(activation, y, alpha)

    def conv2d_backward_input(self, gy, w, x_shape, strides=(1, 1), padding=(0, 0, 0, 0), dilation=(1, 1), groups=1):
        pt, pb, pl, pr = padding
        n, h, wd, c = x_shape
        kh, kw, cg, oc = w.shape
        ocg = oc // groups
        gxp = np.zeros((n, h + pt + pb, wd + pl + pr, c), dtype=gy.dtype)
        for ky, kx, win in self._conv_windows(gxp, gy.shape, (kh, kw), strides, dilation):
            for g in range(groups):
                gxp[win + (slice(g * cg, (g + 1) * cg),)] += gy[..., g * ocg:(g + 1) * ocg] @ w[ky, kx, :, g * ocg:(g + 1) * ocg].T
        return _c(gxp[:, pt:pt + h, pl:pl + wd])

    def conv2d_backward_weight(self, x, gy, kernel_size, strides=(1, 1), padding=(0, 0, 0, 0), dilation=(1, 1), groups=1,
                               need_gb=True):
        pt, pb, pl, pr = padding
        xp = np.pad(x, ((0, 0), (pt, pb), (pl, pr), (0, 0)))
        kh, kw = kernel_size
        c, oc = x.shape[3], gy.shape[3]
        cg, ocg = c // groups, oc // groups
        gw = np.zeros((kh, kw, cg, oc), dtype=x.dtype)
        for ky, kx, win in self._conv_windows(xp, gy.shape, kernel_size, strides, dilation):
            for g in range(groups):
                gw[ky, kx, :, g * ocg:(g + 1) * ocg] = np.tensordot(xp[win][..., g * cg:(g + 1) * cg],
                                                                   gy[..., g * ocg:(g + 1) * ocg], axes=([0, 1, 2], [0, 1, 2]))
        return gw, (_c(gy.sum(axis=(0, 1, 2))) if need_gb else None)

    def im2col(self, x, kernel_size, strides=(1, 1), padding=(0, 0, 0, 0), dilation=(1, 1)):
        pt, pb, pl, pr = padding
        xp = np.pad(x, ((0, 0), (pt, pb), (pl, pr), (0, 0)))
        shape = self._conv_out(x.shape, kernel_size, 1, strides, padding, dilation)
        return _c(np.concatenate([xp[win] for _, _, win in self._conv_windows(xp, shape, kernel_size, strides, dilation)],
                                 axis=-1))

    def col2im(self, col, x_shape, kernel_size, strides=(1, 1), padding=(0, 0, 0, 0), dilation=(1, 1)):
        pt, pb, pl, pr = padding
        n, h, w, c = x_shape
        gxp = np.zeros((n, h + pt + pb, w + pl + pr, c), dtype=col.dtype)
        for i, (_, _, win) in enumerate(self._conv_windows(gxp, col.shape, kernel_size, strides, dilation)):
            gxp[win] += col[..., i * c:(i + 1) * c]
        return _c(gxp[:, pt:pt + h, pl:pl + w])

    # ---- recurrent family: SimpleRNN / GRU / LSTM over a whole sequence (the cell equations step by step) ----
    def rnn_forward(self, kind, x, kernel, recurrent, bias, states, mask=None, reverse=False, activation="tanh",
                    zero_masked=False, save=True):
        n, t, _ = x.shape
        u = recurrent.shape[0]
        dt = x.dtype
        lstm = kind == "lstm"
        h = np.array(states[0], dtype=dt)
        c = np.array(states[1], dtype=dt) if lstm else None
        b_in = b_rec = None
        if bias is not None:
            b_in, b_rec = (bias[0], bias[1]) if kind == "gru" else (bias, None)
        out = np.zeros((n, t + (2 if lstm else 1), u), dtype=dt)
        hprev = np.zeros((n, t, u), dtype=dt)
        cprev = np.zeros((n, t, u), dtype=dt)
        gates = np.zeros((n, t, _RNN_SAVED[kind] * u), dtype=dt)
        prev_out = np.zeros((n, u), dtype=dt)
        for k in range(t):
            tt = t - 1 - k if reverse else k
            xw = x[:, tt] @ kernel + (b_in if b_in is not None else 0)
            hu = h @ recurrent + (b_rec if b_rec is not None else 0)
            hprev[:, tt] = h
            if kind == "simple_rnn":
                hn = np.tanh(xw + hu) if activation == "tanh" else np.maximum(xw + hu, 0)
                gates[:, tt] = hn
            elif kind == "gru":
                z = _sigmoid(xw[:, :u] + hu[:, :u])
                r = _sigmoid(xw[:, u:2 * u] + hu[:, u:2 * u])
                hh = np.tanh(xw[:, 2 * u:] + r * hu[:, 2 * u:])
                hn = z * h + (1 - z) * hh
                gates[:, tt] = np.concatenate([z, r, hh, hu[:, 2 * u:]], axis=1)
            else:
                cprev[:, tt] = c
                i, f = _sigmoid(xw[:, :u] + hu[:, :u]), _sigmoid(xw[:, u:2 * u] + hu[:, u:2 * u])
                g, o = np.tanh(xw[:, 2 * u:3 * u] + hu[:, 2 * u:3 * u]), _sigmoid(xw[:, 3 * u:] + hu[:, 3 * u:])
                cn = f * c + i * g
                tc = np.tanh(cn)
                hn = o * tc
                gates[:, tt] = np.concatenate([i, f, g, o, tc], axis=1)
            m = np.ones((n, 1), dtype=bool) if mask is None else (np.asarray(mask)[:, tt] != 0)[:, None]
            h = np.where(m, hn, h)
            if lstm:
                c = np.where(m, cn, c)
            prev_out = np.where(m, hn, 0 if zero_masked else prev_out).astype(dt)
            out[:, k] = prev_out
        out[:, t] = h
        if lstm:
            out[:, t + 1] = c
        if not save:
            return out, None
        parts = [hprev.ravel()] + ([cprev.ravel()] if lstm else []) + [gates.ravel()]
        return out, np.concatenate(parts).astype(dt)


    def rnn_backward(self, kind, g, saved, x, kernel, recurrent, mask=None, reverse=False, activation="tanh",
                     zero_masked=False, has_bias=True):
        n, t, d = x.shape
        u = recurrent.shape[0]
        dt = x.dtype
        lstm = kind == "lstm"
        cols = _RNN_GATES[kind] * u
        hprev, cprev, gates = _rnn_saved_views(kind, saved, n, t, u)
        dh = np.array(g[:, t], dtype=dt)
        dc = np.array(g[:, t + 1], dtype=dt) if lstm else None
        carry = np.zeros((n, u), dtype=dt)
        dgx = np.zeros((n, t, cols), dtype=dt)   # gradient wrt the pre-activations, input side
        dgr = np.zeros((n, t, cols), dtype=dt)   # ... recurrent side (differs for GRU's h column)
        for k in reversed(range(t)):
            tt = t - 1 - k if reverse else k
            m = np.ones((n, 1), dtype=bool) if mask is None else (np.asarray(mask)[:, tt] != 0)[:, None]
            go = g[:, k] + carry                        # everything that reaches this step's output
            carry = np.where(m | zero_masked, 0, go)    # a masked step's output was the previous one
            dhn = np.where(m, dh + go, 0)               # gradient wrt the newly computed h
            dh_pass = np.where(m, 0, dh)                # a masked step carried the state
            s = gates[:, tt]
            if kind == "simple_rnn":
                d_pre = dhn * (1 - s * s) if activation == "tanh" else dhn * (s > 0)
                dgx[:, tt] = dgr[:, tt] = d_pre
                dh_direct = 0
            elif kind == "gru":
                z, r, hh, hu_h = s[:, :u], s[:, u:2 * u], s[:, 2 * u:3 * u], s[:, 3 * u:]
                d_hh = dhn * (1 - z) * (1 - hh * hh)
                d_z = dhn * (hprev[:, tt] - hh) * z * (1 - z)
                d_r = d_hh * hu_h * r * (1 - r)
                dgx[:, tt] = np.concatenate([d_z, d_r, d_hh], axis=1)
                dgr[:, tt] = np.concatenate([d_z, d_r, d_hh * r], axis=1)
                dh_direct = dhn * z
            else:
                i, f, gg, o, tc = (s[:, j * u:(j + 1) * u] for j in range(5))
                dcn = np.where(m, dc + dhn * o * (1 - tc * tc), 0)
                dgx[:, tt] = dgr[:, tt] = np.concatenate(
                    [dcn * gg * i * (1 - i), dcn * cprev[:, tt] * f * (1 - f), dcn * i * (1 - gg * gg), dhn * tc * o * (1 - o)],
                    axis=1)
                dc = np.where(m, dcn * f, dc)
                dh_direct = 0
            dh = dgr[:, tt] @ recurrent.T + dh_direct + dh_pass
        gx = _c(dgx @ kernel.T)
        gk = _c(x.reshape(n * t, d).T @ dgx.reshape(n * t, cols))
        gr = _c(hprev.reshape(n * t, u).T @ dgr.reshape(n * t, cols))
        gb = None
        if has_bias:
            gb = _c(np.stack([dgx.sum(axis=(0, 1)), dgr.sum(axis=(0, 1))])) if kind == "gru" else _c(dgx.sum(axis=(0, 1)))
        gstates = (_c(dh.astype(dt)), _c(dc.astype(dt))) if lstm else (_c(dh.astype(dt)),)
        return gx, gk, gr, gb, gstates


# ---- norm family helpers: where affine_transform samples, and which pixels it reads ----
def _sample_points(hw, t):
    """Input (row, col) coordinates, float64 (H, W), that each output pixel reads."""
    t = t.astype(np.float64)
    y, x = np.meshgrid(np.arange(hw[0], dtype=np.float64), np.arange(hw[1], dtype=np.float64), indexing="ij")
    k = t[6] * x + t[7] * y + 1.0
    with np.errstate(all="ignore"):
        return (t[3] * x + t[4] * y + t[5]) / k, (t[0] * x + t[1] * y + t[2]) / k


def _fix(i, n, mode):
    """Index inside [0, n) that index i reads, and whether it lies inside (for constant)."""
    inside = (i >= 0) & (i < n)
    if mode in ("constant", "nearest"):
        return np.clip(i, 0, n - 1), inside if mode == "constant" else np.ones_like(inside)
    if mode == "wrap":
        return np.mod(i, n), np.ones_like(inside)
    if mode == "reflect":
        j = np.mod(i, 2 * n)
        return np.where(j >= n, 2 * n - 1 - j, j), np.ones_like(inside)
    if n == 1:  # mirror
        return np.zeros_like(i), np.ones_like(inside)
    j = np.mod(i, 2 * (n - 1))
    return np.where(j >= n, 2 * (n - 1) - j, j), np.ones_like(inside)


def _taps(rows, cols, hw, interpolation, fill_mode):
    """([(row index, col index, weight)], weight of fill_value) for every output pixel."""
    finite = np.isfinite(rows) & np.isfinite(cols)
    rows = np.clip(np.where(finite, rows, 0.0), -1e15, 1e15)
    cols = np.clip(np.where(finite, cols, 0.0), -1e15, 1e15)
    if interpolation == "nearest":
        corners = [(np.round(rows), np.round(cols), np.ones(rows.shape))]  # numpy rounds half to even
    else:
        r0, c0 = np.floor(rows), np.floor(cols)
        wr, wc = rows - r0, cols - c0
        corners = [(r0, c0, (1 - wr) * (1 - wc)), (r0, c0 + 1, (1 - wr) * wc), (r0 + 1, c0, wr * (1 - wc)),
                   (r0 + 1, c0 + 1, wr * wc)]
    taps, fill = [], np.where(finite, 0.0, 1.0)
    for r, c, w in corners:
        (ri, rok), (ci, cok) = _fix(r.astype(np.int64), hw[0], fill_mode), _fix(c.astype(np.int64), hw[1], fill_mode)
        ok = rok & cok & finite
        taps.append((ri, ci, np.where(ok, w, 0.0)))
        fill = fill + np.where(ok | ~finite, 0.0, w)
    return taps, fill


def _patch_taps(kernel_size, strides, dilation, oh, ow):
    """For each tap (u, v) of the kernel, row-major: the rows and columns of the padded
    input it reads at the output positions (slices)."""
    (kh, kw), (sh, sw), (dh, dw) = kernel_size, strides, dilation
    return [(slice(u * dh, u * dh + sh * (oh - 1) + 1, sh), slice(v * dw, v * dw + sw * (ow - 1) + 1, sw))
            for u in range(kh) for v in range(kw)]


def _unfold(x, kernel_size, strides, padding, dilation, oh, ow):
    """The patches of x: ``(N, OH, OW, kh*kw, C)``, zero outside the image."""
    xp = np.pad(x, ((0, 0), (padding[0], padding[1]), (padding[2], padding[3]), (0, 0)))
    return np.stack([xp[:, r, c, :] for r, c in _patch_taps(kernel_size, strides, dilation, oh, ow)], axis=3)


# ---- recurrent family: SimpleRNN / GRU / LSTM over a whole sequence ------------------------
# (helpers of NumpyBackend.rnn_forward / rnn_backward)
_RNN_GATES = {"simple_rnn": 1, "gru": 3, "lstm": 4}
_RNN_SAVED = {"simple_rnn": 1, "gru": 4, "lstm": 5}


def _sigmoid(v):
    return 0.5 * (np.tanh(0.5 * v) + 1.0)


def _rnn_saved_views(kind, saved, n, t, u):
    """(hprev (n,t,u), cprev (n,t,u) or None, gates (n,t,s*u)) viewed in the flat saved buffer."""
    hprev = saved[:n * t * u].reshape(n, t, u)
    off = n * t * u
    cprev = None
    if kind == "lstm":
        cprev = saved[off:off + n * t * u].reshape(n, t, u)
        off += n * t * u
    return hprev, cprev, saved[off:].reshape(n, t, _RNN_SAVED[kind] * u)

