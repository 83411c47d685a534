"""conv2d_forward / conv2d_backward_input / conv2d_backward_weight / im2col / col2im: the
cpu backend equals the numpy oracle on hypothesis-drawn geometries, and both reject bad
arguments with the same errors."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from nnrs import _core
from nnrs.backend import contract

from tests.conftest import tol

dtypes = st.sampled_from([np.float32, np.float64])


@st.composite
def geometries(draw):
    """(x shape, kernel (kh, kw), out channels, strides, padding, dilation, groups) that fit:
    odd sizes, 1x1 images, kernels larger than the stride, batch 1, grouped and depthwise."""
    groups = draw(st.sampled_from([1, 1, 1, 2, 3]))
    c = groups * draw(st.integers(1, 3))
    oc = groups * draw(st.integers(1, 3))
    n = draw(st.integers(1, 3))
    kh, kw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    dh, dw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    pads = tuple(draw(st.integers(0, 3)) for _ in range(4))
    ext_h, ext_w = (kh - 1) * dh + 1, (kw - 1) * dw + 1
    h = draw(st.integers(max(1, ext_h - pads[0] - pads[1]), 11))
    w = draw(st.integers(max(1, ext_w - pads[2] - pads[3]), 11))
    strides = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    return (n, h, w, c), (kh, kw), oc, strides, pads, (dh, dw), groups


@settings(max_examples=80, deadline=None)
@given(g=geometries(), bias=st.booleans(), dtype=dtypes, seed=st.integers(0, 2**31),
       act=st.sampled_from(["linear", "relu", "tanh", "sigmoid", "leaky_relu", "gelu"]))
def test_conv2d_matches_numpy(kernels, ref, g, bias, dtype, seed, act):
    xs, ks, oc, strides, pads, dil, groups = g
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(xs).astype(dtype)
    w = rng.standard_normal(ks + (xs[3] // groups, oc)).astype(dtype)
    b = rng.standard_normal(oc).astype(dtype) if bias else None
    geo = (strides, pads, dil, groups)
    want = ref.conv2d_forward(x, w, b, *geo, act, 0.1)
    got = kernels.conv2d_forward(x, w, b, *geo, act, 0.1)
    assert got.dtype == dtype and got.shape == want.shape == contract.conv_geometry("t", xs, ks, oc, strides, pads, dil)
    np.testing.assert_allclose(got, want, *tol(dtype))
    gy = rng.standard_normal(want.shape).astype(dtype)
    np.testing.assert_allclose(kernels.conv2d_backward_input(gy, w, xs, *geo), ref.conv2d_backward_input(gy, w, xs, *geo),
                               *tol(dtype))
    gw, gb = kernels.conv2d_backward_weight(x, gy, ks, *geo, bias)
    rw, rb = ref.conv2d_backward_weight(x, gy, ks, *geo, bias)
    np.testing.assert_allclose(gw, rw, *tol(dtype))
    assert (gb is None) == (rb is None) == (not bias)
    if bias:
        np.testing.assert_allclose(gb, rb, *tol(dtype))


@settings(max_examples=50, deadline=None)
@given(g=geometries(), dtype=dtypes, seed=st.integers(0, 2**31))
def test_im2col_and_col2im_match_numpy(kernels, ref, g, dtype, seed):
    xs, ks, _, strides, pads, dil, _ = g
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(xs).astype(dtype)
    col = kernels.im2col(x, ks, strides, pads, dil)
    np.testing.assert_array_equal(col, ref.im2col(x, ks, strides, pads, dil))
    c2 = rng.standard_normal(col.shape).astype(dtype)
    np.testing.assert_allclose(kernels.col2im(c2, xs, ks, strides, pads, dil), ref.col2im(c2, xs, ks, strides, pads, dil),
                               *tol(dtype))


def test_patch_order_makes_the_conv_a_product(kernels):
    # the patch matrix times the kernel reshaped to (kh*kw*c, oc) is the convolution
    rng = np.random.default_rng(0)
    x, w = rng.standard_normal((2, 6, 5, 3)), rng.standard_normal((3, 2, 3, 4))
    col = kernels.im2col(x, (3, 2), (2, 1), (1, 0, 1, 1), (1, 2))
    y = kernels.conv2d_forward(x, w, None, (2, 1), (1, 0, 1, 1), (1, 2))
    np.testing.assert_allclose(col @ w.reshape(-1, 4), y, 1e-12, 1e-12)


@pytest.mark.parametrize("groups", [1, 8])  # 8: depthwise (one input channel per group), multiplier 2
def test_large_batch_is_chunked_and_thread_count_independent(kernels, ref, groups):
    # more patch rows than one workspace tile: several tiles and jobs, equal to the oracle
    # and (up to reassociation) equal on 1 and 2 threads
    rng = np.random.default_rng(3)
    x = rng.standard_normal((9, 40, 37, 8)).astype(np.float32)
    w = rng.standard_normal((3, 3, 8 // groups, 16)).astype(np.float32)
    gy = rng.standard_normal((9, 40, 37, 16)).astype(np.float32)
    geo = ((1, 1), (1, 1, 1, 1), (1, 1), groups)
    before = _core.get_num_threads()
    try:
        results = []
        for t in (1, 2):
            _core.set_num_threads(t)
            results.append((kernels.conv2d_forward(x, w, None, *geo), kernels.conv2d_backward_input(gy, w, x.shape, *geo),
                            kernels.conv2d_backward_weight(x, gy, (3, 3), *geo)[0]))
    finally:
        _core.set_num_threads(before)
    for a, b in zip(*results):
        np.testing.assert_allclose(a, b, 1e-4, 1e-3)  # float32 sums of ~13k terms, reassociated
    np.testing.assert_allclose(results[0][0], ref.conv2d_forward(x, w, None, *geo), 1e-4, 1e-4)
    np.testing.assert_allclose(results[1][1], ref.conv2d_backward_input(gy, w, x.shape, *geo), 1e-4, 1e-4)
    np.testing.assert_allclose(results[1][2], ref.conv2d_backward_weight(x, gy, (3, 3), *geo)[0], 1e-4, 1e-2)


@st.composite
def direct_geometries(draw):
    """Geometries of the direct float32 kernels (one group, up to 32 input channels; the
    gradient wrt x of a stride-1 convolution runs them too, with the channel counts swapped):
    channels across the vector widths (8, 16, 32 lanes), rows longer than a register block."""
    c = draw(st.sampled_from([1, 2, 3, 4, 7, 16, 17, 32]))
    oc = draw(st.sampled_from([1, 3, 8, 15, 16, 17, 31, 32, 33, 48, 64, 70]))
    n = draw(st.integers(1, 3))
    kh, kw = draw(st.integers(1, 5)), draw(st.integers(1, 5))
    dh, dw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    pads = tuple(draw(st.integers(0, 3)) for _ in range(4))
    ext_h, ext_w = (kh - 1) * dh + 1, (kw - 1) * dw + 1
    h = draw(st.integers(max(1, ext_h - pads[0] - pads[1]), 13))
    w = draw(st.integers(max(1, ext_w - pads[2] - pads[3]), 31))
    strides = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    return (n, h, w, c), (kh, kw), oc, strides, pads, (dh, dw)


@settings(max_examples=80, deadline=None)
@given(g=direct_geometries(), bias=st.booleans(), seed=st.integers(0, 2**31), threads=st.sampled_from([1, 2]),
       act=st.sampled_from(["linear", "relu"]))
def test_direct_kernels_match_numpy(kernels, ref, g, bias, seed, threads, act):
    # float32 with at most 32 input channels takes the direct (patch-free) kernels
    xs, ks, oc, strides, pads, dil = g
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(xs).astype(np.float32)
    w = rng.standard_normal(ks + (xs[3], oc)).astype(np.float32)
    b = rng.standard_normal(oc).astype(np.float32) if bias else None
    geo = (strides, pads, dil, 1)
    gy = rng.standard_normal(contract.conv_geometry("t", xs, ks, oc, strides, pads, dil)).astype(np.float32)
    before = _core.get_num_threads()
    try:
        _core.set_num_threads(threads)
        got = kernels.conv2d_forward(x, w, b, *geo, act)
        gw, gb = kernels.conv2d_backward_weight(x, gy, ks, *geo, bias)
        gx = kernels.conv2d_backward_input(gy, w, xs, *geo)
    finally:
        _core.set_num_threads(before)
    # each output sums kh * kw * c products (float32, summed in different orders)
    np.testing.assert_allclose(got, ref.conv2d_forward(x, w, b, *geo, act), 1e-4, 1e-6 * ks[0] * ks[1] * xs[3])
    # each element of gx sums kh * kw * oc products, some cancelling to near zero
    np.testing.assert_allclose(gx, ref.conv2d_backward_input(gy, w, xs, *geo), 1e-4, 1e-6 * ks[0] * ks[1] * oc)
    rw, rb = ref.conv2d_backward_weight(x, gy, ks, *geo, bias)
    # sums over every output pixel, in float32 on both sides and in different orders (the
    # bias' can cancel to near zero): an absolute tolerance growing with the number of terms
    atol = 1e-6 * gy[..., 0].size
    np.testing.assert_allclose(gw, rw, 1e-4, atol)
    if bias:
        np.testing.assert_allclose(gb, rb, 1e-4, atol)
    else:
        assert gb is None


def test_direct_batch_matches_numpy_on_any_thread_count(kernels, ref):
    # the bench's shape (3 -> 32 channels, 3x3 same) on a batch of several jobs
    rng = np.random.default_rng(5)
    x = rng.standard_normal((13, 32, 32, 3)).astype(np.float32)
    w = rng.standard_normal((3, 3, 3, 32)).astype(np.float32)
    b = rng.standard_normal(32).astype(np.float32)
    gy = rng.standard_normal((13, 32, 32, 32)).astype(np.float32)
    geo = ((1, 1), (1, 1, 1, 1), (1, 1), 1)
    want = ref.conv2d_forward(x, w, b, *geo)
    rw, rb = ref.conv2d_backward_weight(x, gy, (3, 3), *geo, True)
    before = _core.get_num_threads()
    try:
        for t in (1, 2, 3):
            _core.set_num_threads(t)
            np.testing.assert_allclose(kernels.conv2d_forward(x, w, b, *geo), want, 1e-4, 1e-4)
            gw, gb = kernels.conv2d_backward_weight(x, gy, (3, 3), *geo, True)
            np.testing.assert_allclose(gw, rw, 1e-4, 1e-2)  # float32 sums of ~13k terms
            np.testing.assert_allclose(gb, rb, 1e-4, 1e-2)
    finally:
        _core.set_num_threads(before)


def test_pointwise_fast_path(kernels, ref):
    rng = np.random.default_rng(4)
    x, w, b = rng.standard_normal((3, 4, 5, 6)), rng.standard_normal((1, 1, 6, 7)), rng.standard_normal(7)
    np.testing.assert_allclose(kernels.conv2d_forward(x, w, b, activation="relu"), ref.conv2d_forward(x, w, b, activation="relu"))
    gy = rng.standard_normal((3, 4, 5, 7))
    np.testing.assert_allclose(kernels.conv2d_backward_input(gy, w, x.shape), ref.conv2d_backward_input(gy, w, x.shape))
    np.testing.assert_allclose(kernels.conv2d_backward_weight(x, gy, (1, 1))[0], ref.conv2d_backward_weight(x, gy, (1, 1))[0])


BAD = [
    # (args, kwargs, error type, message fragment) — one line per case
    ((np.zeros((2, 5, 5)), np.zeros((3, 3, 1, 2))), {}, ValueError, "x must be 4-D"),
    ((np.zeros((1, 5, 5, 2)), np.zeros((3, 3, 2))), {}, ValueError, "w must be 4-D"),
    ((np.zeros((1, 5, 5, 2)), np.zeros((3, 3, 3, 2))), {}, ValueError, "expects 3 input channels"),
    ((np.zeros((1, 2, 2, 1)), np.zeros((3, 3, 1, 2))), {}, ValueError, "larger than the padded input"),
    ((np.zeros((1, 5, 5, 4)), np.zeros((3, 3, 2, 3))), {"groups": 2}, ValueError, "divisible by groups"),
    ((np.zeros((1, 5, 5, 2)), np.zeros((3, 3, 2, 2))), {"strides": (0, 1)}, ValueError, "strides must be"),
    ((np.zeros((1, 5, 5, 2)), np.zeros((3, 3, 2, 2))), {"padding": (1, 1)}, ValueError, "padding must be"),
    ((np.zeros((1, 5, 5, 2)), np.zeros((3, 3, 2, 2)), np.zeros(3)), {}, ValueError, "b must have shape (2,)"),
    ((np.zeros((1, 5, 5, 2)), np.zeros((3, 3, 2, 2), np.float32)), {}, TypeError, "same dtype"),
    ((np.zeros((1, 5, 5, 2)), np.zeros((3, 3, 2, 2))), {"activation": "softmax"}, ValueError, "not fused"),
]


@pytest.mark.parametrize("args, kwargs, exc, frag", BAD)
def test_bad_arguments_same_error_on_every_backend(kernels, ref, args, kwargs, exc, frag):
    msgs = []
    for be in (ref, kernels):
        with pytest.raises(exc, match="conv2d_forward") as e:
            be.conv2d_forward(*args, **kwargs)
        assert frag in str(e.value)
        msgs.append(str(e.value))
    assert msgs[0] == msgs[1]


def test_backward_shape_errors(kernels, ref):
    w = np.zeros((3, 3, 2, 4))
    for be in (ref, kernels):
        with pytest.raises(ValueError, match=r"conv2d_backward_input: gy must have shape \(1, 3, 3, 4\)"):
            be.conv2d_backward_input(np.zeros((1, 3, 4, 4)), w, (1, 5, 5, 2))
        with pytest.raises(ValueError, match=r"conv2d_backward_weight: gy must have shape \(1, 3, 3, 4\)"):
            be.conv2d_backward_weight(np.zeros((1, 5, 5, 2)), np.zeros((1, 4, 3, 4)), (3, 3))
        with pytest.raises(ValueError, match=r"col2im: col must have shape \(1, 3, 3, 18\)"):
            be.col2im(np.zeros((1, 3, 3, 9)), (1, 5, 5, 2), (3, 3))


def test_binding_defends_itself_without_the_contract(core):
    # the raw binding: bad shapes are ValueErrors naming the kernel, never a crash
    with pytest.raises(ValueError, match="conv2d_forward"):
        core.conv2d_forward(np.zeros((1, 2, 2, 1)), np.zeros((3, 3, 1, 2)))
    with pytest.raises(ValueError, match="conv2d_forward"):
        core.conv2d_forward(np.zeros((1, 5, 5, 3)), np.zeros((3, 3, 2, 2)))
    with pytest.raises(ValueError, match="conv2d_backward_input"):
        core.conv2d_backward_input(np.zeros((1, 3, 3, 2)), np.zeros((3, 3, 2, 2)), [1, 5, 5])
    with pytest.raises(ValueError, match="conv2d_backward_weight"):
        core.conv2d_backward_weight(np.zeros((1, 5, 5, 2)), np.zeros((1, 2, 3, 2)), (3, 3))
    with pytest.raises(ValueError, match="im2col"):
        core.im2col(np.zeros((1, 5, 5, 2)), (3, 3), (1, 1), (0, 0, 0, 0), (0, 1))
    with pytest.raises(TypeError, match="conv2d_forward"):
        core.conv2d_forward(np.zeros((1, 5, 5, 2), np.int64), np.zeros((3, 3, 2, 2)))
