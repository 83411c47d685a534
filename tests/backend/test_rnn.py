"""rnn_forward / rnn_backward (SimpleRNN, GRU, LSTM over a whole sequence): the cpu backend
equals the numpy oracle on hypothesis-drawn sizes, masks, directions and dtypes; the oracle
equals numbers written by real Keras 3 (tests/fixtures/keras3/make_rnn_kernel_fixtures.py);
bad arguments are the same errors on both backends."""

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import tol

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "keras3" / "rnn_kernels.npz"
GATES = {"simple_rnn": 1, "gru": 3, "lstm": 4}


def weights(rng, kind, d, u, dtype, bias=True, scale=0.6):
    g = GATES[kind] * u
    k = (rng.standard_normal((d, g)) * scale).astype(dtype)
    r = (rng.standard_normal((u, g)) * scale).astype(dtype)
    b = None
    if bias:
        b = (rng.standard_normal((2, g) if kind == "gru" else (g,)) * scale).astype(dtype)
    return k, r, b


def states(rng, kind, n, u, dtype):
    return tuple((rng.standard_normal((n, u)) * 0.5).astype(dtype) for _ in range(2 if kind == "lstm" else 1))


@st.composite
def masks(draw, n, t):
    """None, a random mask, right padding (lengths), or a mask with fully masked rows."""
    how = draw(st.sampled_from(["none", "random", "lengths", "rows"]))
    if how == "none":
        return None
    rng = np.random.default_rng(draw(st.integers(0, 2**31)))
    if how == "random":
        return rng.random((n, t)) < 0.7
    if how == "lengths":
        lengths = rng.integers(0, t + 1, size=n)
        return np.arange(t)[None, :] < lengths[:, None]
    m = rng.random((n, t)) < 0.6
    m[rng.integers(0, n)] = False
    return m


@settings(max_examples=60, deadline=None)
@given(data=st.data(), kind=st.sampled_from(["simple_rnn", "gru", "lstm"]), n=st.integers(1, 5), t=st.integers(1, 7),
       d=st.integers(1, 6), u=st.integers(1, 9), dtype=st.sampled_from([np.float32, np.float64]), reverse=st.booleans(),
       zero_masked=st.booleans(), bias=st.booleans(), act=st.sampled_from(["tanh", "relu"]), seed=st.integers(0, 2**31))
def test_rnn_matches_numpy(kernels, ref, data, kind, n, t, d, u, dtype, reverse, zero_masked, bias, act, seed):
    act = act if kind == "simple_rnn" else "tanh"
    rng = np.random.default_rng(seed)
    mask = data.draw(masks(n, t))
    if mask is not None and data.draw(st.booleans()):
        mask = mask.astype(np.uint8)
    x = rng.standard_normal((n, t, d)).astype(dtype)
    k, r, b = weights(rng, kind, d, u, dtype, bias)
    s = states(rng, kind, n, u, dtype)
    args = (kind, x, k, r, b, s, mask, reverse, act, zero_masked)
    want, saved_ref = ref.rnn_forward(*args)
    got, saved = kernels.rnn_forward(*args)
    assert got.dtype == dtype and saved.dtype == dtype and got.shape == want.shape == (n, t + len(s), u)
    np.testing.assert_allclose(got, want, *tol(dtype))
    np.testing.assert_allclose(saved, saved_ref, *tol(dtype))
    out_only, none = kernels.rnn_forward(*args, save=False)
    assert none is None
    np.testing.assert_array_equal(out_only, got)
    g = rng.standard_normal(want.shape).astype(dtype)
    bargs = (kind, g, saved, x, k, r, mask, reverse, act, zero_masked, bias)
    got_grads = kernels.rnn_backward(*bargs)
    want_grads = ref.rnn_backward(kind, g, saved_ref, *bargs[3:])
    rtol, atol = tol(dtype)
    for name, a, w in zip(("gx", "gkernel", "grecurrent", "gbias"), got_grads[:4], want_grads[:4]):
        assert (a is None) == (w is None), name
        if w is not None:
            assert a.shape == w.shape and a.dtype == dtype, name
            np.testing.assert_allclose(a, w, rtol * 10, atol * 10, err_msg=name)
    assert len(got_grads[4]) == len(want_grads[4]) == len(s)
    for a, w in zip(got_grads[4], want_grads[4]):
        np.testing.assert_allclose(a, w, rtol * 10, atol * 10)


