"""Gradients of the math kernels' Functions against float64 finite differences, on
every backend: binary ops through binary_backward, power with tensor exponents."""

import nnrs
import numpy as np
import pytest
from nnrs import ops

from tests.conftest import host

rng = np.random.default_rng(7)


def r(*shape, lo=-2.0, hi=2.0):
    return rng.uniform(lo, hi, shape)


def ints(*shape, lo=-3, hi=4):
    return rng.integers(lo, hi, shape).astype(np.float64)


def negative(*shape):
    return -rng.uniform(0.5, 2.0, shape)


def _mix(mean, var):
    return mean * 3.0 + var


def _normalize(x, axes):
    """What batch norm does with the statistics: (x - mean) / sqrt(var + eps)."""
    mean, var = ops.moments(x, axes, keepdims=True)
    return (x - mean) / ops.sqrt(var + 1e-3)


P_INT = ints(3, 4)  # integer exponents, held fixed (not differentiated)
P_ROW = ints(4, lo=1, hi=4)

CASES = [
    # (name, fn, inputs) — one line per case; broadcast first operands where the op broadcasts
    ("mul_broadcast_first", lambda a, b: a * b, [r(4), r(3, 4)]),
    ("mul_both_stretched", lambda a, b: a * b, [r(3, 1), r(1, 4)]),
    ("div_broadcast_first", lambda a, b: a / b, [r(3, 1), r(3, 4, lo=0.5, hi=2.0)]),
    ("div_broadcast_second", lambda a, b: a / b, [r(2, 3, 4), r(4, lo=0.5, hi=2.0)]),
    ("maximum_broadcast_first", lambda a, b: ops.maximum(a, b), [r(4), r(3, 4) + 5.0 * (rng.uniform(size=(3, 4)) > 0.5)]),
    ("minimum_broadcast_first", lambda a, b: ops.minimum(a, b), [r(3, 1), r(3, 4) + 5.0 * (rng.uniform(size=(3, 4)) > 0.5)]),
    ("maximum_scalar_shaped", lambda a, b: ops.maximum(a, b), [np.array(0.3), r(3, 4) + 0.05]),
    ("pow_positive_base_both", lambda a, b: ops.power(a, b), [r(3, 4, lo=0.3, hi=2.0), r(3, 4)]),
    ("pow_broadcast_first_both", lambda a, b: a ** b, [r(4, lo=0.3, hi=2.0), r(3, 4)]),
    ("pow_broadcast_exponent", lambda a, b: a ** b, [r(3, 4, lo=0.3, hi=2.0), r(3, 1)]),
    ("pow_negative_base_int_exponent", lambda a: ops.power(a, P_INT), [negative(3, 4)]),
    ("pow_mixed_sign_base_int_exponent", lambda a: a ** P_ROW, [r(3, 4) + 0.01]),
    ("pow_negative_base_broadcast_first", lambda a: ops.power(a, P_INT), [negative(4)]),
    ("pow_scalar_negative_base_cube", lambda a: a ** 3.0, [negative(3, 4)]),
    ("pow_scalar_negative_base_inverse", lambda a: a ** -2.0, [negative(3, 4)]),
    ("pow_scalar_zero_exponent", lambda a: a ** 0.0, [r(3, 4)]),
    ("rpow_scalar", lambda a: 3.0 ** a, [r(3, 4)]),
    ("softmax_axis0", lambda a: ops.softmax(a, axis=0), [r(3, 4)]),
    ("softmax_middle_axis", lambda a: ops.softmax(a, axis=1), [r(2, 3, 4)]),
    ("softmax_last_axis", lambda a: ops.softmax(a), [r(2, 3, 4)]),
    ("log_softmax_axis0", lambda a: ops.log_softmax(a, axis=0), [r(4, 3)]),
    ("log_softmax_negative_axis", lambda a: ops.log_softmax(a, axis=-2), [r(2, 3, 4)]),
    ("softmax_of_a_product", lambda a, b: ops.softmax(a * b, axis=0), [r(4), r(3, 4)]),
    ("var_all", lambda a: ops.var(a), [r(3, 4)]),
    ("var_axis_keepdims", lambda a: ops.var(a, axis=1, keepdims=True), [r(3, 4, 2)]),
    ("moments_both_used", lambda a: _mix(*ops.moments(a, (0, 2))), [r(3, 4, 2) + 5.0]),
    ("moments_batchnorm", lambda a: _normalize(a, (0, 1, 2)), [r(2, 3, 3, 4)]),
    ("moments_mean_only", lambda a: ops.moments(a, [1])[0], [r(3, 4)]),
    ("moments_of_a_broadcast_product", lambda a, b: ops.var(a * b, axis=0), [r(4), r(3, 4)]),
]


