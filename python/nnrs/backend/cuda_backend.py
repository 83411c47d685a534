"""The ``cuda`` backend: CuPy arrays, cuBLAS matrix products (``cupy.matmul``) and the CUDA
kernels of ``cuda_kernels/*.cu``. It implements the whole contract of ``base.Backend``.

Each ``.cu`` file is compiled once per process with ``cupy.RawModule`` (its headers pasted in
by ``cuda_launch.kernel_source``, options from ``cuda_launch.nvrtc_options``) and cached;
kernels are launched with the grid and block of ``cuda_launch.launch_config`` and scalars
typed by ``cuda_launch.scalar_args``, the configuration the CPU emulation tests
(``tests/cuda``) check against the numpy oracle.

What is not a kernel of ours: matrix products (cuBLAS, also inside the convolutions, which
are im2col + one product, and the recurrent layers, which are one product per step around a
fused gate kernel), ``binary`` / ``binary_scalar`` / ``reduce`` and a few bias sums (CuPy's
own elementwise kernels and reductions), and layout (reshape, transpose, slicing).

Nothing here copies data to the host (scalar results are 0-d device arrays) except ``take`` /
``scatter_add``, which read back whether an index is out of range, so that it raises.
"""

from __future__ import annotations

import threading

import cupy
import numpy as np

from . import cuda_launch
from .base import Backend

_MODULES: dict = {}  # .cu file name -> cupy.RawModule, compiled once per process
_FUNCTIONS: dict = {}  # kernel name with suffix -> the RawModule's function
_LOCK = threading.Lock()


def module(fname):
    """The compiled ``cupy.RawModule`` of ``cuda_kernels/<fname>`` (compiled on first use, then cached)."""
    mod = _MODULES.get(fname)
    if mod is None:
        with _LOCK:
            mod = _MODULES.get(fname)
            if mod is None:
                src = cuda_launch.kernel_source(fname)
                mod = _MODULES[fname] = cupy.RawModule(code=src, options=tuple(cuda_launch.nvrtc_options()))
    return mod


def _function(name, kernel):
    fn = _FUNCTIONS.get(name)
    if fn is None:
        fn = _FUNCTIONS[name] = module(cuda_launch.KERNELS[kernel][0]).get_function(name)
    return fn


def launch(kernel, dtype, items, *args):
    """Run ``kernel`` (no dtype suffix) for ``dtype`` over ``items`` elements or rows with the
    launch configuration of ``cuda_launch``; ``args`` as the kernel's parameters (device arrays,
    None for a null pointer, Python scalars, which are cast to the parameter's C type)."""
    name = cuda_launch.kernel_name(kernel, dtype)
    grid, block = cuda_launch.launch_config(kernel, items)
    _function(name, kernel)((grid,), (block,), cuda_launch.scalar_args(name, args))


def _c(a):
    r = cupy.ascontiguousarray(a)
    return r if r.shape == a.shape else r.reshape(a.shape)  # numpy's ascontiguousarray makes a 0-d array 1-d


def _sum_to(g, shape):
    """``g`` summed (CuPy's reduction) over the axes broadcasting added or stretched, as a C-contiguous ``shape``."""
    lead = g.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(lead + i for i, s in enumerate(shape) if s == 1 and g.shape[lead + i] != 1)
    if not axes:
        return _c(g.reshape(shape))
    return _c(cupy.asarray(g.sum(axis=axes), dtype=g.dtype).reshape(shape))


def _inplace(kernel, **arrays):
    """Arrays an in-place kernel writes must be C-contiguous: a copy would take the update."""
    for what, a in arrays.items():
        if a is not None and not a.flags.c_contiguous:
            raise ValueError(f"{kernel}: {what} must be C-contiguous to be updated in place on the cuda backend")


