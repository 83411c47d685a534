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

import builtins as _builtins
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
        if x.ndim != xs[0].ndim or _builtins.any(a != b for j, (a, b) in enumerate(zip(x.shape, xs[0].shape)) if j != ax):
            raise ValueError(f"concatenate: tensor {i} has shape {x.shape}, which does not match {xs[0].shape} "
                             f"outside axis {axis}")
    if _builtins.any(x.dtype.kind == "f" for x in xs) or len({x.dtype for x in xs}) > 1:
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


def gelu(x, approximate=True):
    """Gaussian error linear unit. ``approximate=True`` (Keras' default for ``ops.gelu``):
    the tanh form ``0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))``; False: the exact
    ``x * Phi(x)`` (one kernel; what the activation name "gelu" of a layer uses, as Keras'
    ``activations.gelu`` defaults to approximate=False)."""
    if approximate:
        return _gelu_tanh(x)
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


# ---- Keras' numpy-like ops for custom layers, losses and metrics ---------------------------
# Arithmetic runs in backend kernels (the elementwise math is one ``unary`` kernel each;
# the others are compositions of the ops above, so their gradients come from autograd);
# only layout (reshape, slicing, padding, creation of constants) uses ``xp``. Integer
# inputs of float math compute in floatx (see the dtype rule at the top).
import math as _math  # noqa: E402

__all__ += [
    "sin", "cos", "tan", "arcsin", "arccos", "arctan", "sinh", "cosh", "arcsinh", "arccosh", "arctanh",
    "log1p", "expm1", "log2", "log10", "floor", "ceil", "round", "trunc", "rsqrt",
    "true_divide", "floor_divide", "mod", "logaddexp",
    "logical_and", "logical_or", "logical_not", "logical_xor", "isnan", "isinf", "isfinite", "all", "any",
    "std", "logsumexp", "argmin", "cumsum", "norm", "count_nonzero", "average",
    "expand_dims", "squeeze", "ravel", "swapaxes", "moveaxis", "stack", "split", "flip", "roll", "tile", "repeat",
    "broadcast_to", "pad", "triu", "tril",
    "zeros", "ones", "zeros_like", "ones_like", "full", "full_like", "eye", "identity", "arange", "linspace",
    "shape", "ndim", "size", "is_tensor",
    "dot", "tensordot", "outer", "inner",
    "relu6", "hard_sigmoid", "hard_silu", "hard_swish", "softsign", "log_sigmoid", "stop_gradient",
]


def _math_op(op):
    def f(x):
        return F.Math.apply(_floating(as_tensor(x)), op)

    f.__name__ = op
    f.__doc__ = f"Elementwise ``{op}(x)`` (numpy's meaning; integer x computes in floatx)."
    return f


sin, cos, tan = _math_op("sin"), _math_op("cos"), _math_op("tan")
arcsin, arccos, arctan = _math_op("arcsin"), _math_op("arccos"), _math_op("arctan")
sinh, cosh = _math_op("sinh"), _math_op("cosh")
arcsinh, arccosh, arctanh = _math_op("arcsinh"), _math_op("arccosh"), _math_op("arctanh")
log1p, expm1, log2, log10 = _math_op("log1p"), _math_op("expm1"), _math_op("log2"), _math_op("log10")
floor, ceil, trunc = _math_op("floor"), _math_op("ceil"), _math_op("trunc")
_round = _math_op("round")


def round(x, decimals=0):  # noqa: A001 - Keras name
    """``x`` rounded to ``decimals`` decimal places, halves to even (numpy's round): for
    decimals != 0, ``round(x * 10**decimals) / 10**decimals``. The gradient is 0."""
    if not isinstance(decimals, (int, np.integer)) or isinstance(decimals, bool):
        raise TypeError(f"round: decimals must be an int, got {decimals!r}")
    if decimals == 0:
        return _round(x)
    s = 10.0 ** int(decimals)
    return divide(_round(multiply(_floating(as_tensor(x)), s)), s)


def rsqrt(x):
    """``1 / sqrt(x)`` elementwise."""
    return reciprocal(sqrt(x))


def true_divide(x1, x2):
    """``x1 / x2`` (the same as ``divide``)."""
    return divide(x1, x2)


def floor_divide(x1, x2):
    """``floor(x1 / x2)`` elementwise (with broadcasting); no gradient (0)."""
    return floor(divide(x1, x2))


def mod(x1, x2):
    """``x1 - x2 * floor(x1 / x2)``: the remainder with the sign of x2 (numpy's mod).
    Gradients: 1 wrt x1, ``-floor(x1 / x2)`` wrt x2."""
    return subtract(x1, multiply(x2, floor_divide(x1, x2)))


def logaddexp(x1, x2):
    """``log(exp(x1) + exp(x2))`` computed stably: ``max + log1p(exp(-|x1 - x2|))``."""
    a, b = _tensors(x1, x2)
    dt = result_dtype(a.dtype, b.dtype)
    a, b = _floating(a, dt), _floating(b, dt)
    return add(maximum(a, b), log1p(exp(negative(abs(subtract(a, b))))))


# -- logic: bool results, no gradient ------------------------------------------------------
def _bool_data(x, be):
    """``x`` as a bool array of backend ``be`` (``x != 0`` for numbers, by the cast kernel)."""
    a = x.data if isinstance(x, Tensor) else be.xp.asarray(x)
    return a if a.dtype == _np.dtype(bool) else be.cast(a, "bool")


def _as_float01(x, be):
    """``x`` as float32 zeros and ones (the truth of each element)."""
    return be.cast(_bool_data(x, be), "float32")


def logical_not(x):
    be = _home(x)
    return _result(be.compare("equal", _as_float01(x, be), be.xp.zeros((), _np.float32)), be)


def logical_and(x1, x2):
    be = _home(x1, x2)
    return _result(be.cast(be.binary("mul", _as_float01(x1, be), _as_float01(x2, be)), "bool"), be)


def logical_or(x1, x2):
    be = _home(x1, x2)
    return _result(be.cast(be.binary("maximum", _as_float01(x1, be), _as_float01(x2, be)), "bool"), be)


def logical_xor(x1, x2):
    be = _home(x1, x2)
    return _result(be.compare("not_equal", _as_float01(x1, be), _as_float01(x2, be)), be)


def isnan(x):
    x = _floating(as_tensor(x))
    return not_equal(x, x)


def isinf(x):
    x = _floating(as_tensor(x))
    return equal(abs(x), float("inf"))


def isfinite(x):
    x = _floating(as_tensor(x))
    return less(abs(x), float("inf"))


def _count_true(x, axis, keepdims, be):
    t = _bool_data(x, be)
    return be.reduce("sum", be.cast(t, "float64"), _contract.norm_axes("reduce", axis, t.shape), keepdims)


def all(x, axis=None, keepdims=False):  # noqa: A001 - Keras name
    """Whether every element along ``axis`` (all axes when None) is true (non-zero)."""
    be = _home(x)
    n_false = _count_true(logical_not(x), axis, keepdims, be)
    return _result(be.compare("equal", n_false, be.xp.zeros((), _np.float64)), be)


