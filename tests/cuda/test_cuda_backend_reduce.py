"""The cuda backend's ``argmax``, ``sum_squares``, ``moments`` and ``gaussian_noise_forward`` on
the fake CuPy (reduce.cu and dropout.cu run through the C++ emulation) equal the numpy oracle on
hypothesis shapes and axes in float32 and float64, return device arrays (0-d for the sum of
squares) and copy nothing to the host."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import tol

from . import fakecupy
from .test_cuda_backend import _close, _host, cuda  # noqa: F401  (cuda: the module-scoped fixture)

DTYPES = st.sampled_from([np.float32, np.float64])


@settings(max_examples=50, deadline=None)
@given(shape=st.lists(st.integers(1, 6), min_size=1, max_size=3), data=st.data(), dtype=DTYPES, seed=st.integers(0, 2**31))
def test_argmax_matches_numpy(cuda, ref, shape, data, dtype, seed):  # noqa: F811
    x = np.random.default_rng(seed).integers(-2, 3, shape).astype(dtype)
    axis = data.draw(st.integers(-len(shape), len(shape) - 1))
    fakecupy.reset_counters()
    got = cuda.argmax(cuda.asarray(x), axis)
    assert fakecupy.transfers == 0
    got = _host(cuda, got)
    want = ref.argmax(x, axis)
    assert got.dtype == np.int64 and got.shape == want.shape
    np.testing.assert_array_equal(got, want)


@settings(max_examples=30, deadline=None)
@given(shapes=st.lists(st.lists(st.integers(0, 70), min_size=0, max_size=3), min_size=0, max_size=4), seed=st.integers(0, 2**31),
       mixed=st.booleans())
def test_sum_squares_matches_numpy(cuda, ref, shapes, seed, mixed):  # noqa: F811
    rng = np.random.default_rng(seed)
    arrays = [(rng.standard_normal(s) * 3).astype(np.float32 if mixed and i % 2 else np.float64) for i, s in enumerate(shapes)]
    fakecupy.reset_counters()
    got = cuda.sum_squares([cuda.asarray(a) for a in arrays])
    assert fakecupy.transfers == 0
    got = _host(cuda, got)
    assert got.dtype == np.float64 and got.shape == ()
    np.testing.assert_allclose(got, ref.sum_squares(arrays), rtol=1e-12, atol=1e-12)


@settings(max_examples=50, deadline=None)
@given(shape=st.lists(st.integers(1, 5), min_size=0, max_size=4), data=st.data(), dtype=DTYPES, seed=st.integers(0, 2**31),
       keepdims=st.booleans())
def test_moments_match_numpy(cuda, ref, shape, data, dtype, seed, keepdims):  # noqa: F811
    x = (np.random.default_rng(seed).standard_normal(shape) + 50).astype(dtype)
    nd = len(shape)
    if data.draw(st.booleans()) or not nd:
        axes = None
    else:
        axes = tuple(data.draw(st.lists(st.integers(-nd, nd - 1), min_size=1, max_size=nd, unique_by=lambda a: a % nd)))
    fakecupy.reset_counters()
    mean, var = cuda.moments(cuda.asarray(x), axes, keepdims)
    assert fakecupy.transfers == 0
    want_m, want_v = ref.moments(x, axes, keepdims)
    _close(cuda, mean, want_m, dtype)
    _close(cuda, var, want_v, dtype)


@settings(max_examples=30, deadline=None)
@given(shape=st.lists(st.integers(0, 9), min_size=0, max_size=3), dtype=DTYPES, seed=st.integers(-(2**63), 2**64 - 1),
       stddev=st.sampled_from([0.0, 0.5, 2.0]))
def test_gaussian_noise_matches_numpy(cuda, ref, shape, dtype, seed, stddev):  # noqa: F811
    x = np.random.default_rng(3).standard_normal(shape).astype(dtype)
    fakecupy.reset_counters()
    y = cuda.gaussian_noise_forward(cuda.asarray(x), stddev, seed)
    assert fakecupy.transfers == 0
    got = _host(cuda, y)
    want = ref.gaussian_noise_forward(x, stddev, seed)
    assert got.dtype == want.dtype and got.shape == want.shape
    np.testing.assert_allclose(got, want, *tol(dtype))


@settings(max_examples=50, deadline=None)
@given(shape=st.lists(st.integers(1, 5), min_size=0, max_size=4), data=st.data(), dtype=DTYPES, seed=st.integers(0, 2**31),
       keepdims=st.booleans())
def test_moments_backward_matches_numpy(cuda, ref, shape, data, dtype, seed, keepdims):  # noqa: F811
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape).astype(dtype)
    nd = len(shape)
    if data.draw(st.booleans()) or not nd:
        axes = None
    else:
        axes = tuple(data.draw(st.lists(st.integers(-nd, nd - 1), min_size=1, max_size=nd, unique_by=lambda a: a % nd)))
    mean, _ = ref.moments(x, axes, keepdims)
    gm, gv = (rng.standard_normal(mean.shape).astype(dtype) for _ in range(2))
    fakecupy.reset_counters()
    got = cuda.moments_backward(*(cuda.asarray(a) for a in (x, mean, gm, gv)), axes)
    assert fakecupy.transfers == 0
    _close(cuda, got, ref.moments_backward(x, mean, gm, gv, axes), dtype)


@settings(max_examples=20, deadline=None)
@given(c=st.integers(0, 40), dtype=DTYPES, seed=st.integers(0, 2**31), momentum=st.sampled_from([0.0, 0.9, 0.99]))
def test_batch_norm_update_in_place_matches_numpy(cuda, ref, c, dtype, seed, momentum):  # noqa: F811
    rng = np.random.default_rng(seed)
    mm, mv, m, v = (rng.standard_normal(c).astype(dtype) for _ in range(4))
    dmm, dmv = cuda.asarray(mm), cuda.asarray(mv)
    fakecupy.reset_counters()
    assert cuda.batch_norm_update(dmm, dmv, cuda.asarray(m), cuda.asarray(v), momentum) is None
    assert fakecupy.transfers == 0
    ref.batch_norm_update(mm, mv, m, v, momentum)
    np.testing.assert_array_equal(_host(cuda, dmm), mm)
    np.testing.assert_array_equal(_host(cuda, dmv), mv)


def test_gaussian_noise_layer_and_global_clipnorm_train_on_cuda_like_numpy(cuda, monkeypatch):  # noqa: F811
    """GaussianNoise (gaussian_noise_forward) and global-norm clipping (sum_squares) inside a
    training step: the same losses and weights on cuda as on numpy for the same seeds."""
    import nnrs
    from nnrs import layers

    def model():
        nnrs.random.seed(4)
        m = nnrs.Sequential([layers.Input((5,)), layers.GaussianNoise(0.3), layers.Dense(4, activation="relu"), layers.Dense(1)])
        m.compile(optimizer=nnrs.optimizers.SGD(0.05, global_clipnorm=0.5), loss="mse")
        return m

    rng = np.random.default_rng(8)
    x = rng.standard_normal((12, 5)).astype(np.float32)
    y = rng.standard_normal((12, 1)).astype(np.float32)
    ref_m, m = model(), model()
    ref_m.to("numpy")
    m.to("cuda")
    calls = []
    for k in ("gaussian_noise_forward", "sum_squares"):
        orig = getattr(cuda, k)  # the instance's contract-checked method
        monkeypatch.setattr(cuda, k, lambda *a, _o=orig, _k=k, **kw: calls.append(_k) or _o(*a, **kw))
    for i in range(3):
        nnrs.random.seed(50 + i)
        want = ref_m.train_on_batch(x, y)
        nnrs.random.seed(50 + i)
        np.testing.assert_allclose(m.train_on_batch(x, y), want, rtol=1e-5, atol=1e-6)
    for a, b in zip(m.get_weights(), ref_m.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)
    assert calls.count("gaussian_noise_forward") == 3 and calls.count("sum_squares") >= 3
