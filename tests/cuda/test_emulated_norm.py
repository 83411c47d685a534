"""The batch-norm kernels of cuda_kernels/norm.cu, compiled as C++ with the emulation header and
launched over cuda_launch's grid (also capped at 1, 2, 3 blocks so the grid-stride loops wrap),
chained as the cuda backend chains them (row chunks of the partial sums of 1, 3, the backend's
and more than the batch), equal the numpy oracle (training and inference, gamma /
beta given or not, empty batches) in float32 and float64, with poisoned guard zones around every
array."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from nnrs.backend import cuda_launch

from tests.conftest import tol

from .emulation.loader import Guarded

DTYPES = st.sampled_from([np.float32, np.float64])
MAX_GRID = st.sampled_from([cuda_launch.MAX_GRID, cuda_launch.MAX_GRID, 1, 2, 3])
ROWS = st.one_of(st.sampled_from([0, 1, 2, 63, 64, 65, 200]), st.integers(0, 60))
CHANNELS = st.one_of(st.sampled_from([1, 127, 128, 129, 300]), st.integers(1, 20))


def _forward(emu, x, gamma, beta, mean, var, eps, training, max_grid, chunk):
    rows, c = x.shape
    d = x.dtype
    mod = emu["norm.cu"]
    if training:
        chunks = -(-rows // chunk)
        m64, v64 = Guarded(np.zeros(c)), Guarded(np.zeros(c))
        for center, out in ((None, m64), (m64, v64)):
            part = Guarded(np.zeros(chunks * c))
            mod.launch("batch_norm_stats_partial", d, chunks * c, Guarded(x), center, part, rows, c, chunk, max_grid=max_grid)
            mod.launch("batch_norm_combine", d, c, part, out, None, c, chunks, 1, float(rows), max_grid=max_grid)
            part.check("part")
    else:
        m64, v64 = Guarded(mean.astype(np.float64)), Guarded(var.astype(np.float64))
    a, shift, mo, vo = (Guarded(np.zeros(c, d)) for _ in range(4))
    mod.launch("batch_norm_coeffs", d, c, m64, v64, None if gamma is None else Guarded(gamma), None if beta is None else Guarded(beta),
               a, shift, mo, vo, c, eps, max_grid=max_grid)
    for v, what in ((m64, "mean64"), (v64, "var64"), (a, "a"), (shift, "shift")):
        v.check(what)
    y = Guarded(np.zeros(x.shape, d))
    mod.launch("batch_norm_apply", d, x.size, Guarded(x), a, shift, y, x.size, c, max_grid=max_grid)
    return y.check("y"), mo.check("mean"), vo.check("var")


def _backward(emu, gy, x, gamma, mean, var, eps, training, max_grid, chunk):
    rows, c = x.shape
    d = x.dtype
    mod = emu["norm.cu"]
    chunks = -(-rows // chunk)
    part = Guarded(np.zeros(2 * chunks * c))
    mod.launch("batch_norm_backward_partial", d, chunks * c, Guarded(gy), Guarded(x), Guarded(mean), Guarded(var), part, rows, c, chunk,
               eps, max_grid=max_grid)
    part.check("part")
    sums, sums_t = Guarded(np.zeros(2 * c)), Guarded(np.zeros(2 * c, d))
    mod.launch("batch_norm_combine", d, 2 * c, part, sums, sums_t, c, chunks, 2, 1.0, max_grid=max_grid)
    gx = Guarded(np.zeros(x.shape, d))
    mod.launch("batch_norm_backward_gx", d, x.size, Guarded(gy), Guarded(x), None if gamma is None else Guarded(gamma), Guarded(mean),
               Guarded(var), sums, gx, rows, c, eps, int(training and rows > 0), max_grid=max_grid)
    sums.check("sums")
    st_ = sums_t.check("sums_t")
    return gx.check("gx"), st_[c:], st_[:c]


@settings(max_examples=60, deadline=None)
@given(rows=ROWS, c=CHANNELS, dtype=DTYPES, seed=st.integers(0, 2**31), training=st.booleans(), affine=st.booleans(),
       eps=st.sampled_from([1e-3, 1e-5, 0.5]), offset=st.sampled_from([0.0, 100.0]), max_grid=MAX_GRID,
       chunk=st.sampled_from([cuda_launch.BN_CHUNK_ROWS, 1, 3, 1000]))
def test_batch_norm_kernels_match_numpy(emu, ref, rows, c, dtype, seed, training, affine, eps, offset, max_grid, chunk):
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal((rows, c)) * 2 + offset).astype(dtype)
    gamma, beta = (rng.standard_normal(c).astype(dtype) for _ in range(2)) if affine else (None, None)
    mean = (rng.standard_normal(c) + offset).astype(dtype)
    var = rng.random(c).astype(dtype) + dtype(0.5)
    got = _forward(emu, x, gamma, beta, mean, var, eps, training, max_grid, chunk)
    want = ref.batch_norm_forward(x, gamma, beta, mean, var, eps, training)
    for g, w in zip(got, want):
        assert g.dtype == w.dtype and g.shape == w.shape
        np.testing.assert_allclose(g, w, *tol(dtype))
    if training and rows == 0:
        assert np.isnan(got[1]).all() and np.isnan(got[2]).all()
    m, v = want[1], want[2]
    if rows == 0 and training:
        m, v = mean, var  # the backward takes finite statistics; an empty batch has no elements to differentiate
    gy = rng.standard_normal((rows, c)).astype(dtype)
    got = _backward(emu, gy, x, gamma, m, v, eps, training, max_grid, chunk)
    want = ref.batch_norm_backward(gy, x, gamma, m, v, eps, training)
    for g, w in zip(got, want):
        assert g.dtype == w.dtype and g.shape == w.shape
        np.testing.assert_allclose(g, w, *tol(dtype))
