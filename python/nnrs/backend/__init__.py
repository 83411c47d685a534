"""Backend selection: ``nnrs.set_backend(name)``, ``with nnrs.backend.use(name):``, or
the ``NNRS_BACKEND`` environment variable (default ``cpu``, the Rust kernels)."""

from __future__ import annotations

import contextlib
import os

from .base import Backend

_BACKENDS: dict = {}
_current: Backend | None = None

NAMES = ("numpy", "cpu", "cuda")


def get(name: str) -> Backend:
    """The backend called ``name`` (created once)."""
    if name not in NAMES:
        raise ValueError(f"unknown backend {name!r}; expected one of {', '.join(NAMES)}")
    if name not in _BACKENDS:
        if name == "numpy":
            from .numpy_backend import NumpyBackend as cls
        elif name == "cpu":
            from .cpu_backend import CpuBackend as cls
        else:
            from .cuda_backend import CudaBackend as cls  # raises ImportError without CuPy
        from .contract import wrap

        _BACKENDS[name] = wrap(cls())
    return _BACKENDS[name]


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
    """The active backend."""
    global _current
    if _current is None:
        _current = get(os.environ.get("NNRS_BACKEND", "cpu"))
    return _current


def set_backend(name) -> Backend:
    """Make ``name`` (or a Backend instance) the active backend; returns it."""
    global _current
    _current = name if isinstance(name, Backend) else get(name)
    return _current


@contextlib.contextmanager
def use(name):
    """``with nnrs.backend.use("numpy"): ...`` runs the block on that backend."""
    global _current
    prev = current()
    set_backend(name)
    try:
        yield _current
    finally:
        _current = prev
