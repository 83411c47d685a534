"""The cuda backend's pooling, batch norm, affine warps and argsort on the fake CuPy (pool.cu,
norm.cu, warp.cu and sort.cu run through the C++ emulation) equal the numpy oracle on
hypothesis shapes in float32 and float64, return device arrays and copy nothing to the host;
small pooling and batch-norm models train on cuda like on numpy from the same weights."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.test_pool_kernels import geometries

from . import fakecupy
from .test_cuda_backend import _close, _dev, _host, cuda  # noqa: F401  (cuda: the module-scoped fixture)

DTYPES = st.sampled_from([np.float32, np.float64])


# ---- pooling ------------------------------------------------------------------------------------

@settings(max_examples=40, deadline=None)
@given(geom=geometries(), dtype=DTYPES, seed=st.integers(0, 2**31), ties=st.booleans())
def test_pooling_matches_numpy(cuda, ref, geom, dtype, seed, ties):  # noqa: F811
    shape, pool, strides, padding = geom
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 3, shape).astype(dtype) if ties else rng.standard_normal(shape).astype(dtype)
    dx = _dev(cuda, x)
    fakecupy.reset_counters()
    y = cuda.max_pool2d_forward(dx, pool, strides, padding)
    gy = rng.standard_normal(y.shape).astype(dtype)
    dgy = _dev(cuda, gy)
    fakecupy.reset_counters()
    outs = [y, cuda.max_pool2d_backward(dx, dgy, pool, strides, padding), cuda.avg_pool2d_forward(dx, pool, strides, padding),
            cuda.avg_pool2d_backward(dgy, shape, pool, strides, padding)]
    assert fakecupy.transfers == 0
    wants = [ref.max_pool2d_forward(x, pool, strides, padding), ref.max_pool2d_backward(x, gy, pool, strides, padding),
             ref.avg_pool2d_forward(x, pool, strides, padding), ref.avg_pool2d_backward(gy, shape, pool, strides, padding)]
    for got, want in zip(outs, wants):
        _close(cuda, got, want, dtype)


def test_pooling_takes_non_contiguous_input(cuda, ref):  # noqa: F811
    a = np.random.default_rng(3).standard_normal((2, 6, 10, 3))
    x = a[:, :, ::2]
    dx = cuda.asarray(a)[:, :, ::2]
    geo = ((2, 3), (2, 1), (1, 0, 0, 2))
    _close(cuda, cuda.max_pool2d_forward(dx, *geo), ref.max_pool2d_forward(x, *geo), np.float64)
    y = ref.avg_pool2d_forward(x, *geo)
    _close(cuda, cuda.avg_pool2d_backward(_dev(cuda, y)[:, :, :], x.shape, *geo), ref.avg_pool2d_backward(y, x.shape, *geo), np.float64)
    gy = np.ones_like(y)
    _close(cuda, cuda.max_pool2d_backward(dx, _dev(cuda, gy), *geo), ref.max_pool2d_backward(x, gy, *geo), np.float64)
