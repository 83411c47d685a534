"""Tensor autograd mechanics: accumulation, no_grad, graph reuse."""

import nnrs
import numpy as np
import pytest
from nnrs import ops


def test_gradients_accumulate_until_reset(backend):
    x = nnrs.Tensor(np.array([1.0, 2.0]), requires_grad=True)
    (x * 3.0).sum().backward()
    (x * 3.0).sum().backward()
    np.testing.assert_allclose(nnrs.Tensor(x.grad).numpy(), [6.0, 6.0])
    x.zero_grad()
    assert x.grad is None


def test_shared_subexpression_gets_both_paths(backend):
    x = nnrs.Tensor(np.array([3.0]), requires_grad=True)
    y = x * x
    (y + y).sum().backward()
    np.testing.assert_allclose(backend.to_numpy(x.grad), [12.0])


def test_no_grad_records_nothing(backend):
    x = nnrs.Tensor(np.ones(3), requires_grad=True)
    with nnrs.no_grad():
        y = ops.exp(x)
    assert not y.requires_grad and y._ctx is None
    with pytest.raises(RuntimeError, match="does not require grad"):
        y.sum().backward()


def test_deep_graph_does_not_overflow(backend):
    x = nnrs.Tensor(np.ones(2), requires_grad=True)
    y = x
    for _ in range(3000):
        y = y + 1.0
    y.sum().backward()
    np.testing.assert_allclose(backend.to_numpy(x.grad), [1.0, 1.0])


def test_variable_assign_checks_shape(backend):
    v = nnrs.Variable(np.zeros((2, 3)), name="kernel")
    v.assign(np.ones((2, 3)))
    assert v.numpy().sum() == 6
    with pytest.raises(ValueError, match=r"kernel.*\(3, 2\).*\(2, 3\)"):
        v.assign(np.ones((3, 2)))
