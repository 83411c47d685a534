"""matmul / linear_forward / linear_backward: cpu equals the numpy oracle."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import tol

dims = st.integers(0, 40)
dtypes = st.sampled_from([np.float32, np.float64])


@settings(max_examples=60, deadline=None)
@given(m=dims, n=dims, k=dims, ta=st.booleans(), tb=st.booleans(), dtype=dtypes, seed=st.integers(0, 2**31))
def test_matmul_matches_numpy(cpu, ref, m, n, k, ta, tb, dtype, seed):
    rng = np.random.default_rng(seed)
    a = rng.standard_normal((k, m) if ta else (m, k)).astype(dtype)
    b = rng.standard_normal((n, k) if tb else (k, n)).astype(dtype)
    got, want = cpu.matmul(a, b, ta, tb), ref.matmul(a, b, ta, tb)
    assert got.dtype == dtype and got.shape == (m, n)
    np.testing.assert_allclose(got, want, *tol(dtype))


def test_matmul_non_contiguous_input(cpu, ref):
    a = np.arange(24, dtype=np.float64).reshape(4, 6)[:, ::2]
    b = np.ones((3, 2))
    np.testing.assert_allclose(cpu.matmul(a, b), ref.matmul(a, b))


def test_fortran_order_inputs_are_read_in_c_order(cpu, ref):
    a = np.arange(6, dtype=np.float64).reshape(2, 3)
    b = np.arange(4, dtype=np.float64).reshape(2, 2)
    np.testing.assert_allclose(cpu.matmul(a.T, b), ref.matmul(a.T, b))  # a.T is Fortran-ordered
    w = np.asfortranarray(np.arange(12, dtype=np.float32).reshape(3, 4))
    x = np.ones((2, 3), np.float32)
    np.testing.assert_allclose(cpu.linear_forward(x, w), ref.linear_forward(x, w))


@settings(max_examples=60, deadline=None)
@given(n=dims, i=st.integers(1, 30), o=st.integers(1, 30), bias=st.booleans(), dtype=dtypes, seed=st.integers(0, 2**31))
def test_linear_matches_numpy(cpu, ref, n, i, o, bias, dtype, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, i)).astype(dtype)
    w = rng.standard_normal((i, o)).astype(dtype)
    b = rng.standard_normal(o).astype(dtype) if bias else None
    np.testing.assert_allclose(cpu.linear_forward(x, w, b), ref.linear_forward(x, w, b), *tol(dtype))
    gy = rng.standard_normal((n, o)).astype(dtype)
    for got, want in zip(cpu.linear_backward(x, w, gy, True, bias), ref.linear_backward(x, w, gy, True, bias)):
        assert (got is None) == (want is None)
        if got is not None:
            np.testing.assert_allclose(got, want, *tol(dtype))


@settings(max_examples=40, deadline=None)
@given(n=st.integers(0, 20), i=st.integers(1, 20), o=st.integers(1, 20), bias=st.booleans(), dtype=dtypes,
       act=st.sampled_from(["linear", "relu", "tanh", "sigmoid", "leaky_relu", "elu", "gelu", "softmax", "log_softmax"]),
       seed=st.integers(0, 2**31))
def test_fused_linear_activation_matches_numpy(cpu, ref, n, i, o, bias, dtype, act, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, i)).astype(dtype)
    w = rng.standard_normal((i, o)).astype(dtype)
    b = rng.standard_normal(o).astype(dtype) if bias else None
    np.testing.assert_allclose(cpu.linear_forward(x, w, b, act, 0.3), ref.linear_forward(x, w, b, act, 0.3), *tol(dtype))


@pytest.mark.parametrize("call, match", [
    (lambda c: c.linear_forward(np.ones((2, 3)), np.ones((3, 2)), None, "rellu"), r"unknown activation 'rellu'"),
    (lambda c: c.matmul(np.ones((2, 3)), np.ones((4, 2))), r"inner dimensions differ"),
    (lambda c: c.matmul(np.ones(3), np.ones((3, 2))), r"2-D"),
    (lambda c: c.matmul(np.ones((2, 3)), np.ones((3, 2), np.float32)), r"dtype"),
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
