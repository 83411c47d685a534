"""The kernels of cuda_kernels/pool.cu (max and average pooling, forward and backward), compiled
as C++ with the emulation header and launched over cuda_launch's grid (also capped at 1, 2, 3
blocks so the grid-stride loops wrap), equal the numpy oracle on hypothesis geometries in
float32 and float64, with poisoned guard zones around every array. The max pooling kernels and
the average backward make the oracle's operations in its order, so they are compared bit for
bit (ties, NaNs and all -inf windows included)."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from nnrs.backend import cuda_launch

from tests.conftest import tol
from tests.test_pool_kernels import geometries

from .emulation.loader import Guarded

DTYPES = st.sampled_from([np.float32, np.float64])
MAX_GRID = st.sampled_from([cuda_launch.MAX_GRID, cuda_launch.MAX_GRID, 1, 2, 3])


def _geom(shape, pool, strides, padding):
    n, h, w, c = shape
    t, b, left, right = padding
    oh, ow = (h + t + b - pool[0]) // strides[0] + 1, (w + left + right - pool[1]) // strides[1] + 1
    return (n, h, w, c, oh, ow, pool[0], pool[1], strides[0], strides[1], t, left)


def _x(shape, dtype, rng, kind):
    if kind == "ties":
        return rng.integers(0, 3, shape).astype(dtype)
    x = rng.standard_normal(shape).astype(dtype)
    if kind == "nan":
        x[rng.random(shape) < 0.2] = np.nan
    elif kind == "inf":
        x[rng.random(shape) < 0.5] = -np.inf
    return x


@settings(max_examples=120, deadline=None)
@given(geom=geometries(), dtype=DTYPES, seed=st.integers(0, 2**31), kind=st.sampled_from(["normal", "ties", "nan", "inf"]),
       max_grid=MAX_GRID)
def test_max_pool_kernels_equal_numpy_bitwise(emu, ref, geom, dtype, seed, kind, max_grid):
    shape, pool, strides, padding = geom
    rng = np.random.default_rng(seed)
    x = _x(shape, dtype, rng, kind)
    g = _geom(shape, pool, strides, padding)
    want = ref.max_pool2d_forward(x, pool, strides, padding)
    y_ = Guarded(np.zeros(want.shape, dtype))
    emu["pool.cu"].launch("max_pool2d_forward", dtype, want.size, Guarded(x), y_, *g, max_grid=max_grid)
    np.testing.assert_array_equal(y_.check("y"), want)
    gy = rng.standard_normal(want.shape).astype(dtype)
    gwant = ref.max_pool2d_backward(x, gy, pool, strides, padding)
    gx_ = Guarded(np.zeros(shape, dtype))
    emu["pool.cu"].launch("max_pool2d_backward", dtype, x.size, Guarded(x), Guarded(gy), gx_, *g, max_grid=max_grid)
    np.testing.assert_array_equal(gx_.check("gx"), gwant)


@settings(max_examples=120, deadline=None)
@given(geom=geometries(), dtype=DTYPES, seed=st.integers(0, 2**31), max_grid=MAX_GRID)
def test_avg_pool_kernels_equal_numpy(emu, ref, geom, dtype, seed, max_grid):
    shape, pool, strides, padding = geom
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape).astype(dtype)
    g = _geom(shape, pool, strides, padding)
    want = ref.avg_pool2d_forward(x, pool, strides, padding)
    y_ = Guarded(np.zeros(want.shape, dtype))
    emu["pool.cu"].launch("avg_pool2d_forward", dtype, want.size, Guarded(x), y_, *g, max_grid=max_grid)
    np.testing.assert_allclose(y_.check("y"), want, *tol(dtype))  # the oracle's window sum may add in another order
    gy = rng.standard_normal(want.shape).astype(dtype)
    gx_ = Guarded(np.zeros(shape, dtype))
    emu["pool.cu"].launch("avg_pool2d_backward", dtype, x.size, Guarded(gy), gx_, *g, max_grid=max_grid)
    np.testing.assert_array_equal(gx_.check("gx"), ref.avg_pool2d_backward(gy, shape, pool, strides, padding))


def test_empty_batch_launches_one_idle_block(emu):
    shape, pool, strides, padding = (0, 3, 3, 2), (2, 2), (1, 1), (0, 0, 0, 0)
    g = _geom(shape, pool, strides, padding)
    for k in ("max_pool2d_forward", "avg_pool2d_forward"):
        y_ = Guarded(np.zeros((0, 2, 2, 2), np.float32))
        assert emu["pool.cu"].launch(k, np.float32, 0, Guarded(np.zeros(shape, np.float32)), y_, *g) == (1, 256)
        y_.check("y")
