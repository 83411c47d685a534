"""A small stand-in for the part of CuPy 14 that ``nnrs.backend.cuda_backend`` uses, for tests
on machines without a GPU. Install it with ``monkeypatch.setitem(sys.modules, "cupy", fakecupy)``.

What it keeps of CuPy's meaning:

* ``ndarray`` is a *device* array: it wraps a numpy array but is not one. Like CuPy's, it
  refuses to become a numpy array implicitly (``np.asarray(d)`` is a TypeError); its values
  reach the host only through ``.get()``, ``asnumpy``, ``.item()``, ``.tolist()``, ``float()``,
  ``int()`` or ``bool()``, and each of those is counted in ``transfers`` (device-to-host
  copies), so a test can check that a training step makes none it does not need.
* Array-module functions (``asarray``, ``zeros``, ``matmul``, ``concatenate``, ...) take and
  return device arrays; each name exported here exists in CuPy with numpy's meaning. Passing
  a numpy array where CuPy wants a device array is a TypeError, as in CuPy.
* ``RawModule(code=..., options=...)`` compiles the CUDA source, here as C++ with g++ and the
  emulation header of ``tests/cuda/emulation`` (the blocks and threads of a block become
  loops), and ``get_function(name)`` returns a kernel with CuPy's RawKernel calling
  convention ``f(grid, block, args)``. The fake is stricter than CuPy where CuPy would
  silently misbehave: a scalar must have the exact numpy type of its parameter, an array
  must be C-contiguous and of the pointee's dtype, and grid and block must be 1-D tuples.
  ``compiles`` counts the RawModule compilations.
* ``cuda.runtime.getDeviceCount()`` returns ``DEVICES`` (1; set it to 0 to play a machine
  without a GPU).
"""

from __future__ import annotations

import builtins
import contextlib
import ctypes
import hashlib
import os
import sys
import tempfile
import threading
import types

import numpy

from .emulation import loader

DEVICES = 1
transfers = 0  # device-to-host copies since the last reset_counters()
uploads = 0  # host-to-device copies (asarray of host data) since the last reset_counters()
compiles = 0  # RawModule compilations in this process
launches = 0  # kernel launches since the last reset_counters()
_lock = threading.Lock()


def reset_counters():
    global transfers, uploads, launches
    transfers = uploads = launches = 0


def _d2h():
    global transfers
    transfers += 1


def _h2d():
    global uploads
    uploads += 1


def _unwrap(x):
    """Device arrays (also inside lists/tuples) to their numpy payload; numpy arrays are refused."""
    if isinstance(x, ndarray):
        return x._a
    if isinstance(x, numpy.ndarray):
        raise TypeError("fakecupy: a numpy array was passed where a device array is expected (use cupy.asarray)")
    if isinstance(x, (list, tuple)):
        return type(x)(_unwrap(v) for v in x)
    return x


def _wrap(r):
    if isinstance(r, numpy.ndarray):
        return ndarray(r)
    if isinstance(r, numpy.generic):  # CuPy returns 0-d device arrays where numpy returns scalars
        return ndarray(numpy.asarray(r))
    if isinstance(r, tuple):
        return tuple(_wrap(v) for v in r)
    if isinstance(r, list):
        return [_wrap(v) for v in r]
    return r


