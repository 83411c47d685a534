"""dynamic_conv2d_forward / dynamic_conv2d_backward: cpu equals the numpy oracle, the
contract's errors, and gradcheck of the op wrt x and the kernels."""

import nnrs
import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from nnrs import ops

from tests.conftest import tol


def _geometry(h, w, ks, st_, pad, dil):
    ph, pw = h + pad[0] + pad[1], w + pad[2] + pad[3]
    eh, ew = (ks[0] - 1) * dil[0] + 1, (ks[1] - 1) * dil[1] + 1
    return (ph - eh) // st_[0] + 1, (pw - ew) // st_[1] + 1


def _case(rng, n, h, w, groups, cg, ks, st_, pad, dil, dtype):
    oh, ow = _geometry(h, w, ks, st_, pad, dil)
    x = rng.standard_normal((n, h, w, groups * cg)).astype(dtype)
    k = rng.standard_normal((n, oh, ow, ks[0] * ks[1], groups)).astype(dtype)
    gy = rng.standard_normal((n, oh, ow, groups * cg)).astype(dtype)
    return x, k, gy


def _check(kernels, ref, x, k, gy, *geom):
    dtype = x.dtype
    y = kernels.dynamic_conv2d_forward(x, k, *geom)
    want = ref.dynamic_conv2d_forward(x, k, *geom)
    assert y.dtype == dtype and y.shape == want.shape == gy.shape
    np.testing.assert_allclose(y, want, *tol(dtype))
    gx, gk = kernels.dynamic_conv2d_backward(gy, x, k, *geom)
    rgx, rgk = ref.dynamic_conv2d_backward(gy, x, k, *geom)
    assert gx.shape == x.shape and gk.shape == k.shape and gx.dtype == gk.dtype == dtype
    np.testing.assert_allclose(gx, rgx, *tol(dtype))
    np.testing.assert_allclose(gk, rgk, *tol(dtype))


@settings(max_examples=60, deadline=None)
@given(n=st.integers(1, 3), h=st.integers(1, 9), w=st.integers(1, 9), groups=st.integers(1, 3), cg=st.integers(1, 4),
       ks=st.tuples(st.integers(1, 4), st.integers(1, 4)), st_=st.tuples(st.integers(1, 3), st.integers(1, 3)),
       pad=st.tuples(*[st.integers(0, 2)] * 4), dil=st.tuples(st.integers(1, 2), st.integers(1, 2)),
       dtype=st.sampled_from([np.float32, np.float64]), seed=st.integers(0, 2**31))
def test_matches_numpy_on_random_shapes(kernels, ref, n, h, w, groups, cg, ks, st_, pad, dil, dtype, seed):
    assume(h + pad[0] + pad[1] >= (ks[0] - 1) * dil[0] + 1 and w + pad[2] + pad[3] >= (ks[1] - 1) * dil[1] + 1)
    x, k, gy = _case(np.random.default_rng(seed), n, h, w, groups, cg, ks, st_, pad, dil, dtype)
    _check(kernels, ref, x, k, gy, ks, st_, pad, dil)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n,h,w,groups,cg,ks,st_,pad,dil", [
    (1, 1, 1, 1, 1, (1, 1), (1, 1), (0, 0, 0, 0), (1, 1)),      # 1x1 image, batch 1
    (1, 1, 1, 2, 3, (3, 3), (1, 1), (1, 1, 1, 1), (1, 1)),      # 1x1 image, kernel all padding but the centre
    (2, 7, 5, 3, 2, (3, 3), (2, 2), (1, 1, 1, 1), (1, 1)),      # K larger than the stride, odd sizes
    (1, 8, 8, 4, 1, (2, 2), (3, 3), (0, 0, 0, 0), (1, 1)),      # stride larger than K (pixels never read)
    (3, 6, 9, 1, 5, (5, 3), (1, 2), (2, 2, 1, 1), (2, 1)),      # dilation, rectangular kernel
    (1, 4, 4, 8, 1, (3, 3), (1, 1), (1, 1, 1, 1), (1, 1)),      # one channel per group (depthwise-like)
])
def test_edge_shapes(kernels, ref, dtype, n, h, w, groups, cg, ks, st_, pad, dil):
    x, k, gy = _case(np.random.default_rng(1), n, h, w, groups, cg, ks, st_, pad, dil, dtype)
    _check(kernels, ref, x, k, gy, ks, st_, pad, dil)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_large_parallel_and_deterministic(kernels, ref, dtype):
    rng = np.random.default_rng(2)
    geom = ((3, 3), (2, 2), (1, 1, 1, 1), (1, 1))
    x, k, gy = _case(rng, 4, 33, 31, 4, 8, *geom, dtype)
    _check(kernels, ref, x, k, gy, *geom)
    before = nnrs.get_num_threads()
    try:
        runs = []
        for threads in (1, 3, 4):
            nnrs.set_num_threads(threads)
            runs.append((kernels.dynamic_conv2d_forward(x, k, *geom), *kernels.dynamic_conv2d_backward(gy, x, k, *geom)))
    finally:
        nnrs.set_num_threads(before)
    for other in runs[1:]:
        for a, b in zip(runs[0], other):
            assert np.array_equal(a, b)


