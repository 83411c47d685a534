"""Backend selection: ``nnrs.set_backend(name)``, ``with nnrs.backend.use(name):``, or
the ``NNRS_BACKEND`` environment variable (default ``cpu``, the Rust kernels).

The active backend is per thread (as PyTorch's grad mode is): ``set_backend`` and ``use``
change it for the calling thread only, and a thread that never chose one starts with
the default (``NNRS_BACKEND``, else ``cpu``). The active backend only decides where
*new* tensors are made; an op runs on the backend of its operands (every Tensor knows
its own), so a model built on one backend keeps running there.

Placement: ``Tensor.to(name)``, ``layer.to(name)`` and ``model.to(name)`` move data
between backends; each resolves its argument here (``resolve``). Whether a backend can
run on this machine is decided here too, in one place: asking for ``cuda`` without CuPy
or without a CUDA device raises ``BackendUnavailableError`` (a ``RuntimeError``) that
says which of the two is missing, and ``available()`` lists only what can run.
"""

from __future__ import annotations

import contextlib
import os
import threading

from .base import Backend

_BACKENDS: dict = {}
_lock = threading.Lock()


class _ThreadState(threading.local):
    backend: Backend | None = None


_local = _ThreadState()

NAMES = ("numpy", "cpu", "cuda")


class BackendUnavailableError(RuntimeError):
    """A known backend that cannot run on this machine (e.g. ``cuda`` without CuPy or a GPU)."""


def _cuda_problem():
    """Why the ``cuda`` backend cannot run here, or None when it can.

    Checked in order: CuPy importable, at least one CUDA device visible to it, and this
    build of nnrs shipping the cuda backend module."""
    try:
        import cupy
    except ImportError as e:
        return (f"CuPy is not installed ({e}); install nnrs[cuda] (cupy-cuda12x or cupy-cuda13x) on a machine "
                "with an NVIDIA GPU")
    except Exception as e:  # a broken CuPy install (missing CUDA libraries) fails with other errors
        return f"CuPy could not be imported ({type(e).__name__}: {e})"
    try:
        n = int(cupy.cuda.runtime.getDeviceCount())
    except Exception as e:  # no driver, or the driver finds no device
        return f"CuPy is installed but found no CUDA device ({type(e).__name__}: {e})"
    if n < 1:
        return "CuPy is installed but found no CUDA device (device count 0)"
    import importlib.util

    if importlib.util.find_spec(f"{__name__}.cuda_backend") is None:
        return "this build of nnrs has no cuda backend module (nnrs/backend/cuda_backend.py)"
    return None


def _unavailable(name):
    """Why the known backend ``name`` cannot run here, or None when it can."""
    if name == "cuda":
        return _cuda_problem()
    return None


def get(name: str) -> Backend:
    """The backend called ``name`` (created once). An unknown name is a ``ValueError``;
    a known backend that cannot run here is a ``BackendUnavailableError`` saying why."""
    if name not in NAMES:
        raise ValueError(f"unknown backend {name!r}; expected one of {', '.join(NAMES)}")
    b = _BACKENDS.get(name)
    if b is None:
        why = _unavailable(name)
        if why is not None:
            raise BackendUnavailableError(f"the {name!r} backend is not available: {why}")
        with _lock:  # two threads asking at once get the same instance
            b = _BACKENDS.get(name)
            if b is None:
                if name == "numpy":
                    from .numpy_backend import NumpyBackend as cls
                elif name == "cpu":
                    from .cpu_backend import CpuBackend as cls
                else:
                    from .cuda_backend import CudaBackend as cls
                from .contract import wrap

                b = _BACKENDS[name] = wrap(cls())
    return b


def available() -> list:
    """Names of the backends that can be used on this machine."""
    out = []
    for n in NAMES:
        try:
            get(n)
            out.append(n)
        except (ImportError, RuntimeError, OSError):
            pass
    return out


def resolve(where) -> Backend:
    """A Backend from a name (``"cpu"``), a Backend instance, or anything with a
    ``.backend`` (a Tensor): the argument of every ``.to(...)``."""
    if isinstance(where, Backend):
        return where
    if isinstance(where, str):
        return get(where)
    b = getattr(where, "backend", None)
    if isinstance(b, Backend):
        return b
    raise TypeError(f"expected a backend name ({', '.join(NAMES)}), a Backend or a tensor, got {type(where).__name__}")


def current() -> Backend:
    """The active backend of the calling thread."""
    b = _local.backend
    if b is None:
        b = _local.backend = get(os.environ.get("NNRS_BACKEND", "cpu"))
    return b


def set_backend(name) -> Backend:
    """Make ``name`` (or a Backend instance) the calling thread's active backend; returns it."""
    b = name if isinstance(name, Backend) else get(name)  # raises before anything changes
    _local.backend = b
    return b


@contextlib.contextmanager
def use(name):
    """``with nnrs.backend.use("numpy"): ...`` makes new tensors of the block on that backend."""
    prev = current()
    b = set_backend(name)
    try:
        yield b
    finally:
        _local.backend = prev