@pytest.mark.parametrize("name, fn, inputs", CASES, ids=[c[0] for c in CASES])
def test_gradcheck(backend, name, fn, inputs):
    assert nnrs.gradcheck(fn, *inputs)


def _grads(fn, *xs):
    ts = [nnrs.Tensor(np.asarray(x, dtype=np.float64), requires_grad=True) for x in xs]
    fn(*ts).backward(nnrs.Tensor(np.ones(np.broadcast_shapes(*(np.shape(x) for x in xs)))).data)
    return [t.grad for t in ts]


@pytest.mark.parametrize("a, p, ga, gp", [
    # at a == 0 and a < 0 both gradients are finite; d/dp is 0 where a <= 0
    (0.0, 2.0, 0.0, 0.0),
    (0.0, 1.0, 1.0, 0.0),
    (0.0, 0.0, 0.0, 0.0),
    (-2.0, 3.0, 12.0, 0.0),
    (-2.0, 2.0, -4.0, 0.0),
    (-0.5, -1.0, -4.0, 0.0),
    (2.0, 3.0, 12.0, 8.0 * np.log(2.0)),
])
def test_power_gradients_are_finite_where_the_base_is_not_positive(backend, a, p, ga, gp):
    got_a, got_p = _grads(ops.power, np.array([a]), np.array([p]))
    np.testing.assert_allclose(host(got_a), [ga], rtol=1e-12)
    np.testing.assert_allclose(host(got_p), [gp], rtol=1e-12)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # the oracle: 0 ** -1, (-2) ** 0.5
def test_power_of_tensors_is_numpy_power(backend):
    a = np.array([-2.0, -2.0, 0.0, 0.0, -1.5, 4.0, -8.0])
    p = np.array([3.0, 0.5, 0.0, -1.0, 2.0, -0.5, 1.0 / 3.0])
    with np.errstate(all="ignore"):
        want = np.power(a, p)
    got = ops.power(nnrs.Tensor(a), nnrs.Tensor(p)).numpy()
    np.testing.assert_array_equal(got, want)  # (-2)**3 = -8, (-2)**0.5 = nan, 0**0 = 1, 0**-1 = inf


@pytest.mark.parametrize("axes, keepdims, shape", [
    ((0, 2), False, (4,)), ([0, 1, 2], True, (1, 1, 1)), (-1, False, (3, 4)), (None, False, ()),
])
def test_moments_op_keras_shapes(backend, axes, keepdims, shape):
    x = (rng.standard_normal((3, 4, 2)) + 50.0).astype(np.float32)
    mean, variance = ops.moments(x, axes, keepdims=keepdims)
    ax = tuple(range(3)) if axes is None else axes if isinstance(axes, int) else tuple(axes)
    assert mean.shape == variance.shape == shape and mean.dtype == variance.dtype == np.float32
    np.testing.assert_allclose(mean.numpy(), x.astype(np.float64).mean(axis=ax).reshape(shape), rtol=1e-6)
    np.testing.assert_allclose(variance.numpy(), x.astype(np.float64).var(axis=ax).reshape(shape), rtol=1e-5)
    np.testing.assert_allclose(ops.var(x, axes, keepdims).numpy(), variance.numpy())


@pytest.mark.parametrize("call, match", [
    (lambda: ops.moments(np.ones((2, 3)), (0, 2)), r"moments: axis 2 is out of range for shape \(2, 3\) \(ndim 2\)"),
    (lambda: ops.var(np.ones((2, 3)), -3), r"moments: axis -3 is out of range"),
    (lambda: ops.softmax(np.ones((2, 3)), axis=2), r"softmax_forward: axis 2 is out of range for shape \(2, 3\)"),
    (lambda: ops.log_softmax(np.ones(()), axis=-1), r"softmax_forward: axis -1 is out of range for shape \(\)"),
])
def test_ops_axis_errors(backend, call, match):
    with pytest.raises(ValueError, match=match):
        call()
