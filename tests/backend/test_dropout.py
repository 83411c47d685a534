"""dropout_forward: cpu draws exactly the numpy oracle's mask (same splitmix64 hash)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes
from nnrs.backend.numpy_backend import splitmix_uniform

dtypes = st.sampled_from([np.float32, np.float64])
shapes = array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=7)
rates = st.one_of(st.sampled_from([0.0, 0.5, 0.999]), st.floats(0.0, 1.0, exclude_max=True))
seeds = st.integers(0, 2**64 - 1)


@settings(max_examples=150, deadline=None)
@given(shape=shapes, dtype=dtypes, rate=rates, seed=seeds, data_seed=st.integers(0, 2**31))
def test_dropout_is_bit_identical_to_numpy(kernels, ref, shape, dtype, rate, seed, data_seed):
    x = np.asarray(np.random.default_rng(data_seed).standard_normal(shape)).astype(dtype)
    (y, m), (y_ref, m_ref) = kernels.dropout_forward(x, rate, seed), ref.dropout_forward(x, rate, seed)
    assert y.dtype == m.dtype == dtype and y.shape == m.shape == x.shape
    np.testing.assert_array_equal(m, m_ref)
    np.testing.assert_array_equal(y, y_ref)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("rate", [0.1, 0.5, 0.9])
def test_dropout_large_parallel_path(kernels, ref, dtype, rate):
    x = np.random.default_rng(0).standard_normal((333, 1001)).astype(dtype)
    (y, m), (y_ref, m_ref) = kernels.dropout_forward(x, rate, 2**63 + 12345), ref.dropout_forward(x, rate, 2**63 + 12345)
    np.testing.assert_array_equal(m, m_ref)
    np.testing.assert_array_equal(y, y_ref)
    assert abs((m != 0).mean() - (1 - rate)) < 0.01


def test_mask_follows_the_documented_hash(kernels):
    x = np.ones(1000)
    _, m = kernels.dropout_forward(x, 0.3, 7)
    np.testing.assert_array_equal(m != 0, splitmix_uniform(7, 1000) >= 0.3)
    assert set(np.unique(m)) <= {0.0, 1 / 0.7}


def test_rate_zero_keeps_everything(kernels):
    x = np.random.default_rng(1).standard_normal((4, 5)).astype(np.float32)
    y, m = kernels.dropout_forward(x, 0.0, 123)
    np.testing.assert_array_equal(y, x)
    np.testing.assert_array_equal(m, np.ones_like(x))


def test_non_contiguous_input_uses_c_order_indices(kernels, ref):
    x = np.random.default_rng(2).standard_normal((6, 8))
    for v in (x.T, x[:, ::2], np.asfortranarray(x)):
        (y, m), (y_ref, m_ref) = kernels.dropout_forward(v, 0.4, 99), ref.dropout_forward(v, 0.4, 99)
        np.testing.assert_array_equal(m, m_ref)
        np.testing.assert_array_equal(y, y_ref)


@pytest.mark.parametrize("seed", [-1, -(2**63), 2**64, 2**70 + 5, np.uint64(2**64 - 1), np.int64(-3), True])
def test_seed_is_taken_modulo_2_64_like_numpy(kernels, ref, seed):
    x = np.ones(50, np.float32)
    np.testing.assert_array_equal(kernels.dropout_forward(x, 0.5, seed)[1], ref.dropout_forward(x, 0.5, int(seed))[1])


def test_same_seed_same_mask_different_seed_different_mask(kernels):
    x = np.ones(200)
    assert np.array_equal(kernels.dropout_forward(x, 0.5, 1)[1], kernels.dropout_forward(x, 0.5, 1)[1])
    assert not np.array_equal(kernels.dropout_forward(x, 0.5, 1)[1], kernels.dropout_forward(x, 0.5, 2)[1])


@pytest.mark.parametrize("call, err, match", [
    (lambda c: c.dropout_forward(np.ones(3), 1.0, 0), ValueError, r"dropout_forward: rate must be in \[0, 1\), got 1"),
    (lambda c: c.dropout_forward(np.ones(3), -0.1, 0), ValueError, r"dropout_forward: rate must be in \[0, 1\), got -0.1"),
    (lambda c: c.dropout_forward(np.ones(3), float("nan"), 0), ValueError, r"rate must be in \[0, 1\), got NaN"),
    (lambda c: c.dropout_forward(np.ones(3), 0.5, 1.5), TypeError, r"dropout_forward: seed must be an int, got float"),
    (lambda c: c.dropout_forward(np.ones(3), 0.5, "7"), TypeError, r"dropout_forward: seed must be an int, got str"),
    (lambda c: c.dropout_forward(np.ones(3, np.int64), 0.5, 0), TypeError, r"dropout_forward: x must be a float32 or float64 numpy array"),
    (lambda c: c.dropout_forward([1.0, 2.0], 0.5, 0), TypeError, r"dropout_forward: x must be a float32 or float64 numpy array, got list"),
])
def test_bad_input_is_a_clear_error(core, call, err, match):
    with pytest.raises(err, match=match):
        call(core)
