"""The kernels of cuda_kernels/conv.cu (im2col / col2im in the group-major layout, the fused bias +
activation of a convolution, the three involution kernels), compiled as C++ with the emulation
header and launched over cuda_launch's grid, equal the numpy oracle on hypothesis geometries
(groups, strides, dilation, asymmetric padding, 1x1 kernels, empty batches) in float32 and
float64, with poisoned guard zones around every array and grids capped low so the grid-stride
loops wrap."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from nnrs.backend import cuda_launch

from tests.conftest import tol

from .emulation.loader import Guarded

DTYPES = st.sampled_from([np.float32, np.float64])
MAX_GRID = st.sampled_from([cuda_launch.MAX_GRID, cuda_launch.MAX_GRID, 1, 2, 3])


@st.composite
def geometries(draw, max_n=3):
    """(x shape, (kh, kw), strides, padding (top, bottom, left, right), dilation, groups) that make a
    convolution: odd sizes, 1x1 kernels and images, strides above the kernel, empty batches."""
    groups = draw(st.sampled_from([1, 1, 2, 3]))
    c = groups * draw(st.integers(1, 3))
    n = draw(st.integers(0, max_n))
    kh, kw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    dil = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    pads = tuple(draw(st.integers(0, 3)) for _ in range(4))
    eh, ew = (kh - 1) * dil[0] + 1, (kw - 1) * dil[1] + 1
    h = draw(st.integers(max(1, eh - pads[0] - pads[1]), 11))
    w = draw(st.integers(max(1, ew - pads[2] - pads[3]), 11))
    strides = (draw(st.integers(1, 4)), draw(st.integers(1, 4)))
    return (n, h, w, c), (kh, kw), strides, pads, dil, groups


def _out_hw(xs, ks, strides, pads, dil):
    return ((xs[1] + pads[0] + pads[1] - (ks[0] - 1) * dil[0] - 1) // strides[0] + 1,
            (xs[2] + pads[2] + pads[3] - (ks[1] - 1) * dil[1] - 1) // strides[1] + 1)


def _geo(xs, ks, strides, pads, dil):
    """conv.cu's geometry arguments (n, h, w, c, oh, ow, kh, kw, sh, sw, pt, pl, dh, dw)."""
    return tuple(xs) + _out_hw(xs, ks, strides, pads, dil) + tuple(ks) + tuple(strides) + (pads[0], pads[2]) + tuple(dil)


def _group_major(col, xs, ks, groups):
    """The oracle's im2col (n, oh, ow, kh*kw*c) as conv.cu's group-major (groups, n*oh*ow, kh*kw*c/groups)."""
    n, oh, ow, _ = col.shape
    cg = xs[3] // groups
    return np.ascontiguousarray(col.reshape(n * oh * ow, ks[0] * ks[1], groups, cg).transpose(2, 0, 1, 3)).reshape(
        groups, n * oh * ow, ks[0] * ks[1] * cg)


@settings(max_examples=80, deadline=None)
@given(g=geometries(), dtype=DTYPES, seed=st.integers(0, 2**31), max_grid=MAX_GRID)
def test_im2col_matches_numpy_bitwise(emu, ref, g, dtype, seed, max_grid):
    xs, ks, strides, pads, dil, groups = g
    x = np.random.default_rng(seed).standard_normal(xs).astype(dtype)
    want = _group_major(ref.im2col(x, ks, strides, pads, dil), xs, ks, groups)
    col_ = Guarded(np.zeros(want.shape, dtype))
    emu["conv.cu"].launch("im2col_forward", dtype, want.size, Guarded(x), col_, *_geo(xs, ks, strides, pads, dil), groups, want.size,
                          max_grid=max_grid)
    np.testing.assert_array_equal(col_.check("col"), want)  # a copy: bit-equal


@settings(max_examples=80, deadline=None)
@given(g=geometries(), dtype=DTYPES, seed=st.integers(0, 2**31), max_grid=MAX_GRID)
def test_col2im_gather_matches_numpy_bitwise(emu, ref, g, dtype, seed, max_grid):
    xs, ks, strides, pads, dil, groups = g
    oh, ow = _out_hw(xs, ks, strides, pads, dil)
    col = np.random.default_rng(seed).standard_normal((xs[0], oh, ow, ks[0] * ks[1] * xs[3])).astype(dtype)
    want = ref.col2im(col, xs, ks, strides, pads, dil)
    x_ = Guarded(np.zeros(xs, dtype))
    n = int(np.prod(xs))
    emu["conv.cu"].launch("col2im_forward", dtype, n, Guarded(_group_major(col, xs, ks, groups)), x_,
                          *_geo(xs, ks, strides, pads, dil), groups, n, max_grid=max_grid)
    np.testing.assert_array_equal(x_.check("x"), want)  # the taps added in the oracle's order: bit-equal


