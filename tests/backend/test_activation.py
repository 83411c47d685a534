"""activation_forward / activation_backward: cpu equals the numpy oracle."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from nnrs.backend.base import ACTIVATIONS

from tests.conftest import tol

dtypes = st.sampled_from([np.float32, np.float64])
shapes = st.lists(st.integers(0, 9), min_size=1, max_size=3).map(tuple)
ALPHA = {"leaky_relu": 0.2, "elu": 1.3}


def _data(shape, dtype, seed, scale):
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal(shape) * scale).astype(dtype)
    gy = rng.standard_normal(shape).astype(dtype)
    return x, gy


@settings(max_examples=40, deadline=None)
@given(name=st.sampled_from(ACTIVATIONS), shape=shapes, dtype=dtypes, seed=st.integers(0, 2**31),
       scale=st.sampled_from([0.1, 1.0, 6.0, 40.0]))
def test_activation_matches_numpy(kernels, ref, name, shape, dtype, seed, scale):
    if name in ("softmax", "log_softmax") and shape[-1] == 0:
        shape = shape[:-1] + (3,)
    x, gy = _data(shape, dtype, seed, scale)
    alpha = ALPHA.get(name, 0.0)
    y = kernels.activation_forward(name, x, alpha)
    want = ref.activation_forward(name, x, alpha)
    assert y.dtype == dtype and y.shape == x.shape
    np.testing.assert_allclose(y, want, *tol(dtype))
    gx = kernels.activation_backward(name, gy, x, want, alpha)
    assert gx.dtype == dtype and gx.shape == x.shape
    np.testing.assert_allclose(gx, ref.activation_backward(name, gy, x, want, alpha), *tol(dtype))


@pytest.mark.parametrize("name", ACTIVATIONS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_activation_large_parallel_and_extremes(kernels, ref, name, dtype):
    # Above the parallel threshold, with extreme values mixed in.
    rng = np.random.default_rng(0)
    x = (rng.standard_normal((600, 450)) * 5).astype(dtype)
    x[0, :6] = [0.0, -0.0, 80.0, -80.0, 1e-6, -1e-6]
    x[1, :2] = [500.0, -500.0] if name not in ("elu", "selu") else [30.0, -30.0]
    gy = rng.standard_normal(x.shape).astype(dtype)
    alpha = ALPHA.get(name, 0.0)
    y = kernels.activation_forward(name, x, alpha)
    want = ref.activation_forward(name, x, alpha)
    np.testing.assert_allclose(y, want, *tol(dtype))
    np.testing.assert_allclose(kernels.activation_backward(name, gy, x, want, alpha),
                               ref.activation_backward(name, gy, x, want, alpha), *tol(dtype))


def test_softmax_is_stable_for_huge_logits(kernels):
    y = kernels.activation_forward("softmax", np.array([[1e4, 1e4, -1e4]], np.float32))
    np.testing.assert_allclose(y, [[0.5, 0.5, 0.0]])
    ly = kernels.activation_forward("log_softmax", np.array([[1e4, 0.0]]))
    np.testing.assert_allclose(ly, [[0.0, -1e4]])


def test_non_contiguous_and_fortran_inputs(kernels, ref):
    a = np.arange(24, dtype=np.float64).reshape(4, 6) / 7 - 1.5
    for x in (a[:, ::2], a.T, np.asfortranarray(a)):
        for name in ("softmax", "tanh"):
            np.testing.assert_allclose(kernels.activation_forward(name, x), ref.activation_forward(name, x), *tol(x.dtype))
            y = ref.activation_forward(name, x)
            np.testing.assert_allclose(kernels.activation_backward(name, x, x, y), ref.activation_backward(name, x, x, y),
                                       *tol(x.dtype))


@pytest.mark.parametrize("shape", [(3, 0), (0, 5), (0,)])
@pytest.mark.parametrize("name", ["softmax", "log_softmax", "gelu"])
def test_empty_arrays(kernels, name, shape):
    x = np.zeros(shape, np.float32)
    assert kernels.activation_forward(name, x).shape == shape
    assert kernels.activation_backward(name, x, x, x).shape == shape


def test_inputs_are_not_modified(kernels):
    x = np.linspace(-3, 3, 12).reshape(3, 4)
    before = x.copy()
    kernels.activation_forward("softmax", x)
    kernels.activation_backward("log_softmax", x, x, x)
    np.testing.assert_array_equal(x, before)


def _f(n=6):
    return np.ones(n)


@pytest.mark.parametrize("call, match", [
    (lambda c: c.activation_forward("nope", _f()), r"unknown activation 'nope'.*accepted: linear, sigmoid"),
    (lambda c: c.activation_backward("bad", _f(), _f(), _f()), r"unknown activation 'bad'.*log_softmax"),
    (lambda c: c.activation_forward("relu", np.ones(3, np.int64)), r"float32 or float64"),
    (lambda c: c.activation_backward("relu", _f(), _f(), _f(5)), r"gy \[6\], x \[6\], y \[5\]"),
    (lambda c: c.activation_backward("tanh", np.ones((2, 3)), np.ones((3, 2)), np.ones((3, 2))), r"gy \[2, 3\], x \[3, 2\]"),
    (lambda c: c.activation_backward("relu", np.ones(6, np.float32), _f(), _f()), r"gy must have dtype"),
    (lambda c: c.activation_forward("softmax", np.array(1.0)), r"softmax .*0-d"),
])
def test_bad_input_is_a_clear_error(core, call, match):
    with pytest.raises((ValueError, TypeError), match=match):
        call(core)
