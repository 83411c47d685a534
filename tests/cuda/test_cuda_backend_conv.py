"""The cuda backend's convolution family on the fake CuPy (conv.cu through the C++ emulation, the
products by ``cupy.matmul``): ``im2col``, ``col2im``, ``conv2d_forward`` (bias + activation fused),
``conv2d_backward_input``, ``conv2d_backward_weight`` and the involution ``dynamic_conv2d_forward``
/ ``_backward`` equal the numpy oracle on hypothesis geometries (groups, strides, dilation,
asymmetric padding, 1x1 kernels) in float32 and float64, return C-contiguous device arrays of the
input dtype and copy nothing to the host; a small Conv2D + Flatten + Dense model trains on cuda
like on numpy."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import tol

from . import fakecupy
from .test_cuda_backend import _host, cuda  # noqa: F401  (cuda: the module-scoped fixture)
from .test_emulated_conv import dynamic_geometries, geometries

DTYPES = st.sampled_from([np.float32, np.float64])


def _same(cuda, got, want, dtype, exact=False):  # noqa: F811
    got = _host(cuda, got)
    assert got.dtype == np.dtype(dtype) and got.shape == want.shape and got.flags.c_contiguous
    if exact:
        np.testing.assert_array_equal(got, want)
    else:
        np.testing.assert_allclose(got, want, *tol(dtype))


@settings(max_examples=40, deadline=None)
@given(g=geometries(), dtype=DTYPES, seed=st.integers(0, 2**31))
def test_im2col_and_col2im_match_numpy(cuda, ref, g, dtype, seed):  # noqa: F811
    xs, ks, strides, pads, dil, _ = g
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(xs).astype(dtype)
    args = (ks, strides, pads, dil)
    want = ref.im2col(x, *args)
    col = rng.standard_normal(want.shape).astype(dtype)
    fakecupy.reset_counters()
    got_col = cuda.im2col(cuda.asarray(x), *args)
    got_x = cuda.col2im(cuda.asarray(col), xs, *args)
    assert fakecupy.transfers == 0
    _same(cuda, got_col, want, dtype, exact=True)
    _same(cuda, got_x, ref.col2im(col, xs, *args), dtype, exact=True)


@settings(max_examples=60, deadline=None)
@given(g=geometries(), oc_per_group=st.integers(1, 3), bias=st.booleans(), dtype=DTYPES, seed=st.integers(0, 2**31),
       act=st.sampled_from(["linear", "linear", "relu", "tanh", "leaky_relu", "gelu"]), pointwise=st.booleans(),
       strided=st.booleans())
def test_conv2d_forward_and_backward_match_numpy(cuda, ref, g, oc_per_group, bias, dtype, seed, act, pointwise, strided):  # noqa: F811
    xs, ks, strides, pads, dil, groups = g
    if pointwise:  # the 1x1 stride-1 unpadded case skips im2col
        ks, strides, pads = (1, 1), (1, 1), (0, 0, 0, 0)
    rng = np.random.default_rng(seed)
    oc = groups * oc_per_group
    x = rng.standard_normal(xs).astype(dtype)
    if strided:  # a non-contiguous x (every other column of a wider array)
        wide = np.zeros(xs[:2] + (2 * xs[2],) + xs[3:], dtype)
        wide[:, :, ::2] = x
        dx = cuda.asarray(wide)[:, :, ::2]
    else:
        dx = cuda.asarray(x)
    w = rng.standard_normal(ks + (xs[3] // groups, oc)).astype(dtype)
    b = rng.standard_normal(oc).astype(dtype) if bias else None
    geo = (strides, pads, dil, groups)
    want = ref.conv2d_forward(x, w, b, *geo, act, 0.2)
    gy = rng.standard_normal(want.shape).astype(dtype)
    dw, dgy = cuda.asarray(w), cuda.asarray(gy)
    fakecupy.reset_counters()
    y = cuda.conv2d_forward(dx, dw, None if b is None else cuda.asarray(b), *geo, act, 0.2)
    gx = cuda.conv2d_backward_input(dgy, dw, xs, *geo)
    gw, gb = cuda.conv2d_backward_weight(dx, dgy, ks, *geo, bias)
    assert fakecupy.transfers == 0
    _same(cuda, y, want, dtype)
    _same(cuda, gx, ref.conv2d_backward_input(gy, w, xs, *geo), dtype)
    rw, rb = ref.conv2d_backward_weight(x, gy, ks, *geo, bias)
    _same(cuda, gw, rw, dtype)
    assert (gb is None) == (not bias)
    if bias:
        _same(cuda, gb, rb, dtype)


@settings(max_examples=50, deadline=None)
@given(g=dynamic_geometries(), dtype=DTYPES, seed=st.integers(0, 2**31))
def test_dynamic_conv2d_matches_numpy(cuda, ref, g, dtype, seed):  # noqa: F811
    xs, ks, strides, pads, dil, groups = g
    oh = (xs[1] + pads[0] + pads[1] - (ks[0] - 1) * dil[0] - 1) // strides[0] + 1
    ow = (xs[2] + pads[2] + pads[3] - (ks[1] - 1) * dil[1] - 1) // strides[1] + 1
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(xs).astype(dtype)
    k = rng.standard_normal((xs[0], oh, ow, ks[0] * ks[1], groups)).astype(dtype)
    gy = rng.standard_normal((xs[0], oh, ow, xs[3])).astype(dtype)
    args = (ks, strides, pads, dil)
    fakecupy.reset_counters()
    y = cuda.dynamic_conv2d_forward(cuda.asarray(x), cuda.asarray(k), *args)
    gx, gk = cuda.dynamic_conv2d_backward(cuda.asarray(gy), cuda.asarray(x), cuda.asarray(k), *args)
    assert fakecupy.transfers == 0
    _same(cuda, y, ref.dynamic_conv2d_forward(x, k, *args), dtype)
    want_gx, want_gk = ref.dynamic_conv2d_backward(gy, x, k, *args)
    _same(cuda, gx, want_gx, dtype)
    _same(cuda, gk, want_gk, dtype)


def test_conv_errors_are_the_contracts(cuda):  # noqa: F811
    """Bad geometry reaches the contract's checks before any kernel (the same words as numpy's)."""
    x = cuda.asarray(np.ones((1, 4, 4, 3), np.float32))
    with pytest.raises(ValueError, match="conv2d_forward: w .* expects 4 input channels"):
        cuda.conv2d_forward(x, cuda.asarray(np.ones((3, 3, 2, 2), np.float32)), groups=2)
    with pytest.raises(ValueError, match="im2col: the dilated kernel"):
        cuda.im2col(x, (5, 5))
    with pytest.raises(ValueError, match="dynamic_conv2d_forward: k must have shape"):
        cuda.dynamic_conv2d_forward(x, cuda.asarray(np.ones((1, 2, 2, 4, 1), np.float32)), (3, 3))


def test_lenet_like_model_trains_on_cuda_like_numpy(cuda, monkeypatch):  # noqa: F811
    """Conv2D (grouped, strided, relu fused) + Conv2D + Flatten + Dense, 3 SGD steps from the same
    weights: outputs and gradients within 1e-4 relative of numpy's in float32."""
    import nnrs
    from nnrs import layers

    nnrs.random.seed(5)
    m = nnrs.Sequential([layers.Input((9, 9, 2)), layers.Conv2D(4, 3, strides=2, padding="same", activation="relu"),
                         layers.Conv2D(4, 3, groups=2, use_bias=False), layers.Flatten(), layers.Dense(3)])
    m.compile(optimizer=nnrs.optimizers.SGD(0.05), loss=nnrs.losses.SparseCategoricalCrossentropy(from_logits=True))
    rng = np.random.default_rng(2)
    x = rng.standard_normal((6, 9, 9, 2)).astype(np.float32)
    y = rng.integers(0, 3, size=6).astype(np.int64)
    calls = []
    for k in ("conv2d_forward", "conv2d_backward_input", "conv2d_backward_weight"):
        orig = getattr(cuda, k)  # the instance's contract-checked method
        monkeypatch.setattr(cuda, k, lambda *a, _o=orig, _k=k, **kw: calls.append(_k) or _o(*a, **kw))
    r = nnrs.check_parity(m, x, y, backends=("numpy", "cuda"), steps=3)
    assert r.ok, str(r)
    assert r.max_rel("output") < 1e-4 and r.max_rel("grad") < 1e-4, str(r)
    assert calls.count("conv2d_forward") >= 8 and calls.count("conv2d_backward_weight") >= 8  # 2 layers, 3 steps + the check
    assert calls.count("conv2d_backward_input") >= 4  # the second layer's (the first one's input needs no gradient)


