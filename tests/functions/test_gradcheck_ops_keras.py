"""Gradients of Keras' numpy-like ops (``nnrs.ops``) against float64 finite differences,
on every backend: one line per differentiable op."""

import nnrs
import numpy as np
import pytest
from nnrs import ops

from tests.conftest import host

rng = np.random.default_rng(11)


def r(*shape, lo=-2.0, hi=2.0):
    return rng.uniform(lo, hi, shape)


def away_from_ints(*shape):
    """Values at least 0.1 from an integer (and from a half), where floor and friends are flat."""
    return rng.integers(-3, 3, shape) + rng.uniform(0.1, 0.4, shape)


CASES = [
    ("sin", ops.sin, [r(3, 4)]),
    ("cos", ops.cos, [r(3, 4)]),
    ("tan", ops.tan, [r(3, 4, lo=-1.2, hi=1.2)]),
    ("arcsin", ops.arcsin, [r(3, 4, lo=-0.9, hi=0.9)]),
    ("arccos", ops.arccos, [r(3, 4, lo=-0.9, hi=0.9)]),
    ("arctan", ops.arctan, [r(3, 4)]),
    ("sinh", ops.sinh, [r(3, 4)]),
    ("cosh", ops.cosh, [r(3, 4)]),
    ("arcsinh", ops.arcsinh, [r(3, 4)]),
    ("arccosh", ops.arccosh, [r(3, 4, lo=1.2, hi=3.0)]),
    ("arctanh", ops.arctanh, [r(3, 4, lo=-0.9, hi=0.9)]),
    ("log1p", ops.log1p, [r(3, 4, lo=-0.5, hi=3.0)]),
    ("expm1", ops.expm1, [r(3, 4)]),
    ("log2", ops.log2, [r(3, 4, lo=0.2, hi=3.0)]),
    ("log10", ops.log10, [r(3, 4, lo=0.2, hi=3.0)]),
    ("floor", ops.floor, [away_from_ints(3, 4)]),
    ("ceil", ops.ceil, [away_from_ints(3, 4)]),
    ("round", ops.round, [away_from_ints(3, 4)]),
    ("trunc", ops.trunc, [away_from_ints(3, 4)]),
    ("rsqrt", ops.rsqrt, [r(3, 4, lo=0.3, hi=3.0)]),
    ("true_divide", ops.true_divide, [r(3, 4), r(4, lo=0.5, hi=2.0)]),
    ("mod", lambda a, b: ops.mod(a, b), [away_from_ints(3, 4), np.full((4,), 1.0)]),
    ("mod_wrt_divisor", lambda b: ops.mod(np.full((3,), 2.5), b), [np.array([0.7, 1.1, 1.9])]),
    ("logaddexp", ops.logaddexp, [r(3, 4), r(3, 4) + 0.3]),
    ("std", lambda a: ops.std(a, axis=0), [r(3, 4)]),
    ("logsumexp", lambda a: ops.logsumexp(a, axis=1), [r(3, 4)]),
    ("logsumexp_all", ops.logsumexp, [r(2, 3, 4) * 10]),
    ("cumsum", lambda a: ops.cumsum(a, axis=0), [r(3, 4)]),
    ("cumsum_long_blocks", lambda a: ops.cumsum(a), [r(300)]),
    ("norm", ops.norm, [r(3, 4)]),
    ("norm_ord1_axis", lambda a: ops.norm(a, ord=1, axis=1), [r(3, 4)]),
    ("norm_ord3", lambda a: ops.norm(a, ord=3), [r(5)]),
    ("norm_matrix_inf", lambda a: ops.norm(a, ord=np.inf), [r(3, 4)]),
    ("average", lambda a, w: ops.average(a, axis=1, weights=w), [r(3, 4), r(4, lo=0.5, hi=2.0)]),
    ("expand_dims", lambda a: ops.expand_dims(a, 1) * 2.0, [r(3, 4)]),
    ("squeeze", lambda a: ops.squeeze(a), [r(3, 1, 4)]),
    ("ravel", ops.ravel, [r(2, 3)]),
    ("swapaxes", lambda a: ops.swapaxes(a, 0, 2), [r(2, 3, 4)]),
    ("moveaxis", lambda a: ops.moveaxis(a, 0, -1), [r(2, 3, 4)]),
    ("stack", lambda a, b: ops.stack([a, b], axis=1), [r(3, 4), r(3, 4)]),
    ("split", lambda a: ops.split(a, [1], axis=1)[1] * 3.0, [r(3, 4)]),
    ("flip", lambda a: ops.flip(a, 1), [r(3, 4)]),
    ("roll", lambda a: ops.roll(a, 2), [r(3, 4)]),
    ("tile", lambda a: ops.tile(a, (2, 3)), [r(3, 4)]),
    ("repeat", lambda a: ops.repeat(a, [1, 0, 3], axis=0), [r(3, 4)]),
    ("broadcast_to", lambda a: ops.broadcast_to(a, (2, 3, 4)), [r(3, 1)]),
    ("pad", lambda a: ops.pad(a, ((1, 2), (0, 1)), constant_values=3.0), [r(3, 4)]),
    ("triu", lambda a: ops.triu(a, -1), [r(2, 3, 4)]),
    ("tril", ops.tril, [r(3, 4)]),
    ("dot", ops.dot, [r(2, 3, 4), r(4, 2)]),
    ("tensordot", lambda a, b: ops.tensordot(a, b, axes=([0, 2], [1, 0])), [r(2, 3, 4), r(4, 2, 5)]),
    ("inner", ops.inner, [r(3, 4), r(2, 4)]),
    ("outer", ops.outer, [r(3), r(2, 2)]),
    ("sort", lambda a: ops.sort(a, axis=0), [r(3, 4)]),
    ("top_k", lambda a: ops.top_k(a, 2)[0], [r(3, 5)]),
    ("divide_no_nan", ops.divide_no_nan, [r(3, 4), r(3, 4, lo=0.5, hi=2.0)]),  # at 0: tests/test_ops_keras.py
    ("take_along_axis", lambda a: ops.take_along_axis(a, np.array([[0, 0, 2], [1, -1, 1]]), 1), [r(2, 3)]),
    ("einsum_attention", lambda q, k: ops.einsum("bqhd,bkhd->bhqk", q, k), [r(2, 3, 2, 4), r(2, 5, 2, 4)]),
    ("einsum_sum_one_side", lambda a, b: ops.einsum("ijk,kl->jl", a, b), [r(2, 3, 4), r(4, 2)]),
    ("einsum_single", lambda a: ops.einsum("ijk->ki", a), [r(2, 3, 4)]),
    ("relu6", ops.relu6, [r(3, 4, lo=-8.0, hi=8.0) + 0.05]),
    ("hard_sigmoid", ops.hard_sigmoid, [r(3, 4, lo=-5.0, hi=5.0) + 0.05]),
    ("hard_silu", ops.hard_silu, [r(3, 4, lo=-5.0, hi=5.0) + 0.05]),
    ("softsign", ops.softsign, [r(3, 4)]),
    ("log_sigmoid", ops.log_sigmoid, [r(3, 4, lo=-10.0, hi=10.0)]),
    ("gelu_tanh", ops.gelu, [r(3, 4, lo=-4.0, hi=4.0)]),
]


@pytest.mark.parametrize("name, fn, inputs", CASES, ids=[c[0] for c in CASES])
def test_gradcheck(backend, name, fn, inputs):
    assert nnrs.gradcheck(fn, *inputs)


def test_stop_gradient_passes_no_gradient(backend):
    """Not a gradcheck case: finite differences would move the stopped copy too. The
    gradient of sum(x * stop_gradient(x)) is x, not 2x."""
    x = nnrs.Tensor(r(4), requires_grad=True)
    ops.sum(x * ops.stop_gradient(x)).backward()
    np.testing.assert_allclose(host(x.grad), x.numpy())