class ndarray:
    """A device array (see the module doc). Supports the layout and arithmetic CuPy arrays do."""

    __slots__ = ("_a",)
    __array_priority__ = 100

    def __init__(self, a):
        if not isinstance(a, numpy.ndarray):
            raise TypeError("fakecupy.ndarray wraps a numpy array")
        self._a = a

    # numpy must not take it implicitly (as CuPy: no __array__ conversion)
    def __array__(self, *args, **kwargs):
        raise TypeError("fakecupy: implicit conversion of a device array to a numpy array; call .get() or cupy.asnumpy()")

    __array_ufunc__ = None  # numpy ufuncs on a device array refuse too (and defer to our operators)

    shape = property(lambda self: self._a.shape)
    dtype = property(lambda self: self._a.dtype)
    ndim = property(lambda self: self._a.ndim)
    size = property(lambda self: self._a.size)
    itemsize = property(lambda self: self._a.itemsize)
    nbytes = property(lambda self: self._a.nbytes)
    strides = property(lambda self: self._a.strides)
    flags = property(lambda self: self._a.flags)
    T = property(lambda self: ndarray(self._a.T))

    def __repr__(self):
        return f"fakecupy.ndarray(shape={self.shape}, dtype={self.dtype})"

    def __len__(self):
        return len(self._a)

    # values to the host: counted
    def get(self, stream=None, order="C", out=None):
        _d2h()
        return numpy.array(self._a, order=order)

    def item(self):
        _d2h()
        return self._a.item()

    def tolist(self):
        _d2h()
        return self._a.tolist()

    def __float__(self):
        _d2h()
        return float(self._a)

    def __int__(self):
        _d2h()
        return int(self._a)

    def __bool__(self):
        _d2h()
        return bool(self._a)

    def __index__(self):
        _d2h()
        return self._a.__index__()

    # layout
    def __getitem__(self, idx):
        return _wrap(self._a[_unwrap(idx)])

    def __setitem__(self, idx, v):
        self._a[_unwrap(idx)] = _unwrap(v)

    def __iter__(self):
        for i in range(len(self)):
            yield self[i]

    def reshape(self, *shape, order="C"):
        return ndarray(self._a.reshape(*shape, order=order))

    def transpose(self, *axes):
        return ndarray(self._a.transpose(*axes))

    def swapaxes(self, a, b):
        return ndarray(self._a.swapaxes(a, b))

    def ravel(self, order="C"):
        return ndarray(self._a.ravel(order))

    def flatten(self, order="C"):
        return ndarray(self._a.flatten(order))

    def squeeze(self, axis=None):
        return ndarray(self._a.squeeze(axis))

    def astype(self, dtype, order="K", casting=None, subok=None, copy=True):
        return ndarray(self._a.astype(dtype, order=order, copy=copy))

    def copy(self, order="C"):
        return ndarray(self._a.copy(order))

    def fill(self, v):
        self._a.fill(_unwrap(v))

    def view(self, dtype=None):
        return ndarray(self._a.view() if dtype is None else self._a.view(dtype))

    # reductions and other methods CuPy arrays have
    def _method(name):
        def f(self, *args, **kwargs):
            return _wrap(getattr(self._a, name)(*_unwrap(args), **{k: _unwrap(v) for k, v in kwargs.items()}))

        f.__name__ = name
        return f

    sum = _method("sum")
    mean = _method("mean")
    max = _method("max")
    min = _method("min")
    argmax = _method("argmax")
    argmin = _method("argmin")
    prod = _method("prod")
    var = _method("var")
    std = _method("std")
    any = _method("any")
    all = _method("all")
    clip = _method("clip")
    dot = _method("dot")
    cumsum = _method("cumsum")
    argsort = _method("argsort")

    del _method
    __hash__ = None


def _op(name):
    def f(self, *args):
        r = getattr(self._a, name)(*_unwrap(args))
        return NotImplemented if r is NotImplemented else _wrap(r)

    f.__name__ = name
    return f


def _iop(name):
    def f(self, other):
        getattr(self._a, name)(_unwrap(other))
        return self

    f.__name__ = name
    return f


for _n in ("add", "sub", "mul", "truediv", "floordiv", "mod", "pow", "matmul", "and", "or", "xor", "lshift", "rshift"):
    setattr(ndarray, f"__{_n}__", _op(f"__{_n}__"))
    setattr(ndarray, f"__r{_n}__", _op(f"__r{_n}__"))
    setattr(ndarray, f"__i{_n}__", _iop(f"__i{_n}__"))
for _n in ("lt", "le", "gt", "ge", "eq", "ne", "neg", "pos", "abs", "invert"):
    setattr(ndarray, f"__{_n}__", _op(f"__{_n}__"))
del _n


# ---- the array module -------------------------------------------------------------------------
float32, float64, int32, int64, uint8, uint64, bool_ = (numpy.float32, numpy.float64, numpy.int32, numpy.int64, numpy.uint8,
                                                        numpy.uint64, numpy.bool_)
dtype = numpy.dtype
newaxis = None
pi, e, inf, nan = numpy.pi, numpy.e, numpy.inf, numpy.nan


def asarray(a, dtype=None, order=None, *, blocking=False):
    """A device array of ``a``: no copy when ``a`` already is one with that dtype; host data is uploaded."""
    if isinstance(a, ndarray):
        if order in ("C",) and not a._a.flags.c_contiguous:
            return ndarray(numpy.ascontiguousarray(a._a, dtype=dtype))
        return a if dtype is None or numpy.dtype(dtype) == a.dtype else ndarray(a._a.astype(dtype))
    _h2d()
    return ndarray(numpy.array(_unwrap_host(a), dtype=dtype, order="C" if order is None else order, copy=True))


def array(obj, dtype=None, copy=True, order="K", subok=False, ndmin=0, *, blocking=False):
    if isinstance(obj, ndarray):
        return ndarray(numpy.array(obj._a, dtype=dtype, copy=copy, order=order, ndmin=ndmin))
    _h2d()
    return ndarray(numpy.array(_unwrap_host(obj), dtype=dtype, copy=True, order=order, ndmin=ndmin))


