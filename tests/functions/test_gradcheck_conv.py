"""Backward of every convolution Function and op against float64 finite differences."""

import nnrs
import numpy as np
import pytest
from nnrs import functions as F
from nnrs import ops

rng = np.random.default_rng(5)


def r(*shape):
    return rng.uniform(-1.0, 1.0, shape)


CONV = [
    # (name, x shape, w shape, strides, padding, dilation, groups, activation) — one line per case
    ("valid", (2, 5, 4, 3), (3, 2, 3, 2), (1, 1), (0, 0, 0, 0), (1, 1), 1, "linear"),
    ("padded_strided", (1, 6, 5, 2), (3, 3, 2, 3), (2, 2), (1, 2, 0, 1), (1, 1), 1, "tanh"),
    ("dilated", (2, 7, 6, 2), (2, 3, 2, 2), (1, 2), (1, 1, 2, 2), (2, 2), 1, "sigmoid"),
    ("grouped", (1, 4, 4, 4), (3, 3, 2, 6), (1, 1), (1, 1, 1, 1), (1, 1), 2, "gelu"),
    ("depthwise", (2, 5, 5, 3), (3, 3, 1, 6), (2, 1), (1, 1, 1, 1), (1, 1), 3, "linear"),
    ("pointwise", (2, 3, 3, 4), (1, 1, 4, 3), (1, 1), (0, 0, 0, 0), (1, 1), 1, "swish"),
    ("one_pixel", (3, 1, 1, 2), (1, 1, 2, 2), (1, 1), (0, 0, 0, 0), (1, 1), 1, "elu"),
    ("kernel_over_stride", (1, 8, 3, 1), (4, 2, 1, 2), (3, 1), (0, 1, 0, 0), (1, 1), 1, "linear"),
]


@pytest.mark.parametrize("name, xs, ws, strides, pads, dil, groups, act", CONV, ids=[c[0] for c in CONV])
def test_conv2d_gradcheck(backend, name, xs, ws, strides, pads, dil, groups, act):
    assert nnrs.gradcheck(lambda x, w, b: F.Conv2D.apply(x, w, b, strides, pads, dil, groups, act), r(*xs), r(*ws), r(ws[3]))


def test_conv2d_gradcheck_without_bias(backend):
    assert nnrs.gradcheck(lambda x, w: F.Conv2D.apply(x, w, None, (1, 1), (1, 1, 1, 1), (1, 1), 1, "relu"),
                          r(2, 4, 4, 2), r(3, 3, 2, 3) + 0.05)


TRANSPOSE = [
    # (name, x shape, kernel shape (kh, kw, filters, cin), strides, padding, output_padding, dilation)
    ("valid_s2", (2, 3, 2, 3), (3, 3, 2, 3), 2, "valid", None, 1),
    ("same_s2", (1, 3, 4, 2), (3, 2, 3, 2), (2, 1), "same", None, 1),
    ("same_op1", (1, 3, 3, 2), (3, 3, 2, 2), 2, "same", 1, 1),
    ("valid_op2_s3", (1, 2, 3, 1), (3, 3, 2, 1), 3, "valid", 2, 1),
    ("dilated_same", (1, 4, 3, 2), (3, 3, 2, 2), 1, "same", None, 2),
    ("k1_s2", (2, 2, 2, 2), (1, 1, 3, 2), 2, "valid", None, 1),
]


@pytest.mark.parametrize("name, xs, ks, strides, padding, op, dil", TRANSPOSE, ids=[c[0] for c in TRANSPOSE])
def test_conv_transpose_gradcheck(backend, name, xs, ks, strides, padding, op, dil):
    assert nnrs.gradcheck(lambda x, k: ops.conv_transpose(x, k, strides, padding, op, dilation_rate=dil), r(*xs), r(*ks))


def test_conv_transpose_bias_gradcheck(backend):
    assert nnrs.gradcheck(lambda x, k, b: F.Conv2DTranspose.apply(x, k, b, (1, 7, 5, 2), (2, 2), (0, 0, 0, 0), (1, 1)),
                          r(1, 3, 2, 3), r(3, 3, 2, 3), r(2))


def test_separable_and_depthwise_ops_gradcheck(backend):
    assert nnrs.gradcheck(lambda x, d, p: ops.separable_conv(x, d, p, 2, "same"), r(1, 5, 4, 2), r(3, 3, 2, 2), r(1, 1, 4, 3))
    assert nnrs.gradcheck(lambda x, d: ops.depthwise_conv(x, d, 1, "valid", dilation_rate=2), r(2, 5, 5, 2), r(2, 2, 2, 3))


def test_conv1d_op_gradcheck(backend):
    assert nnrs.gradcheck(lambda x, k: ops.conv(x, k, 2, "same"), r(2, 7, 3), r(3, 3, 2))


@pytest.mark.parametrize("args", [((2, 3), 1, 0, 1), (3, 2, 1, 2), ((2, 2), (1, 2), (1, 0), (2, 1))])
def test_unfold_and_fold_gradcheck(backend, args):
    k, d, p, s = args
    x = r(2, 2, 5, 6)
    assert nnrs.gradcheck(lambda t: ops.unfold(t, k, d, p, s), x)
    u = ops.unfold(x, k, d, p, s)
    assert nnrs.gradcheck(lambda t: ops.fold(t, (5, 6), k, d, p, s), r(*u.shape))


def test_im2col_col2im_functions_gradcheck(backend):
    args = ((2, 3), (1, 2), (1, 0, 2, 1), (2, 1))
    assert nnrs.gradcheck(lambda x: F.Im2Col.apply(x, *args), r(1, 4, 5, 2))
    col = F.Im2Col.apply(nnrs.Tensor(r(1, 4, 5, 2)), *args)
    assert nnrs.gradcheck(lambda c: F.Col2Im.apply(c, (1, 4, 5, 2), *args), r(*col.shape))
