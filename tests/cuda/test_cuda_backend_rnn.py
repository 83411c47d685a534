"""The cuda backend's ``rnn_forward`` / ``rnn_backward`` (SimpleRNN, GRU, LSTM) on the fake CuPy
(rnn.cu runs through the C++ emulation, the products through numpy) equal the numpy oracle on
hypothesis shapes, masks, directions and dtypes, return device arrays, copy nothing to the host
and leave their inputs alone; recurrent models train on the cuda backend like on numpy from the
same weights (nnrs.check_parity)."""

from __future__ import annotations

import nnrs
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from nnrs import layers

from tests.backend.test_rnn import masks, states, weights
from tests.conftest import tol

from . import fakecupy
from .test_cuda_backend import _host, cuda  # noqa: F401  (cuda: the module-scoped fixture)


def _dev(cuda, a):  # noqa: F811  (the fixture's name)
    return None if a is None else cuda.asarray(a)


@settings(max_examples=60, deadline=None)
@given(data=st.data(), kind=st.sampled_from(["simple_rnn", "gru", "lstm"]), n=st.integers(1, 5), t=st.integers(0, 6),
       d=st.integers(1, 5), u=st.integers(1, 8), dtype=st.sampled_from([np.float32, np.float64]), reverse=st.booleans(),
       zero_masked=st.booleans(), bias=st.booleans(), act=st.sampled_from(["tanh", "relu"]), seed=st.integers(0, 2**31))
def test_rnn_matches_numpy(cuda, ref, data, kind, n, t, d, u, dtype, reverse, zero_masked, bias, act, seed):  # noqa: F811
    act = act if kind == "simple_rnn" else "tanh"
    rng = np.random.default_rng(seed)
    mask = data.draw(masks(n, t)) if t else None
    if mask is not None and data.draw(st.booleans()):
        mask = mask.astype(np.uint8)
    x = rng.standard_normal((n, t, d)).astype(dtype)
    k, r, b = weights(rng, kind, d, u, dtype, bias)
    s = states(rng, kind, n, u, dtype)
    want, saved_ref = ref.rnn_forward(kind, x, k, r, b, s, mask, reverse, act, zero_masked)
    dx, dk, dr, db, dm = (_dev(cuda, a) for a in (x, k, r, b, mask))
    ds = tuple(_dev(cuda, a) for a in s)
    fakecupy.reset_counters()
    got, saved = cuda.rnn_forward(kind, dx, dk, dr, db, ds, dm, reverse, act, zero_masked)
    out_only, none = cuda.rnn_forward(kind, dx, dk, dr, db, ds, dm, reverse, act, zero_masked, save=False)
    g = rng.standard_normal(want.shape).astype(dtype)
    dg = _dev(cuda, g)
    fakecupy.reset_counters()
    grads = cuda.rnn_backward(kind, dg, saved, dx, dk, dr, dm, reverse, act, zero_masked, bias)
    assert fakecupy.transfers == 0 and fakecupy.uploads == 0
    assert none is None
    rtol, atol = tol(dtype)
    for a, w, what in ((got, want, "packed"), (saved, saved_ref, "saved"), (out_only, want, "packed (save=False)")):
        a = _host(cuda, a)
        assert a.dtype == dtype and a.shape == w.shape and a.flags.c_contiguous, what
        np.testing.assert_allclose(a, w, rtol, atol, err_msg=what)
    want_grads = ref.rnn_backward(kind, g, saved_ref, x, k, r, mask, reverse, act, zero_masked, bias)
    for name, a, w in zip(("gx", "gkernel", "grecurrent", "gbias"), grads[:4], want_grads[:4]):
        assert (a is None) == (w is None), name
        if w is not None:
            a = _host(cuda, a)
            assert a.shape == w.shape and a.dtype == dtype and a.flags.c_contiguous, name
            np.testing.assert_allclose(a, w, rtol * 10, atol * 10, err_msg=name)
    assert len(grads[4]) == len(want_grads[4]) == len(s)
    for a, w in zip(grads[4], want_grads[4]):
        a = _host(cuda, a)
        assert a.dtype == dtype and a.shape == w.shape
        np.testing.assert_allclose(a, w, rtol * 10, atol * 10, err_msg="gstates")
    for a, w in zip((dx, dk, dr, db, dm, dg) + ds, (x, k, r, b, mask, g) + s):  # inputs (the states above all) untouched
        if w is not None:
            np.testing.assert_array_equal(_host(cuda, a), w)


