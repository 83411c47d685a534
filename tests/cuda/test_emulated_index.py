"""The kernels of cuda_kernels/index.cu (compare, where, saturating float -> int casts, take,
scatter_add), compiled as C++ with the emulation header and launched over cuda_launch's grid,
equal the numpy oracle on hypothesis shapes in float32 and float64, with poisoned guard zones
around every array and grids capped low so the grid-stride loops wrap."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from nnrs.backend import cuda_launch
from nnrs.backend.base import COMPARE_OPS

from .emulation.loader import Guarded

DTYPES = st.sampled_from([np.float32, np.float64])
SIZES = st.one_of(st.sampled_from([0, 1, 2, 255, 256, 257, 513]), st.integers(0, 1200))
MAX_GRID = st.sampled_from([cuda_launch.MAX_GRID, cuda_launch.MAX_GRID, 1, 2, 3])


def _x(n, dtype, seed):
    rng = np.random.default_rng(seed)
    x = rng.integers(-3, 4, n).astype(np.float64)  # small integers: many ties for the comparisons
    if n > 3:
        x[rng.integers(0, n, size=1)] = np.nan
        x[rng.integers(0, n, size=max(1, n // 5))] = rng.standard_normal(max(1, n // 5))
    return x.astype(dtype)


def test_compare_codes_cover_the_contract():
    assert cuda_launch.COMPARE_OPS == COMPARE_OPS
    with pytest.raises(ValueError, match="unknown op 'nope'"):
        cuda_launch.compare_code("nope")


@settings(max_examples=60, deadline=None)
@given(op=st.sampled_from(COMPARE_OPS), n=SIZES, dtype=DTYPES, seed=st.integers(0, 2**31), max_grid=MAX_GRID)
def test_compare_and_where_match_numpy(emu, ref, op, n, dtype, seed, max_grid):
    mod = emu["index.cu"]
    a, b = _x(n, dtype, seed), _x(n, dtype, seed + 1)
    out_ = Guarded(np.zeros(n, np.bool_))
    mod.launch("compare_forward", dtype, n, cuda_launch.compare_code(op), Guarded(a), Guarded(b), out_, n, max_grid=max_grid)
    cond = out_.check("out")
    assert np.array_equal(cond, ref.compare(op, a, b)), op
    w_ = Guarded(np.zeros(n, dtype))
    mod.launch("where_forward", dtype, n, Guarded(cond), Guarded(a), Guarded(b), w_, n, max_grid=max_grid)
    np.testing.assert_array_equal(w_.check("out"), ref.where(cond, a, b))


@settings(max_examples=60, deadline=None)
@given(target=st.sampled_from(["int32", "int64", "uint8"]), n=SIZES, dtype=DTYPES, seed=st.integers(0, 2**31), max_grid=MAX_GRID,
       scale=st.sampled_from([3.0, 300.0, 3e9, 3e19]))
def test_saturating_casts_match_numpy(emu, ref, target, n, dtype, seed, max_grid, scale):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(n) * scale
    if n > 6:
        x[:6] = [np.nan, np.inf, -np.inf, -0.7, 255.9, 2.0**31]
    x = x.astype(dtype)
    out_ = Guarded(np.zeros(n, target))
    emu["index.cu"].launch(f"cast_to_{target}", dtype, n, Guarded(x), out_, n, max_grid=max_grid)
    want = ref.cast(x, target)
    got = out_.check("out")
    assert got.dtype == want.dtype
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_cast_edges_exactly(emu, ref, dtype):
    for target, info in (("int32", np.iinfo(np.int32)), ("int64", np.iinfo(np.int64)), ("uint8", np.iinfo(np.uint8))):
        hi = float(info.max) + 1.0
        x = np.array([np.nan, np.inf, -np.inf, hi, -hi * 4, float(info.min), -0.99, 0.99, 1.5, -1.5, 255.5], dtype)
        out_ = Guarded(np.zeros(x.size, target))
        emu["index.cu"].launch(f"cast_to_{target}", dtype, x.size, Guarded(x), out_, x.size)
        np.testing.assert_array_equal(out_.check("out"), ref.cast(x, target), err_msg=target)


def _layout(shape, axis):
    outer = int(np.prod(shape[:axis], dtype=np.int64))
    inner = int(np.prod(shape[axis + 1:], dtype=np.int64))
    return outer, shape[axis], inner


@settings(max_examples=60, deadline=None)
@given(shape=st.lists(st.integers(1, 6), min_size=1, max_size=3), data=st.data(), dtype=DTYPES, seed=st.integers(0, 2**31),
       k_shape=st.lists(st.integers(0, 5), min_size=0, max_size=2), max_grid=MAX_GRID)
def test_take_and_scatter_add_match_numpy(emu, ref, shape, data, dtype, seed, k_shape, max_grid):
    mod = emu["index.cu"]
    shape = tuple(shape)
    axis = data.draw(st.integers(0, len(shape) - 1))
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape).astype(dtype)
    outer, n, inner = _layout(shape, axis)
    idx = rng.integers(-n, n, size=k_shape).astype(np.int64)  # negative ones too, and repeats
    k = idx.size
    out_shape = shape[:axis] + tuple(k_shape) + shape[axis + 1:]
    out_ = Guarded(np.zeros(out_shape, dtype))
    ig = Guarded(idx)
    mod.launch("take_forward", dtype, outer * k * inner, Guarded(x), ig, out_, outer, n, inner, k, max_grid=max_grid)
    np.testing.assert_array_equal(out_.check("out"), ref.take(x, idx, axis))

    upd = rng.standard_normal(out_shape).astype(dtype)
    s_ = Guarded(np.full(shape, 7.0, dtype))  # the kernel zeroes its output itself
    mod.launch("scatter_add_forward", dtype, outer * inner, Guarded(upd), ig, s_, outer, n, inner, k, max_grid=max_grid)
    np.testing.assert_array_equal(s_.check("out"), ref.scatter_add(upd, idx, axis, n))  # same order of additions: bit-equal
    assert np.array_equal(ig.check("idx"), idx)


@settings(max_examples=40, deadline=None)
@given(k=st.one_of(st.sampled_from([0, 1, 255, 256, 257]), st.integers(0, 400)), classes=st.integers(1, 12), dtype=DTYPES,
       seed=st.integers(0, 2**31), max_grid=MAX_GRID)
def test_one_hot_matches_numpy(emu, ref, k, classes, dtype, seed, max_grid):
    idx = np.random.default_rng(seed).integers(-2, classes + 2, k).astype(np.int64)  # out-of-range ones give zero rows
    out_ = Guarded(np.full((k, classes), 5.0, dtype))
    emu["index.cu"].launch("one_hot_forward", dtype, k * classes, Guarded(idx), out_, k * classes, classes, max_grid=max_grid)
    np.testing.assert_array_equal(out_.check("out"), ref.one_hot(idx, classes, dtype))