def _conv_layer_models():
    from nnrs import layers

    return {
        "conv1d": ((10, 3), lambda: [layers.Conv1D(4, 3, strides=2, padding="same", dilation_rate=1, activation="tanh")]),
        "depthwise": ((7, 7, 4), lambda: [layers.DepthwiseConv2D(3, depth_multiplier=2, padding="same", activation="relu")]),
        "separable": ((7, 7, 3), lambda: [layers.SeparableConv2D(5, 3, dilation_rate=2, padding="same")]),
        "transpose": ((4, 5, 3), lambda: [layers.Conv2DTranspose(4, 3, strides=2, padding="same", activation="elu")]),
        "pointwise": ((5, 5, 6), lambda: [layers.Conv2D(4, 1, groups=2, activation="gelu"), layers.Conv2D(3, 1)]),
        "involution": ((8, 8, 4), lambda: [layers.DynamicConv2D(3, groups=2, padding="same")]),
    }


@pytest.mark.parametrize("name", sorted(_conv_layer_models()))
def test_conv_layers_train_on_cuda_like_numpy(cuda, name):  # noqa: F811
    """Every convolution layer (Conv1D, depthwise, separable, transposed, grouped 1x1, involution)
    followed by Flatten + Dense: 3 SGD steps on cuda within 1e-4 relative of numpy in float32."""
    import nnrs
    from nnrs import layers

    shape, make = _conv_layer_models()[name]
    nnrs.random.seed(3)
    m = nnrs.Sequential([layers.Input(shape), *make(), layers.Flatten(), layers.Dense(2)])
    m.compile(optimizer=nnrs.optimizers.SGD(0.05), loss="mse")
    rng = np.random.default_rng(4)
    x = rng.standard_normal((4,) + shape).astype(np.float32)
    y = rng.standard_normal((4, 2)).astype(np.float32)
    r = nnrs.check_parity(m, x, y, backends=("numpy", "cuda"), steps=3)
    assert r.ok, str(r)


