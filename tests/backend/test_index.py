"""compare / where / cast / take / scatter_add / one_hot: cpu equals the numpy oracle."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes, mutually_broadcastable_shapes
from nnrs import _core
from nnrs.backend.base import CAST_DTYPES, COMPARE_OPS

from tests.conftest import tol

dtypes = st.sampled_from([np.float32, np.float64])
index_dtypes = st.sampled_from([np.int32, np.int64])
pairs = mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=4, min_side=0, max_side=5)
triples = mutually_broadcastable_shapes(num_shapes=3, min_dims=0, max_dims=4, min_side=0, max_side=4)
small_shapes = array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=4)


def values(rng, shape, dtype):
    """Few distinct values (so equal pairs happen) plus NaN and infinities."""
    pool = np.array([-2.0, -1.0, -0.0, 0.0, 0.5, 1.0, 3.0, np.nan, np.inf, -np.inf])
    return np.asarray(rng.choice(pool, size=shape).astype(dtype))


def variants(x):
    """x and non-contiguous / negative-stride views of the same shape's family."""
    out = [x]
    if x.ndim >= 1:
        out.append(x[::-1])
    if x.ndim >= 2:
        out += [x.T, x[:, ::2], np.asfortranarray(x)]
    return out


# ---- compare / where ---------------------------------------------------------------------

@settings(max_examples=150, deadline=None)
@given(op=st.sampled_from(COMPARE_OPS), shapes=pairs, dtype=dtypes, seed=st.integers(0, 2**31))
def test_compare_matches_numpy(kernels, ref, op, shapes, dtype, seed):
    rng = np.random.default_rng(seed)
    a, b = (values(rng, s, dtype) for s in shapes.input_shapes)
    got, want = kernels.compare(op, a, b), ref.compare(op, a, b)
    assert got.dtype == np.bool_ and got.shape == want.shape == shapes.result_shape and got.flags.c_contiguous
    np.testing.assert_array_equal(got, want)


@settings(max_examples=150, deadline=None)
@given(shapes=triples, dtype=dtypes, seed=st.integers(0, 2**31))
def test_where_matches_numpy(kernels, ref, shapes, dtype, seed):
    rng = np.random.default_rng(seed)
    sc, sa, sb = shapes.input_shapes
    cond = np.asarray(rng.random(sc) < 0.5)
    a, b = values(rng, sa, dtype), values(rng, sb, dtype)
    got, want = kernels.where(cond, a, b), ref.where(cond, a, b)
    assert got.dtype == dtype and got.shape == want.shape == shapes.result_shape and got.flags.c_contiguous
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("op", COMPARE_OPS)
def test_compare_and_where_on_views(kernels, ref, op):
    rng = np.random.default_rng(3)
    x, y = values(rng, (6, 8), np.float64), values(rng, (8,), np.float64)
    for v in variants(x):
        for w in (y, y[::-1], np.ascontiguousarray(v[0])):
            if v.shape[-1] != w.shape[-1]:
                continue
            np.testing.assert_array_equal(kernels.compare(op, v, w), ref.compare(op, v, w))
            c = ref.compare(op, v, w)
            np.testing.assert_array_equal(kernels.where(c, v, w), ref.where(c, v, w))
            np.testing.assert_array_equal(kernels.where(c[::-1], w, v[::-1]), ref.where(c[::-1], w, v[::-1]))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_compare_and_where_large_parallel_path(kernels, ref, dtype):
    rng = np.random.default_rng(4)
    a, b = rng.standard_normal((700, 300)).astype(dtype), rng.standard_normal((700, 1)).astype(dtype)
    for op in COMPARE_OPS:
        np.testing.assert_array_equal(kernels.compare(op, a, b), ref.compare(op, a, b))
        np.testing.assert_array_equal(kernels.compare(op, a, a), ref.compare(op, a, a))
    c = a > 0
    np.testing.assert_array_equal(kernels.where(c, a, b), ref.where(c, a, b))
    np.testing.assert_array_equal(kernels.where(c[0], b, a), ref.where(c[0], b, a))