def test_col2im_is_the_adjoint_of_im2col(emu):
    """<im2col(x), col> == <x, col2im(col)> on a geometry with overlapping, strided, dilated, padded taps."""
    xs, ks, strides, pads, dil, groups = (2, 7, 6, 4), (3, 2), (2, 1), (1, 2, 0, 3), (2, 3), 2
    rng = np.random.default_rng(0)
    x = rng.standard_normal(xs)
    geo = _geo(xs, ks, strides, pads, dil)
    shape = (groups, xs[0] * geo[4] * geo[5], ks[0] * ks[1] * xs[3] // groups)
    col = rng.standard_normal(shape)
    col_, x_ = Guarded(np.zeros(shape)), Guarded(np.zeros(xs))
    emu["conv.cu"].launch("im2col_forward", np.float64, col.size, Guarded(x), col_, *geo, groups, col.size)
    emu["conv.cu"].launch("col2im_forward", np.float64, x.size, Guarded(col), x_, *geo, groups, x.size)
    np.testing.assert_allclose(np.vdot(col_.check("col"), col), np.vdot(x, x_.check("x")), rtol=1e-12)


@settings(max_examples=60, deadline=None)
@given(rows=st.one_of(st.sampled_from([0, 1, 255, 256, 257]), st.integers(0, 400)), groups=st.sampled_from([1, 2, 3]),
       ocg=st.integers(1, 4), bias=st.booleans(), dtype=DTYPES, seed=st.integers(0, 2**31), max_grid=MAX_GRID,
       act=st.sampled_from(cuda_launch.ELEMENTWISE_ACTIVATIONS))
def test_conv_bias_act_matches_numpy(emu, ref, rows, groups, ocg, bias, dtype, seed, max_grid, act):
    rng = np.random.default_rng(seed)
    z = (rng.standard_normal((groups, rows, ocg)) * 2).astype(dtype)
    b = rng.standard_normal(groups * ocg).astype(dtype) if bias else None
    alpha = 0.3
    pre = z.transpose(1, 0, 2).reshape(rows, groups * ocg)
    want = ref.activation_forward(act, pre + b if bias else pre, alpha)
    y_ = Guarded(np.zeros(want.shape, dtype))
    emu["conv.cu"].launch("conv_bias_act_forward", dtype, want.size, cuda_launch.activation_code(act), Guarded(z),
                          Guarded(b) if bias else None, y_, rows, groups, ocg, alpha, max_grid=max_grid)
    np.testing.assert_allclose(y_.check("y"), want, *tol(dtype))


@st.composite
def dynamic_geometries(draw):
    """As ``geometries`` with the involution's kernel groups G dividing the channels (padding any size)."""
    xs, ks, strides, pads, dil, _ = draw(geometries())
    g = draw(st.sampled_from([d for d in range(1, xs[3] + 1) if xs[3] % d == 0]))
    return xs, ks, strides, pads, dil, g


@settings(max_examples=80, deadline=None)
@given(g=dynamic_geometries(), dtype=DTYPES, seed=st.integers(0, 2**31), max_grid=MAX_GRID)
def test_dynamic_conv2d_kernels_match_numpy(emu, ref, g, dtype, seed, max_grid):
    xs, ks, strides, pads, dil, groups = g
    oh, ow = _out_hw(xs, ks, strides, pads, dil)
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(xs).astype(dtype)
    k = rng.standard_normal((xs[0], oh, ow, ks[0] * ks[1], groups)).astype(dtype)
    gy = rng.standard_normal((xs[0], oh, ow, xs[3])).astype(dtype)
    args = (ks, strides, pads, dil)
    want_y = ref.dynamic_conv2d_forward(x, k, *args)
    want_gx, want_gk = ref.dynamic_conv2d_backward(gy, x, k, *args)
    geo = _geo(xs, ks, strides, pads, dil) + (groups,)
    mod = emu["conv.cu"]
    y_, gx_, gk_ = Guarded(np.zeros(want_y.shape, dtype)), Guarded(np.zeros(xs, dtype)), Guarded(np.zeros(k.shape, dtype))
    mod.launch("dynamic_conv2d_forward", dtype, want_y.size, Guarded(x), Guarded(k), y_, *geo, max_grid=max_grid)
    mod.launch("dynamic_conv2d_backward_input", dtype, x.size, Guarded(gy), Guarded(k), gx_, *geo, max_grid=max_grid)
    mod.launch("dynamic_conv2d_backward_kernel", dtype, k.size, Guarded(gy), Guarded(x), gk_, *geo, max_grid=max_grid)
    np.testing.assert_allclose(y_.check("y"), want_y, *tol(dtype))
    np.testing.assert_allclose(gx_.check("gx"), want_gx, *tol(dtype))
    np.testing.assert_allclose(gk_.check("gk"), want_gk, *tol(dtype))


def test_dynamic_conv2d_backward_input_is_deterministic(emu, ref):
    """The gather gives the same bits for any grid (each gx element is summed by one thread in tap order)."""
    xs, ks, strides, pads, dil, groups = (2, 9, 8, 6), (3, 3), (1, 2), (2, 1, 1, 2), (1, 1), 3
    oh, ow = _out_hw(xs, ks, strides, pads, dil)
    rng = np.random.default_rng(1)
    gy = rng.standard_normal((2, oh, ow, 6)).astype(np.float32)
    k = rng.standard_normal((2, oh, ow, 9, groups)).astype(np.float32)
    geo = _geo(xs, ks, strides, pads, dil) + (groups,)
    outs = []
    for max_grid in (1, 2, 3, cuda_launch.MAX_GRID):
        gx_ = Guarded(np.zeros(xs, np.float32))
        emu["conv.cu"].launch("dynamic_conv2d_backward_input", np.float32, gx_.inner.size, Guarded(gy), Guarded(k), gx_, *geo,
                              max_grid=max_grid)
        outs.append(gx_.check("gx"))
    for o in outs[1:]:
        np.testing.assert_array_equal(o, outs[0])
    want, _ = ref.dynamic_conv2d_backward(gy, rng.standard_normal(xs).astype(np.float32), k, ks, strides, pads, dil)
    np.testing.assert_allclose(outs[0], want, *tol(np.float32))