def test_non_contiguous_inputs(kernels, ref):
    rng = np.random.default_rng(3)
    geom = ((3, 3), (1, 1), (1, 1, 1, 1), (1, 1))
    x = rng.standard_normal((2, 5, 12, 4))[:, :, ::2]          # strided
    k = np.asfortranarray(rng.standard_normal((2, 5, 6, 9, 2)))  # Fortran order
    gy = rng.standard_normal((2, 6, 5, 4)).transpose(0, 2, 1, 3)
    _check(kernels, ref, x, k, gy, *geom)


def test_empty_batch(kernels, ref):
    x, k = np.zeros((0, 4, 4, 2)), np.zeros((0, 4, 4, 9, 1))
    for be in (kernels, ref):
        assert be.dynamic_conv2d_forward(x, k, (3, 3), (1, 1), (1, 1, 1, 1), (1, 1)).shape == (0, 4, 4, 2)
        gx, gk = be.dynamic_conv2d_backward(np.zeros((0, 4, 4, 2)), x, k, (3, 3), (1, 1), (1, 1, 1, 1), (1, 1))
        assert gx.shape == x.shape and gk.shape == k.shape


X, K = np.zeros((2, 5, 5, 6)), np.zeros((2, 5, 5, 9, 3))
GEOM = ((3, 3), (1, 1), (1, 1, 1, 1), (1, 1))
BAD = [  # (args of dynamic_conv2d_forward, exception, message part) — one line per case
    ((X[0], K, *GEOM), ValueError, "x must be 4-D (batch, height, width, channels), got shape (5, 5, 6)"),
    ((X, K[0], *GEOM), ValueError, "k must be 5-D"),
    ((X, K[:, :4], *GEOM), ValueError, "k must have shape (2, 5, 5, 9, groups) for x (2, 5, 5, 6), got (2, 4, 5, 9, 3)"),
    ((X, np.zeros((2, 5, 5, 9, 4)), *GEOM), ValueError, "must be a positive divisor of the 6 channels"),
    ((X, np.zeros((2, 5, 5, 9, 0)), *GEOM), ValueError, "must be a positive divisor of the 6 channels"),
    ((X, K, (3, 3), (0, 1), (1, 1, 1, 1), (1, 1)), ValueError, "kernel_size, strides and dilation must be positive"),
    ((X, K, (3,), (1, 1), (1, 1, 1, 1), (1, 1)), ValueError, "kernel_size must be 2 non-negative integers, got [3]"),
    ((X, K, (3, 3), (1, 1), (1, 1, 1), (1, 1)), ValueError, "padding must be 4 non-negative integers"),
    ((X, K, (3, 3), (1, 1), (1, -1, 1, 1), (1, 1)), ValueError, "padding must be 4 non-negative integers"),
    ((X, np.zeros((2, 1, 1, 81, 1)), (9, 9), (1, 1), (0, 0, 0, 0), (1, 1)), ValueError,
     "the dilated kernel (9, 9) is larger than the padded input (5, 5)"),
    ((X, K.astype(np.float32), *GEOM), TypeError, "must have the same dtype"),
    ((X.astype(np.int64), K, *GEOM), TypeError, "float32 or float64"),
]


