"""matmul / linear_forward / linear_backward: cpu equals the numpy oracle."""

import threading
import time

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import tol

dims = st.integers(0, 40)
dtypes = st.sampled_from([np.float32, np.float64])


@settings(max_examples=60, deadline=None)
@given(m=dims, n=dims, k=dims, ta=st.booleans(), tb=st.booleans(), dtype=dtypes, seed=st.integers(0, 2**31))
def test_matmul_matches_numpy(kernels, ref, m, n, k, ta, tb, dtype, seed):
    rng = np.random.default_rng(seed)
    a = rng.standard_normal((k, m) if ta else (m, k)).astype(dtype)
    b = rng.standard_normal((n, k) if tb else (k, n)).astype(dtype)
    got, want = kernels.matmul(a, b, ta, tb), ref.matmul(a, b, ta, tb)
    assert got.dtype == dtype and got.shape == (m, n)
    np.testing.assert_allclose(got, want, *tol(dtype))


def test_matmul_non_contiguous_input(kernels, ref):
    a = np.arange(24, dtype=np.float64).reshape(4, 6)[:, ::2]
    b = np.ones((3, 2))
    np.testing.assert_allclose(kernels.matmul(a, b), ref.matmul(a, b))


def test_fortran_order_inputs_are_read_in_c_order(kernels, ref):
    a = np.arange(6, dtype=np.float64).reshape(2, 3)
    b = np.arange(4, dtype=np.float64).reshape(2, 2)
    np.testing.assert_allclose(kernels.matmul(a.T, b), ref.matmul(a.T, b))  # a.T is Fortran-ordered
    w = np.asfortranarray(np.arange(12, dtype=np.float32).reshape(3, 4))
    x = np.ones((2, 3), np.float32)
    np.testing.assert_allclose(kernels.linear_forward(x, w), ref.linear_forward(x, w))


@settings(max_examples=60, deadline=None)
@given(n=dims, i=st.integers(1, 30), o=st.integers(1, 30), bias=st.booleans(), dtype=dtypes, seed=st.integers(0, 2**31))
def test_linear_matches_numpy(kernels, ref, n, i, o, bias, dtype, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, i)).astype(dtype)
    w = rng.standard_normal((i, o)).astype(dtype)
    b = rng.standard_normal(o).astype(dtype) if bias else None
    np.testing.assert_allclose(kernels.linear_forward(x, w, b), ref.linear_forward(x, w, b), *tol(dtype))
    gy = rng.standard_normal((n, o)).astype(dtype)
    for got, want in zip(kernels.linear_backward(x, w, gy, True, bias), ref.linear_backward(x, w, gy, True, bias)):
        assert (got is None) == (want is None)
        if got is not None:
            np.testing.assert_allclose(got, want, *tol(dtype))


@settings(max_examples=40, deadline=None)
@given(n=st.integers(0, 20), i=st.integers(1, 20), o=st.integers(1, 20), bias=st.booleans(), dtype=dtypes,
       act=st.sampled_from(["linear", "relu", "tanh", "sigmoid", "leaky_relu", "elu", "gelu", "softmax", "log_softmax"]),
       seed=st.integers(0, 2**31))
def test_fused_linear_activation_matches_numpy(kernels, ref, n, i, o, bias, dtype, act, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, i)).astype(dtype)
    w = rng.standard_normal((i, o)).astype(dtype)
    b = rng.standard_normal(o).astype(dtype) if bias else None
    np.testing.assert_allclose(kernels.linear_forward(x, w, b, act, 0.3), ref.linear_forward(x, w, b, act, 0.3), *tol(dtype))


@pytest.mark.parametrize("call, match", [
    (lambda c: c.linear_forward(np.ones((2, 3)), np.ones((3, 2)), None, "rellu"), r"unknown activation 'rellu'"),
    (lambda c: c.linear_forward(np.ones((2, 3)), np.ones((4, 2))), r"x has 3 features but w expects 4"),
    (lambda c: c.linear_forward(np.ones((2, 3)), np.ones((3, 2)), np.ones(3)), r"bias shape"),
    (lambda c: c.linear_backward(np.ones((2, 3)), np.ones((3, 2)), np.ones((2, 3))), r"gy shape"),
])
def test_bad_input_is_a_clear_error(core, call, match):
    with pytest.raises((ValueError, TypeError), match=match):
        call(core)


