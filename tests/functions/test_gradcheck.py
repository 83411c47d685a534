"""Every Function's backward against float64 finite differences, on every backend."""

import nnrs
import numpy as np
import pytest
from nnrs import ops

rng = np.random.default_rng(0)


def r(*shape, lo=-2.0, hi=2.0):
    return rng.uniform(lo, hi, shape)


def away_from_zero(*shape):
    x = r(*shape)
    return np.where(np.abs(x) < 0.1, 0.5, x)


CASES = [
    # (name, fn, inputs) — one line per case
    ("add_broadcast", lambda a, b: a + b, [r(3, 4), r(4)]),
    ("sub_broadcast", lambda a, b: a - b, [r(2, 3, 4), r(3, 1)]),
    ("mul_broadcast", lambda a, b: a * b, [r(3, 4), r(3, 1)]),
    ("div", lambda a, b: a / b, [r(3, 4), r(3, 4, lo=0.5, hi=2.0)]),
    ("maximum", lambda a, b: ops.maximum(a, b), [away_from_zero(3, 4), r(3, 4) * 0.3]),
    ("minimum", lambda a, b: ops.minimum(a, b), [away_from_zero(3, 4), r(4) * 0.3]),
    ("scalar_ops", lambda a: (2.0 * a - 1.0) / 3.0 + (1.0 - a), [r(3, 4)]),
    ("rdiv_scalar", lambda a: 2.0 / a, [r(3, 4, lo=0.5, hi=2.0)]),
    ("pow_scalar", lambda a: a ** 3.0, [r(3, 4)]),
    ("rpow_scalar", lambda a: 2.0 ** a, [r(3, 4)]),
    ("pow_tensors", lambda a, b: a ** b, [r(3, 4, lo=0.5, hi=2.0), r(3, 4)]),
    ("sign", ops.sign, [away_from_zero(3, 4)]),
    ("neg", lambda a: -a, [r(5)]),
    ("exp", ops.exp, [r(3, 4)]),
    ("log", ops.log, [r(3, 4, lo=0.2, hi=3.0)]),
    ("sqrt", ops.sqrt, [r(3, 4, lo=0.2, hi=3.0)]),
    ("square", ops.square, [r(3, 4)]),
    ("abs", ops.abs, [away_from_zero(3, 4)]),
    ("reciprocal", ops.reciprocal, [r(3, 4, lo=0.5, hi=2.0)]),
    ("clip", lambda a: ops.clip(a, -0.5, 0.5), [away_from_zero(4, 5) * 1.3]),
    ("matmul", lambda a, b: a @ b, [r(3, 4), r(4, 5)]),
    ("dense_relu", lambda x, w, b: ops.dense(x, w, b, "relu"), [r(4, 3), r(3, 5), r(5)]),
    ("dense_tanh_nobias", lambda x, w: ops.dense(x, w, None, "tanh"), [r(4, 3), r(3, 5)]),
    ("dense_gelu", lambda x, w, b: ops.dense(x, w, b, "gelu"), [r(4, 3), r(3, 5), r(5)]),
    ("sum_axis", lambda a: ops.sum(a, axis=1), [r(3, 4, 2)]),
    ("sum_all", lambda a: ops.sum(a), [r(3, 4)]),
    ("mean_keepdims", lambda a: ops.mean(a, axis=(0, 2), keepdims=True), [r(3, 4, 2)]),
    ("max_axis", lambda a: ops.max(a, axis=-1), [r(3, 5)]),
    ("min_axis", lambda a: ops.min(a, axis=0), [r(3, 5)]),
    ("reshape_transpose", lambda a: ops.transpose(ops.reshape(a, (4, 3)), (1, 0)), [r(3, 4)]),
    ("getitem_slice", lambda a: a[1:, ::2], [r(3, 4)]),
    ("getitem_fancy", lambda a: a[np.array([0, 2, 0])], [r(3, 4)]),
    ("concatenate", lambda a, b: ops.concatenate([a, b], axis=1), [r(2, 3), r(2, 2)]),
] + [
    (f"activation_{n}", (lambda n: lambda a: ops.activation(a, n, 0.3))(n), [away_from_zero(3, 4)])  # noqa: B023 - bound by the outer lambda
    for n in ("linear", "sigmoid", "tanh", "relu", "leaky_relu", "elu", "selu", "gelu", "swish", "softplus",
              "softmax", "log_softmax")
]


@pytest.mark.parametrize("name, fn, inputs", CASES, ids=[c[0] for c in CASES])
def test_gradcheck(backend, name, fn, inputs):
    assert nnrs.gradcheck(fn, *inputs)


LOSSES = [
    ("mse", lambda: r(4, 3)), ("mae", lambda: r(4, 3) + 3.0), ("huber", lambda: r(4, 3) * 2),
    ("binary_crossentropy_logits", lambda: rng.uniform(0, 1, (4, 3))),
    ("softmax_crossentropy", lambda: np.array([0, 2, 1, 2])),
    ("softmax_crossentropy", lambda: rng.dirichlet(np.ones(3), 4)),
]


@pytest.mark.parametrize("name, target", LOSSES, ids=[f"{n}_{i}" for i, (n, _) in enumerate(LOSSES)])
@pytest.mark.parametrize("weighted", [False, True])
def test_loss_gradcheck(backend, name, target, weighted):
    from nnrs.functions import Loss

    t = backend.asarray(target())
    w = backend.asarray(rng.uniform(0.5, 2.0, 4)) if weighted else None
    assert nnrs.gradcheck(lambda p: Loss.apply(p, t, w, name, 1.0), r(4, 3))


def test_dropout_gradcheck(backend):
    # a fixed seed makes the mask the same in every evaluation
    assert nnrs.gradcheck(lambda a: ops.dropout(a, 0.4, seed=7), r(5, 6))


def test_gradcheck_catches_a_wrong_gradient(backend):
    class BadSquare(nnrs.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.x = x
            return ctx.b.unary("square", x)

        @staticmethod
        def backward(ctx, g):
            return (ctx.b.binary("mul", g, ctx.x),)  # missing the factor 2

    with pytest.raises(nnrs.GradcheckError, match="analytical"):
        nnrs.gradcheck(lambda a: BadSquare.apply(a), r(3))
