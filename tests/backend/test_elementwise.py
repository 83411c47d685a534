"""unary / binary / binary_scalar / clip: cpu equals the numpy oracle."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes, mutually_broadcastable_shapes
from nnrs.backend.base import BINARY_OPS, UNARY_OPS

from tests.conftest import tol

dtypes = st.sampled_from([np.float32, np.float64])
shapes = array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=6)
pairs = mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=4, min_side=0, max_side=5)
scalars = st.one_of(st.sampled_from([-2.0, -1.0, -0.5, 0.5, 1.0, 2.0, 3.0]), st.floats(-4, 4).filter(lambda s: abs(s) > 0.1))


def normal(rng, shape, dtype):
    return np.asarray(rng.standard_normal(shape)).astype(dtype)


def positive(rng, shape, dtype):
    """In [0.1, ~4): the valid domain of log / sqrt, bases of pow."""
    return np.asarray(np.abs(rng.standard_normal(shape)) + 0.1).astype(dtype)


def nonzero(rng, shape, dtype):
    """Away from 0 with both signs: divisors and reciprocals."""
    x = rng.standard_normal(shape)
    return np.asarray(np.sign(x + 1e-300) * (np.abs(x) + 0.1)).astype(dtype)


UNARY_INPUT = {"log": positive, "sqrt": positive, "reciprocal": nonzero}


@settings(max_examples=120, deadline=None)
@given(op=st.sampled_from(UNARY_OPS), shape=shapes, dtype=dtypes, seed=st.integers(0, 2**31))
def test_unary_matches_numpy(kernels, ref, op, shape, dtype, seed):
    x = UNARY_INPUT.get(op, normal)(np.random.default_rng(seed), shape, dtype)
    got, want = kernels.unary(op, x), ref.unary(op, x)
    assert got.dtype == dtype and got.shape == want.shape
    np.testing.assert_allclose(got, want, *tol(dtype))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("op", UNARY_OPS)
def test_unary_special_values(kernels, ref, op, dtype):
    info = np.finfo(dtype)
    x = np.array([0.0, -0.0, 1.0, -1.0, np.inf, -np.inf, np.nan, info.tiny / 8, info.max, 80.0, -80.0,
                  700.0, -740.0, 88.5, -103.0, 1e-30, 3.5e38 if dtype == np.float64 else 1.0], dtype=dtype)
    with np.errstate(all="ignore"):
        want = ref.unary(op, x)
    np.testing.assert_allclose(kernels.unary(op, x), want, *tol(dtype))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("op", ["exp", "log"])
def test_exp_log_over_the_whole_range(kernels, ref, op, dtype):
    lim = 90.0 if dtype == np.float32 else 710.0
    with np.errstate(all="ignore"):
        x = np.linspace(-lim * 1.2, lim, 200_001, dtype=dtype) if op == "exp" else np.geomspace(
            np.finfo(dtype).smallest_subnormal, np.finfo(dtype).max, 200_001, dtype=dtype)
        want = ref.unary(op, x)
    # A few ulp; results in the subnormal range carry fewer bits (2 subnormal steps).
    np.testing.assert_allclose(kernels.unary(op, x), want, rtol=4 * np.finfo(dtype).eps, atol=2 * np.finfo(dtype).smallest_subnormal)


@settings(max_examples=150, deadline=None)
@given(op=st.sampled_from(BINARY_OPS), shapes=pairs, dtype=dtypes, seed=st.integers(0, 2**31))
def test_binary_broadcasting_matches_numpy(kernels, ref, op, shapes, dtype, seed):
    rng = np.random.default_rng(seed)
    sa, sb = shapes.input_shapes
    a = (positive if op == "pow" else normal)(rng, sa, dtype)
    b = (nonzero if op == "div" else normal)(rng, sb, dtype)
    got, want = kernels.binary(op, a, b), ref.binary(op, a, b)
    assert got.dtype == dtype and got.shape == want.shape == shapes.result_shape
    np.testing.assert_allclose(got, want, *tol(dtype))


@pytest.mark.parametrize("sa, sb", [
    ((600, 500), (600, 500)),           # equal shapes, parallel
    ((600, 500), (500,)),               # trailing match (bias add)
    ((600, 500), (600, 1)),             # column broadcast
    ((600, 1), (1, 500)),               # outer product
    ((300, 200), (200,)),               # smaller: on the calling thread
    ((8, 30, 30, 16), (16,)),           # channels-last bias
    ((8, 30, 30, 16), (8, 1, 1, 16)),   # per-sample, per-channel
    ((40, 1, 60, 30), (1, 50, 60, 1)),  # 3.6M elements
    ((1,), (300_000,)),
    ((), (600, 500)),
])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # the oracle's pow of negative bases
def test_binary_large_and_every_walk(kernels, ref, sa, sb, dtype):
    rng = np.random.default_rng(0)
    a, b = normal(rng, sa, dtype), nonzero(rng, sb, dtype)
    for op in BINARY_OPS:
        x = np.asarray(np.abs(a) + dtype(0.1)) if op == "pow" else a
        np.testing.assert_allclose(kernels.binary(op, x, b), ref.binary(op, x, b), *tol(dtype))
        y = np.asarray(np.abs(x) + dtype(0.1))
        np.testing.assert_allclose(kernels.binary(op, b, y), ref.binary(op, b, y), *tol(dtype))


def test_binary_non_contiguous_inputs(kernels, ref):
    rng = np.random.default_rng(1)
    a = rng.standard_normal((6, 8))
    for x, y in [(a.T, a.T[::-1]), (a[:, ::2], a[0, ::2]), (a[::-1], a[0]), (np.asfortranarray(a), a), (a.T[:, :1], a[0, :6])]:
        np.testing.assert_array_equal(kernels.binary("sub", x, y), ref.binary("sub", x, y))
        np.testing.assert_array_equal(kernels.unary("neg", x), ref.unary("neg", x))


@settings(max_examples=150, deadline=None)
@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@given(op=st.sampled_from(BINARY_OPS), shape=shapes, dtype=dtypes, s=scalars, reverse=st.booleans(), seed=st.integers(0, 2**31))
def test_binary_scalar_matches_numpy(kernels, ref, op, shape, dtype, s, reverse, seed):
    rng = np.random.default_rng(seed)
    if op == "pow":
        a, s = (normal(rng, shape, dtype), abs(s)) if reverse else (positive(rng, shape, dtype), s)
    else:
        a = (nonzero if op == "div" and reverse else normal)(rng, shape, dtype)
    got, want = kernels.binary_scalar(op, a, s, reverse), ref.binary_scalar(op, a, s, reverse)
    assert got.dtype == dtype and got.shape == want.shape
    np.testing.assert_allclose(got, want, *tol(dtype))


@pytest.mark.parametrize("s", [0.0, 1.0, 2.0, -1.0, 0.5, 3.0, -2.0])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_pow_scalar_exponents_on_both_signs(kernels, ref, s, dtype):
    a = np.array([-3.0, -1.5, -0.0, 0.0, 0.25, 1.0, 7.0, np.inf, -np.inf, np.nan], dtype=dtype)
    with np.errstate(all="ignore"):
        want = ref.binary_scalar("pow", a, s)
    np.testing.assert_allclose(kernels.binary_scalar("pow", a, s), want, *tol(dtype))


def test_scalar_is_rounded_to_the_dtype_first(kernels, ref):
    a = np.ones(5, np.float32)
    np.testing.assert_array_equal(kernels.binary_scalar("mul", a, 0.1), ref.binary_scalar("mul", a, 0.1))
    np.testing.assert_array_equal(kernels.binary_scalar("sub", a, 1e-9, reverse=True), ref.binary_scalar("sub", a, 1e-9, reverse=True))


@settings(max_examples=80, deadline=None)
@given(shape=shapes, dtype=dtypes, lo=st.floats(-2, 1), width=st.floats(0, 3), seed=st.integers(0, 2**31))
def test_clip_matches_numpy(kernels, ref, shape, dtype, lo, width, seed):
    x = normal(np.random.default_rng(seed), shape, dtype)
    got, want = kernels.clip(x, lo, lo + width), ref.clip(x, lo, lo + width)
    assert got.dtype == dtype and got.shape == want.shape
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_nan_and_inverted_bounds_like_numpy(kernels, ref, dtype):
    x = np.array([np.nan, -np.inf, -1.0, 0.0, 2.0, np.inf], dtype=dtype)
    y = np.array([1.0, np.nan, 3.0, -0.0, 2.0, 0.0], dtype=dtype)
    np.testing.assert_array_equal(kernels.clip(x, 1.0, -1.0), ref.clip(x, 1.0, -1.0))
    np.testing.assert_array_equal(kernels.clip(x, -0.5, 0.5), ref.clip(x, -0.5, 0.5))
    for op in ("maximum", "minimum", "add", "mul"):
        np.testing.assert_array_equal(kernels.binary(op, x, y), ref.binary(op, x, y))
        np.testing.assert_array_equal(kernels.binary_scalar(op, x, np.nan), ref.binary_scalar(op, x, np.nan))


def test_large_unary_scalar_clip_parallel_path(kernels, ref):
    x = np.random.default_rng(2).standard_normal((1025, 257)).astype(np.float32)  # parallel for every op
    for op in UNARY_OPS:
        inp = np.abs(x) + np.float32(0.1) if op in UNARY_INPUT else x
        np.testing.assert_allclose(kernels.unary(op, inp), ref.unary(op, inp), *tol(np.float32))
    np.testing.assert_allclose(kernels.binary_scalar("pow", np.abs(x), 1.7), ref.binary_scalar("pow", np.abs(x), 1.7), *tol(np.float32))
    np.testing.assert_array_equal(kernels.clip(x, -0.3, 0.4), ref.clip(x, -0.3, 0.4))


@pytest.mark.parametrize("call, err, match", [
    (lambda c: c.unary("cube", np.ones(3)), ValueError, r"unary: unknown op 'cube'; expected one of neg, exp, log, sqrt, square, abs, sign, reciprocal"),
    (lambda c: c.binary("plus", np.ones(3), np.ones(3)), ValueError, r"binary: unknown op 'plus'; expected one of add, sub, mul, div, pow, maximum, minimum"),
    (lambda c: c.binary_scalar("mod", np.ones(3), 2.0), ValueError, r"binary_scalar: unknown op 'mod'"),
    (lambda c: c.binary("add", np.ones((2, 3)), np.ones(4)), ValueError, r"binary: shapes \(2, 3\) and \(4,\) do not broadcast"),
    (lambda c: c.binary("add", np.ones((2, 1, 3)), np.ones((4, 2))), ValueError, r"shapes \(2, 1, 3\) and \(4, 2\)"),
    (lambda c: c.binary("add", np.ones(3, np.float32), np.ones(3)), TypeError, r"binary: a and b must have the same dtype, got float32 and float64"),
    (lambda c: c.binary("add", np.ones(3, np.int64), np.ones(3, np.int64)), TypeError, r"binary: a must be a float32 or float64 numpy array"),
    (lambda c: c.unary("neg", np.ones(3, np.int32)), TypeError, r"unary: x must be a float32 or float64 numpy array, got array of dtype int32"),
    (lambda c: c.unary("neg", [1.0, 2.0]), TypeError, r"unary: x must be a float32 or float64 numpy array, got list"),
    (lambda c: c.clip(np.ones(3, np.float16), 0.0, 1.0), TypeError, r"clip: x must be a float32 or float64"),
    (lambda c: c.binary_scalar("add", np.ones(3), "2"), TypeError, r"real number"),
])
def test_bad_input_is_a_clear_error(core, call, err, match):
    with pytest.raises(err, match=match):
        call(core)
