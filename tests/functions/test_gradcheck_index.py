"""Where / Cast / Take backward against float64 finite differences, on every backend; and
the index & logic ops' behaviour (bool / int results never require grad)."""

import nnrs
import numpy as np
import pytest
from nnrs import ops

from tests.conftest import host

rng = np.random.default_rng(0)


def r(*shape):
    return rng.uniform(-2.0, 2.0, shape)


COND = rng.random((3, 4)) < 0.5
COND_COL = np.array([[True], [False], [True]])
IDX = np.array([[1, 1], [-1, 0], [2, 1]])  # repeated and negative indices

CASES = [
    # (name, fn, inputs, eps) — one line per case
    ("where", lambda a, b: ops.where(COND, a, b), [r(3, 4), r(3, 4)], 1e-6),
    ("where_broadcast_first", lambda a, b: ops.where(COND, a, b), [r(4), r(3, 4)], 1e-6),
    ("where_broadcast_both", lambda a, b: ops.where(COND_COL, a, b), [r(1, 4), r(3, 1)], 1e-6),
    ("where_number", lambda a: ops.where(COND, a, 0.5) * a, [r(3, 4)], 1e-6),
    ("where_tensor_cond", lambda a: ops.where(ops.greater(a, 0.0), a, -a), [r(3, 4) + 0.05], 1e-6),
    ("cast_roundtrip", lambda a: ops.cast(ops.cast(a, "float32") * 3.0, "float64"), [r(3, 4)], 1e-2),
    ("cast_to_float32", lambda a: ops.cast(a, np.float32), [r(5)], 1e-2),
    ("take_axis0_embedding", lambda t: ops.take(t, IDX, axis=0), [r(4, 3)], 1e-6),
    ("take_axis1", lambda x: ops.take(x, IDX, axis=1), [r(2, 3, 2)], 1e-6),
    ("take_last_axis", lambda x: ops.take(x, np.array([2, 0, 2], np.int32), axis=-1), [r(2, 3)], 1e-6),
    ("take_flat", lambda x: ops.take(x, np.array([5, -1, 0, 5])), [r(2, 3)], 1e-6),
    ("take_scalar_index", lambda x: ops.take(x, 1, axis=1), [r(3, 2)], 1e-6),
    ("take_then_where", lambda x, y: ops.where(COND[:2], ops.take(x, IDX[:2, :1], axis=0)[:, 0, :], y), [r(3, 4), r(4)], 1e-6),
]


@pytest.mark.parametrize("name, fn, inputs, eps", CASES, ids=[c[0] for c in CASES])
def test_gradcheck(backend, name, fn, inputs, eps):
    assert nnrs.gradcheck(fn, *inputs, eps=eps)


def test_take_gradient_adds_repeated_rows(backend):
    table = nnrs.Tensor(np.zeros((4, 2)), requires_grad=True)
    ops.take(table, np.array([[3, 3], [0, 3]]), axis=0).sum().backward()
    np.testing.assert_array_equal(host(table.grad), [[1, 1], [0, 0], [0, 0], [3, 3]])


@pytest.mark.parametrize("op, want", [
    ("equal", [False, True, False]), ("not_equal", [True, False, True]), ("less", [True, False, False]),
    ("less_equal", [True, True, False]), ("greater", [False, False, True]), ("greater_equal", [False, True, True]),
])
def test_comparisons_give_bool_tensors_without_grad(backend, op, want):
    x = nnrs.Tensor(np.array([1.0, 2.0, 3.0]), requires_grad=True)
    y = getattr(ops, op)(x, 2.0)
    assert y.dtype == np.bool_ and not y.requires_grad and y._ctx is None
    np.testing.assert_array_equal(y.numpy(), want)
    np.testing.assert_array_equal(getattr(ops, op)(2.0, x).numpy(), getattr(np, op)(2.0, [1.0, 2.0, 3.0]))


def test_comparison_promotes_integer_operands(backend):
    labels = ops.cast(np.array([0, 2, 1]), "int32")
    assert labels.dtype == np.int32
    np.testing.assert_array_equal(ops.equal(labels, np.array([0.0, 1.0, 1.0], np.float32)).numpy(), [True, False, True])
    np.testing.assert_array_equal(ops.equal(labels, ops.argmax(np.eye(3)[[0, 1, 1]], axis=-1)).numpy(), [True, False, True])


def test_cast_to_integers_has_no_gradient(backend):
    x = nnrs.Tensor(np.array([[1.7, -2.2]]), requires_grad=True)
    y = ops.cast(x, "int32")
    assert y.dtype == np.int32 and not y.requires_grad
    np.testing.assert_array_equal(y.numpy(), [[1, -2]])
    assert ops.cast(x, "float64") is x
    z = ops.cast(x, "float32")
    assert z.dtype == np.float32 and z.requires_grad
    with pytest.raises(TypeError, match=r"cast: dtype must be one of"):
        ops.cast(x, "complex64")


def test_one_hot_op(backend):
    y = ops.one_hot(np.array([[2, 0], [5, -1]]), 3)
    assert y.dtype == np.float32 and y.shape == (2, 2, 3) and not y.requires_grad
    np.testing.assert_array_equal(y.numpy(), [[[0, 0, 1], [1, 0, 0]], [[0, 0, 0], [0, 0, 0]]])
    assert ops.one_hot([1.0, 0.0], 2, dtype="float64").dtype == np.float64  # float labels truncate, as Keras
    np.testing.assert_array_equal(ops.one_hot(np.array([1, 0]), 2, axis=1).numpy(), [[0, 1], [1, 0]])
    with pytest.raises(ValueError, match=r"one_hot: only axis=-1"):
        ops.one_hot(np.array([1, 0]), 2, axis=0)


def test_where_and_take_errors(backend):
    with pytest.raises(ValueError, match=r"where: x1 and x2 are both required"):
        ops.where(np.array([True]))
    with pytest.raises(ValueError, match=r"^take: index 3 is out of bounds for axis 0 with size 3$"):
        ops.take(np.ones((3, 2)), np.array([0, 3]), axis=0)
    with pytest.raises(ValueError, match=r"^take: index -7 is out of bounds for axis 0 with size 6$"):
        ops.take(np.ones((3, 2)), [-7])
