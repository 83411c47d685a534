"""reduce / argmax / sum_squares: cpu equals the numpy oracle."""

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes
from nnrs.backend.base import REDUCE_OPS

from tests.conftest import tol

dtypes = st.sampled_from([np.float32, np.float64])
shapes = array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=6)


@st.composite
def shape_and_axes(draw):
    """A shape and numpy-style axes for it: None, an int, or a tuple (negative allowed)."""
    shape = draw(shapes)
    nd = len(shape)
    kind = draw(st.sampled_from(["none", "int", "tuple"]))
    if kind == "none":
        return shape, None
    if kind == "int" and nd:
        return shape, draw(st.integers(-nd, nd - 1))
    picked = draw(st.lists(st.integers(0, max(nd - 1, 0)), unique=True, max_size=nd))
    return shape, tuple(a - nd if draw(st.booleans()) else a for a in picked)


def call(f, *args):
    """The result of f(*args), or the exception it raised."""
    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore", RuntimeWarning)  # numpy: mean of an empty slice
            return f(*args)
    except ValueError as e:
        return e


@settings(max_examples=250, deadline=None)
@given(op=st.sampled_from(REDUCE_OPS), sa=shape_and_axes(), keepdims=st.booleans(), dtype=dtypes, seed=st.integers(0, 2**31))
def test_reduce_matches_numpy(kernels, ref, op, sa, keepdims, dtype, seed):
    shape, axes = sa
    x = np.asarray(np.random.default_rng(seed).standard_normal(shape)).astype(dtype)
    got, want = call(kernels.reduce, op, x, axes, keepdims), call(ref.reduce, op, x, axes, keepdims)
    if isinstance(want, ValueError):  # max / min of an empty reduction
        assert isinstance(got, ValueError) and str(got) == str(want) and "empty axis" in str(got)
        return
    assert not isinstance(got, Exception), got
    assert got.dtype == dtype and got.shape == want.shape
    np.testing.assert_allclose(got, want, *tol(dtype))


@pytest.mark.parametrize("shape, axes", [
    ((200_000,), None),           # whole run, split into pieces
    ((600_000,), None),           # ... in parallel
    ((1000, 300), (0,)),          # columns, narrow: row blocks
    ((100, 3000), (0,)),          # columns, wide: column split
    ((1000, 300), (1,)),          # rows
    ((1000, 300), None),
    ((64, 50, 40), (0, 2)),       # general walk
    ((64, 50, 40), (1,)),         # slabs (global pooling over time)
    ((256, 50, 40), (1,)),        # ... in parallel
    ((16, 20, 20, 8), (0, 1, 2)),  # batch-norm statistics
    ((16, 20, 20, 8), (1, 2)),    # global average pooling
    ((3, 100_000), (-1,)),
    ((5, 6, 7, 200), (0, 2)),     # R K R K
    ((5, 6, 7, 200), (1, 3)),     # K R K R
])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_reduce_large_and_every_walk(kernels, ref, shape, axes, dtype):
    x = np.random.default_rng(0).standard_normal(shape).astype(dtype)
    for op in REDUCE_OPS:
        for keepdims in (False, True):
            got, want = kernels.reduce(op, x, axes, keepdims), ref.reduce(op, x, axes, keepdims)
            assert got.dtype == dtype and got.shape == want.shape
            if op in ("max", "min"):
                np.testing.assert_array_equal(got, want)
                continue
            # Long float32 sums round differently from numpy's (which sums columns one
            # row after another): ask for no more error than numpy's own, against float64.
            exact = ref.reduce(op, x.astype(np.float64), axes, keepdims)
            slack = np.abs(want - exact).max(initial=0.0)
            np.testing.assert_allclose(got, exact, rtol=tol(dtype)[0], atol=tol(dtype)[1] + 2 * slack)


def test_large_sums_do_not_depend_on_thread_count(kernels):
    from nnrs import _core
    x = np.random.default_rng(3).standard_normal((500, 700)).astype(np.float32)
    before = _core.get_num_threads()
    try:
        runs = []
        for threads in (1, 2):
            _core.set_num_threads(threads)
            runs.append([kernels.reduce("sum", x, axes) for axes in (None, (0,), (1,))] + [kernels.sum_squares([x])])
    finally:
        _core.set_num_threads(before)
    for a, b in zip(*runs):
        np.testing.assert_array_equal(a, b)


def test_reduce_non_contiguous_and_list_axes(kernels, ref):
    a = np.random.default_rng(1).standard_normal((6, 8, 5))
    for x in (a.T, a[:, ::2], a[::-1, :, 1:], np.asfortranarray(a)):
        for axes in ([0], [1, -1], None, 2):
            np.testing.assert_allclose(kernels.reduce("sum", x, axes), ref.reduce("sum", x, axes), *tol(np.float64))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_nan_and_inf_like_numpy(kernels, ref, dtype):
    x = np.array([[1.0, np.nan, 3.0], [-np.inf, 2.0, np.inf], [0.0, -0.0, 5.0]], dtype=dtype)
    for op in REDUCE_OPS:
        for axes in (None, (0,), (1,)):
            np.testing.assert_array_equal(call(kernels.reduce, op, x, axes), call(ref.reduce, op, x, axes))
    for axis in (0, 1, -1):
        np.testing.assert_array_equal(kernels.argmax(x, axis), ref.argmax(x, axis))