def any(x, axis=None, keepdims=False):  # noqa: A001 - Keras name
    """Whether some element along ``axis`` (all axes when None) is true (non-zero)."""
    be = _home(x)
    return _result(be.compare("greater", _count_true(x, axis, keepdims, be), be.xp.zeros((), _np.float64)), be)


def count_nonzero(x, axis=None):
    """The number of non-zero elements along ``axis`` (all when None), as int32."""
    be = _home(x)
    return _result(be.cast(_count_true(x, axis, False, be), "int32"), be)


# -- reductions ----------------------------------------------------------------------------
def std(x, axis=None, keepdims=False):
    """Population standard deviation over ``axis`` (all axes when None)."""
    return sqrt(var(x, axis, keepdims))


def _drop_axes(t, axes, keepdims):
    """``t`` (reduced with keepdims) without the reduced ``axes`` unless ``keepdims``."""
    if keepdims:
        return t
    return reshape(t, tuple(s for i, s in enumerate(t.shape) if i not in axes))


def logsumexp(x, axis=None, keepdims=False):
    """``log(sum(exp(x)))`` over ``axis`` (all axes when None), computed stably around the
    maximum (held constant for the gradient, which is softmax(x))."""
    x = _floating(as_tensor(x))
    axes = _contract.norm_axes("logsumexp", axis, x.shape)
    m = stop_gradient(max(x, axes, keepdims=True))
    m = where(isfinite(m), m, 0.0)  # an all -inf slice gives -inf, not NaN
    out = add(log(sum(exp(subtract(x, m)), axes, keepdims=True)), m)
    return _drop_axes(out, axes, keepdims)


def argmin(x, axis=None, keepdims=False):
    """Indices (int32, as Keras) of the first minima along ``axis`` (of the flattened x
    when None). Not differentiable."""
    x = _floating(as_tensor(x))
    if axis is None:
        idx = argmax(negative(reshape(x, (-1,))), 0)
        out_shape = (1,) * x.ndim if keepdims else ()
    else:
        ax = _contract.norm_axis("argmin", axis, x.shape)
        idx = argmax(negative(x), ax)
        out_shape = tuple(1 if i == ax else s for i, s in enumerate(x.shape)) if keepdims else idx.shape
    return cast(reshape(idx, out_shape), "int32")


_SCAN_BLOCK = 256


