"""nnrs.ops: differentiable operations on Tensors (Keras 3's ``keras.ops`` vocabulary).

Arguments may be Tensors, backend/numpy arrays or Python numbers; the result is a Tensor
that takes part in autograd when an input requires a gradient, on the backend of the
Tensor operands (the active backend when there are none).

Dtype rule (the same on every backend, decided here before any kernel runs): arithmetic
is floating point. Two float operands promote as numpy does (float32 with float64 gives
float64); an integer or bool operand takes the float dtype of the other, or floatx()
when no operand is float. A Python number adapts to the tensor's dtype (Keras' and
numpy 2's weak scalars). Axis arguments outside ``[-ndim, ndim)`` are ValueErrors.
"""

from __future__ import annotations

from numbers import Number

import numpy as np

from . import backend as _backend
from . import config as _config
from . import functions as F
from .backend import contract as _contract
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


def result_dtype(*dtypes) -> np.dtype:
    """The float dtype arithmetic on operands of ``dtypes`` computes in (module docstring)."""
    floats = [np.dtype(d) for d in dtypes if np.dtype(d).kind == "f"]
    if not floats:
        return np.dtype(_config.floatx())
    out = floats[0]
    for d in floats[1:]:
        out = np.promote_types(out, d)
    if out not in _contract.FLOATS:
        raise TypeError(f"nnrs computes in float32 or float64, got operands of dtype {out}")
    return out


def _floating(x: Tensor, dtype=None) -> Tensor:
    """``x`` in ``dtype`` (default: its own dtype when float, else floatx)."""
    dt = np.dtype(dtype) if dtype is not None else result_dtype(x.dtype)
    return x if x.dtype == dt else cast(x, dt)


def _tensors(*xs):
    """The operands as Tensors of one backend (that of the first Tensor among them)."""
    like = next((x for x in xs if isinstance(x, Tensor)), None)
    bk = like.backend if like is not None else None
    return [as_tensor(x, backend=bk) for x in xs]


def _binary(op, a, b):
    if isinstance(b, Number) and not isinstance(b, bool) and not isinstance(a, Number):
        return F.BinaryScalar.apply(_floating(as_tensor(a)), float(b), op, False)
    if isinstance(a, Number) and not isinstance(a, bool) and not isinstance(b, Number):
        return F.BinaryScalar.apply(_floating(as_tensor(b)), float(a), op, True)
    a, b = _tensors(a, b)
    dt = result_dtype(a.dtype, b.dtype)
    return F.Binary.apply(_floating(a, dt), _floating(b, dt), op)


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
    """``a ** p`` elementwise with numpy's results (a negative base with an integer
    exponent is real, with any other exponent NaN; ``0 ** 0 = 1``). The gradient wrt p is
    0 where a <= 0 (see ``Backend.binary_backward``)."""
    return _binary("pow", a, p)


def _unary(op):
    def f(x):
        return F.Unary.apply(_floating(as_tensor(x)), op)

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
    return F.Clip.apply(_floating(as_tensor(x)), float(x_min), float(x_max))


def matmul(a, b):
    """``a @ b`` for a (..., m, k) and b (..., k, n): the batch dimensions broadcast as in
    numpy, e.g. (B, m, k) @ (k, n) -> (B, m, n). Both must be at least 2-D (1-D operands
    are not supported: reshape a vector to (1, k) or (k, 1))."""
    a, b = _tensors(a, b)
    if a.ndim < 2 or b.ndim < 2:
        raise ValueError(f"matmul: both operands must be at least 2-D, got shapes {tuple(a.shape)} and {tuple(b.shape)} "
                         "(1-D operands are not supported: reshape a vector to (1, k) or (k, 1))")
    dt = result_dtype(a.dtype, b.dtype)
    return F.Matmul.apply(_floating(a, dt), _floating(b, dt))


def dense(x, kernel, bias=None, activation="linear", alpha=0.0):
    """``activation(x @ kernel + bias)`` as one autograd node (2-D x); x is cast to the
    kernel's dtype, as a Keras layer casts its inputs to its compute dtype."""
    x, kernel = _tensors(x, kernel)
    x = _floating(x, kernel.dtype)
    if bias is not None:
        bias = _floating(_tensors(kernel, bias)[1], kernel.dtype)
    return F.Dense.apply(x, kernel, bias, activation, alpha)


