"""The cuda backend's ``unary`` and elementwise losses (``loss_forward`` / ``loss_backward`` for
mse, mae, huber, binary_crossentropy_logits) on the fake CuPy (the kernels of elementwise.cu run
through the C++ emulation) equal the numpy oracle on hypothesis shapes in float32 and float64,
return device arrays and copy nothing to the host; a model with an elementwise loss trains on
cuda like its numpy twin."""

from __future__ import annotations

import nnrs
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from nnrs import layers
from nnrs.backend.base import LOSSES, UNARY_OPS

from tests.conftest import tol

from . import fakecupy
from .test_cuda_backend import _close, _dev, _host, cuda  # noqa: F401  (cuda: the module-scoped fixture)

DTYPES = st.sampled_from([np.float32, np.float64])
ELEMENTWISE_LOSSES = [n for n in LOSSES if n != "softmax_crossentropy"]


@settings(max_examples=60, deadline=None)
@given(op=st.sampled_from(UNARY_OPS), shape=st.lists(st.integers(0, 9), min_size=0, max_size=3), dtype=DTYPES,
       seed=st.integers(0, 2**31), transpose=st.booleans())
def test_unary_matches_numpy(cuda, ref, op, shape, dtype, seed, transpose):  # noqa: F811
    x = (np.random.default_rng(seed).standard_normal(shape) * 2).astype(dtype)
    d = cuda.asarray(x)  # (not _dev: ascontiguousarray would make a 0-d x 1-d)
    if transpose and x.ndim >= 2:  # a non-contiguous view is made contiguous first
        x, d = x.T, d.T
    fakecupy.reset_counters()
    y = cuda.unary(op, d)
    assert fakecupy.transfers == 0
    _close(cuda, y, ref.unary(op, x), dtype)


@settings(max_examples=60, deadline=None)
@given(name=st.sampled_from(ELEMENTWISE_LOSSES), shape=st.lists(st.integers(1, 6), min_size=1, max_size=3), dtype=DTYPES,
       seed=st.integers(0, 2**31), weighted=st.booleans(), grad=st.sampled_from([1.0, 0.25, -3.0]), delta=st.sampled_from([1.0, 0.4]),
       device_grad=st.booleans())
def test_elementwise_losses_match_numpy(cuda, ref, name, shape, dtype, seed, weighted, grad, delta, device_grad):  # noqa: F811
    rng = np.random.default_rng(seed)
    pred = (rng.standard_normal(shape) * 2).astype(dtype)
    target = rng.uniform(0, 1, shape).astype(dtype) if name == "binary_crossentropy_logits" else \
        (rng.standard_normal(shape) * 2).astype(dtype)
    weight = rng.uniform(0, 2, shape[:1]).astype(dtype) if weighted else None
    dp, dt = _dev(cuda, pred), _dev(cuda, target)
    dw = None if weight is None else _dev(cuda, weight)
    fakecupy.reset_counters()
    loss = cuda.loss_forward(name, dp, dt, dw, delta)
    up = cuda.asarray(np.asarray(grad, dtype)) if device_grad else grad
    g = cuda.loss_backward(name, dp, dt, dw, up, delta)
    assert fakecupy.transfers == 0
    _close(cuda, loss, ref.loss_forward(name, pred, target, weight, delta), dtype)
    _close(cuda, g, ref.loss_backward(name, pred, target, weight, grad, delta), dtype)


def _model(loss):
    nnrs.random.seed(5)
    m = nnrs.Sequential([layers.Input((5,)), layers.Dense(6, activation="tanh"), layers.Dense(2)])
    m.compile(optimizer=nnrs.optimizers.SGD(0.1), loss=loss)
    return m


@pytest.mark.parametrize("loss", ["mse", "mae", "huber", "bce"])
def test_dense_model_with_an_elementwise_loss_trains_on_cuda_like_numpy(cuda, loss):  # noqa: F811
    rng = np.random.default_rng(1)
    x = rng.standard_normal((16, 5)).astype(np.float32)
    if loss == "bce":
        y = rng.integers(0, 2, (16, 2)).astype(np.float32)
        make = lambda: nnrs.losses.BinaryCrossentropy(from_logits=True)  # noqa: E731
    else:
        y = rng.standard_normal((16, 2)).astype(np.float32)
        make = lambda: loss  # noqa: E731
    ref_m, m = _model(make()), _model(make())
    ref_m.to("numpy")
    m.to("cuda")
    for _ in range(3):
        np.testing.assert_allclose(m.train_on_batch(x, y), ref_m.train_on_batch(x, y), rtol=1e-5, atol=1e-6)
    for a, b in zip(m.get_weights(), ref_m.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)


@settings(max_examples=30, deadline=None)
@given(shape=st.lists(st.integers(0, 9), min_size=0, max_size=3), dtype=DTYPES, seed=st.integers(0, 2**31),
       lo=st.sampled_from([-1.0, 0.0, 0.1]), width=st.sampled_from([0.0, 1.0, 1e30]))
def test_clip_matches_numpy(cuda, ref, shape, dtype, seed, lo, width):  # noqa: F811
    x = (np.random.default_rng(seed).standard_normal(shape) * 2).astype(dtype)
    fakecupy.reset_counters()
    y = cuda.clip(cuda.asarray(x), lo, lo + width)
    assert fakecupy.transfers == 0
    got, want = _host(cuda, y), ref.clip(x, lo, lo + width)
    assert got.dtype == want.dtype and got.shape == want.shape
    np.testing.assert_array_equal(got, want)


@settings(max_examples=60, deadline=None)
@given(op=st.sampled_from(["add", "sub", "mul", "div", "pow", "maximum", "minimum"]),
       shape=st.lists(st.integers(1, 4), min_size=0, max_size=3), data=st.data(), dtype=DTYPES, seed=st.integers(0, 2**31))
def test_binary_backward_matches_numpy(cuda, ref, op, shape, data, dtype, seed):  # noqa: F811
    rng = np.random.default_rng(seed)
    shape = tuple(shape)

    def bshape():
        s = [1 if data.draw(st.booleans()) else d for d in shape]
        return tuple(s[data.draw(st.integers(0, len(s))):])

    sa, sb = bshape(), bshape()
    a = rng.uniform(0.5, 2.5, sa).astype(dtype)
    b = rng.integers(-2, 3, sb).astype(dtype)
    g = rng.standard_normal(np.broadcast_shapes(sa, sb)).astype(dtype)
    fakecupy.reset_counters()
    ga, gb = cuda.binary_backward(op, cuda.asarray(a), cuda.asarray(b), cuda.asarray(g))
    assert fakecupy.transfers == 0
    want_a, want_b = ref.binary_backward(op, a, b, g)
    for got, want in ((ga, want_a), (gb, want_b)):
        got = _host(cuda, got)
        assert got.dtype == want.dtype and got.shape == want.shape
        np.testing.assert_allclose(got, want, *tol(dtype))
