"""The cuda backend's ``compare``, ``where``, ``cast``, ``take`` and ``scatter_add`` on the fake
CuPy (the kernels of index.cu run through the C++ emulation) equal the numpy oracle on
hypothesis shapes with broadcasting, return device arrays of the oracle's dtype, and raise the
contract's error on an out-of-range index."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from nnrs.backend.base import CAST_DTYPES, COMPARE_OPS

from . import fakecupy
from .test_cuda_backend import _host, cuda  # noqa: F401  (cuda: the module-scoped fixture)

DTYPES = st.sampled_from([np.float32, np.float64])
SHAPES = st.lists(st.integers(1, 5), min_size=0, max_size=3)


def _bshape(data, shape):
    """A shape that broadcasts with ``shape``: some axes set to 1, some leading axes dropped."""
    s = [1 if data.draw(st.booleans()) else d for d in shape]
    return tuple(s[data.draw(st.integers(0, len(s))):])


def _vals(shape, dtype, rng):
    x = rng.integers(-2, 3, shape).astype(np.float64)
    if x.size > 2:
        x.ravel()[0] = np.nan
    return x.astype(dtype)


@settings(max_examples=50, deadline=None)
@given(op=st.sampled_from(COMPARE_OPS), shape=SHAPES, data=st.data(), dtype=DTYPES, seed=st.integers(0, 2**31))
def test_compare_and_where_match_numpy(cuda, ref, op, shape, data, dtype, seed):  # noqa: F811
    rng = np.random.default_rng(seed)
    a = _vals(tuple(shape), dtype, rng)
    b = _vals(_bshape(data, tuple(shape)), dtype, rng)
    fakecupy.reset_counters()
    c = cuda.compare(op, cuda.asarray(a), cuda.asarray(b))
    want = ref.compare(op, a, b)
    got = _host(cuda, c)
    assert got.dtype == np.bool_ and np.array_equal(got, want)
    cs = _bshape(data, want.shape)
    cond = want.reshape(want.shape)[tuple(slice(0, 1) if d == 1 else slice(None) for d in (1,) * (want.ndim - len(cs)) + cs)]
    cond = cond.reshape(cs)
    fakecupy.reset_counters()
    w = cuda.where(cuda.asarray(cond), cuda.asarray(a), cuda.asarray(b))
    assert fakecupy.transfers == 0
    wg = _host(cuda, w)
    ww = ref.where(cond, a, b)
    assert wg.dtype == ww.dtype and wg.shape == ww.shape
    np.testing.assert_array_equal(wg, ww)


@settings(max_examples=80, deadline=None)
@given(src=st.sampled_from(CAST_DTYPES), dst=st.sampled_from(CAST_DTYPES), shape=SHAPES, seed=st.integers(0, 2**31),
       scale=st.sampled_from([2.0, 300.0, 3e9, 3e19]))
def test_cast_matches_numpy(cuda, ref, src, dst, shape, seed, scale):  # noqa: F811
    rng = np.random.default_rng(seed)
    v = rng.standard_normal(shape) * scale
    if np.dtype(src).kind == "f":
        if v.size > 3:
            v.ravel()[:3] = [np.nan, np.inf, -np.inf]
        x = v.astype(src)
    elif src == "bool":
        x = v > 0
    else:
        info = np.iinfo(src)
        x = np.clip(v, max(info.min, -2.0**62), min(info.max, 2.0**62)).astype(np.int64).astype(src) if src != "uint8" else (np.abs(v) % 256).astype(src)
    d = cuda.asarray(x)
    fakecupy.reset_counters()
    got = cuda.cast(d, dst)
    assert fakecupy.transfers == 0
    got = _host(cuda, got)
    with np.errstate(over="ignore", invalid="ignore"):
        want = ref.cast(x, dst)
    assert got.dtype == want.dtype and got.shape == want.shape
    np.testing.assert_array_equal(got, want)
    assert cuda.cast(d, src) is not d  # a new array even when the dtype is unchanged


@settings(max_examples=60, deadline=None)
@given(shape=st.lists(st.integers(1, 5), min_size=1, max_size=3), data=st.data(), dtype=DTYPES, seed=st.integers(0, 2**31),
       k_shape=st.lists(st.integers(0, 4), min_size=0, max_size=2), idt=st.sampled_from([np.int32, np.int64]))
def test_take_and_scatter_add_match_numpy(cuda, ref, shape, data, dtype, seed, k_shape, idt):  # noqa: F811
    shape = tuple(shape)
    axis = data.draw(st.integers(-len(shape), len(shape) - 1))
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape).astype(dtype)
    n = shape[axis]
    idx = rng.integers(-n, n, size=k_shape).astype(idt)
    got = _host(cuda, cuda.take(cuda.asarray(x), cuda.asarray(idx), axis))
    want = ref.take(x, idx, axis)
    assert got.dtype == want.dtype and got.shape == want.shape
    np.testing.assert_array_equal(got, want)
    upd = rng.standard_normal(want.shape).astype(dtype)
    ax = axis % len(shape)
    got = _host(cuda, cuda.scatter_add(cuda.asarray(upd), cuda.asarray(idx), ax, n))
    want = ref.scatter_add(upd, idx, ax, n)
    assert got.dtype == want.dtype and got.shape == want.shape
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("kernel", ["take", "scatter_add"])
def test_bad_index_raises_the_contract_error(cuda, ref, kernel):  # noqa: F811
    x = np.zeros((2, 3), np.float32)
    idx = np.array([[0, 2], [3, -4]], np.int64)  # 3 is the first bad one in C order
    for be, arr in ((cuda, cuda.asarray), (ref, np.asarray)):
        with pytest.raises(ValueError, match=rf"^{kernel}: index 3 is out of bounds for axis 1 with size 3"):
            if kernel == "take":
                be.take(arr(x), arr(idx), -1)
            else:
                be.scatter_add(arr(np.zeros((2, 2, 2), np.float32)), arr(idx), 1, 3)


@settings(max_examples=40, deadline=None)
@given(shape=st.lists(st.integers(0, 5), min_size=0, max_size=3), classes=st.integers(1, 9), seed=st.integers(0, 2**31),
       idt=st.sampled_from([np.int32, np.int64]), dtype=st.sampled_from([None, "float32", "float64"]))
def test_one_hot_matches_numpy(cuda, ref, shape, classes, seed, idt, dtype):  # noqa: F811
    idx = np.random.default_rng(seed).integers(-2, classes + 2, shape).astype(idt)
    fakecupy.reset_counters()
    got = cuda.one_hot(cuda.asarray(idx), classes, dtype)
    assert fakecupy.transfers == 0
    got = _host(cuda, got)
    want = ref.one_hot(idx, classes, dtype)
    assert got.dtype == want.dtype and got.shape == want.shape
    np.testing.assert_array_equal(got, want)


def _embedding_model():
    import nnrs
    from nnrs import layers

    nnrs.random.seed(9)
    m = nnrs.Sequential([layers.Input((6,), dtype="int64"), layers.Embedding(11, 4), layers.Flatten(), layers.Dense(3)])
    m.compile(optimizer=nnrs.optimizers.Adam(0.02), loss=nnrs.losses.SparseCategoricalCrossentropy(from_logits=True))
    return m


def test_embedding_model_trains_on_cuda_like_numpy(cuda):  # noqa: F811
    """take (forward) and scatter_add (the embedding's gradient) inside a model: a step on cuda
    equals a step on numpy from the same weights."""
    rng = np.random.default_rng(2)
    x = rng.integers(0, 11, (16, 6)).astype(np.int64)
    y = rng.integers(0, 3, 16).astype(np.int64)
    ref_m, m = _embedding_model(), _embedding_model()
    ref_m.to("numpy")
    m.to("cuda")
    for _ in range(3):
        np.testing.assert_allclose(m.train_on_batch(x, y), ref_m.train_on_batch(x, y), rtol=1e-5, atol=1e-6)
    for a, b in zip(m.get_weights(), ref_m.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)
