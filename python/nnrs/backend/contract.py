"""The one place where kernel arguments are checked, in front of every backend.

``backend.get(name)`` hands out backends whose kernels first run the check registered
here under the kernel's name, so the numpy oracle rejects exactly what the Rust and
CUDA paths reject, with the same exception type and message. A check looks only at
dtypes, shapes and small arguments (never at the data), so it costs about a microsecond.

Conventions every check follows (and every test of the contract relies on):

* a wrong dtype is a ``TypeError`` "<kernel>: <arg> must ..., got <dtype>";
* a wrong shape, axis or value is a ``ValueError`` "<kernel>: ..." naming the expected
  and actual shape (or the axis and the shape).

To check a new kernel, write ``@check("kernel_name")`` over a function with the
kernel's signature. Backends need nothing else: ``wrap`` finds the registry.
"""

from __future__ import annotations

import functools

import numpy as np

FLOATS = (np.dtype(np.float32), np.dtype(np.float64))
_F32, _F64 = FLOATS
INDEX_DTYPES = (np.dtype(np.int32), np.dtype(np.int64))

_CHECKS: dict = {}


def check(name):
    """Register the decorated function as the argument check of kernel ``name``."""

    def deco(f):
        _CHECKS[name] = f
        return f

    return deco


def wrap(backend):
    """Give ``backend`` (an instance) checked kernels: each registered check runs first."""
    for name, chk in _CHECKS.items():
        kernel = getattr(backend, name, None)
        if kernel is None:
            continue
        setattr(backend, name, _checked(kernel, chk))
    return backend


def _checked(kernel, chk):
    @functools.wraps(kernel)
    def run(*args, **kwargs):
        chk(*args, **kwargs)
        return kernel(*args, **kwargs)

    run.unchecked = kernel
    return run


# ---- shared helpers -------------------------------------------------------------------
# Each check of a kernel that runs every training step starts with a fast test of the
# common case (arrays of one native float dtype and fitting shapes) that returns at once;
# anything else falls through to the full check, which finds and words the error.


def _floats(*arrays) -> bool:
    """Fast test: every array (None skipped) has the same native float32/float64 dtype
    (False for anything that is not an array, so a fast path can test it first)."""
    d = getattr(arrays[0], "dtype", None)
    if d is not _F32 and d is not _F64:
        return False
    for a in arrays[1:]:
        if a is not None and getattr(a, "dtype", None) is not d:
            return False
    return True


def dtype_name(a) -> str:
    d = getattr(a, "dtype", None)
    return str(d) if d is not None else type(a).__name__


def float_arg(kernel, arg, a):
    """``a`` must be a float32/float64 array; returns its dtype."""
    d = getattr(a, "dtype", None)
    if d not in FLOATS or not hasattr(a, "shape"):
        raise TypeError(f"{kernel}: {arg} must be a float32 or float64 array, got {dtype_name(a)}")
    return d


def same_float(kernel, /, **arrays):
    """Every array given (None skipped) is float32/float64, all of one dtype (``kernel`` is
    positional-only, so an array may be called ``kernel`` too)."""
    first = None
    for arg, a in arrays.items():
        if a is None:
            continue
        d = float_arg(kernel, arg, a)
        if first is None:
            first = (arg, d)
        elif d != first[1]:
            raise TypeError(f"{kernel}: {first[0]} and {arg} must have the same dtype, got {first[1]} and {d}")
    return first[1] if first else None


def index_arg(kernel, arg, a):
    """``a`` must be an int32/int64 array."""
    d = getattr(a, "dtype", None)
    if d not in INDEX_DTYPES:
        raise TypeError(f"{kernel}: {arg} must be an int32 or int64 array, got {dtype_name(a)}")


def norm_axis(kernel, ax, shape) -> int:
    """``ax`` as a non-negative axis of ``shape``; ValueError outside ``[-ndim, ndim)``."""
    nd = len(shape)
    if isinstance(ax, bool) or not isinstance(ax, (int, np.integer)):
        raise TypeError(f"{kernel}: axis must be an int, got {type(ax).__name__}")
    if not -nd <= ax < nd:
        raise ValueError(f"{kernel}: axis {ax} is out of range for shape {tuple(shape)} (ndim {nd})")
    return int(ax) % nd if nd else 0


def norm_axes(kernel, axs, shape):
    """Sorted non-negative axes (all when None); out-of-range or repeated axes are errors."""
    if axs is None:
        return tuple(range(len(shape)))
    if isinstance(axs, (int, np.integer)):
        axs = (axs,)
    out = tuple(sorted(norm_axis(kernel, a, shape) for a in axs))
    if len(set(out)) != len(out):
        raise ValueError(f"{kernel}: repeated axis in {tuple(axs)} for shape {tuple(shape)}")
    return out


def broadcast_shape(kernel, *shapes):
    """numpy's broadcast of ``shapes``; ValueError naming them when they do not broadcast."""
    nd = max((len(s) for s in shapes), default=0)
    out = []
    for i in range(nd):
        dims = {s[len(s) - nd + i] for s in shapes if len(s) - nd + i >= 0} - {1}
        if len(dims) > 1:
            raise ValueError(f"{kernel}: shapes {' and '.join(str(tuple(s)) for s in shapes)} do not broadcast")
        out.append(dims.pop() if dims else 1)
    return tuple(out)


def same_shape(kernel, ref_arg, ref, **arrays):
    for arg, a in arrays.items():
        if a is not None and tuple(a.shape) != tuple(ref.shape):
            raise ValueError(f"{kernel}: {arg} must have the shape of {ref_arg} {tuple(ref.shape)}, got {tuple(a.shape)}")


def rank(kernel, arg, a, nd):
    if a.ndim != nd:
        raise ValueError(f"{kernel}: {arg} must be {nd}-D, got shape {tuple(a.shape)}")


def one_of(kernel, what, value, allowed):
    if value not in allowed:
        raise ValueError(f"{kernel}: unknown {what} {value!r}; expected one of {', '.join(allowed)}")


