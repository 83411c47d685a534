"""The kernels of cuda_kernels/reduce.cu (argmax, sum of squares, moments) and dropout.cu's
gaussian_noise_forward, compiled as C++ with the emulation header and launched over
cuda_launch's grid, equal the numpy oracle on hypothesis shapes in float32 and float64, with
poisoned guard zones around every array and grids capped low so the grid-stride loops wrap."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from nnrs.backend import cuda_launch

from tests.conftest import tol

from .emulation.loader import Guarded

DTYPES = st.sampled_from([np.float32, np.float64])
ROWS = st.one_of(st.sampled_from([0, 1, 127, 128, 129]), st.integers(0, 300))
MAX_GRID = st.sampled_from([cuda_launch.MAX_GRID, cuda_launch.MAX_GRID, 1, 2, 3])


@settings(max_examples=50, deadline=None)
@given(rows=ROWS, cols=st.integers(1, 30), dtype=DTYPES, seed=st.integers(0, 2**31), nan=st.booleans(), max_grid=MAX_GRID)
def test_argmax_rows_match_numpy(emu, ref, rows, cols, dtype, seed, nan, max_grid):
    rng = np.random.default_rng(seed)
    x = rng.integers(-3, 4, (rows, cols)).astype(dtype)  # ties: the first maximum wins
    if nan and x.size:
        x.ravel()[rng.integers(0, x.size, size=max(1, x.size // 7))] = np.nan
    out_ = Guarded(np.zeros(rows, np.int64))
    emu["reduce.cu"].launch("argmax_rows", dtype, rows, Guarded(x), out_, rows, cols, max_grid=max_grid)
    np.testing.assert_array_equal(out_.check("out"), ref.argmax(x, -1))


@settings(max_examples=40, deadline=None)
@given(n=st.one_of(st.sampled_from([0, 1, 4095, 4096, 4097]), st.integers(0, 30000)), dtype=DTYPES, seed=st.integers(0, 2**31),
       chunk=st.sampled_from([cuda_launch.SUM_SQUARES_CHUNK, 1, 7, 1000]), max_grid=MAX_GRID)
def test_sum_squares_chunks_add_up_to_numpy(emu, ref, n, dtype, seed, chunk, max_grid):
    x = (np.random.default_rng(seed).standard_normal(n) * 5 + 100).astype(dtype)
    chunks = -(-n // chunk)
    p_ = Guarded(np.zeros(chunks, np.float64))
    emu["reduce.cu"].launch("sum_squares_chunks", dtype, chunks, Guarded(x), p_, n, chunk, chunks, max_grid=max_grid)
    np.testing.assert_allclose(p_.check("part").sum(), ref.sum_squares([x]), rtol=1e-12)


@settings(max_examples=50, deadline=None)
@given(rows=ROWS, cols=st.integers(0, 40), dtype=DTYPES, seed=st.integers(0, 2**31), offset=st.sampled_from([0.0, 1e4]),
       max_grid=MAX_GRID)
def test_moments_rows_match_numpy(emu, ref, rows, cols, dtype, seed, offset, max_grid):
    x = (np.random.default_rng(seed).standard_normal((rows, cols)) + offset).astype(dtype)
    m_, v_ = Guarded(np.zeros(rows, dtype)), Guarded(np.zeros(rows, dtype))
    emu["reduce.cu"].launch("moments_rows", dtype, rows, Guarded(x), m_, v_, rows, cols, max_grid=max_grid)
    want_m, want_v = ref.moments(x, axes=(1,))
    np.testing.assert_allclose(m_.check("mean"), want_m, *tol(dtype))
    np.testing.assert_allclose(v_.check("var"), want_v, *tol(dtype))


@settings(max_examples=40, deadline=None)
@given(n=st.one_of(st.sampled_from([0, 1, 255, 256, 257]), st.integers(0, 1500)), dtype=DTYPES,
       seed=st.one_of(st.integers(0, 2**64 - 1), st.integers(-(2**63), -1)), stddev=st.sampled_from([0.0, 0.1, 1.0, 3.5]),
       max_grid=MAX_GRID)
def test_gaussian_noise_matches_numpy(emu, ref, n, dtype, seed, stddev, max_grid):
    x = np.random.default_rng(n).standard_normal(n).astype(dtype)
    y_ = Guarded(np.zeros(n, dtype))
    emu["dropout.cu"].launch("gaussian_noise_forward", dtype, n, Guarded(x), y_, n, cuda_launch.dropout_seed(seed), stddev,
                             max_grid=max_grid)
    np.testing.assert_allclose(y_.check("y"), ref.gaussian_noise_forward(x, stddev, seed), *tol(dtype))


@settings(max_examples=40, deadline=None)
@given(rows=ROWS, cols=st.integers(1, 40), dtype=DTYPES, seed=st.integers(0, 2**31), max_grid=MAX_GRID)
def test_moments_backward_rows_match_numpy(emu, ref, rows, cols, dtype, seed, max_grid):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((rows, cols)).astype(dtype)
    mean, gm, gv = (rng.standard_normal(rows).astype(dtype) for _ in range(3))
    g_ = Guarded(np.zeros((rows, cols), dtype))
    emu["reduce.cu"].launch("moments_backward_rows", dtype, rows * cols, Guarded(x), Guarded(mean), Guarded(gm), Guarded(gv), g_,
                            rows, cols, max_grid=max_grid)
    np.testing.assert_array_equal(g_.check("gx"), ref.moments_backward(x, mean, gm, gv, axes=(1,)))  # same operations: bit-equal


@settings(max_examples=30, deadline=None)
@given(n=st.one_of(st.sampled_from([0, 1, 255, 256, 257]), st.integers(0, 700)), dtype=DTYPES, seed=st.integers(0, 2**31),
       momentum=st.sampled_from([0.0, 0.9, 0.99, 1.0, 0.37]), max_grid=MAX_GRID)
def test_moving_average_update_matches_numpy_bitwise(emu, ref, n, dtype, seed, momentum, max_grid):
    rng = np.random.default_rng(seed)
    mm, mv, m, v = (rng.standard_normal(n).astype(dtype) for _ in range(4))
    want_mm, want_mv = mm.copy(), mv.copy()
    ref.batch_norm_update(want_mm, want_mv, m, v, momentum)
    for moving, batch, want in ((mm, m, want_mm), (mv, v, want_mv)):
        g = Guarded(moving)
        emu["reduce.cu"].launch("moving_average_update", dtype, n, g, Guarded(batch), n, momentum, 1.0 - momentum, max_grid=max_grid)
        np.testing.assert_array_equal(g.check("moving"), want)
