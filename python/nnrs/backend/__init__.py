"""Backend selection: ``nnrs.set_backend(name)``, ``with nnrs.backend.use(name):``, or
the ``NNRS_BACKEND`` environment variable (default ``cpu``, the Rust kernels).

The active backend is per thread (as PyTorch's grad mode is): ``set_backend`` and ``use``
change it for the calling thread only, and a thread that never chose one starts with
the default (``NNRS_BACKEND``, else ``cpu``). The active backend only decides where
*new* tensors are made; an op runs on the backend of its operands (every Tensor knows
its own), so a model built on one backend keeps running there.
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


def get(name: str) -> Backend:
    """The backend called ``name`` (created once)."""
    if name not in NAMES:
        raise ValueError(f"unknown backend {name!r}; expected one of {', '.join(NAMES)}")
    b = _BACKENDS.get(name)
    if b is None:
        with _lock:  # two threads asking at once get the same instance
            b = _BACKENDS.get(name)
            if b is None:
                if name == "numpy":
                    from .numpy_backend import NumpyBackend as cls
                elif name == "cpu":
                    from .cpu_backend import CpuBackend as cls
                else:
                    from .cuda_backend import CudaBackend as cls  # raises ImportError without CuPy
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


def current() -> Backend:
    """The active backend of the calling thread."""
    b = _local.backend
    if b is None:
        b = _local.backend = get(os.environ.get("NNRS_BACKEND", "cpu"))
    return b


def set_backend(name) -> Backend:
    """Make ``name`` (or a Backend instance) the calling thread's active backend; returns it."""
    _local.backend = name if isinstance(name, Backend) else get(name)
    return _local.backend


@contextlib.contextmanager
def use(name):
    """``with nnrs.backend.use("numpy"): ...`` makes new tensors of the block on that backend."""
    prev = current()
    b = set_backend(name)
    try:
        yield b
    finally:
        _local.backend = prev