# ---- the checks of the contract's kernels -----------------------------------------------
# Imported here (not at the top) so that base.py can document the names first.
from .base import ACTIVATIONS, BINARY_OPS, LOSSES, REDUCE_OPS, UNARY_OPS  # noqa: E402

_ACTIVATION_SET, _BINARY_SET, _UNARY_SET, _LOSS_SET = map(frozenset, (ACTIVATIONS, BINARY_OPS, UNARY_OPS, LOSSES))
_I64 = np.dtype(np.int64)


def matmul_shape(sa, sb, trans_a=False, trans_b=False):
    """The output shape of ``matmul`` (batch dimensions broadcast as numpy's); a ValueError
    naming both shapes when they do not fit."""
    sa, sb = tuple(sa), tuple(sb)
    if len(sa) < 2 or len(sb) < 2:
        raise ValueError(f"matmul: expected a (..., m, k) and b (..., k, n), each at least 2-D, got shapes a {sa} and b {sb}")
    m, ka = (sa[-1], sa[-2]) if trans_a else sa[-2:]
    kb, n = (sb[-1], sb[-2]) if trans_b else sb[-2:]
    if ka != kb:
        raise ValueError(f"matmul: inner dimensions differ: a {sa} (trans_a={bool(trans_a)}) and b {sb} "
                         f"(trans_b={bool(trans_b)}) give k={ka} vs k={kb}")
    try:
        batch = np.broadcast_shapes(sa[:-2], sb[:-2])
    except ValueError:
        raise ValueError(f"matmul: batch dimensions {sa[:-2]} of a {sa} and {sb[:-2]} of b {sb} do not broadcast") from None
    return (*batch, m, n)


@check("matmul")
def _matmul(a, b, trans_a=False, trans_b=False):
    same_float("matmul", a=a, b=b)
    matmul_shape(a.shape, b.shape, trans_a, trans_b)


@check("linear_forward")
def _linear_forward(x, w, b=None, activation="linear", alpha=0.0):
    if (_floats(x, w, b) and x.ndim == 2 and w.ndim == 2 and x.shape[1] == w.shape[0]
            and (b is None or b.shape == w.shape[1:]) and activation in _ACTIVATION_SET):
        return
    same_float("linear_forward", x=x, w=w, b=b)
    rank("linear_forward", "x", x, 2)
    rank("linear_forward", "w", w, 2)
    if x.shape[1] != w.shape[0]:
        raise ValueError(f"linear_forward: x {tuple(x.shape)} and w {tuple(w.shape)} do not chain (x has {x.shape[1]} "
                         f"columns, w has {w.shape[0]} rows)")
    if b is not None and tuple(b.shape) != (w.shape[1],):
        raise ValueError(f"linear_forward: b must have shape ({w.shape[1]},), got {tuple(b.shape)}")
    one_of("linear_forward", "activation", activation, ACTIVATIONS)


@check("linear_backward")
def _linear_backward(x, w, gy, need_gx=True, need_gb=True):
    if (_floats(x, w, gy) and x.ndim == 2 and w.ndim == 2 and x.shape[1] == w.shape[0]
            and gy.shape == (x.shape[0], w.shape[1])):
        return
    same_float("linear_backward", x=x, w=w, gy=gy)
    rank("linear_backward", "x", x, 2)
    rank("linear_backward", "w", w, 2)
    exp = (x.shape[0], w.shape[1])
    if x.shape[1] != w.shape[0] or tuple(gy.shape) != exp:
        raise ValueError(f"linear_backward: x {tuple(x.shape)}, w {tuple(w.shape)} need gy of shape {exp}, "
                         f"got {tuple(gy.shape)}")


@check("unary")
def _unary(op, x):
    if op in _UNARY_SET and _floats(x):
        return
    one_of("unary", "op", op, UNARY_OPS)
    float_arg("unary", "x", x)


@check("argsort")
def _argsort(x):
    float_arg("argsort", "x", x)


@check("binary")
def _binary(op, a, b):
    if op in _BINARY_SET and _floats(a, b) and a.shape == b.shape:
        return
    one_of("binary", "op", op, BINARY_OPS)
    same_float("binary", a=a, b=b)
    broadcast_shape("binary", a.shape, b.shape)


@check("binary_scalar")
def _binary_scalar(op, a, s, reverse=False):
    if op in _BINARY_SET and _floats(a):
        return
    one_of("binary_scalar", "op", op, BINARY_OPS)
    float_arg("binary_scalar", "a", a)


@check("clip")
def _clip(x, lo, hi):
    float_arg("clip", "x", x)


@check("reduce")
def _reduce(op, x, axes=None, keepdims=False):
    one_of("reduce", "op", op, REDUCE_OPS)
    float_arg("reduce", "x", x)
    ax = norm_axes("reduce", axes, x.shape)
    if op in ("max", "min") and any(x.shape[i] == 0 for i in ax):
        raise ValueError(f"reduce: {op} over an empty axis of shape {tuple(x.shape)}")


@check("argmax")
def _argmax(x, axis=-1):
    float_arg("argmax", "x", x)
    ax = norm_axis("argmax", axis, x.shape)
    if x.ndim and x.shape[ax] == 0:
        raise ValueError(f"argmax: empty axis {axis} of shape {tuple(x.shape)}")


@check("sum_squares")
def _sum_squares(arrays):
    for i, a in enumerate(arrays):  # dtypes may differ: the sum is accumulated in float64
        float_arg("sum_squares", f"arrays[{i}]", a)


@check("activation_forward")
def _activation_forward(name, x, alpha=0.0):
    if name in _ACTIVATION_SET and _floats(x):
        return
    one_of("activation_forward", "activation", name, ACTIVATIONS)
    float_arg("activation_forward", "x", x)