def test_rnn_matches_numpy_on_larger_batches_split_across_threads(kernels, ref):
    """Sizes where the kernels kernel cuts the batch into chunks that run on several threads."""
    import nnrs

    rng = np.random.default_rng(3)
    old = nnrs.get_num_threads() if hasattr(nnrs, "get_num_threads") else None
    for kind in ("lstm", "gru", "simple_rnn"):
        n, t, d, u = 37, 9, 24, 40
        x = rng.standard_normal((n, t, d))
        k, r, b = weights(rng, kind, d, u, np.float64, scale=0.2)
        s = states(rng, kind, n, u, np.float64)
        mask = rng.random((n, t)) < 0.8
        args = (kind, x, k, r, b, s, mask, True, "tanh", False)
        want, sv_ref = ref.rnn_forward(*args)
        got, sv = kernels.rnn_forward(*args)
        np.testing.assert_allclose(got, want, 1e-10, 1e-12)
        g = rng.standard_normal(want.shape)
        for a, w in zip(kernels.rnn_backward(kind, g, sv, x, k, r, mask, True, "tanh", False, True)[:4],
                        ref.rnn_backward(kind, g, sv_ref, x, k, r, mask, True, "tanh", False, True)[:4]):
            np.testing.assert_allclose(a, w, 1e-9, 1e-11)
    if old is not None:
        nnrs.set_num_threads(old)


def _fixture_cases():
    if not FIXTURES.exists():
        return []
    with np.load(FIXTURES) as z:
        return sorted({k.split("/")[0] for k in z.files})


@pytest.mark.parametrize("case", _fixture_cases())
def test_oracle_and_cpu_match_keras3(ref, kernels, case):
    with np.load(FIXTURES) as z:
        a = {k.split("/")[1]: z[k] for k in z.files if k.startswith(case + "/")}
    kind = case.split("_rev")[0].replace("_tanh", "").replace("_relu", "")
    act = "relu" if "_relu" in case else "tanh"
    reverse, masked, zero = "_rev1" in case, "_mask1" in case, "_zero1" in case
    s = (a["h0"], a["c0"]) if kind == "lstm" else (a["h0"],)
    mask = a["mask"].astype(bool) if masked else None
    t = a["x"].shape[1]
    for be in (ref, kernels):
        out, _ = be.rnn_forward(kind, a["x"], a["kernel"], a["recurrent"], a["bias"], s, mask, reverse, act, zero)
        np.testing.assert_allclose(out[:, :t], a["seq"], 1e-5, 1e-6, err_msg=f"{be.name} sequence")
        np.testing.assert_allclose(out[:, t], a["h"], 1e-5, 1e-6, err_msg=f"{be.name} final h")
        if kind == "lstm":
            np.testing.assert_allclose(out[:, t + 1], a["c"], 1e-5, 1e-6, err_msg=f"{be.name} final c")


def test_keras_fixtures_exist():
    assert len(_fixture_cases()) == 20, f"expected 20 Keras 3 cases in {FIXTURES}"


