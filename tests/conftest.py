"""Shared fixtures: ``backend`` runs a test on every available backend; ``ref`` and
``cpu`` give the numpy oracle and the Rust backend for parity tests."""

import os
from pathlib import Path

import numpy as np
import pytest
from nnrs import backend as _backend

DATA_DIR = Path(os.environ.get("NNRS_DATA", Path(__file__).resolve().parents[1].parent / "shared" / "data"))


def _available():
    names = ["numpy", "cpu"]
    try:
        _backend.get("cuda")
        names.append("cuda")
    except Exception:  # no CuPy or no GPU on this machine
        pass
    return names


@pytest.fixture(params=_available())
def backend(request):
    """Runs the test with each available backend active."""
    with _backend.use(request.param) as b:
        yield b


@pytest.fixture(scope="session")
def ref():
    return _backend.get("numpy")


@pytest.fixture(scope="session")
def cpu():
    return _backend.get("cpu")


def tol(dtype):
    """(rtol, atol) for comparing a kernel with the oracle."""
    return (1e-4, 1e-5) if np.dtype(dtype) == np.float32 else (1e-10, 1e-12)


@pytest.fixture
def mnist_dir():
    d = DATA_DIR / "mnist"
    if not (d / "t10k-images-idx3-ubyte.gz").exists():
        pytest.skip(f"MNIST not found at {d} (set NNRS_DATA to the folder holding mnist/)")
    return d


@pytest.fixture(scope="session")
def core():
    """The raw Rust bindings (``nnrs._core``), without the contract checks in front: the
    binding's own defences (dtype, shape, no panic) are tested through it."""
    from nnrs import _core

    return _core