@check("activation_backward")
def _activation_backward(name, gy, x, y, alpha=0.0):
    if name in _ACTIVATION_SET and _floats(gy, x, y) and gy.shape == x.shape == y.shape:
        return
    one_of("activation_backward", "activation", name, ACTIVATIONS)
    same_float("activation_backward", gy=gy, x=x, y=y)
    same_shape("activation_backward", "gy", gy, x=x, y=y)


def _loss_args(kernel, name, pred, target, weight):
    try:
        if (name in _LOSS_SET and _floats(pred, weight) and pred.ndim >= 1
                and (weight is None or weight.shape == pred.shape[:1])):
            if target.dtype is pred.dtype and target.shape == pred.shape and (pred.ndim == 2 or name != "softmax_crossentropy"):
                return pred.dtype
            if name == "softmax_crossentropy" and pred.ndim == 2 and target.dtype is _I64 and target.shape == pred.shape[:1]:
                return pred.dtype
    except AttributeError:
        pass
    one_of(kernel, "loss", name, LOSSES)
    dt = float_arg(kernel, "pred", pred)
    if pred.ndim == 0:
        raise ValueError(f"{kernel}: pred needs a batch axis, got a scalar")
    n = pred.shape[0]
    if name == "softmax_crossentropy":
        rank(kernel, "pred", pred, 2)
        if getattr(target, "dtype", None) == np.dtype(np.int64):
            if tuple(target.shape) != (n,):
                raise ValueError(f"{kernel}: integer target must have shape ({n},), got {tuple(target.shape)}")
        else:
            same_float(kernel, pred=pred, target=target)
            same_shape(kernel, "pred", pred, target=target)
    else:
        same_float(kernel, pred=pred, target=target)
        same_shape(kernel, "pred", pred, target=target)
    if weight is not None:
        same_float(kernel, pred=pred, weight=weight)
        if tuple(weight.shape) != (n,):
            raise ValueError(f"{kernel}: weight must have shape ({n},), got {tuple(weight.shape)}")
    return dt


@check("loss_forward")
def _loss_forward(name, pred, target, weight=None, delta=1.0):
    _loss_args("loss_forward", name, pred, target, weight)


@check("loss_backward")
def _loss_backward(name, pred, target, weight=None, grad=1.0, delta=1.0):
    _loss_args("loss_backward", name, pred, target, weight)


@check("dropout_forward")
def _dropout_forward(x, rate, seed):
    try:
        if _floats(x) and 0.0 <= rate < 1.0:
            return
    except (AttributeError, TypeError):
        pass
    float_arg("dropout_forward", "x", x)
    if not 0.0 <= rate < 1.0:
        raise ValueError(f"dropout_forward: rate must be in [0, 1), got {rate}")


def _update_args(kernel, param, grad, *state):
    """param, grad and the used state arrays (None: unused): one float dtype, param's shape."""
    try:
        d, shape = param.dtype, param.shape
        if (d is _F32 or d is _F64) and grad.dtype is d and grad.shape == shape:
            for a in state:
                if a is not None and (a.dtype is not d or a.shape != shape):
                    break
            else:
                return
    except AttributeError:
        pass
    names = _STATE_NAMES[kernel]
    arrays = dict(zip(names, state))
    same_float(kernel, param=param, grad=grad, **arrays)
    same_shape(kernel, "param", param, grad=grad, **arrays)


_STATE_NAMES = {"sgd_update": ("velocity",), "adam_update": ("m", "v"), "rmsprop_update": ("ms", "mom"),
                "adagrad_update": ("acc",)}


@check("sgd_update")
def _sgd(param, grad, velocity, lr, momentum=0.0, nesterov=False, weight_decay=0.0):
    _update_args("sgd_update", param, grad, velocity)


@check("adam_update")
def _adam(param, grad, m, v, lr, beta1, beta2, eps, step, weight_decay=0.0):
    _update_args("adam_update", param, grad, m, v)


@check("rmsprop_update")
def _rmsprop(param, grad, ms, mom, lr, rho, momentum, eps, weight_decay=0.0):
    _update_args("rmsprop_update", param, grad, ms, mom)


@check("adagrad_update")
def _adagrad(param, grad, acc, lr, eps, weight_decay=0.0):
    _update_args("adagrad_update", param, grad, acc)


# ---- index & logic ------------------------------------------------------------------------
from .base import CAST_DTYPES, COMPARE_OPS  # noqa: E402


def dtype_arg(kernel, dtype, allowed):
    """``dtype`` (a numpy dtype, type or name) as one of the dtypes named in ``allowed``."""
    try:
        d = None if dtype is None else np.dtype(dtype)
    except (TypeError, ValueError):
        d = None
    if d is None or d not in [np.dtype(n) for n in allowed]:
        raise TypeError(f"{kernel}: dtype must be one of {', '.join(allowed)}, got {dtype!r}")
    return d


def int_arg(kernel, arg, v):
    """``v`` must be a non-negative int."""
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
        raise TypeError(f"{kernel}: {arg} must be an int, got {type(v).__name__}")
    if v < 0:
        raise ValueError(f"{kernel}: {arg} must be >= 0, got {v}")


@check("compare")
def _compare(op, a, b):
    one_of("compare", "op", op, COMPARE_OPS)
    same_float("compare", a=a, b=b)
    broadcast_shape("compare", a.shape, b.shape)


@check("where")
def _where(cond, a, b):
    if getattr(cond, "dtype", None) != np.dtype(bool) or not hasattr(cond, "shape"):
        raise TypeError(f"where: cond must be a bool array, got {dtype_name(cond)}")
    same_float("where", a=a, b=b)
    broadcast_shape("where", cond.shape, a.shape, b.shape)


@check("cast")
def _cast(x, dtype):
    if getattr(x, "dtype", None) not in [np.dtype(n) for n in CAST_DTYPES] or not hasattr(x, "shape"):
        raise TypeError(f"cast: x must be an array of one of {', '.join(CAST_DTYPES)}, got {dtype_name(x)}")
    dtype_arg("cast", dtype, CAST_DTYPES)