class CudaBackend(Backend):
    name = "cuda"
    xp = cupy

    # ---- arrays -------------------------------------------------------------------------------
    def asarray(self, x, dtype=None):
        return cupy.asarray(x, dtype=dtype)

    def to_numpy(self, a):
        return cupy.asnumpy(a)

    # ---- gemm (cuBLAS) ------------------------------------------------------------------------
    def matmul(self, a, b, trans_a=False, trans_b=False):
        return cupy.matmul(cupy.swapaxes(a, -1, -2) if trans_a else a, cupy.swapaxes(b, -1, -2) if trans_b else b)

    def linear_forward(self, x, w, b=None, activation="linear", alpha=0.0):
        y = cupy.matmul(x, w)
        if b is not None:
            y += b
        return y if activation == "linear" else self.activation_forward(activation, y, alpha)

    def linear_backward(self, x, w, gy, need_gx=True, need_gb=True):
        return (cupy.matmul(gy, w.T) if need_gx else None, cupy.matmul(x.T, gy), gy.sum(axis=0) if need_gb else None)

    # ---- elementwise arithmetic and reductions (CuPy's own kernels) --------------------------
    _BIN = {"add": "add", "sub": "subtract", "mul": "multiply", "div": "divide", "pow": "power", "maximum": "maximum",
            "minimum": "minimum"}

    def binary(self, op, a, b):
        return getattr(cupy, self._BIN[op])(a, b)

    def binary_scalar(self, op, a, s, reverse=False):
        s = a.dtype.type(s)  # a scalar of a's dtype, so the result keeps it (as the numpy oracle)
        f = getattr(cupy, self._BIN[op])
        return f(cupy.full((), s, dtype=a.dtype), a) if reverse else f(a, cupy.full((), s, dtype=a.dtype))

    def reduce(self, op, x, axes=None, keepdims=False):
        if axes is None:
            ax = tuple(range(x.ndim))
        else:
            ax = tuple(sorted({a % x.ndim for a in ((axes,) if isinstance(axes, int) else axes)})) if x.ndim else ()
        r = getattr(cupy, {"sum": "sum", "mean": "mean", "max": "max", "min": "min"}[op])(x, axis=ax, keepdims=keepdims)
        return cupy.asarray(r, dtype=x.dtype)

    def unary(self, op, x):
        code = cuda_launch.unary_code(op)
        shape = x.shape  # (ascontiguousarray makes a 0-d array 1-d)
        x = _c(x)
        y = cupy.empty(shape, dtype=x.dtype)
        launch("unary_forward", x.dtype, x.size, code, x, y, x.size)
        return y

    def binary_backward(self, op, a, b, g):
        code = cuda_launch.binary_code(op)
        shape = tuple(g.shape)
        ab, bb, gc = _c(cupy.broadcast_to(a, shape)), _c(cupy.broadcast_to(b, shape)), _c(g)
        ga, gb = cupy.empty(shape, dtype=g.dtype), cupy.empty(shape, dtype=g.dtype)
        n = int(np.prod(shape, dtype=np.int64))
        launch("binary_backward_elems", g.dtype, n, code, ab, bb, gc, ga, gb, n)
        return _sum_to(ga, tuple(a.shape)), _sum_to(gb, tuple(b.shape))

    def clip(self, x, lo, hi):
        shape = x.shape
        x = _c(x)
        y = cupy.empty(shape, dtype=x.dtype)
        launch("clip_forward", x.dtype, x.size, x, y, x.size, lo, hi)  # lo, hi rounded to x's dtype, as the oracle
        return y

    # ---- comparison, selection, casts, gather / scatter (index.cu) ---------------------------
    def compare(self, op, a, b):
        code = cuda_launch.compare_code(op)
        shape = np.broadcast_shapes(a.shape, b.shape)
        a, b = _c(cupy.broadcast_to(a, shape)), _c(cupy.broadcast_to(b, shape))
        out = cupy.empty(shape, dtype=np.bool_)
        n = int(np.prod(shape, dtype=np.int64))
        launch("compare_forward", a.dtype, n, code, a, b, out, n)
        return out

    def where(self, cond, a, b):
        shape = np.broadcast_shapes(cond.shape, a.shape, b.shape)
        cond, a, b = (_c(cupy.broadcast_to(v, shape)) for v in (cond, a, b))
        out = cupy.empty(shape, dtype=a.dtype)
        n = int(np.prod(shape, dtype=np.int64))
        launch("where_forward", a.dtype, n, cond, a, b, out, n)
        return out

    _SATURATING = {np.dtype(np.int32): "cast_to_int32", np.dtype(np.int64): "cast_to_int64", np.dtype(np.uint8): "cast_to_uint8"}

    def cast(self, x, dtype):
        d = np.dtype(dtype)
        if x.dtype.kind == "f" and d in self._SATURATING:  # C's float -> int conversion is undefined out of range: a kernel saturates
            shape = x.shape
            x = _c(x)
            out = cupy.empty(shape, dtype=d)
            launch(self._SATURATING[d], x.dtype, x.size, x, out, x.size)
            return out
        # integer wrap, rounding to float, != 0 to bool and bool to 0 / 1: CuPy's astype has numpy's meaning
        return x.astype(d, order="C", copy=True)

    @staticmethod
    def _indices(kernel, indices, size, axis):
        """indices as a C-contiguous int64 device array, after checking them: the one place a
        gather / scatter reads back from the device (one bool, and the first bad index when
        there is one), because a bad index must raise."""
        from .base import INDEX_ERROR

        idx = _c(indices.astype(np.int64, copy=False))
        if idx.size:
            bad = (idx < -size) | (idx >= size)
            if bool(bad.any()):
                first = int(idx.reshape(-1)[int(bad.reshape(-1).argmax())])
                raise ValueError(INDEX_ERROR.format(kernel=kernel, index=first, axis=axis, size=size))
        return idx

    def take(self, x, indices, axis):
        ax = axis % x.ndim
        n = x.shape[ax]
        idx = self._indices("take", indices, n, ax)
        x = _c(x)
        outer = int(np.prod(x.shape[:ax], dtype=np.int64))
        inner = int(np.prod(x.shape[ax + 1:], dtype=np.int64))
        out = cupy.empty(x.shape[:ax] + tuple(indices.shape) + x.shape[ax + 1:], dtype=x.dtype)
        total = outer * idx.size * inner
        launch("take_forward", x.dtype, total, x, idx, out, outer, n, inner, idx.size)
        return out

    def scatter_add(self, updates, indices, axis, dim_size):
        ni = indices.ndim
        ax = axis % (updates.ndim - ni + 1)
        idx = self._indices("scatter_add", indices, dim_size, ax)
        upd = _c(updates)
        lead, tail = updates.shape[:ax], updates.shape[ax + ni:]
        outer = int(np.prod(lead, dtype=np.int64))
        inner = int(np.prod(tail, dtype=np.int64))
        out = cupy.empty(lead + (dim_size,) + tail, dtype=updates.dtype)
        launch("scatter_add_forward", upd.dtype, outer * inner, upd, idx, out, outer, dim_size, inner, idx.size)
        return out

    # ---- reductions with the oracle's meaning (reduce.cu) -------------------------------------
    def argmax(self, x, axis=-1):
        if x.ndim == 0:
            return cupy.zeros((), dtype=np.int64)
        ax = axis % x.ndim
        xt = _c(cupy.moveaxis(x, ax, -1))
        cols = x.shape[ax]
        out_shape = x.shape[:ax] + x.shape[ax + 1:]
        rows = int(np.prod(out_shape, dtype=np.int64))
        out = cupy.empty(out_shape, dtype=np.int64)
        launch("argmax_rows", x.dtype, rows, xt, out, rows, cols)
        return out

    def sum_squares(self, arrays):
        parts = []
        for a in arrays:
            a = _c(a)
            chunks = -(-a.size // cuda_launch.SUM_SQUARES_CHUNK)
            if chunks:
                part = cupy.empty((chunks,), dtype=np.float64)
                launch("sum_squares_chunks", a.dtype, chunks, a, part, a.size, cuda_launch.SUM_SQUARES_CHUNK, chunks)
                parts.append(part)
        if not parts:
            return cupy.zeros((), dtype=np.float64)
        return cupy.asarray(cupy.concatenate(parts).sum(), dtype=np.float64).reshape(())

    @staticmethod
    def _axes(x, axes):
        if axes is None:
            return tuple(range(x.ndim))
        return tuple(sorted({a % x.ndim for a in ((axes,) if isinstance(axes, int) else axes)})) if x.ndim else ()

    def moments(self, x, axes=None, keepdims=False):
        ax = self._axes(x, axes)
        kept = tuple(i for i in range(x.ndim) if i not in ax)
        xt = _c(cupy.transpose(x, kept + ax)) if x.ndim else _c(x.reshape(1))
        rows = int(np.prod([x.shape[i] for i in kept], dtype=np.int64))
        cols = int(np.prod([x.shape[i] for i in ax], dtype=np.int64))
        shape = tuple(1 if i in ax else x.shape[i] for i in range(x.ndim)) if keepdims else tuple(x.shape[i] for i in kept)
        mean = cupy.empty(shape, dtype=x.dtype)
        var = cupy.empty(shape, dtype=x.dtype)
        launch("moments_rows", x.dtype, rows, xt, mean, var, rows, cols)
        return mean, var

    def moments_backward(self, x, mean, g_mean, g_var, axes=None):
        ax = self._axes(x, axes)
        kept = tuple(i for i in range(x.ndim) if i not in ax)
        perm = kept + ax
        xt = _c(cupy.transpose(x, perm)) if x.ndim else _c(x.reshape(1))
        rows = int(np.prod([x.shape[i] for i in kept], dtype=np.int64))
        cols = int(np.prod([x.shape[i] for i in ax], dtype=np.int64))
        m, gm, gv = (_c(a.reshape(-1)) for a in (mean, g_mean, g_var))
        gt = cupy.empty(xt.shape, dtype=x.dtype)
        launch("moments_backward_rows", x.dtype, rows * cols, xt, m, gm, gv, gt, rows, cols)
        if not x.ndim:
            return gt.reshape(())
        return _c(cupy.transpose(gt, tuple(np.argsort(perm))))

    def batch_norm_update(self, moving_mean, moving_var, mean, var, momentum):
        _inplace("batch_norm_update", moving_mean=moving_mean, moving_var=moving_var)
        rest = 1.0 - momentum  # rounded to the dtype by scalar_args, as the oracle's t(1.0 - momentum)
        for mv, b in ((moving_mean, mean), (moving_var, var)):
            launch("moving_average_update", mv.dtype, mv.size, mv, _c(b), mv.size, momentum, rest)

    def one_hot(self, indices, num_classes, dtype="float32"):
        d = np.dtype("float32" if dtype is None else dtype)
        idx = _c(indices.astype(np.int64, copy=False))
        out = cupy.empty(tuple(indices.shape) + (num_classes,), dtype=d)
        n = idx.size * num_classes
        launch("one_hot_forward", d, n, idx, out, n, num_classes)
        return out

    def gaussian_noise_forward(self, x, stddev, seed):
        shape = x.shape
        x = _c(x)
        y = cupy.empty(shape, dtype=x.dtype)
        launch("gaussian_noise_forward", x.dtype, x.size, x, y, x.size, cuda_launch.dropout_seed(seed), float(stddev))
        return y

    # ---- activations --------------------------------------------------------------------------
    def activation_forward(self, name, x, alpha=0.0):
        if name in ("softmax", "log_softmax"):
            return self._softmax_rows(x, name == "log_softmax")
        code = cuda_launch.activation_code(name)
        x = _c(x)
        y = cupy.empty(x.shape, dtype=x.dtype)
        launch("activation_forward", x.dtype, x.size, code, x, y, x.size, alpha)
        return y

    def activation_backward(self, name, gy, x, y, alpha=0.0):
        if name in ("softmax", "log_softmax"):
            return self._softmax_rows_backward(gy, y, name == "log_softmax")
        code = cuda_launch.activation_code(name)
        gy, x, y = _c(gy), _c(x), _c(y)
        gx = cupy.empty(x.shape, dtype=x.dtype)
        launch("activation_backward", x.dtype, x.size, code, gy, x, y, gx, x.size, alpha)
        return gx

    @staticmethod
    def _softmax_rows(x, log):
        x = _c(x)
        cols = x.shape[-1] if x.ndim else 1
        rows = x.size // cols if cols else 0
        y = cupy.empty(x.shape, dtype=x.dtype)
        launch("softmax_rows_forward", x.dtype, rows, int(log), x, y, rows, cols)
        return y

    @staticmethod
    def _softmax_rows_backward(gy, y, log):
        gy, y = _c(gy), _c(y)
        cols = y.shape[-1] if y.ndim else 1
        rows = y.size // cols if cols else 0
        gx = cupy.empty(y.shape, dtype=y.dtype)
        launch("softmax_rows_backward", y.dtype, rows, int(log), gy, y, gx, rows, cols)
        return gx

    def softmax_forward(self, x, axis, log=False):
        last = x.ndim - 1
        if axis % x.ndim == last:
            return self._softmax_rows(x, log)
        return _c(cupy.moveaxis(self._softmax_rows(cupy.moveaxis(x, axis, last), log), last, axis))

    def softmax_backward(self, gy, y, axis, log=False):
        last = y.ndim - 1
        if axis % y.ndim == last:
            return self._softmax_rows_backward(gy, y, log)
        g = self._softmax_rows_backward(cupy.moveaxis(gy, axis, last), cupy.moveaxis(y, axis, last), log)
        return _c(cupy.moveaxis(g, last, axis))

    # ---- losses (fused softmax cross-entropy) -------------------------------------------------
    def loss_forward(self, name, pred, target, weight=None, delta=1.0):
        if name != "softmax_crossentropy":
            code = cuda_launch.loss_code(name)
            pred = _c(pred)
            rows = pred.shape[0]
            cols = pred.size // rows if rows else int(np.prod(pred.shape[1:], dtype=np.int64))
            per = cupy.empty((rows,), dtype=pred.dtype)
            launch("loss_elementwise_forward", pred.dtype, rows, code, pred, _c(target), per, rows, cols, delta)
        else:
            per = self._softmax_xent_per_sample(pred, target)
        if weight is not None:
            per = per * weight
        return (per.sum(dtype=np.float64) / max(pred.shape[0], 1)).astype(pred.dtype)

    @staticmethod
    def _softmax_xent_per_sample(pred, target):
        pred = _c(pred)
        rows, classes = pred.shape
        per = cupy.empty((rows,), dtype=pred.dtype)
        if target.ndim == 1:
            launch("softmax_xent_forward_sparse", pred.dtype, rows, pred, _c(target), per, rows, classes)
        else:
            launch("softmax_xent_forward_onehot", pred.dtype, rows, pred, _c(target), per, rows, classes)
        return per

    def loss_backward(self, name, pred, target, weight=None, grad=1.0, delta=1.0):
        if name != "softmax_crossentropy":
            return self._loss_elementwise_backward(name, pred, target, weight, grad, delta)
        pred = _c(pred)
        rows, classes = pred.shape
        w = None if weight is None else _c(weight)
        g = cupy.empty(pred.shape, dtype=pred.dtype)
        if isinstance(grad, (int, float, np.ndarray, np.generic)):  # a host value: no device round trip to read it
            scale = cuda_launch.softmax_xent_scale(float(grad), rows)
            upstream = None
        else:  # a 0-d device array: scale on the device instead of reading it back
            scale, upstream = cuda_launch.softmax_xent_scale(1.0, rows), grad
        kernel = "softmax_xent_backward_sparse" if target.ndim == 1 else "softmax_xent_backward_onehot"
        launch(kernel, pred.dtype, rows, pred, _c(target), w, g, rows, classes, scale)
        if upstream is not None:
            g *= upstream.astype(pred.dtype)
        return g

    @staticmethod
    def _loss_elementwise_backward(name, pred, target, weight, grad, delta):
        code = cuda_launch.loss_code(name)
        pred = _c(pred)
        rows = pred.shape[0]
        cols = max(pred.size // rows if rows else int(np.prod(pred.shape[1:], dtype=np.int64)), 1)
        g = cupy.empty(pred.shape, dtype=pred.dtype)
        if isinstance(grad, (int, float, np.ndarray, np.generic)):  # a host value: no device round trip to read it
            scale, upstream = cuda_launch.loss_elementwise_scale(float(grad), rows, cols), None
        else:  # a 0-d device array: scale on the device instead of reading it back
            scale, upstream = cuda_launch.loss_elementwise_scale(1.0, rows, cols), grad
        launch("loss_elementwise_backward", pred.dtype, pred.size, code, pred, _c(target), None if weight is None else _c(weight), g,
               pred.size, cols, scale, delta)
        if upstream is not None:
            g *= upstream.astype(pred.dtype)
        return g

    # ---- dropout -----------------------------------------------------------------------------
    def dropout_forward(self, x, rate, seed):
        x = _c(x)
        y = cupy.empty(x.shape, dtype=x.dtype)
        mask = cupy.empty(x.shape, dtype=x.dtype)
        launch("dropout_forward", x.dtype, x.size, x, y, mask, x.size, cuda_launch.dropout_seed(seed),
               cuda_launch.dropout_threshold(rate), cuda_launch.dropout_scale(rate))
        return y, mask

    # ---- optimizer updates (one fused in-place kernel each) -----------------------------------
    def sgd_update(self, param, grad, velocity, lr, momentum=0.0, nesterov=False, weight_decay=0.0):
        velocity = velocity if momentum else None
        _inplace("sgd_update", param=param, velocity=velocity)
        launch("sgd_update", param.dtype, param.size, param, _c(grad), velocity, param.size,
               *cuda_launch.sgd_scalars(lr, momentum, nesterov, weight_decay))

    def adam_update(self, param, grad, m, v, lr, beta1, beta2, eps, step, weight_decay=0.0):
        _inplace("adam_update", param=param, m=m, v=v)
        launch("adam_update", param.dtype, param.size, param, _c(grad), m, v, param.size,
               *cuda_launch.adam_scalars(lr, beta1, beta2, eps, step, weight_decay))

    def rmsprop_update(self, param, grad, ms, mom, lr, rho, momentum, eps, weight_decay=0.0):
        mom = mom if momentum else None
        _inplace("rmsprop_update", param=param, ms=ms, mom=mom)
        launch("rmsprop_update", param.dtype, param.size, param, _c(grad), ms, mom, param.size,
               *cuda_launch.rmsprop_scalars(lr, rho, momentum, eps, weight_decay))

    def adagrad_update(self, param, grad, acc, lr, eps, weight_decay=0.0):
        _inplace("adagrad_update", param=param, acc=acc)
        launch("adagrad_update", param.dtype, param.size, param, _c(grad), acc, param.size,
               *cuda_launch.adagrad_scalars(lr, eps, weight_decay))

    # ---- pooling, batch norm, affine warps, argsort (pool.cu, norm.cu, warp.cu, sort.cu) ----
    @staticmethod
    def _pool_geom(shape, pool_size, strides, padding):
        """The geometry arguments of pool.cu's kernels (n, h, w, c, oh, ow, ph, pw, sh, sw, pt, pl)."""
        n, h, w, c = (int(s) for s in shape)
        (ph, pw), (sh, sw) = (int(p) for p in pool_size), (int(s) for s in strides)
        t, b, left, right = (int(p) for p in padding)
        oh, ow = (h + t + b - ph) // sh + 1, (w + left + right - pw) // sw + 1
        return (n, h, w, c, oh, ow, ph, pw, sh, sw, t, left)

    def _pool_forward(self, kernel, x, pool_size, strides, padding):
        g = self._pool_geom(x.shape, pool_size, strides, padding)
        x = _c(x)
        y = cupy.empty((g[0], g[4], g[5], g[3]), dtype=x.dtype)
        launch(kernel, x.dtype, y.size, x, y, *g)
        return y

    def max_pool2d_forward(self, x, pool_size, strides, padding):
        return self._pool_forward("max_pool2d_forward", x, pool_size, strides, padding)

    def max_pool2d_backward(self, x, gy, pool_size, strides, padding):
        g = self._pool_geom(x.shape, pool_size, strides, padding)
        x, gy = _c(x), _c(gy)
        gx = cupy.empty(x.shape, dtype=x.dtype)
        launch("max_pool2d_backward", x.dtype, gx.size, x, gy, gx, *g)
        return gx

    def avg_pool2d_forward(self, x, pool_size, strides, padding):
        return self._pool_forward("avg_pool2d_forward", x, pool_size, strides, padding)

    def avg_pool2d_backward(self, gy, input_shape, pool_size, strides, padding):
        g = self._pool_geom(input_shape, pool_size, strides, padding)
        gy = _c(gy)
        gx = cupy.empty(tuple(int(s) for s in input_shape), dtype=gy.dtype)
        launch("avg_pool2d_backward", gy.dtype, gx.size, gy, gx, *g)
        return gx

    def batch_norm_forward(self, x, gamma=None, beta=None, mean=None, var=None, epsilon=1e-3, training=True):
        c, d = int(x.shape[-1]), x.dtype
        x = _c(x)
        rows = int(np.prod(x.shape[:-1], dtype=np.int64))
        if training:
            chunk = cuda_launch.BN_CHUNK_ROWS
            chunks = -(-rows // chunk)
            part = cupy.empty((chunks * c,), dtype=np.float64)
            m64, v64 = cupy.empty((c,), dtype=np.float64), cupy.empty((c,), dtype=np.float64)
            for center, out in ((None, m64), (m64, v64)):  # the mean, then the mean squared deviation from it
                launch("batch_norm_stats_partial", d, chunks * c, x, center, part, rows, c, chunk)
                launch("batch_norm_combine", d, c, part, out, None, c, chunks, 1, float(rows))
        else:
            m64, v64 = _c(mean.astype(np.float64)), _c(var.astype(np.float64))
        a, shift, mean_out, var_out = (cupy.empty((c,), dtype=d) for _ in range(4))
        launch("batch_norm_coeffs", d, c, m64, v64, None if gamma is None else _c(gamma), None if beta is None else _c(beta),
               a, shift, mean_out, var_out, c, float(epsilon))
        y = cupy.empty(x.shape, dtype=d)
        launch("batch_norm_apply", d, x.size, x, a, shift, y, x.size, c)
        return y, mean_out, var_out

    def batch_norm_backward(self, gy, x, gamma, mean, var, epsilon=1e-3, training=True):
        c, d = int(x.shape[-1]), x.dtype
        gy, x, mean, var = _c(gy), _c(x), _c(mean), _c(var)
        gamma = None if gamma is None else _c(gamma)
        rows = int(np.prod(x.shape[:-1], dtype=np.int64))
        chunk = cuda_launch.BN_CHUNK_ROWS
        chunks = -(-rows // chunk)
        part = cupy.empty((2 * chunks * c,), dtype=np.float64)
        launch("batch_norm_backward_partial", d, chunks * c, gy, x, mean, var, part, rows, c, chunk, float(epsilon))
        sums = cupy.empty((2 * c,), dtype=np.float64)  # g_beta then g_gamma, in float64 for the gx kernel
        sums_t = cupy.empty((2 * c,), dtype=d)
        launch("batch_norm_combine", d, 2 * c, part, sums, sums_t, c, chunks, 2, 1.0)
        g_beta, g_gamma = sums_t[:c], sums_t[c:]
        gx = cupy.empty(x.shape, dtype=d)
        launch("batch_norm_backward_gx", d, x.size, gy, x, gamma, mean, var, sums, gx, rows, c, float(epsilon),
               int(bool(training) and rows > 0))
        return gx, g_gamma, g_beta

    def argsort(self, x):
        if x.ndim == 0:
            return cupy.zeros((), dtype=np.int64)
        x = _c(x)
        cols = int(x.shape[-1])
        rows = int(np.prod(x.shape[:-1], dtype=np.int64))
        out = cupy.empty(x.shape, dtype=np.int64)
        scratch = cupy.empty(x.shape, dtype=np.int64)
        launch("argsort_rows", x.dtype, rows, x, out, scratch, rows, cols)
        return out

    @staticmethod
    def _warp_codes(interpolation, fill_mode):
        """warp.cu's ``interp`` and ``mode`` arguments (indices in base.INTERPOLATIONS / FILL_MODES)."""
        from .base import FILL_MODES, INTERPOLATIONS

        return INTERPOLATIONS.index(interpolation), FILL_MODES.index(fill_mode)

    def affine_transform(self, images, transforms, interpolation="bilinear", fill_mode="constant", fill_value=0.0):
        n, h, w, c = (int(s) for s in images.shape)
        images, transforms = _c(images), _c(transforms)
        y = cupy.empty(images.shape, dtype=images.dtype)
        launch("affine_transform_forward", images.dtype, y.size, images, transforms, y, n, h, w, c,
               *self._warp_codes(interpolation, fill_mode), float(fill_value))
        return y

    def affine_transform_backward(self, gy, transforms, interpolation="bilinear", fill_mode="constant"):
        n, h, w, c = (int(s) for s in gy.shape)
        gy, transforms = _c(gy), _c(transforms)
        gx = cupy.zeros(gy.shape, dtype=np.float64)  # float64 atomics (not bit-deterministic), then rounded to gy's dtype
        launch("affine_transform_backward", gy.dtype, gy.size, gy, transforms, gx, n, h, w, c, *self._warp_codes(interpolation, fill_mode))
        return gx if gy.dtype == np.float64 else gx.astype(gy.dtype)


    # ---- convolution (conv.cu: im2col / col2im and the involution as gathers; products by cuBLAS) ----
    # Group g's patches are one (n*oh*ow, kh*kw*c/groups) block of im2col_forward's group-major
    # col (groups, n*oh*ow, kh*kw*c/groups), so a grouped convolution is one batched product
    # with w as (groups, kh*kw*c/groups, oc/groups); with groups = 1, col is the contract's im2col.
    @staticmethod
    def _conv_geo(x_shape, kernel_size, strides, padding, dilation, out_hw=None):
        """The host integers (n, h, w, c, oh, ow, kh, kw, sh, sw, pt, pl, dh, dw) of conv.cu's kernels."""
        n, h, w, c = (int(v) for v in x_shape)
        (kh, kw), (sh, sw), (dh, dw) = ((int(a), int(b)) for a, b in (kernel_size, strides, dilation))
        pt, pb, pl, pr = (int(v) for v in padding)
        if out_hw is None:
            out_hw = ((h + pt + pb - (kh - 1) * dh - 1) // sh + 1, (w + pl + pr - (kw - 1) * dw - 1) // sw + 1)
        return (n, h, w, c, int(out_hw[0]), int(out_hw[1]), kh, kw, sh, sw, pt, pl, dh, dw)

    @staticmethod
    def _pointwise(geo, padding):
        """A 1x1, stride-1, unpadded convolution: the patches are x itself."""
        return geo[6:10] == (1, 1, 1, 1) and not any(padding)

    @staticmethod
    def _im2col_groups(x, geo, groups):
        n, _, _, c, oh, ow, kh, kw = geo[:8]
        x = _c(x)
        col = cupy.empty((groups, n * oh * ow, kh * kw * (c // groups)), dtype=x.dtype)
        launch("im2col_forward", x.dtype, col.size, x, col, *geo, groups, col.size)
        return col

    @staticmethod
    def _col2im_groups(col, geo, groups):
        x = cupy.empty(geo[:4], dtype=col.dtype)
        launch("col2im_forward", col.dtype, x.size, _c(col), x, *geo, groups, x.size)
        return x

    def _patches(self, x, geo, padding, groups):
        """im2col_forward's col (groups, n*oh*ow, kh*kw*c/groups) of x (x reshaped when pointwise and ungrouped)."""
        if groups == 1 and self._pointwise(geo, padding):
            return _c(x).reshape(1, geo[0] * geo[1] * geo[2], geo[3])
        return self._im2col_groups(x, geo, groups)

    def im2col(self, x, kernel_size, strides=(1, 1), padding=(0, 0, 0, 0), dilation=(1, 1)):
        geo = self._conv_geo(x.shape, kernel_size, strides, padding, dilation)
        n, _, _, c, oh, ow, kh, kw = geo[:8]
        return self._im2col_groups(x, geo, 1).reshape(n, oh, ow, kh * kw * c)

    def col2im(self, col, x_shape, kernel_size, strides=(1, 1), padding=(0, 0, 0, 0), dilation=(1, 1)):
        return self._col2im_groups(col, self._conv_geo(x_shape, kernel_size, strides, padding, dilation), 1)

    def conv2d_forward(self, x, w, b=None, strides=(1, 1), padding=(0, 0, 0, 0), dilation=(1, 1), groups=1, activation="linear",
                       alpha=0.0):
        kh, kw, cg, oc = w.shape
        geo = self._conv_geo(x.shape, (kh, kw), strides, padding, dilation)
        n, oh, ow = geo[0], geo[4], geo[5]
        m, ocg, k = n * oh * ow, oc // groups, kh * kw * cg
        col = self._patches(x, geo, padding, groups)
        if groups == 1:
            z = cupy.matmul(col.reshape(m, k), _c(w).reshape(k, oc))
            if b is None and activation == "linear":
                return _c(z.reshape(n, oh, ow, oc))
        else:
            z = cupy.matmul(col, _c(w).reshape(k, groups, ocg).transpose(1, 0, 2))  # (groups, m, ocg)
        y = cupy.empty((n, oh, ow, oc), dtype=x.dtype)
        launch("conv_bias_act_forward", x.dtype, y.size, cuda_launch.activation_code(activation), _c(z), None if b is None else _c(b),
               y, m, groups, ocg, alpha)
        return y

    def conv2d_backward_input(self, gy, w, x_shape, strides=(1, 1), padding=(0, 0, 0, 0), dilation=(1, 1), groups=1):
        kh, kw, cg, oc = w.shape
        geo = self._conv_geo(x_shape, (kh, kw), strides, padding, dilation)
        m, ocg, k = geo[0] * geo[4] * geo[5], oc // groups, kh * kw * cg
        gyg = _c(gy).reshape(m, groups, ocg).transpose(1, 0, 2)  # (groups, m, ocg)
        gcol = cupy.matmul(gyg, _c(w).reshape(k, groups, ocg).transpose(1, 2, 0))  # (groups, m, k)
        if groups == 1 and self._pointwise(geo, padding):
            return _c(gcol.reshape(geo[:4]))
        return self._col2im_groups(gcol, geo, groups)

    def conv2d_backward_weight(self, x, gy, kernel_size, strides=(1, 1), padding=(0, 0, 0, 0), dilation=(1, 1), groups=1,
                               need_gb=True):
        geo = self._conv_geo(x.shape, kernel_size, strides, padding, dilation)
        kh, kw = geo[6:8]
        cg, oc = geo[3] // groups, gy.shape[3]
        m, ocg = geo[0] * geo[4] * geo[5], oc // groups
        col = self._patches(x, geo, padding, groups)
        gy2 = _c(gy).reshape(m, oc)
        gwg = cupy.matmul(col.transpose(0, 2, 1), gy2.reshape(m, groups, ocg).transpose(1, 0, 2))  # (groups, k, ocg)
        gw = _c(gwg.transpose(1, 0, 2).reshape(kh, kw, cg, oc))
        gb = _c(cupy.asarray(gy2.sum(axis=0), dtype=x.dtype)) if need_gb else None
        return gw, gb

    def _dynamic_geo(self, x, k, kernel_size, strides, padding, dilation):
        return self._conv_geo(x.shape, kernel_size, strides, padding, dilation, out_hw=k.shape[1:3]) + (int(k.shape[4]),)

    def dynamic_conv2d_forward(self, x, k, kernel_size, strides=(1, 1), padding=(0, 0, 0, 0), dilation=(1, 1)):
        geo = self._dynamic_geo(x, k, kernel_size, strides, padding, dilation)
        y = cupy.empty((geo[0], geo[4], geo[5], geo[3]), dtype=x.dtype)
        launch("dynamic_conv2d_forward", x.dtype, y.size, _c(x), _c(k), y, *geo)
        return y

    def dynamic_conv2d_backward(self, gy, x, k, kernel_size, strides=(1, 1), padding=(0, 0, 0, 0), dilation=(1, 1)):
        geo = self._dynamic_geo(x, k, kernel_size, strides, padding, dilation)
        gy = _c(gy)
        gx = cupy.empty(x.shape, dtype=x.dtype)
        gk = cupy.empty(k.shape, dtype=k.dtype)
        launch("dynamic_conv2d_backward_input", x.dtype, gx.size, gy, _c(k), gx, *geo)
        launch("dynamic_conv2d_backward_kernel", x.dtype, gk.size, gy, _c(x), gk, *geo)
        return gx, gk

    # ---- recurrent family (cuBLAS products + one fused gate kernel per step, rnn.cu) ----
    _RNN_GATES = {"simple_rnn": 1, "gru": 3, "lstm": 4}
    _RNN_SAVED = {"simple_rnn": 1, "gru": 4, "lstm": 5}

    def rnn_forward(self, kind, x, kernel, recurrent, bias, states, mask=None, reverse=False, activation="tanh",
                    zero_masked=False, save=True):
        n, t, d = x.shape
        u = recurrent.shape[0]
        cols = self._RNN_GATES[kind] * u
        dt = x.dtype
        lstm, gru = kind == "lstm", kind == "gru"
        # the input projection of every step: one product (the kernels add the input bias)
        xp = cupy.matmul(x.reshape(n * t, d), kernel)
        b_in = b_rec = None
        if bias is not None:
            b_in, b_rec = (_c(bias[0]), _c(bias[1])) if gru else (_c(bias), None)
        h = states[0].astype(dt, order="C", copy=True)
        c = states[1].astype(dt, order="C", copy=True) if lstm else None
        m = _rnn_mask(mask)
        out = cupy.empty((n, t + (2 if lstm else 1), u), dtype=dt)
        saved = hprev = cprev = gates = None
        if save:
            saved = cupy.empty((n * t * u * ((2 if lstm else 1) + self._RNN_SAVED[kind]),), dtype=dt)
            hprev, cprev, gates = _rnn_saved_views(kind, saved, n, t, u)
        hr = cupy.empty((n, cols), dtype=dt)
        if lstm:
            args = (xp, b_in, hr, h, c, m, out, hprev, cprev, gates, n, t, u, 0, 0, int(zero_masked))
        elif gru:
            args = (xp, b_in, hr, b_rec, h, m, out, hprev, gates, n, t, u, 0, 0, int(zero_masked))
        else:
            args = (xp, b_in, hr, h, m, out, hprev, gates, n, t, u, 0, 0, int(zero_masked), _rnn_act(activation))
        step = _step_launcher(f"{kind}_step_forward", dt, n * u, args)
        for k in range(t):
            cupy.matmul(h, recurrent, out=hr)
            step(k, t - 1 - k if reverse else k)
        out[:, t] = h
        if lstm:
            out[:, t + 1] = c
        return out, saved

    def rnn_backward(self, kind, g, saved, x, kernel, recurrent, mask=None, reverse=False, activation="tanh",
                     zero_masked=False, has_bias=True):
        n, t, d = x.shape
        u = recurrent.shape[0]
        cols = self._RNN_GATES[kind] * u
        dt = x.dtype
        lstm, gru = kind == "lstm", kind == "gru"
        g = _c(g)
        hprev, cprev, gates = _rnn_saved_views(kind, _c(saved), n, t, u)
        m = _rnn_mask(mask)
        # the gradient wrt the states after a step is dh = dh_mm (the product) + rest; after the last, g[:, t]
        dh_mm = cupy.zeros((n, u), dtype=dt)
        rest = g[:, t].copy()
        dc = g[:, t + 1].copy() if lstm else None
        carry = cupy.zeros((n, u), dtype=dt)
        dgx = cupy.empty((n, t, cols), dtype=dt)  # pre-activation gradients of every step, input side
        dgr = cupy.empty((n, t, cols), dtype=dt) if gru else dgx  # ... recurrent side (GRU's h column differs)
        dstep = cupy.empty((n, cols), dtype=dt)  # this step's recurrent side, contiguous for the product
        rt = recurrent.T
        if lstm:
            args = (g, dh_mm, rest, dc, carry, cprev, gates, m, dgx, dstep, n, t, u, 0, 0, int(zero_masked))
        elif gru:
            args = (g, dh_mm, rest, carry, hprev, gates, m, dgx, dgr, dstep, n, t, u, 0, 0, int(zero_masked))
        else:
            args = (g, dh_mm, rest, carry, gates, m, dgx, dstep, n, t, u, 0, 0, int(zero_masked), _rnn_act(activation))
        step = _step_launcher(f"{kind}_step_backward", dt, n * u, args)
        for k in reversed(range(t)):
            step(k, t - 1 - k if reverse else k)
            cupy.matmul(dstep, rt, out=dh_mm)
        gh = cupy.add(dh_mm, rest)
        dgx2, dgr2 = dgx.reshape(n * t, cols), dgr.reshape(n * t, cols)
        gx = cupy.matmul(dgx2, kernel.T).reshape(n, t, d)
        gk = cupy.matmul(x.reshape(n * t, d).T, dgx2)
        gr = cupy.matmul(hprev.reshape(n * t, u).T, dgr2)
        gb = None
        if has_bias:
            gb = _c(cupy.stack([dgx2.sum(axis=0), dgr2.sum(axis=0)])) if gru else _c(dgx2.sum(axis=0))
            gb = cupy.asarray(gb, dtype=dt)
        gstates = (_c(gh), _c(dc)) if lstm else (_c(gh),)
        return _c(gx), _c(gk), _c(gr), gb, gstates


def _step_launcher(kernel, dtype, items, args):
    """``run(k, tt)``: launches ``kernel`` (a step kernel of rnn.cu) over ``items`` with ``args``
    but the step k and the time index tt; the function, the grid and the typed arguments are
    looked up once per sequence, so a time step costs Python one call."""
    name = cuda_launch.kernel_name(kernel, dtype)
    fn = _function(name, kernel)
    grid, block = cuda_launch.launch_config(kernel, items)
    typed = list(cuda_launch.scalar_args(name, args))
    names = [a for _, a in cuda_launch.signatures()[name]]
    ik, itt = names.index("k"), names.index("tt")
    index = type(typed[ik])

    def run(k, tt):
        typed[ik], typed[itt] = index(k), index(tt)
        fn((grid,), (block,), tuple(typed))

    return run


def _rnn_mask(mask):
    """The (n, t) mask as a C-contiguous uint8 device array (nonzero = a real step), or None."""
    return None if mask is None else _c(mask.astype(np.uint8, copy=False))


def _rnn_act(activation):
    """The ``act`` argument of simple_rnn_step_*: 0 tanh, 1 relu."""
    return ("tanh", "relu").index(activation)


def _rnn_saved_views(kind, saved, n, t, u):
    """(hprev (n, t, u), cprev (n, t, u) or None, gates (n, t, S*u)): views of the flat saved buffer."""
    s = n * t * u
    hprev = saved[:s].reshape(n, t, u)
    cprev = saved[s:2 * s].reshape(n, t, u) if kind == "lstm" else None
    off = 2 * s if kind == "lstm" else s
    return hprev, cprev, saved[off:].reshape(n, t, CudaBackend._RNN_SAVED[kind] * u)
