"""The kernels of cuda_kernels/elementwise.cu (unary math, the elementwise losses), compiled as
C++ with the emulation header and launched over cuda_launch's grid, equal the numpy oracle in
float32 and float64 on hypothesis shapes, with poisoned guard zones around every array and
grids capped low so the grid-stride loops wrap."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from nnrs.backend import cuda_launch
from nnrs.backend.base import LOSSES, UNARY_OPS

from tests.conftest import tol

from .emulation.loader import Guarded

DTYPES = st.sampled_from([np.float32, np.float64])
SIZES = st.one_of(st.sampled_from([0, 1, 2, 255, 256, 257, 513]), st.integers(0, 1500))
MAX_GRID = st.sampled_from([cuda_launch.MAX_GRID, cuda_launch.MAX_GRID, 1, 2, 3])
ELEMENTWISE_LOSSES = [n for n in LOSSES if n != "softmax_crossentropy"]


def _x(n, dtype, seed, scale):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(n) * scale
    if n > 4:
        k = max(1, n // 10)
        x[rng.integers(0, n, size=k)] = 0.0  # sign(0), the kinks
        x[rng.integers(0, n, size=k)] = rng.integers(-4, 5, size=k) + 0.5  # round's halves go to the even neighbour
        x[rng.integers(0, n, size=1)] = np.nan
        x[rng.integers(0, n, size=1)] = np.inf
        x[rng.integers(0, n, size=1)] = -np.inf
    return x.astype(dtype)


def test_codes_cover_the_contract():
    assert cuda_launch.UNARY_OPS == UNARY_OPS
    assert set(cuda_launch.ELEMENTWISE_LOSSES) == set(ELEMENTWISE_LOSSES)
    assert cuda_launch.unary_code("neg") == 0 and cuda_launch.unary_code("trunc") == len(UNARY_OPS) - 1
    with pytest.raises(ValueError, match="unknown op 'nope'"):
        cuda_launch.unary_code("nope")
    with pytest.raises(ValueError, match="unknown loss 'softmax_crossentropy'"):
        cuda_launch.loss_code("softmax_crossentropy")
    assert cuda_launch.launch_config("unary_forward", 257) == (2, 256)
    assert cuda_launch.launch_config("loss_elementwise_forward", 129) == (2, 128)


@settings(max_examples=120, deadline=None)
@given(op=st.sampled_from(UNARY_OPS), n=SIZES, dtype=DTYPES, seed=st.integers(0, 2**31), scale=st.sampled_from([0.5, 1.0, 3.0, 30.0]),
       max_grid=MAX_GRID)
def test_unary_matches_numpy(emu, ref, op, n, dtype, seed, scale, max_grid):
    x = _x(n, dtype, seed, scale)
    x_, y_ = Guarded(x), Guarded(np.zeros(n, dtype))
    emu["elementwise.cu"].launch("unary_forward", dtype, n, cuda_launch.unary_code(op), x_, y_, n, max_grid=max_grid)
    want = ref.unary(op, x)
    got = y_.check("y")
    np.testing.assert_allclose(got, want, *tol(dtype), err_msg=op)
    assert np.array_equal(np.isnan(got), np.isnan(want)), op
    assert np.array_equal(x_.check("x"), x, equal_nan=True)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_unary_edge_values_exactly(emu, ref, dtype):
    x = np.array([-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 0.0, -0.0, np.nan, np.inf, -np.inf, 1.0, -1.0], dtype)
    for op in ("sign", "round", "floor", "ceil", "trunc", "abs", "neg", "square", "reciprocal"):
        y_ = Guarded(np.zeros(x.size, dtype))
        emu["elementwise.cu"].launch("unary_forward", dtype, x.size, cuda_launch.unary_code(op), Guarded(x), y_, x.size)
        np.testing.assert_array_equal(y_.check("y"), ref.unary(op, x), err_msg=op)


@settings(max_examples=80, deadline=None)
@given(name=st.sampled_from(ELEMENTWISE_LOSSES), rows=st.one_of(st.sampled_from([1, 127, 128, 129]), st.integers(1, 300)),
       cols=st.one_of(st.sampled_from([1, 2]), st.integers(1, 23)), dtype=DTYPES, seed=st.integers(0, 2**31), weighted=st.booleans(),
       grad=st.sampled_from([1.0, 0.5, -2.0]), delta=st.sampled_from([1.0, 0.3, 2.5]), max_grid=MAX_GRID)
def test_elementwise_losses_match_numpy(emu, ref, name, rows, cols, dtype, seed, weighted, grad, delta, max_grid):
    mod = emu["elementwise.cu"]
    rng = np.random.default_rng(seed)
    pred = (rng.standard_normal((rows, cols)) * 3).astype(dtype)
    if name == "binary_crossentropy_logits":
        target = rng.uniform(0, 1, (rows, cols)).astype(dtype)
    else:
        target = (rng.standard_normal((rows, cols)) * 3).astype(dtype)
        if rows * cols > 2:
            target.ravel()[: rows * cols // 3] = pred.ravel()[: rows * cols // 3]  # d == 0: mae's sign(0)
    code = cuda_launch.loss_code(name)
    pg, tg = Guarded(pred), Guarded(target)
    per_ = Guarded(np.zeros(rows, dtype))
    mod.launch("loss_elementwise_forward", dtype, rows, code, pg, tg, per_, rows, cols, delta, max_grid=max_grid)
    np.testing.assert_allclose(per_.check("per"), ref._per_sample(name, pred, target, delta), *tol(dtype), err_msg=f"{name} forward")

    weight = rng.uniform(0, 2, rows).astype(dtype) if weighted else None
    g_ = Guarded(np.zeros((rows, cols), dtype))
    scale = cuda_launch.loss_elementwise_scale(grad, rows, cols)
    mod.launch("loss_elementwise_backward", dtype, rows * cols, code, pg, tg, None if weight is None else Guarded(weight), g_,
               rows * cols, cols, scale, delta, max_grid=max_grid)
    want = ref.loss_backward(name, pred, target, weight, grad, delta)
    np.testing.assert_allclose(g_.check("g"), want, *tol(dtype), err_msg=f"{name} backward")
    assert np.array_equal(pg.check("pred"), pred) and np.array_equal(tg.check("target"), target)


@settings(max_examples=50, deadline=None)
@given(n=SIZES, dtype=DTYPES, seed=st.integers(0, 2**31), lo=st.sampled_from([-1.0, 0.0, 0.3, -np.inf, np.nan]),
       width=st.sampled_from([0.0, 0.5, 2.0, np.inf]), max_grid=MAX_GRID)
def test_clip_matches_numpy(emu, ref, n, dtype, seed, lo, width, max_grid):
    x = _x(n, dtype, seed, 2.0)
    hi = lo + width
    y_ = Guarded(np.zeros(n, dtype))
    emu["elementwise.cu"].launch("clip_forward", dtype, n, Guarded(x), y_, n, lo, hi, max_grid=max_grid)
    np.testing.assert_array_equal(y_.check("y"), ref.clip(x, lo, hi))


@settings(max_examples=80, deadline=None)
@given(op=st.sampled_from(cuda_launch.BINARY_OPS), n=SIZES, dtype=DTYPES, seed=st.integers(0, 2**31), max_grid=MAX_GRID)
def test_binary_backward_elems_match_numpy(emu, ref, op, n, dtype, seed, max_grid):
    rng = np.random.default_rng(seed)
    a = rng.integers(-3, 4, n).astype(np.float64)  # ties, zeros, negative bases and integer exponents
    b = rng.integers(-3, 4, n).astype(np.float64)
    if n > 4:
        a[rng.integers(0, n, size=n // 2)] = rng.uniform(0, 3, n // 2)
        a[rng.integers(0, n, size=1)] = np.nan
    a, b = a.astype(dtype), b.astype(dtype)
    g = rng.standard_normal(n).astype(dtype)
    ga_, gb_ = Guarded(np.zeros(n, dtype)), Guarded(np.zeros(n, dtype))
    emu["elementwise.cu"].launch("binary_backward_elems", dtype, n, cuda_launch.binary_code(op), Guarded(a), Guarded(b), Guarded(g),
                                 ga_, gb_, n, max_grid=max_grid)
    want_a, want_b = ref.binary_backward(op, a, b, g)
    np.testing.assert_allclose(ga_.check("ga"), want_a, *tol(dtype), err_msg=f"{op} ga")
    np.testing.assert_allclose(gb_.check("gb"), want_b, *tol(dtype), err_msg=f"{op} gb")