def test_where_reads_any_nonzero_bool_byte_as_true(kernels, ref):
    cond = np.array([0, 1, 2, 255], np.uint8).view(np.bool_)
    a, b = np.ones(4), np.zeros(4)
    np.testing.assert_array_equal(kernels.where(cond, a, b), [0.0, 1.0, 1.0, 1.0])
    np.testing.assert_array_equal(ref.where(cond, a, b), [0.0, 1.0, 1.0, 1.0])


# ---- cast --------------------------------------------------------------------------------

def cast_input(rng, shape, dtype):
    dtype = np.dtype(dtype)
    if dtype.kind == "f":
        # In range, beyond every integer range, NaN, infinities, signed zeros, halves.
        pool = np.array([0.0, -0.0, 0.5, -0.5, 1.9, -1.9, 254.7, 255.5, 300.0, -3e9, 3e9, 1e20, -1e20,
                         2.0**31, -2.0**31, 2.0**63, -2.0**63, np.nan, np.inf, -np.inf, 123456.789])
        return np.asarray(rng.choice(pool, size=shape).astype(dtype))
    if dtype == np.bool_:
        return np.asarray(rng.random(shape) < 0.5)
    info = np.iinfo(dtype)
    edges = np.array([info.min, info.max, 0, 1, -1 if info.min < 0 else 2, 255, 256, 2**31 - 1], dtype=np.int64)
    edges = edges[(edges >= info.min) & (edges <= info.max)]
    return np.concatenate([edges, rng.integers(info.min, info.max, 40, dtype=dtype, endpoint=True)])[
        rng.integers(0, 40, int(np.prod(shape, dtype=np.int64)))].astype(dtype).reshape(shape)


@settings(max_examples=200, deadline=None)
@given(src=st.sampled_from(CAST_DTYPES), dst=st.sampled_from(CAST_DTYPES), shape=small_shapes, seed=st.integers(0, 2**31))
def test_cast_matches_numpy(kernels, ref, src, dst, shape, seed):
    x = cast_input(np.random.default_rng(seed), shape, src)
    got, want = kernels.cast(x, dst), ref.cast(x, dst)
    assert got.dtype == want.dtype == np.dtype(dst) and got.shape == x.shape and got.flags.c_contiguous
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("src", CAST_DTYPES)
@pytest.mark.parametrize("dst", CAST_DTYPES)
def test_cast_views_and_dtype_spellings(kernels, ref, src, dst):
    x = cast_input(np.random.default_rng(5), (5, 6), src)
    for v in variants(x):
        np.testing.assert_array_equal(kernels.cast(v, dst), ref.cast(v, dst))
    for spelling in (np.dtype(dst), np.dtype(dst).type):
        np.testing.assert_array_equal(kernels.cast(x, spelling), ref.cast(x, dst))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_cast_float_to_int_saturates_as_documented(kernels, ref, dtype):
    x = np.array([np.nan, np.inf, -np.inf, 1e30, -1e30, 2.9, -2.9, -0.0], dtype=dtype)
    for be in (kernels, ref):
        np.testing.assert_array_equal(be.cast(x, "int32"), [0, 2**31 - 1, -2**31, 2**31 - 1, -2**31, 2, -2, 0])
        np.testing.assert_array_equal(be.cast(x, "int64"), [0, 2**63 - 1, -2**63, 2**63 - 1, -2**63, 2, -2, 0])
        np.testing.assert_array_equal(be.cast(x, "uint8"), [0, 255, 0, 255, 0, 2, 0, 0])
        np.testing.assert_array_equal(be.cast(x, "bool"), [True, True, True, True, True, True, True, False])


def test_cast_returns_a_new_array(kernels, ref):
    x = np.arange(4.0)
    for be in (kernels, ref):
        y = be.cast(x, "float64")
        y[0] = 7.0
        assert x[0] == 0.0


# ---- take / scatter_add ------------------------------------------------------------------

@st.composite
def gathers(draw):
    """(x shape, axis, indices shape, index dtype, float dtype)."""
    shape = draw(array_shapes(min_dims=1, max_dims=4, min_side=0, max_side=5))
    axis = draw(st.integers(-len(shape), len(shape) - 1))
    ishape = draw(array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=4))
    if shape[axis] == 0:  # every index would be out of range: only an empty index set fits
        ishape = ishape + (0,)
    return shape, axis, ishape, draw(index_dtypes), draw(dtypes)