def test_masked_steps_carry_states_and_outputs(kernels, ref):
    """The Keras 3 rules, spelled out: a masked step keeps the states, its output is the previous
    output (zero before the first real step) or zero with zero_masked."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 4, 3))
    k, r, b = weights(rng, "lstm", 3, 2, np.float64)
    s = states(rng, "lstm", 2, 2, np.float64)
    mask = np.array([[False, True, False, True], [True, True, False, False]])
    for be in (ref, kernels):
        out, _ = be.rnn_forward("lstm", x, k, r, b, s, mask, False, "tanh", False)
        np.testing.assert_array_equal(out[0, 0], 0.0)           # before any real step
        np.testing.assert_array_equal(out[0, 2], out[0, 1])     # carried
        np.testing.assert_array_equal(out[1, 3], out[1, 1])
        np.testing.assert_array_equal(out[1, 4], out[1, 1])     # final h = last real step's
        zout, _ = be.rnn_forward("lstm", x, k, r, b, s, mask, False, "tanh", True)
        np.testing.assert_array_equal(zout[0, 2], 0.0)
        np.testing.assert_array_equal(zout[:, 4:], out[:, 4:])  # states do not depend on it
        full, _ = be.rnn_forward("lstm", x, k, r, b, s, np.zeros((2, 4), bool), False, "tanh", False)
        np.testing.assert_array_equal(full[:, 4], s[0])          # all masked: states untouched
        np.testing.assert_array_equal(full[:, 5], s[1])


def test_reverse_is_the_forward_of_the_flipped_sequence(kernels):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((3, 5, 2))
    k, r, b = weights(rng, "gru", 2, 3, np.float64)
    s = states(rng, "gru", 3, 3, np.float64)
    mask = rng.random((3, 5)) < 0.7
    rev, _ = kernels.rnn_forward("gru", x, k, r, b, s, mask, True, "tanh", False)
    fwd, _ = kernels.rnn_forward("gru", np.ascontiguousarray(x[:, ::-1]), k, r, b, s, np.ascontiguousarray(mask[:, ::-1]), False,
                             "tanh", False)
    np.testing.assert_allclose(rev, fwd, 1e-12, 1e-14)


def test_empty_sequence_returns_the_initial_states(kernels, ref):
    rng = np.random.default_rng(2)
    k, r, b = weights(rng, "lstm", 3, 4, np.float32)
    s = states(rng, "lstm", 2, 4, np.float32)
    x = np.zeros((2, 0, 3), np.float32)
    for be in (ref, kernels):
        out, saved = be.rnn_forward("lstm", x, k, r, b, s)
        assert out.shape == (2, 2, 4) and saved.shape == (0,)
        np.testing.assert_array_equal(out[:, 0], s[0])
        gx, gk, gr, gb, gs = be.rnn_backward("lstm", np.ones((2, 2, 4), np.float32), saved, x, k, r)
        assert gx.shape == (2, 0, 3)
        np.testing.assert_array_equal(gk, 0)
        np.testing.assert_array_equal(gs[0], 1)


BAD = [
    # (name, change to the good arguments, exception, words in the message)
    ("kind", dict(kind="rnn"), ValueError, "kind must be"),
    ("x_rank", dict(x=np.zeros((2, 3))), ValueError, "x must be 3-D"),
    ("kernel_shape", dict(kernel=np.zeros((4, 16))), ValueError, "kernel must have shape (3, 16)"),
    ("recurrent_shape", dict(recurrent=np.zeros((4, 12))), ValueError, "recurrent of a lstm"),
    ("bias_shape", dict(bias=np.zeros((2, 16))), ValueError, "bias of a lstm must have shape (16,)"),
    ("states_count", dict(states=(np.zeros((2, 4)),)), ValueError, "takes 2 state(s), got 1"),
    ("state_shape", dict(states=(np.zeros((2, 4)), np.zeros((3, 4)))), ValueError, "states[1] must have shape (2, 4)"),
    ("mask_shape", dict(mask=np.ones((2, 4), bool)), ValueError, "mask must have shape (2, 5)"),
    ("mask_dtype", dict(mask=np.ones((2, 5), np.float64)), TypeError, "mask must be a bool or uint8"),
    ("dtype_mix", dict(kernel=np.zeros((3, 16), np.float32)), TypeError, "must have the same dtype"),
    ("int_x", dict(x=np.zeros((2, 5, 3), np.int64)), TypeError, "x must be a float32 or float64"),
    ("activation", dict(activation="sigmoid"), ValueError, "activation must be"),
]


@pytest.mark.parametrize("name, change, exc, words", BAD, ids=[b[0] for b in BAD])
def test_bad_forward_arguments_are_clear_errors(backend, name, change, exc, words):
    args = dict(kind="lstm", x=np.zeros((2, 5, 3)), kernel=np.zeros((3, 16)), recurrent=np.zeros((4, 16)), bias=np.zeros(16),
                states=(np.zeros((2, 4)), np.zeros((2, 4))), mask=None)
    args.update(change)
    with pytest.raises(exc, match="rnn_forward") as e:
        backend.rnn_forward(**args)
    assert words in str(e.value)


def test_bad_backward_arguments_are_clear_errors(backend):
    x, k, r, h0, g = (backend.asarray(np.zeros(s)) for s in ((2, 5, 3), (3, 12), (4, 12), (2, 4), (2, 5, 4)))  # the backend's arrays
    out, saved = backend.rnn_forward("gru", x, k, r, None, (h0,))
    with pytest.raises(ValueError, match="rnn_backward: g must have the packed output's shape"):
        backend.rnn_backward("gru", g, saved, x, k, r)
    with pytest.raises(ValueError, match="rnn_backward: saved must have shape"):
        backend.rnn_backward("gru", out, saved[:-1], x, k, r)


def test_binding_rejects_bad_input_without_the_contract(core):
    """The Rust binding's own checks (no contract in front): errors, never a crash."""
    x, k, r = np.zeros((2, 5, 3)), np.zeros((3, 16)), np.zeros((4, 16))
    s = (np.zeros((2, 4)), np.zeros((2, 4)))
    with pytest.raises(ValueError, match="rnn_forward: kernel must have shape"):
        core.rnn_forward("lstm", x, np.zeros((3, 15)), r, None, s)
    with pytest.raises(ValueError, match="rnn_forward: a lstm takes 2 state"):
        core.rnn_forward("lstm", x, k, r, None, s[:1])
    with pytest.raises(TypeError, match="rnn_forward: states must be a tuple"):
        core.rnn_forward("lstm", x, k, r, None, [s[0], s[1]])
    with pytest.raises(TypeError, match="rnn_forward: mask must be a bool or uint8"):
        core.rnn_forward("lstm", x, k, r, None, s, np.ones((2, 5)))
    with pytest.raises(ValueError, match="rnn_forward: mask must have shape"):
        core.rnn_forward("lstm", x, k, r, None, s, np.ones((5, 2), bool))
    with pytest.raises(TypeError, match="rnn_forward: h0 must have dtype"):
        core.rnn_forward("lstm", x, k, r, None, (np.zeros((2, 4), np.float32), s[1]))
    out, saved = core.rnn_forward("lstm", x, k, r, None, s)
    with pytest.raises(ValueError, match="rnn_backward: saved must have shape"):
        core.rnn_backward("lstm", out, saved[1:], x, k, r)


