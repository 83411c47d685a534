"""The reference backend: short, obviously correct numpy. The oracle of every parity test."""

from __future__ import annotations

import math

import numpy as np

from .base import Backend

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


def _norm_axes(axes, ndim):
    if axes is None:
        return tuple(range(ndim))
    if isinstance(axes, int):
        axes = (axes,)
    return tuple(sorted(a % ndim for a in axes))


def _check_float_arrays(kernel, **arrays):
    """The bindings' dtype rule (TypeError): the first array float32 or float64, the others of its dtype."""
    first = None
    for name, x in arrays.items():
        what = f"array of dtype {x.dtype}" if isinstance(x, np.ndarray) else type(x).__name__
        if first is None:
            if not isinstance(x, np.ndarray) or x.dtype not in (np.float32, np.float64):
                raise TypeError(f"{kernel}: {name} must be a float32 or float64 numpy array, got {what}")
            first = x.dtype
        elif not isinstance(x, np.ndarray) or x.dtype != first:
            raise TypeError(f"{kernel}: {name} must have dtype {first}, got {what}")


def _matmul_shape(sa, sb, trans_a, trans_b):
    """Output shape of ``matmul``; a ValueError worded as the Rust binding's for bad shapes."""
    sa, sb = tuple(sa), tuple(sb)
    if len(sa) < 2 or len(sb) < 2:
        raise ValueError(f"matmul: expected a (..., m, k) and b (..., k, n), each at least 2-D, got shapes a {sa} and b {sb}")
    m, ka = sa[-1:-3:-1] if trans_a else sa[-2:]
    kb, n = sb[-1:-3:-1] if trans_b else sb[-2:]
    if ka != kb:
        raise ValueError(f"matmul: inner dimensions differ: a {sa} (trans_a={trans_a}) and b {sb} (trans_b={trans_b}) "
                         f"give k={ka} vs k={kb}")
    try:
        batch = np.broadcast_shapes(sa[:-2], sb[:-2])
    except ValueError:
        raise ValueError(f"matmul: batch dimensions {sa[:-2]} of a {sa} and {sb[:-2]} of b {sb} do not broadcast") from None
    return (*batch, m, n)


class NumpyBackend(Backend):
    name = "numpy"
    xp = np

    def asarray(self, x, dtype=None):
        return np.asarray(x, dtype=dtype)

    def to_numpy(self, a):
        return np.asarray(a)

    # gemm
    def matmul(self, a, b, trans_a=False, trans_b=False):
        _check_float_arrays("matmul", a=a, b=b)
        _matmul_shape(a.shape, b.shape, bool(trans_a), bool(trans_b))
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
        }[op]
        return f(x)

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
        return float(sum(float(np.sum(np.square(a.astype(np.float64)))) for a in arrays))

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
        return float(per.sum() / max(pred.shape[0], 1))

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
            scale = np.full((n, 1), grad / max(n, 1), dtype=pred.dtype)
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
            scale = np.full((n,) + (1,) * (pred.ndim - 1), grad / (max(n, 1) * m), dtype=pred.dtype)
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
