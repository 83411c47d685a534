"""Recurrent layers over a whole sequence (SimpleRNN, GRU, LSTM) as one autograd node each:
one kernel call for the forward of all steps, one for the backward through time.

``rnn_sequence`` is what the recurrent layers call. The autograd engine gives a Function
one output, so the per-step outputs and the final states come packed in one Tensor
``(n, t + k, u)``; slicing it is differentiable, so a layer takes ``[:, :t]`` (the
sequence), ``[:, t]`` (the final h) and ``[:, t + 1]`` (the final c of an LSTM).
"""

from __future__ import annotations

import numpy as np

from ..function import Function
from ..tensor import Tensor, as_tensor

#: Cells of ``rnn_sequence`` and their number of states.
RNN_KINDS = {"simple_rnn": 1, "gru": 1, "lstm": 2}
_MASK_DTYPES = (np.dtype(np.bool_), np.dtype(np.uint8))


class RnnSequence(Function):
    """Packed ``(n, t + k, u)`` output of ``rnn_forward``; the Tensor arguments are x, kernel,
    recurrent_kernel, (bias,) and the initial states, in that order."""

    @staticmethod
    def forward(ctx, kind, mask, reverse, activation, zero_masked, has_bias, x, kernel, recurrent, *rest):
        be = ctx.b
        bias, states = (rest[0], rest[1:]) if has_bias else (None, rest)
        save = bool(ctx.needs_grad)
        packed, saved = be.rnn_forward(kind, x, kernel, recurrent, bias, tuple(states), mask, reverse, activation, zero_masked,
                                       save)
        if save:
            ctx.args = (kind, mask, reverse, activation, zero_masked, has_bias)
            ctx.x, ctx.kernel, ctx.recurrent, ctx.saved = x, kernel, recurrent, saved
        return packed

    @staticmethod
    def backward(ctx, g):
        kind, mask, reverse, activation, zero_masked, has_bias = ctx.args
        gx, gk, gr, gb, gstates = ctx.b.rnn_backward(kind, g, ctx.saved, ctx.x, ctx.kernel, ctx.recurrent, mask, reverse,
                                                     activation, zero_masked, has_bias)
        return (gx, gk, gr) + ((gb,) if has_bias else ()) + tuple(gstates)


def _mask_array(mask, be, n, t):
    """The mask as a bool/uint8 array of ``be`` (a float or int mask: nonzero is a real step)."""
    if mask is None:
        return None
    m = mask.data if isinstance(mask, Tensor) else be.asarray(mask)
    if m.dtype not in _MASK_DTYPES:
        m = be.cast(m, "bool")
    if tuple(m.shape) != (n, t):
        raise ValueError(f"rnn_sequence: mask must have shape {(n, t)} (batch, time), got {tuple(m.shape)}")
    return m


def rnn_sequence(kind, x, kernel, recurrent_kernel, bias, states, mask=None, reverse=False, activation="tanh",
                 zero_masked=False) -> Tensor:
    """A recurrent layer over the whole sequence x (n, t, d); returns the packed Tensor
    ``(n, t + k, u)``: ``[:, :t]`` the per-step outputs (in processing order), ``[:, t]`` the
    final h, ``[:, t + 1]`` the final c (LSTM).

    ``kind``: "simple_rnn" (``activation`` "tanh" or "relu"), "gru" (``reset_after=True``) or
    "lstm", with Keras 3's weight layouts (see ``Backend.rnn_forward``); ``bias`` may be None.
    ``states``: ``(h0,)``, or ``(h0, c0)`` for an LSTM, each (n, u). ``mask``: None or a
    (n, t) array/Tensor, true at real steps (no gradient); masked steps carry the states,
    their output is the previous output (zero before the first real one), or zero with
    ``zero_masked``. ``reverse``: Keras' ``go_backwards``. Gradients reach x, the weights,
    the bias and every initial state.
    """
    if kind not in RNN_KINDS:
        raise ValueError(f"rnn_sequence: kind must be one of {', '.join(RNN_KINDS)}, got {kind!r}")
    if activation not in ("tanh", "relu"):
        raise ValueError(f"rnn_sequence: activation must be 'tanh' or 'relu', got {activation!r}")
    if kind != "simple_rnn" and activation != "tanh":
        raise ValueError(f"rnn_sequence: activation applies to simple_rnn only (a {kind} uses tanh and sigmoid), "
                         f"got {activation!r}")
    if not isinstance(states, (tuple, list)):
        states = (states,)
    if len(states) != RNN_KINDS[kind]:
        raise ValueError(f"rnn_sequence: a {kind} takes {RNN_KINDS[kind]} initial state(s), got {len(states)}")
    x = as_tensor(x)
    be = x.backend
    args = [as_tensor(a, backend=be) for a in (kernel, recurrent_kernel)]
    has_bias = bias is not None
    if has_bias:
        args.append(as_tensor(bias, backend=be))
    args += [as_tensor(s, backend=be) for s in states]
    if x.ndim != 3:
        raise ValueError(f"rnn_sequence: x must be 3-D (batch, time, features), got shape {tuple(x.shape)}")
    m = _mask_array(mask, be, x.shape[0], x.shape[1])
    return RnnSequence.apply(kind, m, bool(reverse), activation, bool(zero_masked), has_bias, x, *args)
