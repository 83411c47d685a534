"""Shared fixtures.

* ``backend`` runs a test with each backend active in turn: ``numpy``, ``cpu`` and ``cuda``.
* ``kernels`` is a backend under test for the kernel parity tests, which compare it with
  ``ref`` (the numpy oracle) on numpy arrays: ``cpu``, then ``cuda`` seen through ``OnHost``
  (arguments copied to the device, results back).
* ``cpu`` is the Rust backend alone, for what only it has (threads, output buffers).

Where ``cuda`` comes from (``cuda_backend``): the real backend where CuPy finds a GPU; the fake
CuPy of ``tests/cuda/fakecupy.py`` (the .cu kernels compiled as C++ and run on the CPU) when
``NNRS_TEST_FAKE_CUDA=1``; otherwise its cases are skipped, saying why. ``NNRS_TEST_REAL_CUDA=1``
(the GPU check script) turns that skip into a failure.
"""

import contextlib
import os
from pathlib import Path

import numpy as np
import pytest
from nnrs import backend as _backend
from nnrs._util import to_host as host  # noqa: F401  (tests import it from here: any array as numpy)

DATA_DIR = Path(os.environ.get("NNRS_DATA", Path(__file__).resolve().parents[1].parent / "shared" / "data"))


@contextlib.contextmanager
def cuda_backend():
    """The cuda backend for a ``with`` block (see the module docstring for which one); skips the
    calling test when there is none."""
    if os.environ.get("NNRS_TEST_FAKE_CUDA") == "1":
        from tests.cuda import fakecupy

        with fakecupy.installed() as be:
            yield be
        return
    try:
        be = _backend.get("cuda")
    except _backend.BackendUnavailableError as e:
        if os.environ.get("NNRS_TEST_REAL_CUDA") == "1":
            raise
        pytest.skip(f"no cuda backend here: {e} (NNRS_TEST_FAKE_CUDA=1 runs it on the fake CuPy of tests/cuda)")
    yield be


class OnHost:
    """A device backend seen with numpy arrays, as the kernel parity tests use ``cpu``: numpy
    arguments (also inside lists and tuples) go to the device, device results come back as
    numpy arrays, and the in-place ``*_update`` kernels write their new state back into the
    caller's numpy arrays."""

    def __init__(self, be):
        self.backend = be
        self.name = be.name
        self.xp = np

    def _to_device(self, a):
        if isinstance(a, np.ndarray):
            return self.backend.asarray(a)
        if isinstance(a, (list, tuple)):
            return type(a)(self._to_device(v) for v in a)
        return a

    def _to_host(self, a):
        if isinstance(a, self.backend.xp.ndarray):
            return self.backend.to_numpy(a)
        if isinstance(a, (list, tuple)):
            return type(a)(self._to_host(v) for v in a)
        return a

    def __getattr__(self, name):
        fn = getattr(self.backend, name)
        if not callable(fn):
            return fn

        def call(*args, **kwargs):
            dargs = [self._to_device(a) for a in args]
            dkwargs = {k: self._to_device(v) for k, v in kwargs.items()}
            out = fn(*dargs, **dkwargs)
            if name.endswith("_update"):
                pairs = list(zip(args, dargs)) + [(kwargs[k], dkwargs[k]) for k in kwargs]
                for host, dev in pairs:
                    if isinstance(host, np.ndarray):
                        host[...] = self.backend.to_numpy(dev)
            return self._to_host(out)

        call.__name__ = name
        return call


def on_host(be):
    """``be`` with numpy arrays in and out: ``be`` itself for numpy and cpu, ``OnHost(be)`` for a device backend."""
    return be if be.xp is np else OnHost(be)


@pytest.fixture(params=["numpy", "cpu", "cuda"])
def backend(request):
    """Runs the test with each backend active (cuda: see ``cuda_backend``)."""
    if request.param == "cuda":
        with cuda_backend() as be, _backend.use("cuda"):
            yield be
        return
    with _backend.use(request.param) as b:
        yield b


@pytest.fixture(scope="module", params=["cpu", "cuda"])
def kernels(request):
    """The backend whose kernels a parity test compares with ``ref``, numpy arrays in and out."""
    if request.param == "cpu":
        yield _backend.get("cpu")
        return
    with cuda_backend() as be:
        yield OnHost(be)


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


@pytest.fixture
def sentiment_dir():
    d = DATA_DIR / "sentiment"
    if not (d / "imdb_labelled.txt").exists():
        pytest.skip(f"sentiment data not found at {d} (set NNRS_DATA to the folder holding sentiment/)")
    return d


@pytest.fixture(scope="session")
def core():
    """The raw Rust bindings (``nnrs._core``), without the contract checks in front: the
    binding's own defences (dtype, shape, no panic) are tested through it."""
    from nnrs import _core

    return _core