@check("take")
def _take(x, indices, axis):
    float_arg("take", "x", x)
    index_arg("take", "indices", indices)
    norm_axis("take", axis, x.shape)


@check("scatter_add")
def _scatter_add(updates, indices, axis, dim_size):
    float_arg("scatter_add", "updates", updates)
    index_arg("scatter_add", "indices", indices)
    us, ix = tuple(updates.shape), tuple(indices.shape)
    if len(us) < len(ix):
        raise ValueError(f"scatter_add: updates {us} has fewer dimensions than indices {ix}")
    nd = len(us) - len(ix) + 1
    if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)):
        raise TypeError(f"scatter_add: axis must be an int, got {type(axis).__name__}")
    if not -nd <= axis < nd:
        raise ValueError(f"scatter_add: axis {axis} is out of range for an output of {nd} dimensions "
                         f"(updates {us}, indices {ix})")
    ax = int(axis) % nd
    if us[ax:ax + len(ix)] != ix:
        raise ValueError(f"scatter_add: updates {us} must have the shape of indices {ix} at axes {ax}..{ax + len(ix)}")
    int_arg("scatter_add", "dim_size", dim_size)


@check("one_hot")
def _one_hot(indices, num_classes, dtype="float32"):
    index_arg("one_hot", "indices", indices)
    int_arg("one_hot", "num_classes", num_classes)
    if dtype is not None:
        dtype_arg("one_hot", dtype, ("float32", "float64"))
@check("binary_backward")
def _binary_backward(op, a, b, g):
    one_of("binary_backward", "op", op, BINARY_OPS)
    same_float("binary_backward", a=a, b=b, g=g)
    out = broadcast_shape("binary_backward", a.shape, b.shape)
    if tuple(g.shape) != out:
        raise ValueError(f"binary_backward: g must have the broadcast shape {out} of a {tuple(a.shape)} and "
                         f"b {tuple(b.shape)}, got {tuple(g.shape)}")


@check("softmax_forward")
def _softmax_forward(x, axis, log=False):
    float_arg("softmax_forward", "x", x)
    norm_axis("softmax_forward", axis, x.shape)


@check("softmax_backward")
def _softmax_backward(gy, y, axis, log=False):
    same_float("softmax_backward", gy=gy, y=y)
    same_shape("softmax_backward", "gy", gy, y=y)
    norm_axis("softmax_backward", axis, gy.shape)


@check("moments")
def _moments(x, axes=None, keepdims=False):
    float_arg("moments", "x", x)
    norm_axes("moments", axes, x.shape)


@check("moments_backward")
def _moments_backward(x, mean, g_mean, g_var, axes=None):
    same_float("moments_backward", x=x, mean=mean, g_mean=g_mean, g_var=g_var)
    ax = norm_axes("moments_backward", axes, x.shape)
    kept = tuple(1 if i in ax else s for i, s in enumerate(x.shape))
    dropped = tuple(s for i, s in enumerate(x.shape) if i not in ax)
    for name, a in (("mean", mean), ("g_mean", g_mean), ("g_var", g_var)):
        if tuple(a.shape) not in (dropped, kept):
            raise ValueError(f"moments_backward: {name} must have shape {dropped} or {kept} for x {tuple(x.shape)}, "
                             f"got {tuple(a.shape)}")


# ---- norm family: batch normalization, image warps, gaussian noise ----------------------
from .base import FILL_MODES, INTERPOLATIONS  # noqa: E402


def _per_channel(kernel, c, **arrays):
    for arg, a in arrays.items():
        if a is not None and tuple(a.shape) != (c,):
            raise ValueError(f"{kernel}: {arg} must have shape ({c},), got {tuple(a.shape)}")


def _epsilon(kernel, epsilon):
    if not (isinstance(epsilon, (int, float, np.floating, np.integer)) and np.isfinite(epsilon) and epsilon > 0):
        raise ValueError(f"{kernel}: epsilon must be a positive finite number, got {epsilon}")


@check("batch_norm_forward")
def _batch_norm_forward(x, gamma=None, beta=None, mean=None, var=None, epsilon=1e-3, training=True):
    k = "batch_norm_forward"
    same_float(k, x=x, gamma=gamma, beta=beta, mean=mean, var=var)
    if x.ndim < 1:
        raise ValueError(f"{k}: x must have at least 1 dimension (the channels last), got a 0-d array")
    _epsilon(k, epsilon)
    if not training and (mean is None or var is None):
        raise ValueError(f"{k}: training=False needs the moving mean and var")
    _per_channel(k, x.shape[-1], gamma=gamma, beta=beta, mean=None if training else mean, var=None if training else var)


@check("batch_norm_backward")
def _batch_norm_backward(gy, x, gamma, mean, var, epsilon=1e-3, training=True):
    k = "batch_norm_backward"
    same_float(k, gy=gy, x=x, gamma=gamma, mean=mean, var=var)
    if tuple(gy.shape) != tuple(x.shape):
        raise ValueError(f"{k}: gy must have the shape of x {tuple(x.shape)}, got {tuple(gy.shape)}")
    if x.ndim < 1:
        raise ValueError(f"{k}: x must have at least 1 dimension (the channels last), got a 0-d array")
    _epsilon(k, epsilon)
    _per_channel(k, x.shape[-1], gamma=gamma, mean=mean, var=var)


@check("batch_norm_update")
def _batch_norm_update(moving_mean, moving_var, mean, var, momentum):
    k = "batch_norm_update"
    same_float(k, moving_mean=moving_mean, moving_var=moving_var, mean=mean, var=var)
    if moving_mean.ndim != 1 or tuple(moving_var.shape) != tuple(moving_mean.shape):
        raise ValueError(f"{k}: moving_mean and moving_var must have one shape (channels,), got "
                         f"{tuple(moving_mean.shape)} and {tuple(moving_var.shape)}")
    _per_channel(k, moving_mean.shape[0], mean=mean, var=var)
    if not 0.0 <= momentum <= 1.0:
        raise ValueError(f"{k}: momentum must be in [0, 1], got {momentum}")