def _gradcheck_cases():
    from tests.functions.test_gradcheck_conv import CONV, TRANSPOSE

    return [("conv2d",) + c for c in CONV] + [("transpose",) + c for c in TRANSPOSE[:3]] + [("dynamic", "same_g2", (2, 5, 4, 4), 3, 1, "same", 1, 2),
                                                                                          ("dynamic", "valid_s", (1, 6, 7, 3), (3, 2), (2, 3), "valid", 1, 3)]


@pytest.mark.parametrize("case", _gradcheck_cases(), ids=lambda c: f"{c[0]}-{c[1]}")
def test_conv_backward_gradcheck_on_cuda(cuda, case):  # noqa: F811
    """Every convolution backward on the cuda backend against float64 finite differences
    (the cases of tests/functions/test_gradcheck_conv.py plus two involutions)."""
    import nnrs
    from nnrs import backend as B
    from nnrs import functions as F
    from nnrs import ops

    rng = np.random.default_rng(5)

    def r(*shape):
        return rng.uniform(-1.0, 1.0, shape)

    kind, _, *a = case
    fakecupy.reset_counters()
    with B.use("cuda"):
        if kind == "conv2d":
            xs, ws, strides, pads, dil, groups, act = a
            ok = nnrs.gradcheck(lambda x, w, b: F.Conv2D.apply(x, w, b, strides, pads, dil, groups, act), r(*xs), r(*ws), r(ws[3]))
        elif kind == "transpose":
            xs, ks, strides, padding, op, dil = a
            ok = nnrs.gradcheck(lambda x, k: ops.conv_transpose(x, k, strides, padding, op, dilation_rate=dil), r(*xs), r(*ks))
        else:
            shape, ks, strides, padding, dil, groups = a
            kk, st_ = ((ks, ks) if isinstance(ks, int) else ks), ((strides, strides) if isinstance(strides, int) else strides)
            pad = nnrs.functions.dynamic.explicit_padding(padding, shape[1:3], kk, st_, (dil, dil))
            oh = (shape[1] + pad[0] + pad[1] - (kk[0] - 1) * dil - 1) // st_[0] + 1
            ow = (shape[2] + pad[2] + pad[3] - (kk[1] - 1) * dil - 1) // st_[1] + 1
            k = r(shape[0], oh, ow, kk[0] * kk[1], groups)
            ok = nnrs.gradcheck(lambda x, kern: ops.dynamic_conv2d(x, kern, ks, strides, padding, dil), r(*shape), k)
    assert ok and fakecupy.launches > 0  # the conv.cu kernels ran