def random_indices(rng, size, ishape, idt):
    return np.asarray(rng.integers(-size, size, ishape).astype(idt) if size else np.zeros(ishape, idt))


@settings(max_examples=200, deadline=None)
@given(case=gathers(), seed=st.integers(0, 2**31))
def test_take_matches_numpy(kernels, ref, case, seed):
    shape, axis, ishape, idt, dtype = case
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape).astype(dtype)
    idx = random_indices(rng, shape[axis], ishape, idt)
    got, want = kernels.take(x, idx, axis), ref.take(x, idx, axis)
    assert got.dtype == dtype and got.shape == want.shape == shape[:axis % len(shape)] + ishape + shape[axis % len(shape) + 1:]
    assert got.flags.c_contiguous
    np.testing.assert_array_equal(got, want)


@settings(max_examples=200, deadline=None)
@given(case=gathers(), seed=st.integers(0, 2**31))
def test_scatter_add_matches_numpy(kernels, ref, case, seed):
    shape, axis, ishape, idt, dtype = case
    rng = np.random.default_rng(seed)
    ax = axis % len(shape)
    idx = random_indices(rng, shape[ax], ishape, idt)
    updates = rng.standard_normal(shape[:ax] + ishape + shape[ax + 1:]).astype(dtype)
    got, want = kernels.scatter_add(updates, idx, axis, shape[ax]), ref.scatter_add(updates, idx, axis, shape[ax])
    assert got.dtype == dtype and got.shape == want.shape == shape and got.flags.c_contiguous
    np.testing.assert_allclose(got, want, *tol(dtype))


@settings(max_examples=100, deadline=None)
@given(case=gathers(), seed=st.integers(0, 2**31))
def test_scatter_add_is_the_adjoint_of_take(kernels, case, seed):
    shape, axis, ishape, idt, _ = case
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape)
    idx = random_indices(rng, shape[axis], ishape, idt)
    y = kernels.take(x, idx, axis)
    g = rng.standard_normal(y.shape)
    np.testing.assert_allclose(np.sum(y * g), np.sum(x * kernels.scatter_add(g, idx, axis, shape[axis])), rtol=1e-10, atol=1e-10)


def test_take_and_scatter_add_on_views(kernels, ref):
    rng = np.random.default_rng(6)
    x = rng.standard_normal((7, 8))
    idx = rng.integers(-7, 7, (3, 4))
    for v in variants(x):
        for i in (idx, idx.T, idx[::-1, ::2], idx.astype(np.int32)[:, ::-1]):
            for axis in (0, 1, -1):
                i2 = i % v.shape[axis]
                np.testing.assert_array_equal(kernels.take(v, i2, axis), ref.take(v, i2, axis))
                g = rng.standard_normal(ref.take(v, i2, axis).shape)
                for gv in (g, np.asfortranarray(g), g[::-1][::-1]):
                    np.testing.assert_allclose(kernels.scatter_add(gv, i2, axis, v.shape[axis]),
                                               ref.scatter_add(gv, i2, axis, v.shape[axis]), *tol(np.float64))
        np.testing.assert_array_equal(kernels.take(v, np.array(-1), 0), ref.take(v, np.array(-1), 0))  # 0-d index


def test_repeated_indices_accumulate_in_order(kernels, ref):
    upd = np.array([[1.0, 2.0], [10.0, 20.0], [100.0, 200.0], [0.5, 0.25]], np.float32)
    idx = np.array([2, -1, 0, 2])
    want = np.array([[100.0, 200.0], [0, 0], [11.5, 22.25]], np.float32)
    np.testing.assert_array_equal(kernels.scatter_add(upd, idx, 0, 3), want)
    np.testing.assert_array_equal(ref.scatter_add(upd, idx, 0, 3), want)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_embedding_sized_take_and_scatter_add(kernels, ref, dtype):
    rng = np.random.default_rng(7)
    table = rng.standard_normal((10000, 64)).astype(dtype)
    idx = rng.integers(0, 10000, (256, 50))
    y = kernels.take(table, idx, 0)
    assert y.shape == (256, 50, 64)
    np.testing.assert_array_equal(y, np.take(table, idx, axis=0))
    g = rng.standard_normal(y.shape).astype(dtype)
    want = np.zeros_like(table)
    np.add.at(want, idx.reshape(-1), g.reshape(-1, 64))
    np.testing.assert_allclose(kernels.scatter_add(g, idx, 0, 10000), want, *tol(dtype))
    np.testing.assert_allclose(ref.scatter_add(g, idx, 0, 10000), want, *tol(dtype))