def _affine_args(kernel, images, transforms, interpolation, fill_mode, images_arg):
    same_float(kernel, **{images_arg: images, "transforms": transforms})
    if images.ndim != 4:
        raise ValueError(f"{kernel}: {images_arg} must have shape (batch, height, width, channels), got {tuple(images.shape)}")
    if tuple(transforms.shape) != (images.shape[0], 8):
        raise ValueError(f"{kernel}: transforms must have shape ({images.shape[0]}, 8), got {tuple(transforms.shape)}")
    one_of(kernel, "interpolation", interpolation, INTERPOLATIONS)
    one_of(kernel, "fill_mode", fill_mode, FILL_MODES)


@check("affine_transform")
def _affine_transform(images, transforms, interpolation="bilinear", fill_mode="constant", fill_value=0.0):
    _affine_args("affine_transform", images, transforms, interpolation, fill_mode, "images")


@check("affine_transform_backward")
def _affine_transform_backward(gy, transforms, interpolation="bilinear", fill_mode="constant"):
    _affine_args("affine_transform_backward", gy, transforms, interpolation, fill_mode, "gy")


@check("gaussian_noise_forward")
def _gaussian_noise_forward(x, stddev, seed):
    float_arg("gaussian_noise_forward", "x", x)
    if not (np.isfinite(stddev) and stddev >= 0):
        raise ValueError(f"gaussian_noise_forward: stddev must be a finite number >= 0, got {stddev}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"gaussian_noise_forward: seed must be an int, got {type(seed).__name__}")
# ---- dynamic convolution (involution) ---------------------------------------------------------


def dynamic_conv2d_sizes(kernel, arg, v, n):
    """``v`` as a list of ``n`` non-negative ints (kernel_size, strides, padding, dilation)."""
    if isinstance(v, (str, bytes)) or not hasattr(v, "__len__") or not all(
            isinstance(d, (int, np.integer)) and not isinstance(d, bool) for d in v):
        raise TypeError(f"{kernel}: {arg} must be a sequence of {n} integers, got {v!r}")
    vals = [int(d) for d in v]
    if len(vals) != n or any(d < 0 for d in vals):
        raise ValueError(f"{kernel}: {arg} must be {n} non-negative integers, got {vals}")
    return vals


def dynamic_conv2d_geometry(kernel, xs, ks, kernel_size, strides, padding, dilation):
    """``(OH, OW, groups)`` of a dynamic convolution of x ``xs`` with kernels ``ks``
    (the same checks and words as the Rust binding's)."""
    kh, kw = dynamic_conv2d_sizes(kernel, "kernel_size", kernel_size, 2)
    sh, sw = dynamic_conv2d_sizes(kernel, "strides", strides, 2)
    pad = dynamic_conv2d_sizes(kernel, "padding", padding, 4)
    dh, dw = dynamic_conv2d_sizes(kernel, "dilation", dilation, 2)
    xs, ks = tuple(xs), tuple(ks)
    if len(xs) != 4:
        raise ValueError(f"{kernel}: x must be 4-D (batch, height, width, channels), got shape {xs}")
    if len(ks) != 5:
        raise ValueError(f"{kernel}: k must be 5-D (batch, out_height, out_width, kernel_h*kernel_w, groups), got shape {ks}")
    if 0 in (kh, kw, sh, sw, dh, dw):
        raise ValueError(f"{kernel}: kernel_size, strides and dilation must be positive, got kernel_size {(kh, kw)}, "
                         f"strides {(sh, sw)}, dilation {(dh, dw)}")
    n, h, w, c = xs
    ph, pw = h + pad[0] + pad[1], w + pad[2] + pad[3]
    eh, ew = (kh - 1) * dh + 1, (kw - 1) * dw + 1
    if eh > ph or ew > pw:
        raise ValueError(f"{kernel}: the dilated kernel {(eh, ew)} is larger than the padded input {(ph, pw)} of x {xs} "
                         f"with padding {tuple(pad)}")
    oh, ow = (ph - eh) // sh + 1, (pw - ew) // sw + 1
    if ks[:4] != (n, oh, ow, kh * kw):
        raise ValueError(f"{kernel}: k must have shape ({n}, {oh}, {ow}, {kh * kw}, groups) for x {xs}, got {ks}")
    g = ks[4]
    if g == 0 or c % g:
        raise ValueError(f"{kernel}: groups (the last axis of k {ks}) must be a positive divisor of the {c} channels "
                         f"of x {xs}, got {g}")
    return oh, ow, g


@check("dynamic_conv2d_forward")
def _dynamic_conv2d_forward(x, k, kernel_size, strides=(1, 1), padding=(0, 0, 0, 0), dilation=(1, 1)):
    same_float("dynamic_conv2d_forward", x=x, k=k)
    dynamic_conv2d_geometry("dynamic_conv2d_forward", x.shape, k.shape, kernel_size, strides, padding, dilation)


@check("dynamic_conv2d_backward")
def _dynamic_conv2d_backward(gy, x, k, kernel_size, strides=(1, 1), padding=(0, 0, 0, 0), dilation=(1, 1)):
    same_float("dynamic_conv2d_backward", x=x, k=k, gy=gy)
    oh, ow, _ = dynamic_conv2d_geometry("dynamic_conv2d_backward", x.shape, k.shape, kernel_size, strides, padding, dilation)
    want = (x.shape[0], oh, ow, x.shape[3])
    if tuple(gy.shape) != want:
        raise ValueError(f"dynamic_conv2d_backward: gy must have the output shape {want} of x {tuple(x.shape)}, "
                         f"got {tuple(gy.shape)}")
# ---- pooling (max / average, 2-D and 1-D) ---------------------------------------------------
def _ints(kernel, arg, v, n, kinds=(tuple,)):
    """``v`` (a tuple; a list too where ``kinds`` says) as a tuple of ``n`` non-negative ints
    (TypeError / ValueError otherwise)."""
    if not isinstance(v, kinds) or len(v) != n or any(isinstance(i, bool) or not isinstance(i, (int, np.integer))
                                                      for i in v):
        raise TypeError(f"{kernel}: {arg} must be a tuple of {n} ints, got {v!r}")
    if any(i < 0 for i in v):
        raise ValueError(f"{kernel}: {arg} must be non-negative, got {tuple(int(i) for i in v)}")
    return tuple(int(i) for i in v)


def pool_out_shape(kernel, shape, pool_size, strides, padding):
    """The output shape of a 2-D pooling kernel on an input of ``shape`` (the checks and
    messages of the Rust ``Pool2dParams``)."""
    shape = tuple(shape)
    (ph, pw), (sh, sw) = _ints(kernel, "pool_size", pool_size, 2), _ints(kernel, "strides", strides, 2)
    t, b, left, right = _ints(kernel, "padding", padding, 4)
    if len(shape) != 4:
        raise ValueError(f"{kernel}: x must be 4-D (batch, height, width, channels), got shape {shape}")
    if 0 in (ph, pw, sh, sw):
        raise ValueError(f"{kernel}: pool_size and strides must be positive, got pool_size ({ph}, {pw}) and "
                         f"strides ({sh}, {sw})")
    if t >= ph or b >= ph or left >= pw or right >= pw:
        raise ValueError(f"{kernel}: padding ({t}, {b}, {left}, {right}) must be smaller than pool_size ({ph}, {pw}) "
                         "on each side")
    n, h, w, c = shape
    if h == 0 or w == 0:
        raise ValueError(f"{kernel}: x must have a non-empty height and width, got shape {shape}")
    hp, wp = h + t + b, w + left + right
    if hp < ph or wp < pw:
        raise ValueError(f"{kernel}: pool_size ({ph}, {pw}) is larger than the padded input ({hp}, {wp}) of x {shape} "
                         f"with padding ({t}, {b}, {left}, {right})")
    return (n, (hp - ph) // sh + 1, (wp - pw) // sw + 1, c)


def _pool_gy(kernel, gy, want):
    if tuple(gy.shape) != want:
        raise ValueError(f"{kernel}: gy must have shape {want}, got {tuple(gy.shape)}")


@check("max_pool2d_forward")
def _max_pool2d_forward(x, pool_size, strides, padding):
    float_arg("max_pool2d_forward", "x", x)
    pool_out_shape("max_pool2d_forward", x.shape, pool_size, strides, padding)


@check("avg_pool2d_forward")
def _avg_pool2d_forward(x, pool_size, strides, padding):
    float_arg("avg_pool2d_forward", "x", x)
    pool_out_shape("avg_pool2d_forward", x.shape, pool_size, strides, padding)


@check("max_pool2d_backward")
def _max_pool2d_backward(x, gy, pool_size, strides, padding):
    same_float("max_pool2d_backward", x=x, gy=gy)
    _pool_gy("max_pool2d_backward", gy, pool_out_shape("max_pool2d_backward", x.shape, pool_size, strides, padding))


@check("avg_pool2d_backward")
def _avg_pool2d_backward(gy, input_shape, pool_size, strides, padding):
    float_arg("avg_pool2d_backward", "gy", gy)
    if not isinstance(input_shape, (tuple, list)) or len(input_shape) != 4:
        raise ValueError(f"avg_pool2d_backward: x must be 4-D (batch, height, width, channels), got shape {input_shape!r}")
    shape = _ints("avg_pool2d_backward", "input_shape", input_shape, 4, (tuple, list))
    _pool_gy("avg_pool2d_backward", gy, pool_out_shape("avg_pool2d_backward", shape, pool_size, strides, padding))
# ---- convolution family (conv2d_forward, conv2d_backward_input, conv2d_backward_weight, im2col, col2im) ----


def _int_tuple(kernel, arg, v, n, minimum):
    """``v`` as a tuple of ``n`` ints each at least ``minimum``; else a ValueError naming it."""
    try:
        t = tuple(v)
    except TypeError:
        t = None
    if (t is None or len(t) != n or any(isinstance(i, bool) or not isinstance(i, (int, np.integer)) for i in t)
            or any(i < minimum for i in t)):
        what = "positive" if minimum > 0 else "non-negative"
        raise ValueError(f"{kernel}: {arg} must be {n} {what} ints, got {v!r}")
    return tuple(int(i) for i in t)


def conv_geometry(kernel, x_shape, kernel_size, out_channels, strides=(1, 1), padding=(0, 0, 0, 0), dilation=(1, 1),
                  groups=1):
    """The output shape ``(n, oh, ow, out_channels)`` of a convolution of an x of ``x_shape``
    (n, h, w, c) with a (kh, kw) kernel; a ValueError naming the kernel and shapes when the
    arguments do not make a convolution (the same rules the Rust binding applies)."""
    x_shape = tuple(x_shape)
    if len(x_shape) != 4:
        raise ValueError(f"{kernel}: x must be 4-D (batch, height, width, channels), got shape {x_shape}")
    kh, kw = _int_tuple(kernel, "kernel_size", kernel_size, 2, 1)
    sh, sw = _int_tuple(kernel, "strides", strides, 2, 1)
    pt, pb, pl, pr = _int_tuple(kernel, "padding", padding, 4, 0)
    dh, dw = _int_tuple(kernel, "dilation", dilation, 2, 1)
    (groups,) = _int_tuple(kernel, "groups", (groups,), 1, 1)
    n, h, w, c = x_shape
    if c == 0 or out_channels <= 0:
        raise ValueError(f"{kernel}: channels must be positive, got x {x_shape} and {out_channels} output channels")
    if c % groups or out_channels % groups:
        raise ValueError(f"{kernel}: input channels {c} and output channels {out_channels} must be divisible by "
                         f"groups {groups}")
    eh, ew = (kh - 1) * dh + 1, (kw - 1) * dw + 1
    ph, pw = h + pt + pb, w + pl + pr
    if eh > ph or ew > pw:
        raise ValueError(f"{kernel}: the dilated kernel ({eh}, {ew}) is larger than the padded input ({ph}, {pw}) "
                         f"of x {x_shape}")
    return (n, (ph - eh) // sh + 1, (pw - ew) // sw + 1, out_channels)


class _Shape:
    """Stands for an array of a shape and dtype in the fast tests (no data)."""

    def __init__(self, shape, dtype):
        self.shape, self.dtype, self.ndim = tuple(shape), dtype, len(shape)


def _conv_out_hw(x_shape, k_shape, strides, padding, dilation):
    return ((x_shape[1] + padding[0] + padding[1] - (k_shape[0] - 1) * dilation[0] - 1) // strides[0] + 1,
            (x_shape[2] + padding[2] + padding[3] - (k_shape[1] - 1) * dilation[1] - 1) // strides[1] + 1)


def _conv_kernel_shape(kernel, x_shape, w, groups):
    if w.ndim != 4:
        raise ValueError(f"{kernel}: w must be 4-D (kh, kw, in_channels / groups, out_channels), got shape {tuple(w.shape)}")
    if len(x_shape) == 4 and isinstance(groups, (int, np.integer)) and w.shape[2] * groups != x_shape[3]:
        raise ValueError(f"{kernel}: w {tuple(w.shape)} expects {w.shape[2] * groups} input channels "
                         f"({w.shape[2]} per group x {groups} groups), x {tuple(x_shape)} has {x_shape[3]}")


def _conv_fast(x, w, strides, padding, dilation, groups):
    """Fast test of the common case: 4-D x and w of one float dtype whose channels fit, plain
    int tuples for the geometry, a kernel that fits in the padded input."""
    if not (_floats(x, w) and x.ndim == 4 and w.ndim == 4 and type(groups) is int and groups > 0
            and w.shape[2] * groups == x.shape[3] and w.shape[3] % groups == 0 and x.shape[3] > 0):
        return False
    if not (type(strides) is tuple and type(padding) is tuple and type(dilation) is tuple
            and len(strides) == 2 and len(padding) == 4 and len(dilation) == 2):
        return False
    for v in strides + dilation:
        if type(v) is not int or v < 1:
            return False
    for v in padding:
        if type(v) is not int or v < 0:
            return False
    return ((w.shape[0] - 1) * dilation[0] < x.shape[1] + padding[0] + padding[1]
            and (w.shape[1] - 1) * dilation[1] < x.shape[2] + padding[2] + padding[3] and w.shape[0] > 0 and w.shape[1] > 0)


@check("conv2d_forward")
def _conv2d_forward(x, w, b=None, strides=(1, 1), padding=(0, 0, 0, 0), dilation=(1, 1), groups=1, activation="linear",
                    alpha=0.0):
    if (_conv_fast(x, w, strides, padding, dilation, groups) and activation in _ACTIVATION_SET
            and activation not in ("softmax", "log_softmax")
            and (b is None or (b.dtype is x.dtype and b.shape == (w.shape[3],)))):
        return
    same_float("conv2d_forward", x=x, w=w, b=b)
    _conv_kernel_shape("conv2d_forward", tuple(x.shape), w, groups)
    out = conv_geometry("conv2d_forward", x.shape, w.shape[:2], w.shape[3], strides, padding, dilation, groups)
    if b is not None and tuple(b.shape) != (w.shape[3],):
        raise ValueError(f"conv2d_forward: b must have shape ({w.shape[3]},), got {tuple(b.shape)}")
    one_of("conv2d_forward", "activation", activation, ACTIVATIONS)
    if activation in ("softmax", "log_softmax"):
        raise ValueError(f"conv2d_forward: activation {activation} is not fused into the convolution")
    return out


@check("conv2d_backward_input")
def _conv2d_backward_input(gy, w, x_shape, strides=(1, 1), padding=(0, 0, 0, 0), dilation=(1, 1), groups=1):
    if (type(x_shape) is tuple and len(x_shape) == 4 and _floats(gy, w) and gy.ndim == 4 and gy.shape[0] == x_shape[0]
            and gy.shape[3] == w.shape[3] and _conv_fast(_Shape(x_shape, gy.dtype), w, strides, padding, dilation, groups)
            and gy.shape[1:3] == _conv_out_hw(x_shape, w.shape, strides, padding, dilation)):
        return
    same_float("conv2d_backward_input", gy=gy, w=w)
    x_shape = _int_tuple("conv2d_backward_input", "x_shape", x_shape, 4, 0)
    _conv_kernel_shape("conv2d_backward_input", x_shape, w, groups)
    out = conv_geometry("conv2d_backward_input", x_shape, w.shape[:2], w.shape[3], strides, padding, dilation, groups)
    if tuple(gy.shape) != out:
        raise ValueError(f"conv2d_backward_input: gy must have shape {out}, got {tuple(gy.shape)}")


@check("conv2d_backward_weight")
def _conv2d_backward_weight(x, gy, kernel_size, strides=(1, 1), padding=(0, 0, 0, 0), dilation=(1, 1), groups=1,
                            need_gb=True):
    if (type(kernel_size) is tuple and len(kernel_size) == 2 and _floats(x, gy) and gy.ndim == 4 and x.ndim == 4
            and type(groups) is int and groups > 0 and x.shape[3] % groups == 0 and gy.shape[0] == x.shape[0]
            and gy.shape[3] % groups == 0 and gy.shape[3] > 0
            and _conv_fast(x, _Shape(kernel_size + (x.shape[3] // groups, gy.shape[3]), x.dtype), strides, padding, dilation,
                           groups)
            and gy.shape[1:3] == _conv_out_hw(x.shape, kernel_size, strides, padding, dilation)):
        return
    same_float("conv2d_backward_weight", x=x, gy=gy)
    if gy.ndim != 4:
        raise ValueError(f"conv2d_backward_weight: gy must be 4-D (batch, out_height, out_width, out_channels), "
                         f"got shape {tuple(gy.shape)}")
    out = conv_geometry("conv2d_backward_weight", x.shape, kernel_size, gy.shape[3], strides, padding, dilation, groups)
    if tuple(gy.shape) != out:
        raise ValueError(f"conv2d_backward_weight: gy must have shape {out}, got {tuple(gy.shape)}")


@check("im2col")
def _im2col(x, kernel_size, strides=(1, 1), padding=(0, 0, 0, 0), dilation=(1, 1)):
    float_arg("im2col", "x", x)
    conv_geometry("im2col", x.shape, kernel_size, 1, strides, padding, dilation)


@check("col2im")
def _col2im(col, x_shape, kernel_size, strides=(1, 1), padding=(0, 0, 0, 0), dilation=(1, 1)):
    float_arg("col2im", "col", col)
    x_shape = _int_tuple("col2im", "x_shape", x_shape, 4, 0)
    n, oh, ow, _ = conv_geometry("col2im", x_shape, kernel_size, 1, strides, padding, dilation)
    want = (n, oh, ow, kernel_size[0] * kernel_size[1] * x_shape[3])
    if tuple(col.shape) != want:
        raise ValueError(f"col2im: col must have shape {want}, got {tuple(col.shape)}")


# ---- recurrent family (rnn_forward, rnn_backward: SimpleRNN / GRU / LSTM over a sequence) ----
RNN_KINDS = ("simple_rnn", "gru", "lstm")
_RNN_GATES = {"simple_rnn": 1, "gru": 3, "lstm": 4}
_RNN_SAVED_PER_STEP = {"simple_rnn": 2, "gru": 5, "lstm": 7}   # h before, (c before,) gate values; in units of u
_MASK_DTYPES = (np.dtype(np.bool_), np.dtype(np.uint8))


def rnn_geometry(kernel, kind, x, w, recurrent, activation):
    """(n, t, d, u, cols) of a recurrent layer over x (n, t, d) with recurrent (u, cols),
    cols = gates * u; ValueError naming the kernel, the expected and the actual shape."""
    if kind not in RNN_KINDS:
        raise ValueError(f"{kernel}: kind must be one of {', '.join(RNN_KINDS)}, got {kind!r}")
    if activation not in ("tanh", "relu"):
        raise ValueError(f"{kernel}: activation must be 'tanh' or 'relu', got {activation!r}")
    if x.ndim != 3:
        raise ValueError(f"{kernel}: x must be 3-D (batch, time, features), got shape {tuple(x.shape)}")
    n, t, d = x.shape
    g = _RNN_GATES[kind]
    if recurrent.ndim != 2 or recurrent.shape[1] != g * recurrent.shape[0]:
        raise ValueError(f"{kernel}: recurrent of a {kind} must have shape (units, {g} * units), got {tuple(recurrent.shape)}")
    u = recurrent.shape[0]
    if tuple(w.shape) != (d, g * u):
        raise ValueError(f"{kernel}: kernel must have shape {(d, g * u)}, got {tuple(w.shape)}")
    return n, t, d, u, g * u


def _rnn_mask(kernel, mask, n, t):
    if mask is None:
        return
    if getattr(mask, "dtype", None) not in _MASK_DTYPES:
        raise TypeError(f"{kernel}: mask must be a bool or uint8 array, got {dtype_name(mask)}")
    if tuple(mask.shape) != (n, t):
        raise ValueError(f"{kernel}: mask must have shape {(n, t)} (batch, time), got {tuple(mask.shape)}")


@check("rnn_forward")
def _rnn_forward(kind, x, kernel, recurrent, bias, states, mask=None, reverse=False, activation="tanh", zero_masked=False,
                 save=True):
    K = "rnn_forward"
    if not isinstance(states, tuple):
        raise TypeError(f"{K}: states must be a tuple of arrays, got {type(states).__name__}")
    same_float(K, x=x, kernel=kernel, recurrent=recurrent, bias=bias, **{f"states[{i}]": s for i, s in enumerate(states)})
    n, t, d, u, cols = rnn_geometry(K, kind, x, kernel, recurrent, activation)
    if bias is not None:
        want = (2, cols) if kind == "gru" else (cols,)
        if tuple(bias.shape) != want:
            raise ValueError(f"{K}: bias of a {kind} must have shape {want}, got {tuple(bias.shape)}")
    k = 2 if kind == "lstm" else 1
    if len(states) != k:
        raise ValueError(f"{K}: a {kind} takes {k} state(s), got {len(states)}")
    for i, s in enumerate(states):
        if tuple(s.shape) != (n, u):
            raise ValueError(f"{K}: states[{i}] must have shape {(n, u)}, got {tuple(s.shape)}")
    _rnn_mask(K, mask, n, t)


@check("rnn_backward")
def _rnn_backward(kind, g, saved, x, kernel, recurrent, mask=None, reverse=False, activation="tanh", zero_masked=False,
                  has_bias=True):
    K = "rnn_backward"
    same_float(K, x=x, g=g, saved=saved, kernel=kernel, recurrent=recurrent)
    n, t, d, u, cols = rnn_geometry(K, kind, x, kernel, recurrent, activation)
    want = (n, t + (2 if kind == "lstm" else 1), u)
    if tuple(g.shape) != want:
        raise ValueError(f"{K}: g must have the packed output's shape {want}, got {tuple(g.shape)}")
    want = (n * t * u * _RNN_SAVED_PER_STEP[kind],)
    if tuple(saved.shape) != want:
        raise ValueError(f"{K}: saved must have shape {want} (what rnn_forward saved), got {tuple(saved.shape)}")
    _rnn_mask(K, mask, n, t)
