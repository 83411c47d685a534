"""The gate kernels of cuda_kernels/rnn.cu (lstm / gru / simple_rnn, step forward and step
backward), compiled as C++ with the emulation header and launched over cuda_launch's grid (also
capped at 1, 2, 3 blocks so the grid-stride loops wrap), with poisoned guard zones around every
array: one step equals the oracle's formulas written out here in numpy, and a whole sequence
driven the way the cuda backend drives it (numpy products between the launches) equals
numpy_backend.rnn_forward / rnn_backward on hypothesis shapes, masks, directions and dtypes."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from nnrs.backend import cuda_launch

from tests.backend.test_rnn import masks, states, weights
from tests.conftest import tol

from .emulation.loader import Guarded

KINDS = st.sampled_from(["lstm", "gru", "simple_rnn"])
DTYPES = st.sampled_from([np.float32, np.float64])
MAX_GRID = st.sampled_from([cuda_launch.MAX_GRID, cuda_launch.MAX_GRID, 1, 2, 3])
GATES = {"simple_rnn": 1, "gru": 3, "lstm": 4}
SAVED = {"simple_rnn": 1, "gru": 4, "lstm": 5}


def _sig(v):
    return 1.0 / (1.0 + np.exp(-v))


def _g(a):
    return None if a is None else Guarded(a)


def step_forward_reference(kind, act, xw, hu, h, c):
    """The oracle's cell equations for one step: (new h, new c or None, saved gate values), xw
    the input projection with its bias, hu the recurrent one (GRU: with its bias)."""
    u = h.shape[1]
    if kind == "simple_rnn":
        hn = np.tanh(xw + hu) if act == "tanh" else np.maximum(xw + hu, 0)
        return hn, None, hn
    if kind == "gru":
        z, r = _sig(xw[:, :u] + hu[:, :u]), _sig(xw[:, u:2 * u] + hu[:, u:2 * u])
        hh = np.tanh(xw[:, 2 * u:] + r * hu[:, 2 * u:])
        return z * h + (1 - z) * hh, None, np.concatenate([z, r, hh, hu[:, 2 * u:]], axis=1)
    i, f = _sig(xw[:, :u] + hu[:, :u]), _sig(xw[:, u:2 * u] + hu[:, u:2 * u])
    g, o = np.tanh(xw[:, 2 * u:3 * u] + hu[:, 2 * u:3 * u]), _sig(xw[:, 3 * u:] + hu[:, 3 * u:])
    cn = f * c + i * g
    return o * np.tanh(cn), cn, np.concatenate([i, f, g, o, np.tanh(cn)], axis=1)


@settings(max_examples=60, deadline=None)
@given(kind=KINDS, n=st.one_of(st.integers(0, 6), st.sampled_from([40, 70])), t=st.integers(1, 4), u=st.integers(1, 9),
       dtype=DTYPES, act=st.sampled_from(["tanh", "relu"]), bias=st.booleans(), masked=st.booleans(), save=st.booleans(),
       zero_masked=st.booleans(), seed=st.integers(0, 2**31), max_grid=MAX_GRID, data=st.data())
def test_one_step_forward_matches_the_cell_equations(emu, kind, n, t, u, dtype, act, bias, masked, save, zero_masked, seed, max_grid,
                                                     data):
    act = act if kind == "simple_rnn" else "tanh"
    rng = np.random.default_rng(seed)
    G, K = GATES[kind] * u, 2 if kind == "lstm" else 1
    k = data.draw(st.integers(0, t - 1))
    tt = data.draw(st.sampled_from([k, t - 1 - k]))
    xp = rng.standard_normal((n, t, G)).astype(dtype)
    hr = rng.standard_normal((n, G)).astype(dtype)
    b_in = rng.standard_normal(G).astype(dtype) if bias else None
    b_rec = rng.standard_normal(G).astype(dtype) if bias and kind == "gru" else None
    h, c = rng.standard_normal((n, u)).astype(dtype), rng.standard_normal((n, u)).astype(dtype)
    mask = (rng.random((n, t)) < 0.6).astype(np.uint8) if masked else None
    out = rng.standard_normal((n, t + K, u)).astype(dtype)  # slot k - 1 holds "the previous output"
    h_, c_, out_, hr_ = Guarded(h), Guarded(c), Guarded(out), Guarded(hr)
    hprev_ = Guarded(np.zeros((n, t, u), dtype)) if save else None
    cprev_ = Guarded(np.zeros((n, t, u), dtype)) if save else None
    gates_ = Guarded(np.zeros((n, t, SAVED[kind] * u), dtype)) if save else None
    xp_, b_in_, m_ = Guarded(xp), _g(b_in), _g(mask)
    zm = int(zero_masked)
    if kind == "lstm":
        args = (xp_, b_in_, hr_, h_, c_, m_, out_, hprev_, cprev_, gates_, n, t, u, k, tt, zm)
    elif kind == "gru":
        args = (xp_, b_in_, hr_, _g(b_rec), h_, m_, out_, hprev_, gates_, n, t, u, k, tt, zm)
    else:
        args = (xp_, b_in_, hr_, h_, m_, out_, hprev_, gates_, n, t, u, k, tt, zm, ("tanh", "relu").index(act))
    emu["rnn.cu"].launch(f"{kind}_step_forward", dtype, n * u, *args, max_grid=max_grid)

    xw = xp[:, tt] + (b_in if bias else 0)
    hu = hr + (b_rec if b_rec is not None else 0)
    hn, cn, sv = step_forward_reference(kind, act, xw, hu, h, c)
    real = np.ones((n, 1), bool) if mask is None else mask[:, tt:tt + 1] != 0
    rtol, atol = tol(dtype)
    np.testing.assert_allclose(h_.check("h"), np.where(real, hn, h), rtol, atol)
    if kind == "lstm":
        np.testing.assert_allclose(c_.check("c"), np.where(real, cn, c), rtol, atol)
    want_out = out.copy()
    want_out[:, k] = np.where(real, hn, 0 if zero_masked or k == 0 else out[:, k - 1])
    np.testing.assert_allclose(out_.check("out"), want_out, rtol, atol)
    if save:
        want_hp, want_cp, want_gs = np.zeros((n, t, u), dtype), np.zeros((n, t, u), dtype), np.zeros((n, t, SAVED[kind] * u), dtype)
        want_hp[:, tt], want_cp[:, tt], want_gs[:, tt] = h, c, sv
        np.testing.assert_array_equal(hprev_.check("hprev"), want_hp)
        if kind == "lstm":
            np.testing.assert_array_equal(cprev_.check("cprev"), want_cp)
        np.testing.assert_allclose(gates_.check("gates"), want_gs, rtol, atol)
    for a, w, what in ((xp_, xp, "xp"), (hr_, hr, "hr"), (m_, mask, "mask")):
        if a is not None:
            np.testing.assert_array_equal(a.check(what), w)


def _forward(emu, kind, x, kernel, recurrent, bias, s, mask, reverse, act, zero_masked, save, max_grid):
    """rnn_forward as the cuda backend runs it: numpy products, one emulated kernel per step."""
    n, t, d = x.shape
    u = recurrent.shape[0]
    dt = x.dtype
    K = 2 if kind == "lstm" else 1
    xp_ = Guarded((x.reshape(n * t, d) @ kernel).reshape(n, t, GATES[kind] * u))
    b_in = b_rec = None
    if bias is not None:
        b_in, b_rec = (Guarded(bias[0]), Guarded(bias[1])) if kind == "gru" else (Guarded(bias), None)
    h_, c_ = Guarded(s[0]), Guarded(s[1] if kind == "lstm" else np.zeros((n, u), dt))
    m_ = None if mask is None else Guarded(mask.astype(np.uint8))
    out_ = Guarded(np.full((n, t + K, u), np.nan, dt))
    hprev_, cprev_, gates_ = (Guarded(np.full((n, t, w), np.nan, dt)) for w in (u, u, SAVED[kind] * u)) if save else (None,) * 3
    hr_ = Guarded(np.zeros((n, GATES[kind] * u), dt))
    for k in range(t):
        tt = t - 1 - k if reverse else k
        hr_.inner[...] = h_.inner @ recurrent
        if kind == "lstm":
            args = (xp_, b_in, hr_, h_, c_, m_, out_, hprev_, cprev_, gates_, n, t, u, k, tt, int(zero_masked))
        elif kind == "gru":
            args = (xp_, b_in, hr_, b_rec, h_, m_, out_, hprev_, gates_, n, t, u, k, tt, int(zero_masked))
        else:
            args = (xp_, b_in, hr_, h_, m_, out_, hprev_, gates_, n, t, u, k, tt, int(zero_masked), ("tanh", "relu").index(act))
        emu["rnn.cu"].launch(f"{kind}_step_forward", dt, n * u, *args, max_grid=max_grid)
    out = out_.check("out")
    out[:, t] = h_.check("h")
    if kind == "lstm":
        out[:, t + 1] = c_.check("c")
    if not save:
        return out, None
    parts = [hprev_.check("hprev")] + ([cprev_.check("cprev")] if kind == "lstm" else []) + [gates_.check("gates")]
    return out, np.concatenate([p.ravel() for p in parts])


def _backward(emu, kind, g, saved, x, kernel, recurrent, mask, reverse, act, zero_masked, max_grid):
    """rnn_backward as the cuda backend runs it; returns (gx, gk, gr, gbias, gstates)."""
    n, t, d = x.shape
    u = recurrent.shape[0]
    dt = x.dtype
    G, s = GATES[kind] * u, n * t * u
    hprev = saved[:s].reshape(n, t, u)
    cprev = saved[s:2 * s].reshape(n, t, u) if kind == "lstm" else None
    gates = saved[(2 * s if kind == "lstm" else s):].reshape(n, t, SAVED[kind] * u)
    g_, hp_, gs_ = Guarded(g), Guarded(hprev), Guarded(gates)
    cp_ = None if cprev is None else Guarded(cprev)
    m_ = None if mask is None else Guarded(mask.astype(np.uint8))
    rest_ = Guarded(g[:, t])
    dc_ = Guarded(g[:, t + 1]) if kind == "lstm" else None
    carry_ = Guarded(np.zeros((n, u), dt))
    dgx_ = Guarded(np.full((n, t, G), np.nan, dt))
    dgr_ = Guarded(np.full((n, t, G), np.nan, dt)) if kind == "gru" else None
    dstep_ = Guarded(np.full((n, G), np.nan, dt))
    mm_ = None
    for k in reversed(range(t)):
        tt = t - 1 - k if reverse else k
        if kind == "lstm":
            args = (g_, mm_, rest_, dc_, carry_, cp_, gs_, m_, dgx_, dstep_, n, t, u, k, tt, int(zero_masked))
        elif kind == "gru":
            args = (g_, mm_, rest_, carry_, hp_, gs_, m_, dgx_, dgr_, dstep_, n, t, u, k, tt, int(zero_masked))
        else:
            args = (g_, mm_, rest_, carry_, gs_, m_, dgx_, dstep_, n, t, u, k, tt, int(zero_masked), ("tanh", "relu").index(act))
        emu["rnn.cu"].launch(f"{kind}_step_backward", dt, n * u, *args, max_grid=max_grid)
        if mm_ is None:
            mm_ = Guarded(np.zeros((n, u), dt))
        mm_.inner[...] = dstep_.inner @ recurrent.T
    gh = rest_.check("rest") + (0 if mm_ is None else mm_.check("dh_mm"))
    dgx = dgx_.check("dgx").reshape(n * t, G)
    dgr = dgr_.check("dgr").reshape(n * t, G) if kind == "gru" else dgx
    for a, w, what in ((g_, g, "g"), (hp_, hprev, "hprev"), (gs_, gates, "gates"), (carry_, None, "carry"), (dstep_, None, "dstep")):
        got = a.check(what)
        if w is not None:
            np.testing.assert_array_equal(got, w)
    gb = np.stack([dgx.sum(0), dgr.sum(0)]) if kind == "gru" else dgx.sum(0)
    gstates = (gh, dc_.check("dc")) if kind == "lstm" else (gh,)
    return (dgx @ kernel.T).reshape(n, t, d), x.reshape(n * t, d).T @ dgx, hprev.reshape(n * t, u).T @ dgr, gb, gstates


@settings(max_examples=60, deadline=None)
@given(data=st.data(), kind=KINDS, n=st.integers(1, 5), t=st.integers(0, 6), d=st.integers(1, 5), u=st.integers(1, 8), dtype=DTYPES,
       reverse=st.booleans(), zero_masked=st.booleans(), bias=st.booleans(), act=st.sampled_from(["tanh", "relu"]),
       save=st.booleans(), seed=st.integers(0, 2**31), max_grid=MAX_GRID)
def test_sequence_through_the_kernels_matches_numpy(emu, ref, data, kind, n, t, d, u, dtype, reverse, zero_masked, bias, act, save,
                                                    seed, max_grid):
    act = act if kind == "simple_rnn" else "tanh"
    rng = np.random.default_rng(seed)
    mask = data.draw(masks(n, t)) if t else None
    x = rng.standard_normal((n, t, d)).astype(dtype)
    k, r, b = weights(rng, kind, d, u, dtype, bias)
    s = states(rng, kind, n, u, dtype)
    args = (kind, x, k, r, b, s, mask, reverse, act, zero_masked)
    want, saved_ref = ref.rnn_forward(*args)
    got, saved = _forward(emu, *args, save, max_grid)
    rtol, atol = tol(dtype)
    np.testing.assert_allclose(got, want, rtol, atol)
    if not save:
        assert saved is None
        return
    np.testing.assert_allclose(saved, saved_ref, rtol, atol)
    g = rng.standard_normal(want.shape).astype(dtype)
    got_g = _backward(emu, kind, g, saved, x, k, r, mask, reverse, act, zero_masked, max_grid)
    want_g = ref.rnn_backward(kind, g, saved_ref, x, k, r, mask, reverse, act, zero_masked, True)
    for name, a, w in zip(("gx", "gkernel", "grecurrent", "gbias"), got_g[:4], want_g[:4]):
        np.testing.assert_allclose(a, w, rtol * 10, atol * 10, err_msg=name)
    for a, w in zip(got_g[4], want_g[4]):
        np.testing.assert_allclose(a, w, rtol * 10, atol * 10, err_msg="gstates")


def test_relu_simple_rnn_keeps_a_nan_as_numpy(emu, ref):
    """relu of a NaN pre-activation is NaN (numpy's maximum), not 0, and it reaches the later steps."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 4, 3))
    x[0, 1, 0] = np.nan
    k, r, b = weights(rng, "simple_rnn", 3, 5, np.float64)
    s = states(rng, "simple_rnn", 2, 5, np.float64)
    args = ("simple_rnn", x, k, r, b, s, None, False, "relu", False)
    want, _ = ref.rnn_forward(*args)
    got, _ = _forward(emu, *args, True, cuda_launch.MAX_GRID)
    assert np.isnan(want[0, 1:]).all() and not np.isnan(want[1]).any()
    np.testing.assert_allclose(got, want, 1e-12, 1e-12)