def test_rnn_step_is_a_few_launches(cuda, ref):  # noqa: F811
    """The Python work per time step is one product and one kernel: the launches of rnn.cu grow
    by one per step and direction, whatever the batch and the units."""
    rng = np.random.default_rng(0)
    counts = []
    for t, n, u in ((3, 2, 3), (7, 2, 3), (7, 9, 17)):
        x = rng.standard_normal((n, t, 4)).astype(np.float32)
        k, r, b = weights(rng, "lstm", 4, u, np.float32)
        s = tuple(_dev(cuda, a) for a in states(rng, "lstm", n, u, np.float32))
        args = [_dev(cuda, a) for a in (x, k, r, b)]
        fakecupy.reset_counters()
        out, saved = cuda.rnn_forward("lstm", *args, s)
        fwd = fakecupy.launches
        fakecupy.reset_counters()
        cuda.rnn_backward("lstm", out, saved, *args[:3])
        counts.append((t, fwd, fakecupy.launches))
    assert [(f, b) for t, f, b in counts] == [(t, t) for t, _, _ in counts]


def _model(kind):
    nnrs.random.seed(5)
    if kind == "bidirectional":
        body = [layers.Masking(0.0), layers.Bidirectional(layers.LSTM(5, return_sequences=True)), layers.GRU(4)]
    else:
        cls = {"lstm": layers.LSTM, "gru": layers.GRU, "simple_rnn": layers.SimpleRNN}[kind]
        body = [cls(6, return_sequences=True), cls(5, go_backwards=True)]
    m = nnrs.Sequential([layers.Input((7, 3))] + body + [layers.Dense(3)])
    m.compile(optimizer=nnrs.optimizers.Adam(0.01), loss=nnrs.losses.SparseCategoricalCrossentropy(from_logits=True))
    return m


@pytest.mark.parametrize("kind", ["lstm", "gru", "simple_rnn", "bidirectional"])
def test_recurrent_models_train_on_cuda_like_numpy(cuda, kind):  # noqa: F811
    m = _model(kind)
    rng = np.random.default_rng(1)
    x = rng.standard_normal((6, 7, 3)).astype(np.float32)
    if kind == "bidirectional":
        x[0, 5:] = 0.0  # padded steps the Masking layer masks
        x[3, :2] = 0.0
    y = rng.integers(0, 3, size=6).astype(np.int64)
    r = nnrs.check_parity(m, x, y, backends=("numpy", "cuda"), steps=3)
    assert r.ok, str(r)
    assert r.max_rel("output") < 1e-4


def test_recurrent_training_step_makes_no_host_copy(cuda):  # noqa: F811
    """Forward, loss, backward through time and the update of a masked Bidirectional LSTM + GRU +
    SimpleRNN model move nothing to the host (the mask, too, stays on the device)."""
    nnrs.random.seed(2)
    m = nnrs.Sequential([layers.Input((7, 3)), layers.Masking(0.0), layers.Bidirectional(layers.LSTM(4, return_sequences=True)),
                         layers.GRU(5, return_sequences=True), layers.SimpleRNN(3, activation="relu"), layers.Dense(3)])
    m.compile(optimizer=nnrs.optimizers.Adam(0.01), loss=nnrs.losses.SparseCategoricalCrossentropy(from_logits=True))
    m.to("cuda")
    rng = np.random.default_rng(0)
    x = rng.standard_normal((5, 7, 3)).astype(np.float32)
    x[1, 4:] = 0.0
    y = rng.integers(0, 3, size=5).astype(np.int64)
    loss_fn = nnrs.losses.SparseCategoricalCrossentropy(from_logits=True)
    xd = nnrs.Tensor(x, backend=cuda)
    m.optimizer.build(m.trainable_variables)
    for _ in range(2):
        fakecupy.reset_counters()
        loss = loss_fn(y, m(xd, training=True))
        loss.backward()
        m.optimizer.apply_gradients([(v.grad, v) for v in m.trainable_variables])
        assert fakecupy.transfers == 0, f"{fakecupy.transfers} device-to-host copies in one training step"
        assert fakecupy.launches > 4 * 7  # the step kernels ran: 4 recurrent layers (2 directions) x 7 steps, forward alone
        for v in m.trainable_variables:
            v.grad = None