def test_scatter_add_does_not_depend_on_the_thread_count(kernels):
    rng = np.random.default_rng(8)
    idx = rng.integers(0, 300, (400, 50))  # many repeats per row
    g = rng.standard_normal((400, 50, 32)).astype(np.float32)
    before = _core.get_num_threads()
    try:
        results = []
        for n in (1, 2, 3):
            _core.set_num_threads(n)
            results.append(kernels.scatter_add(g, idx, 0, 300))
            results.append(kernels.scatter_add(g.transpose(2, 0, 1).copy(), idx, 1, 300))
    finally:
        _core.set_num_threads(before)
    for r in results[2::2]:
        assert np.array_equal(r, results[0])
    for r in results[3::2]:
        assert np.array_equal(r, results[1])


# ---- one_hot -----------------------------------------------------------------------------

@settings(max_examples=100, deadline=None)
@given(shape=small_shapes, classes=st.integers(0, 6), idt=index_dtypes, dtype=st.sampled_from(["float32", "float64", None]),
       seed=st.integers(0, 2**31))
def test_one_hot_matches_numpy(kernels, ref, shape, classes, idt, dtype, seed):
    idx = np.asarray(np.random.default_rng(seed).integers(-2, classes + 2, shape).astype(idt))
    got, want = kernels.one_hot(idx, classes, dtype), ref.one_hot(idx, classes, dtype)
    assert got.dtype == want.dtype == np.dtype(dtype or "float32") and got.shape == shape + (classes,)
    np.testing.assert_array_equal(got, want)


def test_one_hot_out_of_range_rows_are_zero(kernels, ref):
    idx = np.array([[0, 3], [-1, 2]])[:, ::-1]
    want = np.array([[[0, 0, 0], [1, 0, 0]], [[0, 0, 1], [0, 0, 0]]], np.float32)
    for be in (kernels, ref):
        np.testing.assert_array_equal(be.one_hot(idx, 3), want)
    big = np.random.default_rng(9).integers(-1, 1000, 5000)
    np.testing.assert_array_equal(kernels.one_hot(big, 1000, "float64"), ref.one_hot(big, 1000, "float64"))


# ---- errors: the same on every backend ---------------------------------------------------