def _unwrap_host(obj):
    if isinstance(obj, (list, tuple)) and builtins.any(isinstance(v, ndarray) for v in obj):
        return [v._a if isinstance(v, ndarray) else v for v in obj]
    return obj


def ascontiguousarray(a, dtype=None):
    if not isinstance(a, ndarray):
        raise TypeError("fakecupy.ascontiguousarray takes a device array")
    return ndarray(numpy.ascontiguousarray(a._a, dtype=dtype))


def asnumpy(a, stream=None, order="C", out=None, *, blocking=True):
    """The values of a device array as a numpy array (a device-to-host copy); other input as numpy's asarray."""
    if isinstance(a, ndarray):
        return a.get(order=order)
    return numpy.asarray(a, order=order)


def get_array_module(*args):
    return _this if builtins.any(isinstance(a, ndarray) for a in args) else numpy


def _fn(name):
    np_f = getattr(numpy, name)

    def f(*args, **kwargs):
        return _wrap(np_f(*_unwrap(args), **{k: _unwrap(v) for k, v in kwargs.items()}))

    f.__name__ = name
    f.__doc__ = f"numpy.{name} on device arrays (CuPy has cupy.{name} with this meaning)."
    return f


# every one of these is a function of CuPy 14 with numpy's meaning
for _name in ("zeros", "ones", "empty", "full", "zeros_like", "ones_like", "empty_like", "full_like", "arange", "eye",
              "matmul", "dot", "concatenate", "stack", "reshape", "transpose", "swapaxes", "moveaxis", "expand_dims", "squeeze",
              "broadcast_to", "pad", "where", "exp", "log", "sqrt", "abs", "maximum", "minimum", "sum", "mean", "max", "min",
              "argmax", "tanh", "sign", "clip", "square", "isfinite", "isnan", "array_equal", "split", "flip", "tile", "repeat",
              "take", "multiply", "add", "subtract", "divide", "power", "negative", "cumsum", "prod", "any", "all", "equal",
              "not_equal", "less", "less_equal", "greater", "greater_equal", "logical_and", "logical_or", "logical_not",
              "ravel", "atleast_1d", "atleast_2d", "copy", "shares_memory", "tri", "triu", "tril"):
    globals()[_name] = _fn(_name)
del _name


def _add_at(a, indices, b=None):
    """``cupy.add.at``: in place, repeated indices add up (numpy.add.at's meaning)."""
    numpy.add.at(_unwrap(a), _unwrap(indices), _unwrap(b))


add.at = _add_at  # noqa: F821  (add is made by the loop above)


# ---- RawModule / RawKernel ----------------------------------------------------------------------
_BUILD_DIR = None
_SO_CACHE: dict = {}  # source hash -> EmulatedModule: g++ builds a given source once per process (as CuPy's disk cache)
_POINTEES = {"float": numpy.float32, "double": numpy.float64, "long long": numpy.int64, "int": numpy.int32,
             "unsigned char": numpy.uint8, "bool": numpy.bool_}
_SCALAR_NP = {"float": numpy.float32, "double": numpy.float64, "int": numpy.int32, "nn_index": numpy.int64,
              "long long": numpy.int64, "nn_u64": numpy.uint64}


def _emulated(code):
    global _BUILD_DIR, compiles
    key = hashlib.sha256(code.encode()).hexdigest()[:16]
    with _lock:
        mod = _SO_CACHE.get(key)
        if mod is None:
            if not loader.have_cxx():
                raise RuntimeError("fakecupy.RawModule needs g++ to emulate CUDA kernels on the CPU")
            if _BUILD_DIR is None:
                _BUILD_DIR = tempfile.mkdtemp(prefix="fakecupy_")
            cu = os.path.join(_BUILD_DIR, f"m{key}.cu")
            with open(cu, "w") as f:
                f.write(code)
            import subprocess

            cmd, so, kernels = loader.build(cu, _BUILD_DIR)
            proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            if proc.returncode != 0:
                raise RuntimeError(f"fakecupy.RawModule: compile error\n{proc.stdout}")
            mod = _SO_CACHE[key] = loader.EmulatedModule(so, kernels)
        compiles += 1
    return mod