@pytest.mark.parametrize("arg, match", [
    (np.float32(1.0), r"got float32 \(dtype float32\), not an array"),
    ([[1.0]], r"got list"),
    (np.ones((1, 1), np.int64), r"got array of dtype int64"),
])
def test_non_arrays_are_named_in_the_error(core, arg, match):
    with pytest.raises(TypeError, match=match):
        core.matmul(arg, np.ones((1, 1)))


# ---- N-D matmul (batch dimensions broadcast as in numpy) ----------------------------------

def _batch_shapes(draw):
    """An output batch shape and two batch shapes that broadcast to it (dims 0-3, ranks 0-3)."""
    out = draw(st.lists(st.integers(0, 3), min_size=0, max_size=3))
    def operand():
        rank = draw(st.integers(0, len(out)))
        return tuple(d if draw(st.booleans()) else 1 for d in out[len(out) - rank:])
    return operand(), operand()


def _laid_out(rng, shape, dtype, layout):
    """A random array of ``shape`` as a C-contiguous array or as a strided view of a bigger one."""
    if layout == "transposed":  # stored with the last two dims swapped, seen through swapaxes
        return rng.standard_normal((*shape[:-2], shape[-1], shape[-2])).astype(dtype).swapaxes(-1, -2)
    if layout == "step":  # every other column
        return rng.standard_normal((*shape[:-1], 2 * shape[-1])).astype(dtype)[..., ::2]
    x = rng.standard_normal(shape).astype(dtype)
    if layout == "reversed_rows":  # negative stride on the row axis, like a[:, ::-1] of a matrix
        return x[..., ::-1, :]
    if layout == "reversed_first":  # negative stride on the first axis
        return x[::-1]
    return x


layouts = st.sampled_from(["c", "transposed", "step", "reversed_rows", "reversed_first"])


@settings(max_examples=120, deadline=None)
@given(batches=st.composite(lambda draw: _batch_shapes(draw))(), m=st.integers(0, 9), n=st.integers(0, 9), k=st.integers(0, 9),
       ta=st.booleans(), tb=st.booleans(), la=layouts, lb=layouts, dtype=dtypes, seed=st.integers(0, 2**31))
def test_batched_matmul_matches_numpy(kernels, ref, batches, m, n, k, ta, tb, la, lb, dtype, seed):
    rng = np.random.default_rng(seed)
    (ba, bb) = batches
    a = _laid_out(rng, (*ba, *((k, m) if ta else (m, k))), dtype, la)
    b = _laid_out(rng, (*bb, *((n, k) if tb else (k, n))), dtype, lb)
    got, want = kernels.matmul(a, b, ta, tb), ref.matmul(a, b, ta, tb)
    assert got.dtype == dtype and got.shape == want.shape == (*np.broadcast_shapes(ba, bb), m, n)
    np.testing.assert_allclose(got, want, *tol(dtype))


@pytest.mark.parametrize("sa, sb", [
    ((6, 20, 30), (30, 10)),            # one b under a stack of a's: one tall product
    ((300, 8, 8), (300, 8, 8)),         # many small products: whole products per thread
    ((2, 1, 8, 8), (150, 8, 8)),        # ... with both operands broadcast
    ((8, 8), (200, 8, 8)),              # one a over a stack of b's
    ((2, 1, 170, 170), (3, 170, 170)),  # large products: one after another, each threaded
    ((4, 128, 784), (784, 512)),        # MLP-sized, folded into one threaded product
])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_batched_matmul_work_splits_match_numpy(kernels, ref, sa, sb, dtype):
    rng = np.random.default_rng(1)
    a, b = rng.standard_normal(sa).astype(dtype), rng.standard_normal(sb).astype(dtype)
    np.testing.assert_allclose(kernels.matmul(a, b), ref.matmul(a, b), *tol(dtype))
    np.testing.assert_allclose(kernels.matmul(a, b.swapaxes(-1, -2).copy(), False, True), ref.matmul(a, b), *tol(dtype))


