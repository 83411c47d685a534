"""Batched matmul's backward (broadcast batch dimensions) against float64 finite differences."""

import nnrs
import numpy as np
import pytest
from nnrs import ops

rng = np.random.default_rng(1)


def r(*shape):
    return rng.uniform(-2.0, 2.0, shape)


CASES = [
    # (name, a shape, b shape) — one line per case
    ("stack_times_matrix", (3, 2, 4), (4, 5)),            # b shared by the batch: gb is one tall product
    ("matrix_times_stack", (2, 4), (3, 4, 5)),            # a shared: ga summed over the batch
    ("same_batch", (3, 2, 4), (3, 4, 2)),
    ("broadcast_first_operand", (2, 1, 3, 4), (5, 4, 2)),  # a (B, 1, m, k) with b (C, k, n)
    ("both_stretched", (1, 3, 2, 2), (2, 1, 2, 3)),
    ("size_one_matrices", (4, 1, 1), (1, 1, 3)),
    ("rank_4_by_rank_2", (2, 2, 3, 4), (4, 3)),
]


@pytest.mark.parametrize("name, sa, sb", CASES, ids=[c[0] for c in CASES])
def test_batched_matmul_gradcheck(backend, name, sa, sb):
    assert nnrs.gradcheck(lambda a, b: a @ b, r(*sa), r(*sb))


def test_batched_matmul_gradient_of_broadcast_operand_is_summed(backend):
    # d/da sum(a @ b) for a (1, m, k) under b (B, k, n): row i of the gradient is the sum
    # over the batch and the columns of b, the same for every row
    a = nnrs.Tensor(np.zeros((1, 2, 3)), requires_grad=True)
    b = r(4, 3, 5)
    ops.sum(ops.matmul(a, b)).backward()
    assert a.grad.shape == (1, 2, 3)
    np.testing.assert_allclose(backend.to_numpy(a.grad), np.broadcast_to(b.sum((0, 2)), (1, 2, 3)))


def test_matmul_of_vectors_is_a_clear_error(backend):
    with pytest.raises(ValueError, match=r"at least 2-D, got shapes \(3,\) and \(3, 2\)"):
        ops.matmul(np.ones(3), np.ones((3, 2)))
