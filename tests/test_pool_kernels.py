"""max_pool2d_* / avg_pool2d_*: cpu equals the numpy oracle; errors are the contract's."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from nnrs.functions.pool import pool_padding

from tests.conftest import tol

dtypes = st.sampled_from([np.float32, np.float64])


@st.composite
def geometries(draw):
    """(shape, pool_size, strides, padding) with odd sizes, 1x1 images, pools larger or
    smaller than the stride, batch 1, "valid", "same" and arbitrary explicit paddings."""
    pool = (draw(st.integers(1, 4)), draw(st.integers(1, 4)))
    strides = (draw(st.integers(1, 4)), draw(st.integers(1, 4)))
    mode = draw(st.sampled_from(["valid", "same", "explicit"]))
    hw = [draw(st.integers(1, 9)), draw(st.integers(1, 9))]
    pads = []
    for i in range(2):
        if mode == "explicit":
            lo, hi = draw(st.integers(0, pool[i] - 1)), draw(st.integers(0, pool[i] - 1))
        elif mode == "same":
            lo, hi = pool_padding(hw[i], pool[i], strides[i], "same")
        else:
            lo, hi = 0, 0
        hw[i] = max(hw[i], pool[i] - lo - hi)
        if mode == "same":
            lo, hi = pool_padding(hw[i], pool[i], strides[i], "same")
        pads += [lo, hi]
    shape = (draw(st.integers(1, 3)), hw[0], hw[1], draw(st.integers(1, 5)))
    return shape, pool, strides, tuple(pads)


def _check(kernels, ref, x, gy_seed, pool, strides, padding):
    dtype = x.dtype
    for kind in ("max", "avg"):
        fwd = f"{kind}_pool2d_forward"
        y = getattr(kernels, fwd)(x, pool, strides, padding)
        want = getattr(ref, fwd)(x, pool, strides, padding)
        assert y.dtype == dtype and y.shape == want.shape
        np.testing.assert_allclose(y, want, *tol(dtype))
        gy = np.random.default_rng(gy_seed).standard_normal(y.shape).astype(dtype)
        if kind == "max":
            gx, gwant = kernels.max_pool2d_backward(x, gy, pool, strides, padding), ref.max_pool2d_backward(x, gy, pool, strides, padding)
        else:
            gx = kernels.avg_pool2d_backward(gy, x.shape, pool, strides, padding)
            gwant = ref.avg_pool2d_backward(gy, x.shape, pool, strides, padding)
        assert gx.dtype == dtype and gx.shape == x.shape
        np.testing.assert_allclose(gx, gwant, *tol(dtype))


@settings(max_examples=120, deadline=None)
@given(geom=geometries(), dtype=dtypes, seed=st.integers(0, 2**31))
def test_pooling_matches_numpy(kernels, ref, geom, dtype, seed):
    shape, pool, strides, padding = geom
    x = np.random.default_rng(seed).standard_normal(shape).astype(dtype)
    _check(kernels, ref, x, seed + 1, pool, strides, padding)


@settings(max_examples=40, deadline=None)
@given(geom=geometries(), dtype=dtypes, seed=st.integers(0, 2**31))
def test_max_pool_ties_go_to_the_same_element(kernels, ref, geom, dtype, seed):
    # Few distinct values: many windows hold tied maxima; both take the first one.
    shape, pool, strides, padding = geom
    x = np.random.default_rng(seed).integers(0, 3, shape).astype(dtype)
    _check(kernels, ref, x, seed + 1, pool, strides, padding)


@settings(max_examples=60, deadline=None)
@given(shape=st.tuples(st.integers(1, 3), st.integers(2, 9), st.integers(2, 9), st.integers(1, 20)), dtype=dtypes,
       seed=st.integers(0, 2**31), kind=st.sampled_from(["normal", "ties", "nan"]))
def test_max_pool_2x2_stride_2(kernels, ref, shape, dtype, seed, kind):
    # The 2x2 stride-2 unpadded path of its own: odd heights and widths (a last row or
    # column no window reads), many channels, ties and NaNs.
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 3, shape).astype(dtype) if kind == "ties" else rng.standard_normal(shape).astype(dtype)
    if kind == "nan":
        x[rng.random(shape) < 0.2] = np.nan
    geo = ((2, 2), (2, 2), (0, 0, 0, 0))
    np.testing.assert_array_equal(kernels.max_pool2d_forward(x, *geo), ref.max_pool2d_forward(x, *geo))
    gy = rng.standard_normal(ref.max_pool2d_forward(x, *geo).shape).astype(dtype)
    np.testing.assert_array_equal(kernels.max_pool2d_backward(x, gy, *geo), ref.max_pool2d_backward(x, gy, *geo))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_large_parallel(kernels, ref, dtype):
    x = np.random.default_rng(0).standard_normal((16, 33, 31, 24)).astype(dtype)
    _check(kernels, ref, x, 1, (3, 3), (2, 2), (1, 1, 0, 1))
    _check(kernels, ref, x, 2, (2, 2), (2, 2), (0, 0, 0, 0))


def test_known_values_and_tie_rule(kernels, ref):
    x = np.arange(16, dtype=np.float64).reshape(1, 4, 4, 1)
    for b in (kernels, ref):
        np.testing.assert_array_equal(b.max_pool2d_forward(x, (2, 2), (2, 2), (0, 0, 0, 0)).ravel(), [5, 7, 13, 15])
        np.testing.assert_array_equal(b.avg_pool2d_forward(x, (2, 2), (2, 2), (0, 0, 0, 0)).ravel(), [2.5, 4.5, 10.5, 12.5])
        # "same" average over real elements only: a 3x3 image, pool 2, stride 2
        x3 = np.arange(1, 10, dtype=np.float32).reshape(1, 3, 3, 1)
        np.testing.assert_array_equal(b.avg_pool2d_forward(x3, (2, 2), (2, 2), (0, 1, 0, 1)).ravel(), [3, 4.5, 7.5, 9])
        ones = np.ones((1, 2, 2, 1))
        np.testing.assert_array_equal(b.max_pool2d_backward(ones, np.ones((1, 1, 1, 1)), (2, 2), (1, 1), (0, 0, 0, 0)).ravel(),
                                      [1, 0, 0, 0])


def test_nan_propagates_and_takes_the_gradient(kernels, ref):
    x = np.array([1.0, np.nan, 3.0, np.nan]).reshape(1, 2, 2, 1)
    for b in (kernels, ref):
        assert np.isnan(b.max_pool2d_forward(x, (2, 2), (2, 2), (0, 0, 0, 0))).all()
        np.testing.assert_array_equal(b.max_pool2d_backward(x, np.ones((1, 1, 1, 1)), (2, 2), (2, 2), (0, 0, 0, 0)).ravel(),
                                      [0, 1, 0, 0])


def test_all_minus_infinity_window_with_padding(kernels, ref):
    # The padded positions never win, even against -inf: each window's gradient goes to its
    # first real element, here the top-left pixel for all four windows.
    x = np.full((1, 2, 2, 1), -np.inf)
    gy = np.ones((1, 2, 2, 1))
    for b in (kernels, ref):
        np.testing.assert_array_equal(b.max_pool2d_forward(x, (2, 2), (1, 1), (1, 0, 1, 0)).ravel(), [-np.inf] * 4)
        np.testing.assert_array_equal(b.max_pool2d_backward(x, gy, (2, 2), (1, 1), (1, 0, 1, 0)).ravel(), [4, 0, 0, 0])


@pytest.mark.parametrize("shape", [(0, 3, 3, 2), (2, 3, 3, 0)])
def test_empty_batch_or_channels(kernels, ref, shape):
    x = np.zeros(shape, np.float32)
    for b in (kernels, ref):
        y = b.max_pool2d_forward(x, (2, 2), (1, 1), (0, 0, 0, 0))
        assert y.shape == (shape[0], 2, 2, shape[3])
        assert b.max_pool2d_backward(x, y, (2, 2), (1, 1), (0, 0, 0, 0)).shape == shape
        assert b.avg_pool2d_forward(x, (2, 2), (1, 1), (0, 0, 0, 0)).shape == y.shape
        assert b.avg_pool2d_backward(y, shape, (2, 2), (1, 1), (0, 0, 0, 0)).shape == shape


def test_non_contiguous_inputs(kernels, ref):
    a = np.random.default_rng(3).standard_normal((2, 6, 10, 3))
    for x in (a[:, :, ::2], np.asfortranarray(a), a.transpose(0, 2, 1, 3)):
        _check(kernels, ref, x, 4, (2, 3), (2, 1), (1, 0, 0, 2))


BAD = [
    # (kernel args after x, x shape, message fragment)
    (((2, 2), (1, 1), (0, 0, 0, 0)), (3, 3, 1), "x must be 4-D (batch, height, width, channels), got shape (3, 3, 1)"),
    (((3, 3), (1, 1), (0, 0, 0, 0)), (1, 2, 2, 1), "pool_size (3, 3) is larger than the padded input (2, 2) of x (1, 2, 2, 1)"),
    (((2, 2), (1, 1), (2, 0, 0, 0)), (1, 4, 4, 1), "padding (2, 0, 0, 0) must be smaller than pool_size (2, 2) on each side"),
    (((2, 2), (0, 1), (0, 0, 0, 0)), (1, 4, 4, 1), "pool_size and strides must be positive"),
    (((1, 1), (1, 1), (0, 0, 0, 0)), (1, 0, 4, 1), "x must have a non-empty height and width, got shape (1, 0, 4, 1)"),
]


@pytest.mark.parametrize("args, shape, msg", BAD)
@pytest.mark.parametrize("kernel", ["max_pool2d_forward", "avg_pool2d_forward"])
def test_errors_are_the_same_on_every_backend(backend, core, kernel, args, shape, msg):
    x = np.zeros(shape, np.float32)
    with pytest.raises(ValueError, match=f"^{kernel}: ") as e:
        getattr(backend, kernel)(x, *args)
    assert msg in str(e.value)
    with pytest.raises(ValueError) as raw:  # the binding alone says the same
        getattr(core, kernel)(x, *args)
    assert str(raw.value) == str(e.value)


def test_backward_shape_and_dtype_errors(backend, core):
    x = np.zeros((1, 4, 4, 2), np.float32)
    gy = np.zeros((1, 2, 2, 1), np.float32)
    geom = ((2, 2), (2, 2), (0, 0, 0, 0))
    for b in (backend, core):
        with pytest.raises(ValueError, match=r"max_pool2d_backward: gy must have shape \(1, 2, 2, 2\), got \(1, 2, 2, 1\)"):
            b.max_pool2d_backward(x, gy, *geom)
        with pytest.raises(ValueError, match=r"avg_pool2d_backward: gy must have shape \(1, 2, 2, 2\), got \(1, 2, 2, 1\)"):
            b.avg_pool2d_backward(gy, (1, 4, 4, 2), *geom)
        with pytest.raises(TypeError, match="max_pool2d_backward"):
            b.max_pool2d_backward(x, gy.astype(np.float64), *geom)
        with pytest.raises(TypeError, match="max_pool2d_forward"):
            b.max_pool2d_forward(x.astype(np.int64), *geom)
    with pytest.raises(ValueError, match="avg_pool2d_backward: x must be 4-D"):
        backend.avg_pool2d_backward(gy, (4, 4, 2), *geom)
    for bad in (2, [2, 2], (2, 2.0)):
        with pytest.raises(TypeError, match="pool_size must be a tuple of 2 ints"):
            backend.max_pool2d_forward(x, bad, (1, 1), (0, 0, 0, 0))
        with pytest.raises(TypeError):  # the binding alone: pyo3 takes tuples of ints only
            core.max_pool2d_forward(x, bad, (1, 1), (0, 0, 0, 0))
    with pytest.raises(ValueError, match=r"padding must be non-negative, got \(0, -1, 0, 0\)"):
        backend.max_pool2d_forward(x, (2, 2), (1, 1), (0, -1, 0, 0))
    with pytest.raises(OverflowError):
        core.max_pool2d_forward(x, (2, 2), (1, 1), (0, -1, 0, 0))
    with pytest.raises(ValueError, match="more elements than fit in memory"):
        core.avg_pool2d_backward(gy, (1, 2**40, 2**30, 2), (2**40, 2**30), (2**40, 2**30), (0, 0, 0, 0))