def _cumsum_last(x):
    """Inclusive cumulative sum along the last axis: blocks of ``_SCAN_BLOCK`` through a
    matmul with an upper-triangular matrix of ones, block totals recursively."""
    n = x.shape[-1]
    xp = x.backend.xp
    if x.ndim == 1:  # matmul needs a matrix
        return reshape(_cumsum_last(reshape(x, (1, n))), (n,))
    if n <= _SCAN_BLOCK:
        return matmul(x, Tensor.wrap(xp.triu(xp.ones((n, n), dtype=x.dtype)), x.backend))
    nb = -(-n // _SCAN_BLOCK)
    lead = x.shape[:-1]
    if nb * _SCAN_BLOCK != n:
        x = pad(x, [(0, 0)] * (x.ndim - 1) + [(0, nb * _SCAN_BLOCK - n)])
    blocks = _cumsum_last(reshape(x, lead + (nb, _SCAN_BLOCK)))
    totals = getitem(blocks, (Ellipsis, -1))
    before = subtract(_cumsum_last(totals), totals)  # the sum of every earlier block
    out = reshape(add(blocks, expand_dims(before, -1)), lead + (nb * _SCAN_BLOCK,))
    return getitem(out, (Ellipsis, slice(0, n)))


def cumsum(x, axis=None, dtype=None):
    """Cumulative sum along ``axis`` (of the flattened x when None)."""
    x = _floating(as_tensor(x)) if dtype is None else _floating(as_tensor(x), dtype)
    if axis is None:
        x, axis = reshape(x, (-1,)), 0
    ax = _contract.norm_axis("cumsum", axis, x.shape)
    if x.shape[ax] == 0:
        return x
    last = x.ndim - 1
    return moveaxis(_cumsum_last(moveaxis(x, ax, last)), last, ax)


def norm(x, ord=None, axis=None, keepdims=False):  # noqa: A002 - Keras name
    """Vector or matrix norm (numpy's / Keras' ``norm``). ``axis`` None: the 2-norm of all
    elements when ord is None, else x must be 1-D (vector norm) or 2-D (matrix norm).
    Vector ords: None/2, 1, inf, -inf, 0 (count of non-zeros) and any other number p
    (``sum(|x|**p)**(1/p)``). Matrix ords: None/"fro", 1, -1, inf, -inf; 2, -2 and "nuc"
    (singular values) are not supported."""
    x = _floating(as_tensor(x))
    if axis is None:
        if ord is None:
            return _drop_axes(sqrt(sum(square(x), None, keepdims=True)), tuple(range(x.ndim)), keepdims)
        if x.ndim not in (1, 2):
            raise ValueError(f"norm: with ord={ord!r} and axis=None, x must be 1-D or 2-D, got shape {x.shape}")
        axis = tuple(range(x.ndim))
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    axes = tuple(_contract.norm_axis("norm", a, x.shape) for a in axes)
    if len(axes) == 1:
        a = axes
        if ord is None or ord == 2:
            out = sqrt(sum(square(x), a, keepdims=True))
        elif ord == float("inf"):
            out = max(abs(x), a, keepdims=True)
        elif ord == float("-inf"):
            out = min(abs(x), a, keepdims=True)
        elif ord == 0:
            out = sum(cast(not_equal(x, 0.0), x.dtype), a, keepdims=True)
        elif ord == 1:
            out = sum(abs(x), a, keepdims=True)
        elif isinstance(ord, (int, float, np.integer, np.floating)) and not isinstance(ord, bool):
            out = power(sum(power(abs(x), float(ord)), a, keepdims=True), 1.0 / float(ord))
        else:
            raise ValueError(f"norm: ord {ord!r} is not a vector norm")
    elif len(axes) == 2:
        r, c = axes
        if r == c:
            raise ValueError(f"norm: the two axes must differ, got {axis}")
        if ord is None or ord == "fro":
            out = sqrt(sum(square(x), axes, keepdims=True))
        elif ord in (1, -1, float("inf"), float("-inf")):
            # 1: the largest column sum of |x| (sum over rows); inf: the largest row sum
            inner_ax, outer_ax = (r, c) if ord in (1, -1) else (c, r)
            sums = sum(abs(x), inner_ax, keepdims=True)
            out = max(sums, outer_ax, keepdims=True) if ord > 0 else min(sums, outer_ax, keepdims=True)
        else:
            raise ValueError(f"norm: matrix ord {ord!r} is not supported (only None, 'fro', 1, -1, inf, -inf)")
    else:
        raise ValueError(f"norm: axis must be an int or a pair of ints, got {axis}")
    return _drop_axes(out, axes, keepdims)


def average(x, axis=None, weights=None):
    """Mean of x along ``axis`` (all axes when None) weighted by ``weights``: an array of
    x's shape, or 1-D of the length of ``axis``. ``sum(x * w) / sum(w)``."""
    if weights is None:
        return mean(x, axis)
    x, w = _tensors(x, weights)
    dt = result_dtype(x.dtype, w.dtype)
    x, w = _floating(x, dt), _floating(w, dt)
    if axis is not None and w.ndim == 1 and x.ndim > 1:
        ax = _contract.norm_axis("average", axis, x.shape)
        if w.shape[0] != x.shape[ax]:
            raise ValueError(f"average: 1-D weights of length {w.shape[0]} do not fit axis {axis} of shape {x.shape}")
        w = reshape(w, tuple(-1 if i == ax else 1 for i in range(x.ndim)))
    elif w.shape != x.shape:
        raise ValueError(f"average: weights of shape {w.shape} must have x's shape {x.shape} "
                         "(or be 1-D along a given axis)")
    return divide(sum(multiply(x, w), axis), sum(broadcast_to(w, x.shape), axis))


# -- layout ----------------------------------------------------------------------------------
def expand_dims(x, axis):
    """x with new axes of size 1 at ``axis`` (an int or a tuple, positions in the result)."""
    x = as_tensor(x)
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    nd = x.ndim + len(axes)
    axes = _contract.norm_axes("expand_dims", axes, (1,) * nd)
    shape = list(x.shape)
    for a in axes:
        shape.insert(a, 1)
    return reshape(x, tuple(shape))


def squeeze(x, axis=None):
    """x without its axes of size 1 (only ``axis`` when given; each must have size 1)."""
    x = as_tensor(x)
    if axis is None:
        axes = tuple(i for i, s in enumerate(x.shape) if s == 1)
    else:
        axes = _contract.norm_axes("squeeze", axis, x.shape)
        for a in axes:
            if x.shape[a] != 1:
                raise ValueError(f"squeeze: axis {a} of shape {x.shape} has size {x.shape[a]}, not 1")
    return reshape(x, tuple(s for i, s in enumerate(x.shape) if i not in axes))


def ravel(x):
    """x as a 1-D tensor (C order)."""
    return reshape(as_tensor(x), (-1,))


def swapaxes(x, axis1, axis2):
    x = as_tensor(x)
    perm = list(range(x.ndim))
    a, b = _contract.norm_axis("swapaxes", axis1, x.shape), _contract.norm_axis("swapaxes", axis2, x.shape)
    perm[a], perm[b] = perm[b], perm[a]
    return transpose(x, perm)


def moveaxis(x, source, destination):
    """x with the axes ``source`` moved to positions ``destination`` (ints or sequences)."""
    x = as_tensor(x)
    src = (source,) if isinstance(source, (int, np.integer)) else tuple(source)
    dst = (destination,) if isinstance(destination, (int, np.integer)) else tuple(destination)
    if len(src) != len(dst):
        raise ValueError(f"moveaxis: source {source} and destination {destination} differ in length")
    src = [_contract.norm_axis("moveaxis", a, x.shape) for a in src]
    dst = [_contract.norm_axis("moveaxis", a, x.shape) for a in dst]
    rest = [i for i in range(x.ndim) if i not in src]
    for d, s in sorted(zip(dst, src)):
        rest.insert(d, s)
    return x if rest == list(range(x.ndim)) else transpose(x, rest)


def stack(x, axis=0):
    """The tensors of the sequence ``x`` (one shape) joined along a new axis ``axis``."""
    xs = _tensors(*x)
    if not xs:
        raise ValueError("stack: needs at least one tensor")
    for i, t in enumerate(xs[1:], 1):
        if t.shape != xs[0].shape:
            raise ValueError(f"stack: tensor {i} has shape {t.shape}, tensor 0 has {xs[0].shape}")
    ax = _contract.norm_axis("stack", axis, (1,) * (xs[0].ndim + 1))
    return concatenate([expand_dims(t, ax) for t in xs], ax)


def split(x, indices_or_sections, axis=0):
    """A list of pieces of x along ``axis``: ``indices_or_sections`` equal pieces (the size
    must divide evenly) or the pieces between the given indices."""
    x = as_tensor(x)
    ax = _contract.norm_axis("split", axis, x.shape)
    n = x.shape[ax]
    if isinstance(indices_or_sections, (int, np.integer)):
        k = int(indices_or_sections)
        if k <= 0 or n % k:
            raise ValueError(f"split: axis {axis} of size {n} does not split into {k} equal sections")
        cuts = [i * (n // k) for i in range(1, k)]
    else:
        cuts = [int(c) for c in indices_or_sections]
    bounds = [0] + [c if c >= 0 else c + n for c in cuts] + [n]
    pre = (slice(None),) * ax
    return [getitem(x, pre + (slice(lo, _builtins.max(lo, hi)),)) for lo, hi in zip(bounds[:-1], bounds[1:])]


def flip(x, axis=None):
    """x reversed along ``axis`` (an int, a tuple, or all axes when None)."""
    x = as_tensor(x)
    axes = _contract.norm_axes("flip", axis, x.shape)
    return getitem(x, tuple(slice(None, None, -1) if i in axes else slice(None) for i in range(x.ndim)))


def roll(x, shift, axis=None):
    """x shifted by ``shift`` places along ``axis`` (the flattened x when None), the
    elements pushed off one end coming back at the other."""
    x = as_tensor(x)
    if axis is None:
        return reshape(roll(reshape(x, (-1,)), shift, 0), x.shape)
    shifts = (shift,) if isinstance(shift, (int, np.integer)) else tuple(shift)
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    if len(shifts) != len(axes):
        shifts = shifts * len(axes) if len(shifts) == 1 else None
        if shifts is None:
            raise ValueError(f"roll: shift {shift} and axis {axis} differ in length")
    for s, a in zip(shifts, axes):
        a = _contract.norm_axis("roll", a, x.shape)
        n = x.shape[a]
        s = int(s) % n if n else 0
        if s:
            pre = (slice(None),) * a
            x = concatenate([getitem(x, pre + (slice(n - s, n),)), getitem(x, pre + (slice(0, n - s),))], a)
    return x


def _take_along(x, idx, axis):
    return F.Take.apply(x, x.backend.xp.asarray(idx, dtype=_np.int64), axis)


def tile(x, repeats):
    """x repeated ``repeats[i]`` times along each axis i (numpy's tile: a shorter
    ``repeats`` applies to the last axes, a longer one adds leading axes)."""
    x = as_tensor(x)
    reps = (int(repeats),) if isinstance(repeats, (int, np.integer)) else tuple(int(r) for r in repeats)
    if len(reps) > x.ndim:
        x = reshape(x, (1,) * (len(reps) - x.ndim) + x.shape)
    reps = (1,) * (x.ndim - len(reps)) + reps
    for a, r in enumerate(reps):
        if r < 0:
            raise ValueError(f"tile: repeats must be >= 0, got {repeats}")
        if r != 1:
            x = _take_along(x, _np.tile(_np.arange(x.shape[a]), r), a)
    return x


def repeat(x, repeats, axis=None):
    """Each element of x repeated ``repeats`` times (an int, or one count per element)
    along ``axis`` (of the flattened x when None)."""
    x = as_tensor(x)
    if axis is None:
        x, axis = reshape(x, (-1,)), 0
    ax = _contract.norm_axis("repeat", axis, x.shape)
    r = _np.asarray(repeats.numpy() if isinstance(repeats, Tensor) else repeats)
    if r.ndim > 1 or (r.ndim == 1 and r.shape[0] not in (1, x.shape[ax])) or (r < 0).any():
        raise ValueError(f"repeat: repeats must be a count >= 0 or one per element of axis {axis} "
                         f"(size {x.shape[ax]}), got {repeats}")
    return _take_along(x, _np.repeat(_np.arange(x.shape[ax]), r), ax)


def broadcast_to(x, shape):
    """x broadcast to ``shape`` (numpy's rules); the gradient sums back to x's shape."""
    x = as_tensor(x)
    shape = tuple(int(s) for s in shape)
    if _contract.broadcast_shape("broadcast_to", x.shape, shape) != shape:
        raise ValueError(f"broadcast_to: shape {x.shape} cannot be broadcast to {shape}")
    return x if x.shape == shape else F.BroadcastTo.apply(x, shape)


def pad(x, pad_width, mode="constant", constant_values=None):
    """x padded with ``pad_width`` (``((before, after), ...)`` per axis, one pair for all
    axes, or one int) elements of ``constant_values`` (0 when None). Only
    ``mode="constant"`` is supported."""
    if mode != "constant":
        raise ValueError(f"pad: mode={mode!r} is not supported (only 'constant')")
    x = as_tensor(x)
    w = _np.asarray(pad_width, dtype=_np.int64)
    try:
        w = _np.broadcast_to(w.reshape(-1, 2) if w.size == 2 and w.ndim == 1 else w, (x.ndim, 2))
    except ValueError:
        raise ValueError(f"pad: pad_width {pad_width} does not fit {x.ndim} axes") from None
    if (w < 0).any():
        raise ValueError(f"pad: pad_width must be >= 0, got {pad_width}")
    widths = tuple((int(a), int(b)) for a, b in w)
    value = 0 if constant_values is None else constant_values
    return F.Pad.apply(x, widths, value)


def _tri_mask(x, k, upper):
    xp = x.backend.xp
    n, m = x.shape[-2:]
    low = xp.tri(n, m, k - 1 if upper else k, dtype=bool)  # True at j <= i + k (- 1 for the upper part)
    return ~low if upper else low


def triu(x, k=0):
    """x with the elements below the k-th diagonal of its last two axes set to 0."""
    x = _floating(as_tensor(x))
    if x.ndim < 2:
        raise ValueError(f"triu: x must be at least 2-D, got shape {x.shape}")
    return where(_tri_mask(x, int(k), True), x, 0.0)


def tril(x, k=0):
    """x with the elements above the k-th diagonal of its last two axes set to 0."""
    x = _floating(as_tensor(x))
    if x.ndim < 2:
        raise ValueError(f"tril: x must be at least 2-D, got shape {x.shape}")
    return where(_tri_mask(x, int(k), False), x, 0.0)


# -- creation (on the active backend) ---------------------------------------------------------
def _dtype_or_floatx(dtype):
    return _np.dtype(_config.floatx() if dtype is None else dtype)


def _new(a):
    be = _backend.current()
    return Tensor.wrap(be.asarray(a), be)


def _shape_arg(shape):
    return (int(shape),) if isinstance(shape, (int, np.integer)) else tuple(int(s) for s in shape)


def zeros(shape, dtype=None):
    return _new(_np.zeros(_shape_arg(shape), _dtype_or_floatx(dtype)))


def ones(shape, dtype=None):
    return _new(_np.ones(_shape_arg(shape), _dtype_or_floatx(dtype)))


def full(shape, fill_value, dtype=None):
    """``shape`` filled with ``fill_value``, in floatx unless ``dtype`` is given (as Keras)."""
    v = fill_value.numpy() if isinstance(fill_value, Tensor) else fill_value
    return _new(_np.full(_shape_arg(shape), v, _dtype_or_floatx(dtype)))


def _like(x, value, dtype):
    x = as_tensor(x)
    be = x.backend
    return Tensor.wrap(be.xp.full(x.shape, value, dtype=x.dtype if dtype is None else _np.dtype(dtype)), be)


def zeros_like(x, dtype=None):
    return _like(x, 0, dtype)


def ones_like(x, dtype=None):
    return _like(x, 1, dtype)


def full_like(x, fill_value, dtype=None):
    return _like(x, fill_value.numpy() if isinstance(fill_value, Tensor) else fill_value, dtype)


def eye(N, M=None, k=0, dtype=None):  # noqa: N803 - Keras names
    """An N x M (M = N when None) matrix with ones on the k-th diagonal."""
    return _new(_np.eye(int(N), None if M is None else int(M), int(k), dtype=_dtype_or_floatx(dtype)))


def identity(n, dtype=None):
    return eye(n, dtype=dtype)


def arange(start, stop=None, step=None, dtype=None):
    """Evenly spaced values in ``[start, stop)`` (``[0, start)`` when stop is None); int32
    when every bound is an int, else floatx, unless ``dtype`` is given."""
    if stop is None:
        start, stop = 0, start
    step = 1 if step is None else step
    if dtype is None:
        ints = _builtins.all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in (start, stop, step))
        dtype = "int32" if ints else _config.floatx()
    return _new(_np.arange(start, stop, step, dtype=_np.dtype(dtype)))


def linspace(start, stop, num=50, endpoint=True, retstep=False, dtype=None, axis=0):
    """``num`` evenly spaced values from start to stop (included when ``endpoint``), in
    floatx unless ``dtype`` is given; with ``retstep``, also the spacing."""
    out = _np.linspace(start, stop, int(num), endpoint=endpoint, retstep=retstep, dtype=_np.float64, axis=axis)
    vals, step = out if retstep else (out, None)
    t = _new(vals.astype(_dtype_or_floatx(dtype)))
    return (t, step) if retstep else t


# -- information ---------------------------------------------------------------------------
def shape(x):
    """The shape of x as a tuple of ints."""
    return tuple(x.shape) if hasattr(x, "shape") else _np.shape(x)


def ndim(x):
    return len(shape(x))


def size(x):
    """The number of elements of x."""
    return _math.prod(shape(x))


def is_tensor(x):
    """Whether x is an nnrs Tensor (or Variable)."""
    return isinstance(x, Tensor)


# -- products ------------------------------------------------------------------------------------
def tensordot(x1, x2, axes=2):
    """Sum of products over ``axes`` of x1 and x2: an int n (the last n axes of x1 with the
    first n of x2) or a pair of axis lists; one matmul after moving the summed axes."""
    a, b = _tensors(x1, x2)
    dt = result_dtype(a.dtype, b.dtype)
    a, b = _floating(a, dt), _floating(b, dt)
    if isinstance(axes, (int, np.integer)):
        n = int(axes)
        if n < 0 or n > a.ndim or n > b.ndim:
            raise ValueError(f"tensordot: axes={axes} does not fit shapes {a.shape} and {b.shape}")
        ax_a, ax_b = list(range(a.ndim - n, a.ndim)), list(range(n))
    else:
        ax_a, ax_b = axes
        ax_a = [ax_a] if isinstance(ax_a, (int, np.integer)) else list(ax_a)
        ax_b = [ax_b] if isinstance(ax_b, (int, np.integer)) else list(ax_b)
        if len(ax_a) != len(ax_b):
            raise ValueError(f"tensordot: axes {axes} pair {len(ax_a)} axes of x1 with {len(ax_b)} of x2")
        ax_a = [_contract.norm_axis("tensordot", i, a.shape) for i in ax_a]
        ax_b = [_contract.norm_axis("tensordot", i, b.shape) for i in ax_b]
    for i, j in zip(ax_a, ax_b):
        if a.shape[i] != b.shape[j]:
            raise ValueError(f"tensordot: axis {i} of x1 {a.shape} and axis {j} of x2 {b.shape} differ in size")
    free_a = [i for i in range(a.ndim) if i not in ax_a]
    free_b = [i for i in range(b.ndim) if i not in ax_b]
    k = _math.prod(a.shape[i] for i in ax_a)
    am = reshape(transpose(a, free_a + ax_a) if a.ndim else a, (_math.prod(a.shape[i] for i in free_a), k))
    bm = reshape(transpose(b, ax_b + free_b) if b.ndim else b, (k, _math.prod(b.shape[i] for i in free_b)))
    return reshape(matmul(am, bm), tuple(a.shape[i] for i in free_a) + tuple(b.shape[i] for i in free_b))


def dot(x1, x2):
    """numpy's dot: a product for a scalar operand, else the sum over the last axis of x1
    and the second-to-last of x2 (the only one when x2 is 1-D)."""
    a, b = _tensors(x1, x2)
    if a.ndim == 0 or b.ndim == 0:
        return multiply(a, b)
    return tensordot(a, b, ([-1], [0 if b.ndim == 1 else -2]))


def inner(x1, x2):
    """The sum of products over the last axes of x1 and x2 (a product for a scalar)."""
    a, b = _tensors(x1, x2)
    if a.ndim == 0 or b.ndim == 0:
        return multiply(a, b)
    return tensordot(a, b, ([-1], [-1]))


def outer(x1, x2):
    """``ravel(x1)[:, None] * ravel(x2)[None, :]``."""
    a, b = _tensors(x1, x2)
    return multiply(reshape(a, (-1, 1)), reshape(b, (1, -1)))


# -- activations (compositions of the ops above) -------------------------------------------
def relu6(x):
    """``min(max(x, 0), 6)``."""
    return clip(x, 0.0, 6.0)


def hard_sigmoid(x):
    """``relu6(x + 3) / 6`` (Keras 3's hard_sigmoid)."""
    return divide(relu6(add(_floating(as_tensor(x)), 3.0)), 6.0)


def hard_silu(x):
    """``x * hard_sigmoid(x)``."""
    x = _floating(as_tensor(x))
    return multiply(x, hard_sigmoid(x))


hard_swish = hard_silu


def softsign(x):
    """``x / (1 + |x|)``."""
    x = _floating(as_tensor(x))
    return divide(x, add(abs(x), 1.0))


def log_sigmoid(x):
    """``log(sigmoid(x)) = -softplus(-x)`` (stable)."""
    return negative(softplus(negative(_floating(as_tensor(x)))))


def stop_gradient(x):
    """x as a constant: the same values, no gradient flows back through it."""
    return as_tensor(x).detach()


def _gelu_tanh(x):
    """``0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))``."""
    x = _floating(as_tensor(x))
    inner_ = multiply(add(x, multiply(power(x, 3.0), 0.044715)), _math.sqrt(2.0 / _math.pi))
    return multiply(multiply(x, 0.5), add(tanh(inner_), 1.0))


# -- sorting (the argsort kernel; values gathered with take, so sort and top_k have a gradient)
__all__ += ["argsort", "sort", "top_k"]


def _argsort_last(x: Tensor):
    """int64 backend array: the indices sorting ``x`` along its last axis."""
    return x.backend.argsort(x.data)


def _gather_last(x: Tensor, idx):
    """``x[..., idx[..., j]]`` row by row (idx an int64 backend array of x's leading
    shape): one take on the flattened x, so the gradient scatters back."""
    xp = x.backend.xp
    n, m = x.shape[-1], idx.shape[-1]
    rows = _math.prod(x.shape[:-1])
    flat = (idx.reshape(rows, m) + (xp.arange(rows, dtype=_np.int64) * n)[:, None]).reshape(idx.shape)
    return F.Take.apply(reshape(x, (-1,)), flat, 0)


def argsort(x, axis=-1):
    """Indices (int32, as Keras) that sort x along ``axis`` (the flattened x when None):
    ascending, stable, NaN last. Not differentiable."""
    x = _floating(as_tensor(x))
    if axis is None:
        x, axis = reshape(x, (-1,)), 0
    if x.ndim == 0:
        return cast(Tensor.wrap(x.backend.argsort(x.data), x.backend), "int32")
    ax = _contract.norm_axis("argsort", axis, x.shape)
    last = x.ndim - 1
    idx = Tensor.wrap(_argsort_last(moveaxis(x, ax, last)), x.backend)
    return cast(moveaxis(idx, last, ax) if ax != last else idx, "int32")


def sort(x, axis=-1):
    """x sorted ascending along ``axis`` (NaN last); the gradient goes back to where each
    value came from."""
    x = _floating(as_tensor(x))
    if axis is None:
        x, axis = reshape(x, (-1,)), 0
    ax = _contract.norm_axis("sort", axis, x.shape)
    last = x.ndim - 1
    xt = moveaxis(x, ax, last)
    out = _gather_last(xt, _argsort_last(xt))
    return moveaxis(out, last, ax)


def top_k(x, k, sorted=True):  # noqa: A002 - Keras name
    """``(values, indices)`` of the k largest elements along the last axis, largest first
    (ties: the lower index first); indices are int32. ``sorted=False`` is accepted and
    returns them sorted too."""
    x = _floating(as_tensor(x))
    if x.ndim == 0:
        raise ValueError("top_k: x must have at least one axis, got a scalar")
    k = int(k)
    if not 0 <= k <= x.shape[-1]:
        raise ValueError(f"top_k: k={k} is out of range for a last axis of size {x.shape[-1]}")
    order = x.backend.argsort(negative(x).data)
    idx = x.backend.xp.ascontiguousarray(order[..., :k])
    values = reshape(_gather_last(x, idx), x.shape[:-1] + (k,))
    return values, cast(Tensor.wrap(idx, x.backend), "int32")


# -- more Keras names custom code reaches for ---------------------------------------------------
__all__ += ["absolute", "amax", "amin", "divide_no_nan", "take_along_axis", "einsum"]


def absolute(x):
    """``|x|`` (Keras' other name for ``abs``)."""
    return abs(x)


def amax(x, axis=None, keepdims=False):
    """Maximum over ``axis`` (all axes when None), as ``max``."""
    return max(x, axis, keepdims)


def amin(x, axis=None, keepdims=False):
    """Minimum over ``axis`` (all axes when None), as ``min``."""
    return min(x, axis, keepdims)


def divide_no_nan(x1, x2):
    """``x1 / x2``, and 0 where x2 is 0 (no inf or NaN there, nor in the gradient)."""
    a, b = _float_operands(x1, x2)
    zero = equal(b, 0.0)
    return where(zero, 0.0, divide(a, where(zero, 1.0, b)))


def take_along_axis(x, indices, axis=None):
    """``x`` gathered along ``axis`` at ``indices`` (integers of x's shape except along
    axis; negative ones count from the end), numpy's ``take_along_axis``; the flattened x
    when axis is None. The gradient scatters back."""
    x = _floating(as_tensor(x))
    be = x.backend
    idx = _index_array(indices, be)
    if axis is None:
        x, axis = reshape(x, (-1,)), 0
    ax = _contract.norm_axis("take_along_axis", axis, x.shape)
    if idx.ndim != x.ndim or _builtins.any(i != s for d, (i, s) in enumerate(zip(idx.shape, x.shape)) if d != ax):
        raise ValueError(f"take_along_axis: indices of shape {tuple(idx.shape)} must have x's shape {x.shape} "
                         f"outside axis {axis}")
    last = x.ndim - 1
    xt = moveaxis(x, ax, last)
    it = be.xp.ascontiguousarray(be.xp.moveaxis(idx, ax, last)).astype(_np.int64)
    n = xt.shape[-1]
    bad = (it < -n) | (it >= n)
    if bool(be.to_numpy(bad.any())):
        raise ValueError(f"take_along_axis: an index is out of bounds for axis {axis} with size {n}")
    it = it % n if n else it  # negative indices from the end (layout arithmetic on indices only)
    return moveaxis(_gather_last(xt, it), last, ax)


def _einsum_parse(subscripts, n_ops):
    if "..." in subscripts:
        raise ValueError("einsum: ellipsis ('...') is not supported; name every axis")
    spec = subscripts.replace(" ", "")
    ins, arrow, out = spec.partition("->")
    terms = ins.split(",")
    if len(terms) != n_ops:
        raise ValueError(f"einsum: {subscripts!r} names {len(terms)} operands, got {n_ops}")
    if not arrow:  # implicit output: the labels seen once, sorted
        seen = "".join(terms)
        out = "".join(sorted(c for c in set(seen) if seen.count(c) == 1))
    for t in terms + [out]:
        if not t.isalpha() and t:
            raise ValueError(f"einsum: subscripts must be letters, got {subscripts!r}")
        if len(set(t)) != len(t):
            raise ValueError(f"einsum: a label repeated within one operand or the output ({t!r}) is not supported")
    return terms, out


def _einsum_reduce(x, term, keep):
    """Sum x over the labels of ``term`` not in ``keep``; returns (x, remaining term)."""
    drop = tuple(i for i, c in enumerate(term) if c not in keep)
    if drop:
        x = sum(x, drop)
        term = "".join(c for c in term if c in keep)
    return x, term


def einsum(subscripts, *operands):
    """Einstein summation over one or two operands (e.g. ``"bij,bjk->bik"``,
    ``"bqhd,bkhd->bhqk"``, ``"ij->ji"``, ``"ij->"``): labels only in one operand and not in the
    output are summed first, then one batched matmul contracts the shared labels. More
    operands chain pairwise from the left. Ellipsis and a label repeated within one operand
    (diagonals) are not supported."""
    ops_ = _tensors(*operands)
    terms, out = _einsum_parse(subscripts, len(ops_))
    if len(ops_) > 2:
        # contract the first two, keeping every label needed later
        rest = "".join(terms[2:]) + out
        keep = "".join(c for c in dict.fromkeys(terms[0] + terms[1]) if c in rest)
        first = einsum(f"{terms[0]},{terms[1]}->{keep}", ops_[0], ops_[1])
        return einsum(",".join([keep] + terms[2:]) + "->" + out, first, *ops_[2:])
    for t, x in zip(terms, ops_):
        if len(t) != x.ndim:
            raise ValueError(f"einsum: term {t!r} names {len(t)} axes of an operand of shape {x.shape}")
    if len(ops_) == 1:
        x, term = _einsum_reduce(_floating(ops_[0]), terms[0], out)
        if set(out) - set(term):
            raise ValueError(f"einsum: output labels {out!r} not in the input {terms[0]!r}")
        return transpose(x, [term.index(c) for c in out]) if term != out else x
    dt = result_dtype(ops_[0].dtype, ops_[1].dtype)
    a, b = _floating(ops_[0], dt), _floating(ops_[1], dt)
    ta, tb = terms
    if set(out) - set(ta) - set(tb):
        raise ValueError(f"einsum: output labels {out!r} not in the inputs {ta!r}, {tb!r}")
    a, ta = _einsum_reduce(a, ta, tb + out)
    b, tb = _einsum_reduce(b, tb, ta + out)
    size = {}
    for t, x in ((ta, a), (tb, b)):
        for c, s in zip(t, x.shape):
            if size.setdefault(c, s) != s:
                raise ValueError(f"einsum: label {c!r} has sizes {size[c]} and {s}")
    batch = [c for c in ta if c in tb and c in out]
    contract = [c for c in ta if c in tb and c not in out]
    fa = [c for c in ta if c not in tb]
    fb = [c for c in tb if c not in ta]

    def prod(cs):
        return _math.prod(size[c] for c in cs)

    am = reshape(transpose(a, [ta.index(c) for c in batch + fa + contract]), (prod(batch), prod(fa), prod(contract)))
    bm = reshape(transpose(b, [tb.index(c) for c in batch + contract + fb]), (prod(batch), prod(contract), prod(fb)))
    y = reshape(matmul(am, bm), tuple(size[c] for c in batch + fa + fb))
    have = "".join(batch + fa + fb)
    return transpose(y, [have.index(c) for c in out]) if have != out else y


# ---- dynamic convolution (involution) -------------------------------------------------------
__all__ += ["dynamic_conv2d"]


def dynamic_conv2d(x, kernel, kernel_size, strides=1, padding="valid", dilation_rate=1):
    """Involution (Li et al., CVPR 2021): x ``(N, H, W, C)`` convolved with a different
    ``kernel_size`` kernel at every output position, ``kernel`` ``(N, OH, OW, kh*kw, G)``
    shared by each of G groups of ``C // G`` channels (see ``nnrs.layers.DynamicConv2D``).
    ``padding`` is "valid", "same" or explicit (top, bottom, left, right). One fused kernel
    each way; differentiable wrt x and kernel."""
    from .functions import dynamic as _dyn

    x, kernel = _tensors(x, kernel)
    dt = result_dtype(x.dtype, kernel.dtype)
    x, kernel = _floating(x, dt), _floating(kernel, dt)
    ks = _dyn.pair(kernel_size, "dynamic_conv2d: kernel_size")
    st = _dyn.pair(strides, "dynamic_conv2d: strides")
    dil = _dyn.pair(dilation_rate, "dynamic_conv2d: dilation_rate")
    if x.ndim != 4:
        raise ValueError(f"dynamic_conv2d: x must be 4-D (batch, height, width, channels), got shape {tuple(x.shape)}")
    pad = _dyn.explicit_padding(padding, x.shape[1:3], ks, st, dil, "dynamic_conv2d: padding")
    return F.DynamicConv2D.apply(x, kernel, ks, st, pad, dil)
# ---- pooling (max / average, 2-D and 1-D) --------------------------------------------------
__all__ += ["max_pool", "average_pool"]


def _pool_args(who, x, pool_size, strides, padding, data_format):
    """Keras' pooling arguments for x of rank 3 (batch, steps, channels) or 4 (batch, height,
    width, channels) as the 2-D kernels' (pool, strides, explicit padding) of the 4-D view,
    with the 4-D shape the kernel sees. Errors name ``who`` and the shapes."""
    if data_format not in (None, "channels_last"):
        raise ValueError(f"{who}: data_format={data_format!r} is not supported (only 'channels_last')")
    if x.ndim not in (3, 4):
        raise ValueError(f"{who}: expected an input of rank 3 (batch, steps, channels) or 4 (batch, height, width, "
                         f"channels), got shape {x.shape}")
    nd = x.ndim - 2
    pool = _pool_tuple(who, "pool_size", pool_size, nd)
    stride = pool if strides is None else _pool_tuple(who, "strides", strides, nd)
    mode = padding.lower() if isinstance(padding, str) else padding
    if mode not in ("valid", "same"):
        raise ValueError(f"{who}: padding must be 'valid' or 'same', got {padding!r}")
    spatial = tuple(x.shape[1:-1])
    pads = [F.pool.pool_padding(n, p, s, mode) for n, p, s in zip(spatial, pool, stride)]
    for n, p, (lo, hi) in zip(spatial, pool, pads):
        if n + lo + hi < p or n == 0:
            raise ValueError(f"{who}: pool_size {pool} is larger than the input's spatial shape {spatial} "
                             f"(padding={mode!r}); expected at least {pool}, got input shape {x.shape}")
    if nd == 1:
        return (x.shape[0], 1) + tuple(x.shape[1:]), (1,) + pool, (1,) + stride, (0, 0) + pads[0]
    return tuple(x.shape), pool, stride, pads[0] + pads[1]


def _pool_tuple(who, arg, v, n):
    t = (v,) * n if isinstance(v, (int, _np.integer)) else tuple(v)
    if len(t) != n or _builtins.any(isinstance(i, bool) or not isinstance(i, (int, _np.integer)) or i < 1 for i in t):
        raise ValueError(f"{who}: {arg} must be a positive int or a tuple of {n} positive ints, got {v!r}")
    return tuple(int(i) for i in t)


def _pool(fn, who, inputs, pool_size, strides, padding, data_format):
    x = _floating(as_tensor(inputs))
    shape4, pool, stride, pads = _pool_args(who, x, pool_size, strides, padding, data_format)
    y = fn.apply(reshape(x, shape4) if x.ndim == 3 else x, pool, stride, pads)
    return reshape(y, (y.shape[0],) + tuple(y.shape[2:])) if x.ndim == 3 else y


def max_pool(inputs, pool_size, strides=None, padding="valid", data_format=None):
    """Max pooling of channels-last ``inputs`` of rank 3 (1-D) or 4 (2-D), as Keras'
    ``ops.max_pool``: ``strides`` default to ``pool_size``; ``padding`` "valid" or "same"
    (TensorFlow's rule, padded positions never win)."""
    return _pool(F.pool.MaxPool2D, "max_pool", inputs, pool_size, strides, padding, data_format)


def average_pool(inputs, pool_size, strides=None, padding="valid", data_format=None):
    """Average pooling as ``max_pool``; with "same" each window averages its real
    (non-padded) elements only, as Keras / TensorFlow do."""
    return _pool(F.pool.AvgPool2D, "average_pool", inputs, pool_size, strides, padding, data_format)
# ---- convolution family: conv, depthwise_conv, separable_conv, conv_transpose, unfold, fold ----
# Keras 3's names and arguments; channels-last only. 1-D inputs (batch, steps, channels)
# run as 2-D images of height 1. ``padding`` is "valid", "same" (TensorFlow's rule: the odd
# pixel after) or, beyond Keras, explicit pairs ((top, bottom), (left, right)) (1-D: (left, right)).
from .functions import conv as _conv  # noqa: E402

__all__ += ["conv", "depthwise_conv", "separable_conv", "conv_transpose", "unfold", "fold"]


def _conv_tuple(v, n, what, who):
    t = (v,) * n if isinstance(v, (int, np.integer)) else tuple(v)
    if len(t) != n or _builtins.any(isinstance(i, bool) or not isinstance(i, (int, np.integer)) or i < 1 for i in t):
        raise ValueError(f"{who}: {what} must be a positive int or {n} positive ints, got {v!r}")
    return tuple(int(i) for i in t)


def _conv_prepare(inputs, kernel, strides, padding, data_format, dilation_rate, who):
    """(x as 4-D, kernel as 4-D, strides, explicit padding, dilation, whether 1-D)."""
    if data_format not in (None, "channels_last"):
        raise ValueError(f"{who}: only data_format='channels_last' is supported, got {data_format!r}")
    x, kernel = _tensors(inputs, kernel)
    x = _floating(x, kernel.dtype)
    if x.ndim not in (3, 4):
        raise ValueError(f"{who}: inputs must be 3-D (batch, steps, channels) or 4-D (batch, height, width, channels), "
                         f"got shape {x.shape}")
    if kernel.ndim != x.ndim:
        raise ValueError(f"{who}: kernel must have rank {x.ndim} for inputs of shape {x.shape}, got kernel shape {kernel.shape}")
    one_d = x.ndim == 3
    n = 1 if one_d else 2
    strides = _conv_tuple(strides, n, "strides", who)
    dilation = _conv_tuple(dilation_rate, n, "dilation_rate", who)
    if one_d:
        x = reshape(x, (x.shape[0], 1) + tuple(x.shape[1:]))
        kernel = reshape(kernel, (1,) + tuple(kernel.shape))
        strides, dilation = (1,) + strides, (1,) + dilation
        if not isinstance(padding, str):
            padding = ((0, 0), tuple(padding) if not isinstance(padding, (int, np.integer)) else (padding, padding))
    pads = _conv.resolve_padding(padding, x.shape[1:3], kernel.shape[:2], strides, dilation, who)
    return x, kernel, strides, pads, dilation, one_d


def _conv_finish(y, one_d):
    return reshape(y, (y.shape[0],) + tuple(y.shape[2:])) if one_d else y


def conv(inputs, kernel, strides=1, padding="valid", data_format=None, dilation_rate=1):
    """N-D convolution (N = 1 or 2), Keras' ``ops.conv``: inputs (batch, *spatial, channels),
    kernel (*kernel_size, channels / groups, filters); groups = channels / kernel.shape[-2]."""
    x, k, strides, pads, dil, one_d = _conv_prepare(inputs, kernel, strides, padding, data_format, dilation_rate, "conv")
    c, cg = x.shape[-1], k.shape[2]
    if cg == 0 or c % cg:
        raise ValueError(f"conv: the kernel's input channels {cg} (kernel {k.shape}) must divide the channels of the inputs "
                         f"{x.shape}")
    return _conv_finish(F.Conv2D.apply(x, k, None, strides, pads, dil, c // cg), one_d)


def depthwise_conv(inputs, kernel, strides=1, padding="valid", data_format=None, dilation_rate=1):
    """Depthwise convolution, Keras' ``ops.depthwise_conv``: kernel (*kernel_size, channels,
    depth_multiplier); output channel c * depth_multiplier + m is input channel c convolved
    with kernel[..., c, m]."""
    x, k, strides, pads, dil, one_d = _conv_prepare(inputs, kernel, strides, padding, data_format, dilation_rate,
                                                    "depthwise_conv")
    kh, kw, c, mult = k.shape
    if c != x.shape[-1]:
        raise ValueError(f"depthwise_conv: kernel {k.shape} expects {c} channels, inputs {x.shape} have {x.shape[-1]}")
    k = reshape(k, (kh, kw, 1, c * mult))
    return _conv_finish(F.Conv2D.apply(x, k, None, strides, pads, dil, c), one_d)


def separable_conv(inputs, depthwise_kernel, pointwise_kernel, strides=1, padding="valid", data_format=None,
                   dilation_rate=1):
    """Keras' ``ops.separable_conv``: a depthwise convolution, then a 1x1 convolution with
    pointwise_kernel (1, [1,] channels * depth_multiplier, filters)."""
    y = depthwise_conv(inputs, depthwise_kernel, strides, padding, data_format, dilation_rate)
    return conv(y, pointwise_kernel, 1, "valid", data_format, 1)


def conv_transpose(inputs, kernel, strides, padding="valid", output_padding=None, data_format=None, dilation_rate=1):
    """Transposed convolution, Keras' ``ops.conv_transpose``: kernel (*kernel_size, filters,
    channels); output length per axis (in - 1) * stride + kernel - 2 * pad + output_padding
    (Keras' rules, pad = kernel // 2 for "same"), or in * stride (+ max(kernel - stride, 0)
    for "valid") without output_padding."""
    who = "conv_transpose"
    if not isinstance(padding, str) or padding.lower() not in ("valid", "same"):
        raise ValueError(f"{who}: padding must be 'valid' or 'same', got {padding!r}")
    padding = padding.lower()
    x, k, strides, _, dil, one_d = _conv_prepare(inputs, kernel, strides, "valid", data_format, dilation_rate, who)
    if k.shape[3] != x.shape[-1]:
        raise ValueError(f"{who}: kernel {k.shape} expects {k.shape[3]} input channels, inputs {x.shape} have {x.shape[-1]}")
    if output_padding is None:
        ops_pad = (None, None)
    else:
        ops_pad = (output_padding,) * (1 if one_d else 2) if isinstance(output_padding, (int, np.integer)) else tuple(output_padding)
        if len(ops_pad) != (1 if one_d else 2):
            raise ValueError(f"{who}: output_padding must be an int or {1 if one_d else 2} ints, got {output_padding!r}")
        ops_pad = ((0,) + ops_pad) if one_d else ops_pad
        for op, s, d in zip(ops_pad, strides, dil):
            if op < 0 or (op >= s and op >= d):
                raise ValueError(f"{who}: output_padding {output_padding!r} must be non-negative and smaller than the "
                                 f"strides {strides} or dilation_rate {dil}")
    geo = [_conv.transpose_geometry(x.shape[1 + i], k.shape[i], strides[i], dil[i], padding, ops_pad[i]) for i in range(2)]
    if one_d:  # the height axis is a plain 1 -> 1
        geo[0] = (1, 0, 0)
    out_shape = (x.shape[0], geo[0][0], geo[1][0], k.shape[2])
    pads = (geo[0][1], geo[0][2], geo[1][1], geo[1][2])
    return _conv_finish(F.Conv2DTranspose.apply(x, k, None, out_shape, strides, pads, dil), one_d)


def _pair(v, what, who, minimum=1):
    t = (v, v) if isinstance(v, (int, np.integer)) else tuple(v)
    if len(t) != 2 or _builtins.any(isinstance(i, bool) or not isinstance(i, (int, np.integer)) or i < minimum for i in t):
        raise ValueError(f"{who}: {what} must be an int or 2 ints >= {minimum}, got {v!r}")
    return tuple(int(i) for i in t)


def unfold(x, kernel_size, dilation=1, padding=0, stride=1):
    """Sliding patches, with the layout and semantics of ``torch.nn.functional.unfold``
    (NOT channels-last): x (N, C, H, W) or (C, H, W) -> (N, C*kh*kw, L), the patch rows
    ordered (c, ky, kx) and the L = oh*ow blocks in row-major order; ``padding`` zeros on
    both sides of each axis. Differentiable (its gradient is ``fold``)."""
    ks, dil = _pair(kernel_size, "kernel_size", "unfold"), _pair(dilation, "dilation", "unfold")
    pad, st = _pair(padding, "padding", "unfold", 0), _pair(stride, "stride", "unfold")
    x = _floating(as_tensor(x))
    batched = x.ndim == 4
    if x.ndim not in (3, 4):
        raise ValueError(f"unfold: x must be 3-D (C, H, W) or 4-D (N, C, H, W), got shape {x.shape}")
    if not batched:
        x = reshape(x, (1,) + tuple(x.shape))
    n, c = x.shape[:2]
    col = F.Im2Col.apply(transpose(x, (0, 2, 3, 1)), ks, st, (pad[0], pad[0], pad[1], pad[1]), dil)
    ll = col.shape[1] * col.shape[2]
    col = transpose(reshape(col, (n, ll, ks[0], ks[1], c)), (0, 4, 2, 3, 1))
    y = reshape(col, (n, c * ks[0] * ks[1], ll))
    return y if batched else reshape(y, tuple(y.shape[1:]))


def fold(x, output_size, kernel_size, dilation=1, padding=0, stride=1):
    """The adjoint of ``unfold``, as ``torch.nn.functional.fold``: x (N, C*kh*kw, L) or
    (C*kh*kw, L) -> (N, C, H, W) with (H, W) = ``output_size``, overlapping values summed."""
    ks, dil = _pair(kernel_size, "kernel_size", "fold"), _pair(dilation, "dilation", "fold")
    pad, st = _pair(padding, "padding", "fold", 0), _pair(stride, "stride", "fold")
    h, w = _pair(output_size, "output_size", "fold")
    x = _floating(as_tensor(x))
    batched = x.ndim == 3
    if x.ndim not in (2, 3):
        raise ValueError(f"fold: x must be 2-D (C*kh*kw, L) or 3-D (N, C*kh*kw, L), got shape {x.shape}")
    if not batched:
        x = reshape(x, (1,) + tuple(x.shape))
    n, ckk, ll = x.shape
    if ckk % (ks[0] * ks[1]):
        raise ValueError(f"fold: x's dimension 1 ({ckk}) must be divisible by kh*kw = {ks[0] * ks[1]} (x {x.shape})")
    c = ckk // (ks[0] * ks[1])
    pads = (pad[0], pad[0], pad[1], pad[1])
    _, oh, ow, _ = _contract.conv_geometry("fold", (n, h, w, c), ks, 1, st, pads, dil)
    if oh * ow != ll:
        raise ValueError(f"fold: output_size {(h, w)} with kernel_size {ks}, dilation {dil}, padding {pad} and stride {st} "
                         f"has {oh}x{ow} = {oh * ow} blocks, x {x.shape} has {ll}")
    col = reshape(transpose(reshape(x, (n, c, ks[0], ks[1], ll)), (0, 4, 2, 3, 1)), (n, oh, ow, ks[0] * ks[1] * c))
    y = transpose(F.Col2Im.apply(col, (n, h, w, c), ks, st, pads, dil), (0, 3, 1, 2))
    return y if batched else reshape(y, tuple(y.shape[1:]))


# ---- symbolic use: every op above also builds functional-model graph nodes ---------------
from .layers.symbolic import install as _install_symbolic  # noqa: E402

_install_symbolic(globals(), __all__)