@settings(max_examples=150, deadline=None)
@given(shape=shapes, dtype=dtypes, data=st.data(), ties=st.booleans(), seed=st.integers(0, 2**31))
def test_argmax_matches_numpy(kernels, ref, shape, dtype, data, ties, seed):
    rng = np.random.default_rng(seed)
    x = np.asarray(rng.integers(0, 3, shape) if ties else rng.standard_normal(shape)).astype(dtype)
    axis = data.draw(st.integers(-len(shape), len(shape) - 1)) if shape else -1
    got, want = call(kernels.argmax, x, axis), call(ref.argmax, x, axis)
    if isinstance(want, ValueError):  # empty axis, or a 0-d array
        assert isinstance(got, ValueError)
        return
    assert got.dtype == np.int64 and got.shape == want.shape
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("shape, axis", [((100_000,), 0), ((3000, 100), 0), ((3000, 100), 1), ((200, 30, 50), 1), ((40, 30, 50), 1)])
def test_argmax_large(kernels, ref, shape, axis):
    x = np.random.default_rng(4).standard_normal(shape).astype(np.float32)
    np.testing.assert_array_equal(kernels.argmax(x, axis), ref.argmax(x, axis))


@settings(max_examples=80, deadline=None)
@given(shapes_=st.lists(shapes, max_size=5), dtype=dtypes, seed=st.integers(0, 2**31))
def test_sum_squares_matches_numpy(kernels, ref, shapes_, dtype, seed):
    rng = np.random.default_rng(seed)
    arrays = [np.asarray(rng.standard_normal(s)).astype(dtype) for s in shapes_]
    got = kernels.sum_squares(arrays)
    assert isinstance(got, np.ndarray) and got.shape == () and got.dtype == np.float64
    np.testing.assert_allclose(got, ref.sum_squares(arrays), rtol=1e-12)


def test_sum_squares_large_mixed_and_tuple(kernels, ref):
    rng = np.random.default_rng(5)
    arrays = (rng.standard_normal((300, 400)).astype(np.float32), rng.standard_normal(1000)[::3], np.zeros((0, 3)))
    np.testing.assert_allclose(kernels.sum_squares(arrays), ref.sum_squares(arrays), rtol=1e-12)


@pytest.mark.parametrize("call_, err, match", [
    (lambda c: c.reduce("prod", np.ones(3)), ValueError, r"reduce: unknown op 'prod'; expected one of sum, mean, max, min"),
    (lambda c: c.reduce("sum", np.ones((2, 3)), (2,)), ValueError, r"reduce: axis 2 is out of bounds for array of dimension 2"),
    (lambda c: c.reduce("sum", np.ones((2, 3)), -3), ValueError, r"axis -3 is out of bounds"),
    (lambda c: c.reduce("sum", np.ones((2, 3)), (1, -1)), ValueError, r"reduce: duplicate value in 'axis'"),
    (lambda c: c.reduce("max", np.ones((3, 0)), (1,)), ValueError, r"reduce: zero-size array to reduction operation maximum which has no identity"),
    (lambda c: c.reduce("min", np.ones(0)), ValueError, r"zero-size array to reduction operation minimum"),
    (lambda c: c.reduce("sum", np.ones(3), "0"), TypeError, r"reduce: axes must be None, an int or a sequence of ints, got str"),
    (lambda c: c.reduce("sum", np.ones(3, np.int64)), TypeError, r"reduce: x must be a float32 or float64 numpy array"),
    (lambda c: c.argmax(np.ones((2, 0)), 1), ValueError, r"argmax: attempt to get argmax of an empty sequence"),
    (lambda c: c.argmax(np.ones((2, 3)), 2), ValueError, r"argmax: axis 2 is out of bounds for array of dimension 2"),
    (lambda c: c.argmax(np.ones(()), 1), ValueError, r"argmax: axis 1 is out of bounds for array of dimension 1"),
    (lambda c: c.argmax(np.ones(3, np.int32)), TypeError, r"argmax: x must be a float32 or float64"),
    (lambda c: c.sum_squares([np.ones(3), np.ones(2, np.int64)]), TypeError, r"sum_squares: arrays\[1\] must be a float32 or float64"),
    (lambda c: c.sum_squares(np.ones(3)), TypeError, r"sum_squares: expected a sequence of arrays"),
    (lambda c: c.sum_squares(3.0), TypeError, r"sum_squares: expected a sequence of arrays, got float"),
])
def test_bad_input_is_a_clear_error(core, call_, err, match):
    with pytest.raises(err, match=match):
        call_(core)