F, I = np.ones((2, 3)), np.array([0, 1])
ERRORS = [
    (lambda b: b.compare("lt", F, F), ValueError, r"^compare: unknown op 'lt'; expected one of equal, not_equal, less, less_equal, greater, greater_equal$"),
    (lambda b: b.compare("less", F, np.ones(4)), ValueError, r"^compare: shapes \(2, 3\) and \(4,\) do not broadcast$"),
    (lambda b: b.compare("less", F, F.astype(np.float32)), TypeError, r"^compare: a and b must have the same dtype, got float64 and float32$"),
    (lambda b: b.compare("equal", I, I), TypeError, r"^compare: a must be a float32 or float64 array, got int64$"),
    (lambda b: b.where(F, F, F), TypeError, r"^where: cond must be a bool array, got float64$"),
    (lambda b: b.where(F > 0, F, np.ones(3, np.float32)), TypeError, r"^where: a and b must have the same dtype, got float64 and float32$"),
    (lambda b: b.where(np.ones(2, bool), np.ones(3), np.ones(1)), ValueError, r"^where: shapes \(2,\) and \(3,\) and \(1,\) do not broadcast$"),
    (lambda b: b.cast(np.ones(2, np.float16), "float32"), TypeError, r"^cast: x must be an array of one of float32, float64, int32, int64, uint8, bool, got float16$"),
    (lambda b: b.cast(F, "float16"), TypeError, r"^cast: dtype must be one of float32, float64, int32, int64, uint8, bool, got 'float16'$"),
    (lambda b: b.cast(F, "no such type"), TypeError, r"^cast: dtype must be one of .*, got 'no such type'$"),
    (lambda b: b.cast(F, None), TypeError, r"^cast: dtype must be one of .*, got None$"),
    (lambda b: b.take(I, I, 0), TypeError, r"^take: x must be a float32 or float64 array, got int64$"),
    (lambda b: b.take(F, F, 0), TypeError, r"^take: indices must be an int32 or int64 array, got float64$"),
    (lambda b: b.take(F, I.astype(np.uint8), 0), TypeError, r"^take: indices must be an int32 or int64 array, got uint8$"),
    (lambda b: b.take(F, I, 2), ValueError, r"^take: axis 2 is out of range for shape \(2, 3\) \(ndim 2\)$"),
    (lambda b: b.take(F, np.array([[0, 1], [3, -4]]), 1), ValueError, r"^take: index 3 is out of bounds for axis 1 with size 3$"),
    (lambda b: b.take(F, np.array([1, -3, 5], np.int32), -2), ValueError, r"^take: index -3 is out of bounds for axis 0 with size 2$"),
    (lambda b: b.take(np.ones((0, 2)), I, 0), ValueError, r"^take: index 0 is out of bounds for axis 0 with size 0$"),
    (lambda b: b.scatter_add(F, np.array([0, 1, 1]), 0, 2), ValueError, r"^scatter_add: updates \(2, 3\) must have the shape of indices \(3,\) at axes 0..1$"),
    (lambda b: b.scatter_add(F, np.array([0, 1, 2]), 1, 2), ValueError, r"^scatter_add: index 2 is out of bounds for axis 1 with size 2$"),
    (lambda b: b.scatter_add(F, np.array([0, 1, -4]), -1, 3), ValueError, r"^scatter_add: index -4 is out of bounds for axis 1 with size 3$"),
    (lambda b: b.scatter_add(F, np.array([0, 1, 2]), 2, 3), ValueError, r"^scatter_add: axis 2 is out of range for an output of 2 dimensions"),
    (lambda b: b.scatter_add(np.ones(2), np.ones((2, 2), np.int64), 0, 3), ValueError, r"^scatter_add: updates \(2,\) has fewer dimensions than indices \(2, 2\)$"),
    (lambda b: b.scatter_add(F, np.array([0, 1, 2]), 1, -1), ValueError, r"^scatter_add: dim_size must be >= 0, got -1$"),
    (lambda b: b.scatter_add(F.astype(np.float16), I, 0, 2), TypeError, r"^scatter_add: updates must be a float32 or float64 array, got float16$"),
    (lambda b: b.one_hot(F, 3), TypeError, r"^one_hot: indices must be an int32 or int64 array, got float64$"),
    (lambda b: b.one_hot(I, -1), ValueError, r"^one_hot: num_classes must be >= 0, got -1$"),
    (lambda b: b.one_hot(I, 3, "int32"), TypeError, r"^one_hot: dtype must be one of float32, float64, got 'int32'$"),
]


@pytest.mark.parametrize("name", ["ref", "cpu"])
@pytest.mark.parametrize("call, err, match", ERRORS)
def test_bad_arguments_raise_the_same_error_on_every_backend(request, name, call, err, match):
    with pytest.raises(err, match=match):
        call(request.getfixturevalue(name))