@pytest.mark.parametrize("call, exc, match", [
    (lambda c: c.matmul(np.ones(3), np.ones((3, 2))), ValueError, r"matmul: expected a \(\.\.\., m, k\) and b \(\.\.\., k, n\), each at least 2-D, got shapes a \(3,\) and b \(3, 2\)"),
    (lambda c: c.matmul(np.ones((2, 3)), np.ones(3)), ValueError, r"at least 2-D, got shapes a \(2, 3\) and b \(3,\)"),
    (lambda c: c.matmul(np.ones((2, 3)), np.ones((4, 2))), ValueError, r"matmul: inner dimensions differ: a \(2, 3\) \(trans_a=False\) and b \(4, 2\) \(trans_b=False\) give k=3 vs k=4"),
    (lambda c: c.matmul(np.ones((3, 2)), np.ones((4, 2)), True, True), ValueError, r"a \(3, 2\) \(trans_a=True\) and b \(4, 2\) \(trans_b=True\) give k=3 vs k=2"),
    (lambda c: c.matmul(np.ones((5, 2, 3)), np.ones((4, 3, 2))), ValueError, r"batch dimensions \(5,\) of a \(5, 2, 3\) and \(4,\) of b \(4, 3, 2\) do not broadcast"),
    (lambda c: c.matmul(np.ones((2, 0, 2, 3)), np.ones((3, 3, 2))), ValueError, r"batch dimensions \(2, 0\) of a \(2, 0, 2, 3\) and \(3,\) of b"),
    (lambda c: c.matmul(np.ones((2, 3)), np.ones((3, 2), np.float32)), TypeError, r"matmul: a and b must have the same dtype, got float64 and float32"),
    (lambda c: c.matmul(np.ones((2, 3), np.float32), np.ones((3, 2))), TypeError, r"matmul: a and b must have the same dtype, got float32 and float64"),
    (lambda c: c.matmul(np.ones((2, 3), np.int64), np.ones((3, 2))), TypeError, r"matmul: a must be a float32 or float64 array, got int64"),
    (lambda c: c.matmul(np.ones((2, 2, 3), np.float32), np.ones((3, 2), np.int32)), TypeError, r"matmul: b must be a float32 or float64 array, got int32"),
])
@pytest.mark.parametrize("which", ["cpu", "numpy"])
def test_matmul_errors_are_the_same_on_cpu_and_numpy(kernels, ref, which, call, exc, match):
    with pytest.raises(exc, match=match):
        call(kernels if which == "cpu" else ref)


def test_reading_an_array_another_thread_updates_in_place_waits_for_it(cpu):
    """While sgd_update writes p in place (GIL released) on another thread, matmul reading
    p neither fails nor reads half-written values: it waits for the update to finish."""
    from nnrs import _core

    p = np.ones((1500, 1500), np.float32)
    g = np.full_like(p, 1e-3)
    ones = np.ones((1500, 1), np.float32)
    stop, errors, updates = threading.Event(), [], [0]

    def writer():
        while not stop.is_set():
            try:
                _core.sgd_update(p, g, None, 0.1)  # every element moves by the same step
                updates[0] += 1
            except Exception as e:  # noqa: BLE001 - any failure of the writer fails the test
                errors.append(repr(e))
            time.sleep(0.0005)  # give the reader a chance to read while the writer is busy

    t = threading.Thread(target=writer)
    t.start()
    try:
        for _ in range(150):
            row_sums = cpu.matmul(p, ones)
            # one consistent snapshot: all rows of p are equal at every moment between updates
            assert np.all(row_sums == row_sums[0]), "read p in the middle of an update"
    finally:
        stop.set()
        t.join()
    assert not errors, errors
    assert updates[0] > 0
