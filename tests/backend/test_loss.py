"""loss_forward / loss_backward: cpu equals the numpy oracle."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import tol

dtypes = st.sampled_from([np.float32, np.float64])
ELEMENTWISE = ("mse", "mae", "huber", "binary_crossentropy_logits")


def _close(got, want, dtype):
    rtol, atol = tol(dtype)
    assert isinstance(got, np.ndarray) and got.shape == () and got.dtype == dtype  # 0-d, on the backend
    assert isinstance(want, np.ndarray) and want.shape == () and want.dtype == dtype
    got, want = float(got), float(want)
    assert abs(got - want) <= atol + rtol * abs(want), (got, want)


@settings(max_examples=60, deadline=None)
@given(name=st.sampled_from(ELEMENTWISE), n=st.integers(1, 12), rest=st.lists(st.integers(1, 6), max_size=2),
       weighted=st.booleans(), dtype=dtypes, seed=st.integers(0, 2**31),
       delta=st.sampled_from([0.3, 1.0, 2.5]), grad=st.sampled_from([1.0, -0.5, 3.0]))
def test_elementwise_losses_match_numpy(kernels, ref, name, n, rest, weighted, dtype, seed, delta, grad):
    rng = np.random.default_rng(seed)
    shape = (n, *rest)
    pred = (rng.standard_normal(shape) * 2).astype(dtype)
    if name == "binary_crossentropy_logits":
        target = rng.uniform(0, 1, shape).astype(dtype)
    else:
        target = rng.standard_normal(shape).astype(dtype)
    weight = rng.uniform(0, 2, n).astype(dtype) if weighted else None
    _close(kernels.loss_forward(name, pred, target, weight, delta), ref.loss_forward(name, pred, target, weight, delta), dtype)
    g = kernels.loss_backward(name, pred, target, weight, grad, delta)
    assert g.dtype == dtype and g.shape == pred.shape
    np.testing.assert_allclose(g, ref.loss_backward(name, pred, target, weight, grad, delta), *tol(dtype))


@settings(max_examples=60, deadline=None)
@given(n=st.integers(0, 12), k=st.integers(1, 9), classes=st.booleans(), weighted=st.booleans(), dtype=dtypes,
       seed=st.integers(0, 2**31), scale=st.sampled_from([0.1, 1.0, 30.0]), grad=st.sampled_from([1.0, 0.25]))
def test_softmax_crossentropy_matches_numpy(kernels, ref, n, k, classes, weighted, dtype, seed, scale, grad):
    rng = np.random.default_rng(seed)
    pred = (rng.standard_normal((n, k)) * scale).astype(dtype)
    if classes:
        target = rng.integers(0, k, n).astype(np.int64)
    else:
        target = rng.dirichlet(np.ones(k), n).astype(dtype) if n else np.zeros((0, k), dtype)
    weight = rng.uniform(0, 2, n).astype(dtype) if weighted else None
    name = "softmax_crossentropy"
    _close(kernels.loss_forward(name, pred, target, weight), ref.loss_forward(name, pred, target, weight), dtype)
    g = kernels.loss_backward(name, pred, target, weight, grad)
    assert g.dtype == dtype and g.shape == pred.shape
    np.testing.assert_allclose(g, ref.loss_backward(name, pred, target, weight, grad), *tol(dtype))


@pytest.mark.parametrize("name", ELEMENTWISE + ("softmax_crossentropy",))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_large_batches_match_numpy(kernels, ref, name, dtype):
    # Above the parallel threshold; also checks that repeated calls give the same bits.
    rng = np.random.default_rng(1)
    pred = (rng.standard_normal((4000, 40)) * 3).astype(dtype)
    if name == "softmax_crossentropy":
        target = rng.integers(0, 40, 4000).astype(np.int64)
    else:
        target = rng.uniform(0, 1, pred.shape).astype(dtype)
    weight = rng.uniform(0, 2, 4000).astype(dtype)
    got = kernels.loss_forward(name, pred, target, weight, 0.5)
    _close(got, ref.loss_forward(name, pred, target, weight, 0.5), dtype)
    assert got == kernels.loss_forward(name, pred, target, weight, 0.5)
    np.testing.assert_allclose(kernels.loss_backward(name, pred, target, weight, 2.0, 0.5),
                               ref.loss_backward(name, pred, target, weight, 2.0, 0.5), *tol(dtype))


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_empty_batch_is_zero(kernels, name):
    # (the oracle cannot reshape an empty batch; the contract's sum / max(n, 1) gives 0)
    assert kernels.loss_forward(name, _p(0, 3), _p(0, 3)) == 0.0
    assert kernels.loss_backward(name, _p(0, 3), _p(0, 3)).shape == (0, 3)


def test_samples_without_elements(kernels):
    pred = _p(40000, 0, dtype=np.float32)
    assert kernels.loss_backward("softmax_crossentropy", pred, pred).shape == (40000, 0)
    assert kernels.loss_forward("softmax_crossentropy", pred, pred) == 0.0


def test_one_hot_equals_class_indices(kernels):
    pred = np.random.default_rng(2).standard_normal((6, 4))
    idx = np.array([0, 3, 1, 1, 2, 0])
    onehot = np.eye(4)[idx]
    assert kernels.loss_forward("softmax_crossentropy", pred, idx) == pytest.approx(
        kernels.loss_forward("softmax_crossentropy", pred, onehot), rel=1e-14)
    np.testing.assert_allclose(kernels.loss_backward("softmax_crossentropy", pred, idx),
                               kernels.loss_backward("softmax_crossentropy", pred, onehot), atol=1e-15)


def test_mae_sign_of_zero_and_huge_logits(kernels):
    p = np.array([[1.0, 2.0]])
    np.testing.assert_array_equal(kernels.loss_backward("mae", p, p), [[0.0, 0.0]])
    big = np.array([[1e4, -1e4]], np.float32)
    assert np.isfinite(kernels.loss_forward("softmax_crossentropy", big, np.array([1])))
    assert np.isfinite(kernels.loss_forward("binary_crossentropy_logits", big, np.ones_like(big)))


def test_non_contiguous_inputs(kernels, ref):
    rng = np.random.default_rng(3)
    pred = rng.standard_normal((5, 8))[:, ::2]
    target = rng.standard_normal((4, 5)).T
    w = rng.uniform(size=10)[::2]
    for name in ("mse", "softmax_crossentropy"):
        t = np.abs(target) if name == "mse" else np.abs(target) / np.abs(target).sum(1, keepdims=True)
        _close(kernels.loss_forward(name, pred, t, w), ref.loss_forward(name, pred, t, w), np.float64)
        np.testing.assert_allclose(kernels.loss_backward(name, pred, t, w), ref.loss_backward(name, pred, t, w),
                                   *tol(np.float64))


def _p(*shape, dtype=np.float64):
    return np.zeros(shape, dtype)


@pytest.mark.parametrize("call, match", [
    (lambda c: c.loss_forward("hinge", _p(2, 3), _p(2, 3)), r"unknown loss 'hinge'.*accepted: mse, mae, huber"),
    (lambda c: c.loss_backward("nope", _p(2, 3), _p(2, 3)), r"unknown loss 'nope'.*softmax_crossentropy"),
    (lambda c: c.loss_forward("softmax_crossentropy", _p(2, 3), np.array([0, 3])), r"class index 3 .*k=3"),
    (lambda c: c.loss_backward("softmax_crossentropy", _p(2, 3), np.array([-1, 0])), r"class index -1 .*k=3"),
    (lambda c: c.loss_forward("softmax_crossentropy", _p(2, 3), np.array([0, 1, 2])), r"shape \[2\], got \[3\]"),
    (lambda c: c.loss_forward("softmax_crossentropy", _p(2, 3, 1), np.array([0, 1])), r"\(n, k\), got \[2, 3, 1\]"),
    (lambda c: c.loss_forward("softmax_crossentropy", _p(2, 3), np.zeros(2, np.int32)), r"int64 class indices"),
    (lambda c: c.loss_forward("mse", _p(2, 3), _p(3, 2)), r"target shape \[3, 2\] differs from pred shape \[2, 3\]"),
    (lambda c: c.loss_forward("mse", _p(2, 3), _p(2, 3), _p(3)), r"weight shape \[3\], expected \[2\]"),
    (lambda c: c.loss_backward("mae", _p(2, 3), _p(2, 3, dtype=np.float32)), r"target must have dtype"),
    (lambda c: c.loss_forward("mse", np.array(1.0), np.array(1.0)), r"batch axis"),
    (lambda c: c.loss_forward("mse", np.zeros((2, 3), np.int64), _p(2, 3)), r"float32 or float64"),
])
def test_bad_input_is_a_clear_error(core, call, match):
    with pytest.raises((ValueError, TypeError), match=match):
        call(core)