# The raw binding's own defences (no contract in front): clear errors, never a panic.
CORE_ERRORS = [
    (lambda c: c.compare("lt", F, F), ValueError, r"compare: unknown op 'lt'"),
    (lambda c: c.compare("less", F, np.ones(4)), ValueError, r"compare: shapes \(2, 3\) and \(4,\) do not broadcast"),
    (lambda c: c.compare("less", F, [1.0]), TypeError, r"compare: b must be a float32 or float64 numpy array, got list"),
    (lambda c: c.where(F, F, F), TypeError, r"where: cond must be a bool numpy array, got array of dtype float64"),
    (lambda c: c.where(np.ones(2, bool), np.ones(3), np.ones(1)), ValueError, r"where: shapes \(2,\) and \(3,\) and \(1,\) do not broadcast"),
    (lambda c: c.where(np.ones(2, bool), np.ones(2, np.float32), np.ones(2)), TypeError, r"where: a and b must have the same dtype"),
    (lambda c: c.cast(np.ones(2, np.float16), "int32"), TypeError, r"cast: x must be a numpy array of one of float32, .*, got array of dtype float16"),
    (lambda c: c.cast(F, "float16"), TypeError, r"cast: dtype must be one of float32, float64, int32, int64, uint8, bool, got 'float16'"),
    (lambda c: c.cast(F, None), TypeError, r"cast: dtype must be one of .*, got None"),
    (lambda c: c.cast(F, ">f4"), TypeError, r"cast: dtype must be one of"),
    (lambda c: c.cast(3.0, "int32"), TypeError, r"cast: x must be a numpy array"),
    (lambda c: c.take(F, F, 0), TypeError, r"take: indices must be an int32 or int64 numpy array, got array of dtype float64"),
    (lambda c: c.take(I, I, 0), TypeError, r"take: x must be a float32 or float64 numpy array, got array of dtype int64"),
    (lambda c: c.take(F, I, -3), ValueError, r"take: axis -3 is out of range for shape \(2, 3\) \(ndim 2\)"),
    (lambda c: c.take(np.ones(()), I, 0), ValueError, r"take: axis 0 is out of range for shape \(\) \(ndim 0\)"),
    (lambda c: c.take(F, np.array([7]), 0), ValueError, r"^take: index 7 is out of bounds for axis 0 with size 2$"),
    (lambda c: c.scatter_add(F, np.ones((2, 2), np.int32), 0, 2), ValueError, r"scatter_add: updates \(2, 3\) must have the shape of indices \(2, 2\) at axes 0..2"),
    (lambda c: c.scatter_add(F, np.array([0, 1, 2]), 5, 3), ValueError, r"scatter_add: axis 5 is out of range"),
    (lambda c: c.scatter_add(F, np.array([0, 1, 2]), 1, -2), ValueError, r"scatter_add: dim_size must be >= 0, got -2"),
    (lambda c: c.scatter_add(np.ones(2), np.ones((2, 2), np.int64), 0, 3), ValueError, r"fewer dimensions than indices"),
    (lambda c: c.scatter_add(F, np.array([0, 1, 9]), 1, 3), ValueError, r"^scatter_add: index 9 is out of bounds for axis 1 with size 3$"),
    (lambda c: c.one_hot([0, 1], 3), TypeError, r"one_hot: indices must be an int32 or int64 numpy array, got list"),
    (lambda c: c.one_hot(I, -1), ValueError, r"one_hot: num_classes must be >= 0, got -1"),
    (lambda c: c.one_hot(I, 3, "int32"), TypeError, r"one_hot: dtype must be one of float32, float64, got 'int32'"),
]


@pytest.mark.parametrize("call, err, match", CORE_ERRORS)
def test_binding_defends_itself(core, call, err, match):
    with pytest.raises(err, match=match):
        call(core)


def test_inputs_are_not_modified(kernels):
    rng = np.random.default_rng(10)
    x, idx, c = rng.standard_normal((5, 4)), np.array([[4, -1], [0, 0]]), rng.random((5, 4)) < 0.5
    keep = [a.copy() for a in (x, idx, c)]
    kernels.compare("less", x, x[0])
    kernels.where(c, x, x[:, :1])
    kernels.cast(x, "int32")
    kernels.take(x, idx, 0)
    kernels.scatter_add(kernels.take(x, idx, 0), idx, 0, 5)
    kernels.one_hot(idx, 5)
    for a, k in zip((x, idx, c), keep):
        np.testing.assert_array_equal(a, k)


def test_read_only_inputs_are_accepted(kernels, ref):
    x = np.arange(12.0).reshape(3, 4)
    idx = np.array([2, 0])
    for a in (x, idx):
        a.setflags(write=False)
    np.testing.assert_array_equal(kernels.take(x, idx, 0), ref.take(x, idx, 0))
    np.testing.assert_array_equal(kernels.where(x > 5, x, x), x)