def _reduce(op):
    def f(x, axis=None, keepdims=False):
        x = _floating(as_tensor(x))
        return F.Reduce.apply(x, op, _contract.norm_axes(op, axis, x.shape), keepdims)

    f.__name__ = op
    f.__doc__ = f"``{op}`` over ``axis`` (all axes when None)."
    return f


sum = _reduce("sum")  # noqa: A001 - Keras name
mean = _reduce("mean")
max = _reduce("max")  # noqa: A001 - Keras name
min = _reduce("min")  # noqa: A001 - Keras name


def argmax(x, axis=-1):
    """Indices (int64 Tensor) of the first maxima along ``axis`` (not differentiable)."""
    x = _floating(as_tensor(x))
    return Tensor.wrap(x.backend.argmax(x.data, axis), x.backend)


def reshape(x, shape):
    return F.Reshape.apply(as_tensor(x), tuple(shape))


def transpose(x, axes=None):
    x = as_tensor(x)
    if axes is not None:
        axes = tuple(_contract.norm_axis("transpose", a, x.shape) for a in axes)
        if sorted(axes) != list(range(x.ndim)):
            raise ValueError(f"transpose: axes {axes} are not a permutation of the {x.ndim} axes of shape {x.shape}")
    return F.Transpose.apply(x, axes)


def getitem(x, idx):
    return F.GetItem.apply(as_tensor(x), idx)


def concatenate(xs, axis=-1):
    xs = _tensors(*xs)
    if not xs:
        raise ValueError("concatenate: needs at least one tensor")
    ax = _contract.norm_axis("concatenate", axis, xs[0].shape)
    for i, x in enumerate(xs[1:], 1):
        if x.ndim != xs[0].ndim or any(a != b for j, (a, b) in enumerate(zip(x.shape, xs[0].shape)) if j != ax):
            raise ValueError(f"concatenate: tensor {i} has shape {x.shape}, which does not match {xs[0].shape} "
                             f"outside axis {axis}")
    if any(x.dtype.kind == "f" for x in xs) or len({x.dtype for x in xs}) > 1:
        dt = result_dtype(*(x.dtype for x in xs))
        xs = [_floating(x, dt) for x in xs]
    return F.Concatenate.apply(ax, *xs)


def flatten(x):
    """(batch, ...) -> (batch, prod(...))."""
    x = as_tensor(x)
    return reshape(x, (x.shape[0], -1))


def activation(x, name, alpha=0.0):
    return F.Activation.apply(_floating(as_tensor(x)), name, alpha)


def relu(x):
    return activation(x, "relu")


def sigmoid(x):
    return activation(x, "sigmoid")


def tanh(x):
    return activation(x, "tanh")


def softmax(x, axis=-1):
    """softmax along ``axis`` (any axis; stable)."""
    return F.Softmax.apply(_floating(as_tensor(x)), axis, False)


def log_softmax(x, axis=-1):
    """log of softmax along ``axis`` (any axis; stable)."""
    return F.Softmax.apply(_floating(as_tensor(x)), axis, True)


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
    return F.Dropout.apply(_floating(as_tensor(x)), float(rate), _random.next_seed() if seed is None else int(seed))


# ---- index & logic: comparisons, where, cast, take, one_hot ---------------------------------
# Comparisons, one_hot and casts to or from integers return Tensors that never require grad.
import numpy as _np  # noqa: E402

__all__ += [
    "equal", "not_equal", "less", "less_equal", "greater", "greater_equal", "where", "cast", "take", "one_hot",
]

_INDEX_DTYPES = (_np.dtype(_np.int32), _np.dtype(_np.int64))


def _home(*xs):
    """The backend the operands live on: that of the first Tensor carrying one, else the active one."""
    for x in xs:
        b = getattr(x, "backend", None) if isinstance(x, Tensor) else None
        if b is not None:
            return b
    return _backend.current()


def _result(data, be):
    """A Tensor that never requires grad around ``data``, an array of backend ``be``."""
    return Tensor.wrap(data, be)


def _float_operands(*xs):
    """``xs`` as Tensors of one float dtype (``result_dtype`` of the non-number operands),
    Python numbers adapting to it (weak scalars)."""
    be = _home(*xs)
    ts = [None if isinstance(x, Number) else x if isinstance(x, Tensor) else _result(be.xp.asarray(x), be) for x in xs]
    dt = result_dtype(*(t.dtype for t in ts if t is not None))
    return [_result(be.xp.asarray(float(x), dtype=dt), be) if t is None else t if t.dtype == dt else cast(t, dt)
            for x, t in zip(xs, ts)]


