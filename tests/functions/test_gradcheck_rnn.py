"""Backward of ``rnn_sequence`` (SimpleRNN, GRU, LSTM over a sequence) against float64 finite
differences, on every backend: gradients wrt x, the weights, the bias and every initial
state, through 5-7 steps, with masks and in reverse."""

import zlib

import nnrs
import numpy as np
import pytest
from nnrs.functions import rnn_sequence

GATES = {"simple_rnn": 1, "gru": 3, "lstm": 4}
MASK = np.array([[True, True, False, True, True, False],      # holes
                 [False, False, True, True, True, True],       # left padding: carried outputs are zero first
                 [True, True, True, False, False, False]])     # right padding

CASES = [
    # (name, kind, activation, mask, reverse, zero_masked, bias) — one line per case
    ("lstm", "lstm", "tanh", None, False, False, True),
    ("lstm_mask", "lstm", "tanh", MASK, False, False, True),
    ("lstm_mask_reverse_zero", "lstm", "tanh", MASK, True, True, True),
    ("lstm_reverse_no_bias", "lstm", "tanh", None, True, False, False),
    ("gru", "gru", "tanh", None, False, False, True),
    ("gru_mask", "gru", "tanh", MASK, False, False, True),
    ("gru_mask_reverse", "gru", "tanh", MASK, True, False, True),
    ("gru_zero_no_bias", "gru", "tanh", MASK, False, True, False),
    ("simple_tanh", "simple_rnn", "tanh", None, False, False, True),
    ("simple_tanh_mask_reverse", "simple_rnn", "tanh", MASK, True, False, True),
    ("simple_relu_mask", "simple_rnn", "relu", MASK, False, True, True),
]


@pytest.mark.parametrize("name, kind, act, mask, reverse, zero, bias", CASES, ids=[c[0] for c in CASES])
def test_rnn_sequence_gradcheck(backend, name, kind, act, mask, reverse, zero, bias):
    rng = np.random.default_rng(zlib.crc32(name.encode()))
    n, t, d, u = 3, 6, 4, 3
    g = GATES[kind] * u
    inputs = [rng.uniform(-1, 1, (n, t, d)), rng.uniform(-0.7, 0.7, (d, g)), rng.uniform(-0.7, 0.7, (u, g))]
    if bias:
        inputs.append(rng.uniform(-0.5, 0.5, (2, g) if kind == "gru" else (g,)))
    k = 2 if kind == "lstm" else 1
    inputs += [rng.uniform(-0.8, 0.8, (n, u)) for _ in range(k)]

    def fn(x, kernel, rec, *rest):
        b, states = (rest[0], rest[1:]) if bias else (None, rest)
        return rnn_sequence(kind, x, kernel, rec, b, states, mask=mask, reverse=reverse, activation=act, zero_masked=zero)

    assert nnrs.gradcheck(fn, *inputs)


def test_packed_slices_are_differentiable(backend):
    """A layer's use: the sequence, the final h and the final c taken from the packed output."""
    rng = np.random.default_rng(0)
    n, t, d, u = 2, 5, 3, 2

    def fn(x, kernel, rec, b, h0, c0):
        p = rnn_sequence("lstm", x, kernel, rec, b, (h0, c0))
        return p[:, :t].sum(axis=1) * p[:, t] + p[:, t + 1]

    assert nnrs.gradcheck(fn, rng.uniform(-1, 1, (n, t, d)), rng.uniform(-0.5, 0.5, (d, 4 * u)),
                          rng.uniform(-0.5, 0.5, (u, 4 * u)), rng.uniform(-0.5, 0.5, 4 * u), rng.uniform(-1, 1, (n, u)),
                          rng.uniform(-1, 1, (n, u)))


def test_no_grad_forward_saves_nothing_and_matches(backend):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 4, 3)).astype(np.float32)
    k, r = rng.standard_normal((3, 6)).astype(np.float32), rng.standard_normal((2, 6)).astype(np.float32)
    h0 = np.zeros((2, 2), np.float32)
    with nnrs.no_grad():
        a = rnn_sequence("gru", x, k, r, None, (h0,)).numpy()
    w = nnrs.Variable(k)
    b = rnn_sequence("gru", x, w, r, None, (h0,))
    assert b.requires_grad and b.shape == (2, 5, 2)
    np.testing.assert_array_equal(a, b.numpy())


def test_float_mask_tensor_and_errors(backend):
    rng = np.random.default_rng(2)
    x = rng.standard_normal((2, 3, 2))
    k, r = rng.standard_normal((2, 2)), rng.standard_normal((2, 2))
    h0 = np.zeros((2, 2))
    m = np.array([[1.0, 0.0, 1.0], [1.0, 1.0, 0.0]])
    a = rnn_sequence("simple_rnn", x, k, r, None, (h0,), mask=nnrs.Tensor(m)).numpy()
    b = rnn_sequence("simple_rnn", x, k, r, None, (h0,), mask=m.astype(bool)).numpy()
    np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="rnn_sequence: kind must be"):
        rnn_sequence("rnn", x, k, r, None, (h0,))
    with pytest.raises(ValueError, match="rnn_sequence: a lstm takes 2 initial state"):
        rnn_sequence("lstm", x, np.zeros((2, 8)), np.zeros((2, 8)), None, (h0,))
    with pytest.raises(ValueError, match="activation applies to simple_rnn only"):
        rnn_sequence("gru", x, np.zeros((2, 6)), np.zeros((2, 6)), None, (h0,), activation="relu")
    with pytest.raises(ValueError, match="rnn_sequence: mask must have shape"):
        rnn_sequence("simple_rnn", x, k, r, None, (h0,), mask=np.ones((3, 2), bool))
