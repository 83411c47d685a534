"""Gradients of the math kernels' Functions against float64 finite differences, on
every backend: binary ops through binary_backward, power with tensor exponents."""

import nnrs
import numpy as np
import pytest
from nnrs import ops

rng = np.random.default_rng(7)


def r(*shape, lo=-2.0, hi=2.0):
    return rng.uniform(lo, hi, shape)


def ints(*shape, lo=-3, hi=4):
    return rng.integers(lo, hi, shape).astype(np.float64)


def negative(*shape):
    return -rng.uniform(0.5, 2.0, shape)


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
    np.testing.assert_allclose(np.asarray(got_a), [ga], rtol=1e-12)
    np.testing.assert_allclose(np.asarray(got_p), [gp], rtol=1e-12)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # the oracle: 0 ** -1, (-2) ** 0.5
def test_power_of_tensors_is_numpy_power(backend):
    a = np.array([-2.0, -2.0, 0.0, 0.0, -1.5, 4.0, -8.0])
    p = np.array([3.0, 0.5, 0.0, -1.0, 2.0, -0.5, 1.0 / 3.0])
    with np.errstate(all="ignore"):
        want = np.power(a, p)
    got = ops.power(nnrs.Tensor(a), nnrs.Tensor(p)).numpy()
    np.testing.assert_array_equal(got, want)  # (-2)**3 = -8, (-2)**0.5 = nan, 0**0 = 1, 0**-1 = inf