def _index_array(x, be):
    """``x`` (Tensor, array, list or int) as an int32/int64 array of backend ``be``; other
    integer, bool and float values are cast to int64 (floats truncate), as Keras does."""
    a = x.data if isinstance(x, Tensor) else be.xp.asarray(x)
    return a if a.dtype in _INDEX_DTYPES else be.cast(a, "int64")


def _compare(op):
    def f(x1, x2):
        a, b = _float_operands(x1, x2)
        be = _home(a, b)
        return _result(be.compare(op, a.data, b.data), be)

    f.__name__ = op
    f.__doc__ = f"Elementwise ``{op}(x1, x2)`` with broadcasting: a bool Tensor (no gradient)."
    return f


equal = _compare("equal")
not_equal = _compare("not_equal")
less = _compare("less")
less_equal = _compare("less_equal")
greater = _compare("greater")
greater_equal = _compare("greater_equal")


def where(condition, x1=None, x2=None):
    """``x1`` where ``condition`` else ``x2``, the three broadcast together; the gradient
    flows to x1 and x2. A non-bool condition counts as ``condition != 0``."""
    if x1 is None or x2 is None:
        raise ValueError("where: x1 and x2 are both required (the one-argument form is not supported)")
    be = _home(x1, x2, condition)
    c = condition.data if isinstance(condition, Tensor) else be.xp.asarray(condition)
    if c.dtype != _np.dtype(bool):
        c = be.cast(c, "bool")
    a, b = _float_operands(x1, x2)
    return F.Where.apply(c, a, b)


def cast(x, dtype):
    """``x`` as ``dtype`` (float32, float64, int32, int64, uint8 or bool; see the backend's
    ``cast`` for the rules). Between float dtypes the gradient is cast back; a cast to or
    from an integer or bool dtype has no gradient. The same dtype returns ``x`` itself."""
    x = as_tensor(x)
    be = _home(x)
    try:
        d = _np.dtype(dtype)
    except TypeError:  # not a dtype at all: the kernel's check names the allowed ones
        return _result(be.cast(x.data, dtype), be)
    if d == x.dtype:
        return x
    if d.kind == "f" and x.dtype.kind == "f":
        return F.Cast.apply(x, d)
    return _result(be.cast(x.data, d), be)


def take(x, indices, axis=None):
    """Elements of ``x`` at ``indices`` along ``axis`` (x flattened first when None), with
    shape ``x.shape[:axis] + indices.shape + x.shape[axis+1:]``; negative indices count
    from the end, out-of-range ones are a ValueError. The gradient scatters back (adds)."""
    x = as_tensor(x)
    idx = _index_array(indices, _home(x))
    if axis is None:
        return F.Take.apply(reshape(x, (-1,)), idx, 0)
    return F.Take.apply(x, idx, _contract.norm_axis("take", axis, x.shape))


def one_hot(x, num_classes, axis=-1, dtype=None, sparse=False):
    """``x.shape + (num_classes,)`` Tensor of ``dtype`` (float32 by default, or float64): 1 at
    each index of ``x`` (an integer Tensor or array), 0 elsewhere; an index outside
    ``[0, num_classes)`` gives a row of zeros (as Keras / TF). Only the last axis is supported."""
    be = _home(x)
    idx = _index_array(x, be)
    if axis not in (-1, idx.ndim):
        raise ValueError(f"one_hot: only axis=-1 (the new last axis) is supported, got axis={axis}")
    if sparse:
        raise ValueError("one_hot: sparse=True is not supported")
    return _result(be.one_hot(idx, int(num_classes), "float32" if dtype is None else dtype), be)


# ---- statistics (mean and variance in one kernel, accumulated in float64) ---------------
__all__ += ["moments", "var"]


def moments(x, axes, keepdims=False, synchronized=False):
    """``(mean, variance)`` of x over ``axes`` (Keras' ``ops.moments``): the population
    variance, accumulated in float64 (exact enough for float32 data with a large offset).
    ``synchronized`` (sync across devices) has nothing to do on one device."""
    mv = F.Moments.apply(_floating(as_tensor(x)), axes, keepdims)
    return mv[0], mv[1]


def var(x, axis=None, keepdims=False):
    """Population variance of x over ``axis`` (all axes when None)."""
    return moments(x, axis, keepdims)[1]


# ---- symbolic use: every op above also builds functional-model graph nodes ---------------
from .layers.symbolic import install as _install_symbolic  # noqa: E402

_install_symbolic(globals(), __all__)