@pytest.mark.parametrize("n, t, d, u", [(0, 3, 2, 2), (2, 3, 0, 2), (2, 3, 2, 0), (1, 1, 1, 1), (2, 0, 3, 2)])
@pytest.mark.parametrize("kind", ["simple_rnn", "gru", "lstm"])
def test_degenerate_sizes_agree(kernels, ref, kind, n, t, d, u):
    """Empty batch, no features, no units, one of each, no steps: same shapes and values."""
    rng = np.random.default_rng(4)
    x = rng.standard_normal((n, t, d))
    k, r, b = weights(rng, kind, d, u, np.float64)
    s = states(rng, kind, n, u, np.float64)
    (o1, s1), (o2, s2) = ref.rnn_forward(kind, x, k, r, b, s), kernels.rnn_forward(kind, x, k, r, b, s)
    assert o1.shape == o2.shape == (n, t + len(s), u)
    np.testing.assert_allclose(o2, o1, 1e-12, 1e-12)
    g = rng.standard_normal(o1.shape)
    want, got = ref.rnn_backward(kind, g, s1, x, k, r), kernels.rnn_backward(kind, g, s2, x, k, r)
    for a, w in zip(got[:4] + tuple(got[4]), want[:4] + tuple(want[4])):
        assert a.shape == w.shape
        np.testing.assert_allclose(a, w, 1e-12, 1e-12)