@pytest.mark.parametrize("args,exc,msg", BAD)
def test_errors_are_the_same_on_every_backend(kernels, ref, core, args, exc, msg):
    texts = []
    for be in (ref, kernels):
        with pytest.raises(exc, match="^dynamic_conv2d_forward: ") as e:
            be.dynamic_conv2d_forward(*args)
        assert msg in str(e.value)
        texts.append(str(e.value))
    assert texts[0] == texts[1]
    # the Rust binding alone (no contract in front) rejects it too, never a crash
    with pytest.raises((ValueError, TypeError), match="dynamic_conv2d_forward"):
        core.dynamic_conv2d_forward(*args)


def test_binding_errors_match_the_contract_words(kernels, core):
    for args, exc, _ in BAD[:10]:
        with pytest.raises(exc) as want:
            kernels.dynamic_conv2d_forward(*args)
        with pytest.raises(exc) as got:
            core.dynamic_conv2d_forward(*args)
        assert str(got.value) == str(want.value)


def test_backward_checks_gy(kernels, ref, core):
    for be in (ref, kernels, core):
        with pytest.raises(ValueError, match=r"dynamic_conv2d_backward: gy must have the output shape \(2, 5, 5, 6\)"):
            be.dynamic_conv2d_backward(np.zeros((2, 5, 4, 6)), X, K, *GEOM)


rng = np.random.default_rng(4)


@pytest.mark.parametrize("shape,ks,strides,padding,dil,groups", [
    ((2, 5, 4, 4), 3, 1, "same", 1, 2),
    ((1, 6, 7, 3), (3, 2), (2, 3), "valid", 1, 3),
    ((2, 5, 5, 2), 2, 2, "same", 2, 1),
    ((1, 1, 1, 2), 3, 1, (1, 1, 1, 1), 1, 2),
])
def test_gradcheck_wrt_x_and_kernel(backend, shape, ks, strides, padding, dil, groups):
    n, h, w, _ = shape
    kk = (ks, ks) if isinstance(ks, int) else ks
    st_ = (strides, strides) if isinstance(strides, int) else strides
    d = (dil, dil)
    pad = padding if isinstance(padding, tuple) else nnrs.functions.dynamic.explicit_padding(padding, (h, w), kk, st_, d)
    oh, ow = _geometry(h, w, kk, st_, pad, d)
    x = rng.standard_normal(shape)
    k = rng.standard_normal((n, oh, ow, kk[0] * kk[1], groups))
    assert nnrs.gradcheck(lambda a, b: ops.dynamic_conv2d(a, b, ks, strides, padding, dil), x, k)


def test_op_output_sizes_and_errors():
    x = np.zeros((1, 7, 7, 2), np.float32)
    y = ops.dynamic_conv2d(x, np.zeros((1, 4, 4, 9, 1), np.float32), 3, 2, "same")
    assert y.shape == (1, 4, 4, 2)
    assert ops.dynamic_conv2d(x, np.zeros((1, 3, 3, 9, 2), np.float32), 3, 2, "valid").shape == (1, 3, 3, 2)
    with pytest.raises(ValueError, match="dynamic_conv2d: padding must be 'valid', 'same'"):
        ops.dynamic_conv2d(x, np.zeros((1, 7, 7, 9, 1)), 3, 1, "causal")
    with pytest.raises(ValueError, match="dynamic_conv2d: x must be 4-D"):
        ops.dynamic_conv2d(x[0], np.zeros((1, 7, 7, 9, 1)), 3)
    with pytest.raises(ValueError, match="dynamic_conv2d: strides must be a positive int"):
        ops.dynamic_conv2d(x, np.zeros((1, 7, 7, 9, 1)), 3, 0)
