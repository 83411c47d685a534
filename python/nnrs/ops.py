"""nnrs.ops: differentiable operations on Tensors (Keras 3's ``keras.ops`` vocabulary).

Arguments may be Tensors, backend/numpy arrays or Python numbers; the result is a Tensor
that takes part in autograd when an input requires a gradient.
"""

from __future__ import annotations

from numbers import Number

from . import backend as _backend
from . import functions as F
from .tensor import Tensor, as_tensor

__all__ = [
    "convert_to_tensor", "convert_to_numpy", "add", "subtract", "multiply", "divide", "power", "negative",
    "exp", "log", "sqrt", "square", "abs", "sign", "reciprocal", "maximum", "minimum", "clip", "matmul",
    "dense", "sum", "mean", "max", "min", "argmax", "reshape", "transpose", "getitem", "concatenate",
    "flatten", "relu", "sigmoid", "tanh", "softmax", "log_softmax", "leaky_relu", "elu", "selu", "gelu",
    "swish", "silu", "softplus", "activation", "dropout",
]


def convert_to_tensor(x, dtype=None) -> Tensor:
    return as_tensor(x, dtype)


def convert_to_numpy(x):
    return x.numpy() if isinstance(x, Tensor) else _backend.current().to_numpy(x)


def _binary(op, a, b):
    if isinstance(b, Number) and not isinstance(a, Number):
        return F.BinaryScalar.apply(as_tensor(a), float(b), op, False)
    if isinstance(a, Number) and not isinstance(b, Number):
        return F.BinaryScalar.apply(as_tensor(b), float(a), op, True)
    a = as_tensor(a)
    b = as_tensor(b, dtype=a.dtype)
    return F.Binary.apply(a, b, op)


def add(a, b):
    return _binary("add", a, b)


def subtract(a, b):
    return _binary("sub", a, b)


def multiply(a, b):
    return _binary("mul", a, b)


def divide(a, b):
    return _binary("div", a, b)


def maximum(a, b):
    return _binary("maximum", a, b)


def minimum(a, b):
    return _binary("minimum", a, b)


def power(a, p):
    """``a ** p``: a scalar exponent or base is one kernel; two tensors go through exp(p log a)."""
    if not isinstance(p, Number) and not isinstance(a, Number):
        return exp(multiply(p, log(a)))
    return _binary("pow", a, p)


def _unary(op):
    def f(x):
        return F.Unary.apply(as_tensor(x), op)

    f.__name__ = op
    f.__doc__ = f"Elementwise ``{op}(x)``."
    return f


negative = _unary("neg")
exp = _unary("exp")
log = _unary("log")
sqrt = _unary("sqrt")
square = _unary("square")
abs = _unary("abs")  # noqa: A001 - Keras name
sign = _unary("sign")
reciprocal = _unary("reciprocal")


def clip(x, x_min, x_max):
    return F.Clip.apply(as_tensor(x), float(x_min), float(x_max))


def matmul(a, b):
    """``a @ b`` for a (..., m, k) and b (..., k, n): the batch dimensions broadcast as in
    numpy, e.g. (B, m, k) @ (k, n) -> (B, m, n). Both must be at least 2-D (1-D operands
    are not supported: reshape a vector to (1, k) or (k, 1))."""
    a = as_tensor(a)
    b = as_tensor(b, dtype=a.dtype)
    if a.ndim < 2 or b.ndim < 2:
        raise ValueError(f"matmul: both operands must be at least 2-D, got shapes {tuple(a.shape)} and {tuple(b.shape)} "
                         "(1-D operands are not supported: reshape a vector to (1, k) or (k, 1))")
    return F.Matmul.apply(a, b)


def dense(x, kernel, bias=None, activation="linear", alpha=0.0):
    """``activation(x @ kernel + bias)`` as one autograd node (2-D x)."""
    return F.Dense.apply(as_tensor(x), kernel, bias, activation, alpha)


def _reduce(op):
    def f(x, axis=None, keepdims=False):
        return F.Reduce.apply(as_tensor(x), op, axis, keepdims)

    f.__name__ = op
    f.__doc__ = f"``{op}`` over ``axis`` (all axes when None)."
    return f


sum = _reduce("sum")  # noqa: A001 - Keras name
mean = _reduce("mean")
max = _reduce("max")  # noqa: A001 - Keras name
min = _reduce("min")  # noqa: A001 - Keras name


def argmax(x, axis=-1):
    """Indices of the maxima (not differentiable; returns a backend int64 array)."""
    x = as_tensor(x)
    return _backend.current().argmax(x.data, axis)


def reshape(x, shape):
    return F.Reshape.apply(as_tensor(x), tuple(shape))


def transpose(x, axes=None):
    return F.Transpose.apply(as_tensor(x), None if axes is None else tuple(axes))


def getitem(x, idx):
    return F.GetItem.apply(as_tensor(x), idx)


def concatenate(xs, axis=-1):
    xs = [as_tensor(x) for x in xs]
    ax = axis % xs[0].ndim
    return F.Concatenate.apply(ax, *xs)


def flatten(x):
    """(batch, ...) -> (batch, prod(...))."""
    x = as_tensor(x)
    return reshape(x, (x.shape[0], -1))


def activation(x, name, alpha=0.0):
    return F.Activation.apply(as_tensor(x), name, alpha)


def relu(x):
    return activation(x, "relu")


def sigmoid(x):
    return activation(x, "sigmoid")


def tanh(x):
    return activation(x, "tanh")


def softmax(x, axis=-1):
    x = as_tensor(x)
    if axis not in (-1, x.ndim - 1):
        raise ValueError(f"softmax: only the last axis is supported, got axis={axis} for shape {x.shape}")
    return activation(x, "softmax")


def log_softmax(x, axis=-1):
    x = as_tensor(x)
    if axis not in (-1, x.ndim - 1):
        raise ValueError(f"log_softmax: only the last axis is supported, got axis={axis} for shape {x.shape}")
    return activation(x, "log_softmax")


def leaky_relu(x, negative_slope=0.2):
    return activation(x, "leaky_relu", negative_slope)


def elu(x, alpha=1.0):
    return activation(x, "elu", alpha)


def selu(x):
    return activation(x, "selu")


def gelu(x, approximate=False):
    if approximate:
        raise ValueError("gelu: only the exact (erf) form is implemented; pass approximate=False")
    return activation(x, "gelu")


def swish(x):
    return activation(x, "swish")


silu = swish


def softplus(x):
    return activation(x, "softplus")


def dropout(x, rate, seed=None):
    """Inverted dropout with a fresh mask (seeded by ``nnrs.random`` when seed is None)."""
    from . import random as _random

    if not 0.0 <= rate < 1.0:
        raise ValueError(f"dropout: rate must be in [0, 1), got {rate}")
    return F.Dropout.apply(as_tensor(x), float(rate), _random.next_seed() if seed is None else int(seed))
