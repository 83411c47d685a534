"""Gradients of the pooling, padding, cropping and upsampling ops and layers against float64
finite differences, on every backend. Max pooling inputs have no ties (distinct values
spaced more than the finite-difference step apart)."""

import nnrs
import numpy as np
import pytest
from nnrs import layers, ops

rng = np.random.default_rng(7)
F64 = "float64"  # layers compute in their dtype: float64 for the check


def distinct(*shape):
    """Values without ties: a random permutation of a grid 0.1 apart, centred on 0."""
    n = int(np.prod(shape))
    return (rng.permutation(n) * 0.1 - n * 0.05).reshape(shape)


def r(*shape):
    return rng.uniform(-2.0, 2.0, shape)


CASES = [
    ("max_pool_2d_valid", lambda x: ops.max_pool(x, 2), [distinct(2, 5, 4, 3)]),
    ("max_pool_2d_same_overlap", lambda x: ops.max_pool(x, 3, 2, "same"), [distinct(1, 5, 6, 2)]),
    ("max_pool_2d_stride_gt_pool", lambda x: ops.max_pool(x, (2, 1), (3, 2)), [distinct(2, 7, 5, 1)]),
    ("max_pool_2d_1x1_image_same", lambda x: ops.max_pool(x, 3, 1, "same"), [distinct(2, 1, 1, 3)]),
    ("max_pool_1d_same", lambda x: ops.max_pool(x, 3, 2, "same"), [distinct(2, 7, 3)]),
    ("avg_pool_2d_valid", lambda x: ops.average_pool(x, (2, 3), (1, 2)), [r(2, 4, 7, 3)]),
    ("avg_pool_2d_same", lambda x: ops.average_pool(x, 3, 2, "same"), [r(1, 5, 6, 2)]),
    ("avg_pool_2d_1x1_image_same", lambda x: ops.average_pool(x, 2, 1, "same"), [r(1, 1, 1, 2)]),
    ("avg_pool_1d_same", lambda x: ops.average_pool(x, 2, 3, "same"), [r(2, 7, 2)]),
    ("global_avg_2d", lambda x: layers.GlobalAveragePooling2D(dtype=F64)(x), [r(2, 3, 4, 3)]),
    ("global_avg_1d_keepdims", lambda x: layers.GlobalAveragePooling1D(keepdims=True, dtype=F64)(x), [r(2, 5, 3)]),
    ("global_max_2d", lambda x: layers.GlobalMaxPooling2D(dtype=F64)(x), [distinct(2, 3, 4, 3)]),
    ("global_max_1d_keepdims", lambda x: layers.GlobalMaxPooling1D(keepdims=True, dtype=F64)(x), [distinct(2, 5, 3)]),
    ("zero_padding", lambda x: layers.ZeroPadding2D(((1, 2), (0, 3)), dtype=F64)(x), [r(2, 3, 2, 2)]),
    ("cropping", lambda x: layers.Cropping2D(((1, 0), (2, 1)), dtype=F64)(x), [r(2, 4, 5, 2)]),
    ("upsampling", lambda x: layers.UpSampling2D((2, 3), dtype=F64)(x), [r(2, 3, 2, 2)]),
    ("upsampling_bilinear", lambda x: layers.UpSampling2D((3, 2), interpolation="bilinear", dtype=F64)(x), [r(2, 3, 4, 2)]),
    ("max_pool_layer_chain", lambda x: layers.AveragePooling2D(2, 1, dtype=F64)(layers.MaxPooling2D(2, padding="same", dtype=F64)(x)),
     [distinct(1, 5, 5, 2)]),
]


@pytest.mark.parametrize("name, fn, inputs", CASES, ids=[c[0] for c in CASES])
def test_gradcheck(backend, name, fn, inputs):
    assert nnrs.gradcheck(fn, *inputs)


def test_global_max_ties_share_the_gradient(backend):
    # As TensorFlow's reduce_max (and torch.amax): tied maxima share the gradient equally.
    x = nnrs.Tensor(np.array([[[[1.0], [3.0]], [[3.0], [0.0]]]]), requires_grad=True)
    ops.sum(layers.GlobalMaxPooling2D(dtype=F64)(x)).backward()
    np.testing.assert_allclose(backend.to_numpy(x.grad).ravel(), [0.0, 0.5, 0.5, 0.0])