class RawModule:
    """CuPy's ``RawModule(code=..., options=...)``; the source is compiled when it is created."""

    def __init__(self, code=None, path=None, options=(), backend="nvrtc", translate_cucomplex=False, *,
                 enable_cooperative_groups=False, name_expressions=None, jitify=False):
        if code is None:
            if path is None:
                raise TypeError("RawModule needs code or path")
            with open(path) as f:
                code = f.read()
        if not isinstance(options, tuple):
            raise TypeError(f"RawModule options must be a tuple of str, got {type(options).__name__}")
        self.code, self.options, self.backend = code, options, backend
        self._mod = _emulated(code)

    def get_function(self, name):
        if name not in self._mod.sig:
            raise KeyError(f"fakecupy.RawModule: no kernel named {name!r} in the module")
        return RawKernel(name, *self._mod.sig[name])


class RawKernel:
    """A kernel of a RawModule, called as ``kernel(grid, block, args)`` with tuples, as CuPy's."""

    def __init__(self, name, fn, params):
        self.name, self._fn, self._params = name, fn, params

    def __call__(self, grid, block, args, *, shared_mem=0, stream=None):
        global launches
        for what, v in (("grid", grid), ("block", block)):
            if not isinstance(v, tuple) or not 1 <= len(v) <= 3 or builtins.any(int(d) < 1 for d in v) or builtins.any(int(d) != 1 for d in v[1:]):
                raise ValueError(f"{self.name}: {what} must be a 1-D tuple of positive ints (the kernels are 1-D), got {v!r}")
        if block[0] > 1024:
            raise ValueError(f"{self.name}: at most 1024 threads per block, got {block[0]}")
        if not isinstance(args, tuple) or len(args) != len(self._params):
            raise TypeError(f"{self.name}: args must be a tuple of {len(self._params)} values")
        cargs = []
        for (t, pname), v in zip(self._params, args):
            if t.endswith("*"):
                if v is None:  # real CuPy would pass an invalid non-zero address (cupy/cupy issue 9046)
                    raise TypeError(f"{self.name}: argument {pname} is None, which CuPy does not pass as a null pointer; "
                                    "pass numpy.uint64(0)")
                if type(v) is numpy.uint64 and v == 0:  # a null pointer
                    cargs.append(None)
                    continue
                want = numpy.dtype(_POINTEES[t.replace("const", "").rstrip("*").strip()])
                if not isinstance(v, ndarray):
                    raise TypeError(f"{self.name}: argument {pname} must be a device array, got {type(v).__name__}")
                if v.dtype != want or not v._a.flags.c_contiguous:
                    raise TypeError(f"{self.name}: argument {pname} must be a C-contiguous {want} array, got {v.dtype} "
                                    f"(contiguous: {v._a.flags.c_contiguous})")
                if "const" not in t and not v._a.flags.writeable:
                    raise TypeError(f"{self.name}: argument {pname} is written by the kernel but read-only")
                cargs.append(ctypes.c_void_p(v._a.ctypes.data))
            else:
                want = _SCALAR_NP[t]
                if type(v) is not want:
                    raise TypeError(f"{self.name}: scalar {pname} must be numpy.{want.__name__} (its C type {t}), "
                                    f"got {type(v).__name__}")
                cargs.append(v)
        launches += 1
        self._fn(int(grid[0]), int(block[0]), *cargs)


cuda = types.SimpleNamespace(runtime=types.SimpleNamespace(getDeviceCount=lambda: DEVICES))


def _device_count():
    return DEVICES


cuda.runtime.getDeviceCount = _device_count

import sys as _sys  # noqa: E402

_this = _sys.modules[__name__]


@contextlib.contextmanager
def installed():
    """The nnrs ``cuda`` backend running on this fake, for the ``with`` block only: ``cupy`` and
    the backend module are swapped in, and afterwards ``sys.modules``, ``nnrs.backend``'s
    attribute and its registry are as they were (so other tests still see no GPU). Skips the
    calling test when g++ (which runs the emulated kernels) is missing."""
    import pytest
    from nnrs import backend as B

    if not loader.have_cxx():
        pytest.skip("g++ is not installed: the fake CuPy runs the CUDA kernels through the C++ emulation")
    mod = "nnrs.backend.cuda_backend"
    saved = {k: sys.modules.get(k) for k in ("cupy", mod)}
    saved_attr = getattr(B, "cuda_backend", None)
    saved_be = B._BACKENDS.pop("cuda", None)
    sys.modules["cupy"] = sys.modules[__name__]
    sys.modules.pop(mod, None)
    global DEVICES
    DEVICES = 1
    try:
        yield B.get("cuda")
    finally:
        B._BACKENDS.pop("cuda", None)
        if saved_be is not None:
            B._BACKENDS["cuda"] = saved_be
        for k, v in saved.items():
            if v is None:
                sys.modules.pop(k, None)
            else:
                sys.modules[k] = v
        if saved_attr is None:
            if hasattr(B, "cuda_backend"):
                delattr(B, "cuda_backend")
        else:
            B.cuda_backend = saved_attr
