"""Recurrent layers: numbers against Keras 3 (fixtures written by tests/fixtures/keras3/make_rnn_fixtures.py),
gradients by finite differences, masks, states, stateful, dropout, configs, saving, the fused path."""

import json
import os
import sys
import types

import nnrs
import numpy as np
import pytest
from nnrs import ops
from nnrs.layers import recurrent as R

L = nnrs.layers
HERE = os.path.dirname(os.path.abspath(__file__))
FIX = os.path.join(HERE, "fixtures", "keras3")
sys.path.insert(0, FIX)
import make_rnn_fixtures as MRF  # noqa: E402

sys.path.remove(FIX)

_NPZ = np.load(os.path.join(FIX, "rnn_layers.npz"))


def _run_case(name, backend_name="cpu"):
    with nnrs.backend.use(backend_name):
        x, mask, states = MRF.case_inputs(name)
        layer = MRF.make_case_layer(nnrs, name)
        layer.build((None, MRF.T, MRF.D))
        n = len(layer.weights)
        layer.set_weights([_NPZ[f"{name}/w{i}"] for i in range(n)])
        return MRF.call_case(layer, name, x, None if mask is None else nnrs.Tensor(mask), states)


@pytest.mark.parametrize("name", list(MRF.CASES))
def test_matches_keras(name, backend):
    ys = _run_case(name, backend.name)
    want = [_NPZ[k] for k in sorted((k for k in _NPZ.files if k.startswith(f"{name}/y")), key=lambda k: int(k.split("/y")[1]))]
    assert len(ys) == len(want)
    for y, w in zip(ys, want):
        assert y.shape == w.shape
        np.testing.assert_allclose(y, w, atol=1e-5, rtol=1e-5)


def test_fixture_cases_are_the_script_cases():
    assert json.loads(str(_NPZ["cases"])).keys() == MRF.CASES.keys()


# ---- whole models: Keras' files in nnrs, nnrs' files (opened by Keras in make_rnn_fixtures.py --check-nnrs) ----

MODELS = ["simple", "gru", "lstm", "bidi", "stacked"]


@pytest.mark.parametrize("prefix", ["", "nnrs_"])
@pytest.mark.parametrize("name", MODELS)
def test_saved_models_load_with_their_predictions(name, prefix):
    m = nnrs.models.load_model(os.path.join(FIX, f"{prefix}rnn_{name}.keras"))
    x = np.load(os.path.join(FIX, "rnn_x.npy"))
    np.testing.assert_allclose(m.predict(x, verbose=0), np.load(os.path.join(FIX, f"{prefix}rnn_{name}_pred.npy")), atol=1e-5)


@pytest.mark.parametrize("name", MODELS)
def test_models_round_trip_through_keras_files(name, tmp_path):
    m = MRF.models(nnrs)[name]
    x = np.load(os.path.join(FIX, "rnn_x.npy"))
    before = m.predict(x, verbose=0)
    m.save(tmp_path / "m.keras")
    back = nnrs.models.load_model(tmp_path / "m.keras")
    np.testing.assert_allclose(back.predict(x, verbose=0), before, atol=1e-6)
    assert [type(l).__name__ for l in back.layers] == [type(l).__name__ for l in m.layers]


# ---- gradients (float64, finite differences) ----------------------------------------------------

def _f64_layer(make, shape):
    with nnrs.config.floatx_scope("float64") if hasattr(nnrs.config, "floatx_scope") else _Floatx("float64"):
        layer = make()
        layer.build(shape)
    return layer


class _Floatx:
    def __init__(self, dt):
        self.dt = dt

    def __enter__(self):
        self.old = nnrs.config.floatx()
        nnrs.config.set_floatx(self.dt)

    def __exit__(self, *exc):
        nnrs.config.set_floatx(self.old)


GRAD_CASES = {
    "simple_rnn": lambda: L.SimpleRNN(3, return_sequences=True),
    "gru": lambda: L.GRU(3, return_sequences=True),
    "gru_reset_before_back": lambda: L.GRU(3, reset_after=False, go_backwards=True),
    "lstm": lambda: L.LSTM(3, return_sequences=True),
    "lstm_back": lambda: L.LSTM(2, go_backwards=True),
    "bidi_lstm": lambda: L.Bidirectional(L.LSTM(2, return_sequences=True)),
    "bidi_gru_sum": lambda: L.Bidirectional(L.GRU(2), merge_mode="sum"),
    "stacked_cells": lambda: L.RNN([L.LSTMCell(2), L.SimpleRNNCell(3)], return_sequences=True),
}


@pytest.mark.parametrize("masked", [False, True])
@pytest.mark.parametrize("name", list(GRAD_CASES))
def test_gradcheck_float64(name, masked):
    rng = np.random.default_rng(3)
    n, t, d = 2, 5, 3
    layer = _f64_layer(GRAD_CASES[name], (None, t, d))
    rng_w = np.random.default_rng(4)
    layer.set_weights([rng_w.uniform(-0.7, 0.7, size=w.shape) for w in layer.weights])
    x = rng.normal(size=(n, t, d))
    mask = None
    if masked:
        m = np.ones((n, t), dtype=bool)
        m[0, 3:] = False
        m[1, 1] = False
        mask = nnrs.Tensor(m)
    assert nnrs.gradcheck(lambda a: layer(a, mask=mask) if mask is not None else layer(a), x, wrt=layer.weights)


def test_gradcheck_initial_state_and_return_state():
    rng = np.random.default_rng(5)
    layer = _f64_layer(lambda: L.LSTM(3, return_state=True, return_sequences=True), (None, 5, 2))
    x, h0, c0 = rng.normal(size=(2, 5, 2)), rng.normal(size=(2, 3)), rng.normal(size=(2, 3))

    def f(a, h, c):
        y, hn, cn = layer(a, initial_state=[h, c])
        return ops.concatenate([ops.reshape(y, (2, -1)), hn, cn], axis=1)

    assert nnrs.gradcheck(f, x, h0, c0, wrt=layer.weights)


# ---- masks, states, stateful --------------------------------------------------------------------

def test_mask_carries_state_and_compute_mask():
    rng = np.random.default_rng(6)
    layer = L.GRU(4, return_sequences=True, return_state=True)
    x = rng.normal(size=(2, 6, 3)).astype("float32")
    m = np.ones((2, 6), dtype=bool)
    m[0, 3:] = False
    y, h = layer(x, mask=nnrs.Tensor(m))
    y, h = y.numpy(), h.numpy()
    np.testing.assert_array_equal(y[0, 3:], np.repeat(y[0, 2:3], 3, axis=0))  # outputs repeat the last unmasked one
    np.testing.assert_allclose(h[0], y[0, 2])  # the final state is the one of the last unmasked step
    y_short = layer(x[:1, :3])[0].numpy()
    np.testing.assert_allclose(y[0, :3], y_short[0], atol=1e-6)
    out_mask, state_mask = layer.compute_mask(x, m)
    assert out_mask is m and state_mask is None
    assert L.LSTM(2).compute_mask(x, m) is None
    assert L.LSTM(2, return_sequences=True).compute_mask(x, m) is m


def test_stateful_continues_and_resets_and_truncates_gradients():
    rng = np.random.default_rng(7)
    x = rng.normal(size=(2, 8, 3)).astype("float32")
    plain = L.LSTM(4, return_sequences=True)
    full = plain(x).numpy()
    st = L.LSTM(4, return_sequences=True, stateful=True)
    st.build((None, 8, 3))
    st.set_weights(plain.get_weights())
    a = st(x[:, :4]).numpy()
    b = st(x[:, 4:]).numpy()
    np.testing.assert_allclose(np.concatenate([a, b], axis=1), full, atol=1e-6)
    assert len(st.states) == 2 and st.weights[0] is not st.states[0]
    assert len(st.weights) == 3  # the states are not weights (as in Keras)
    st.reset_states()
    np.testing.assert_allclose(st(x[:, :4]).numpy(), a, atol=1e-6)
    # truncated BPTT: the second batch's loss sends no gradient into the first batch's input
    x1 = nnrs.Tensor(x[:, :4], requires_grad=True)
    st.reset_states()
    st(x1)
    st(x[:, 4:]).sum().backward()
    assert x1.grad is None
    with pytest.raises(ValueError, match="stateful"):
        st(x[:1, :4])


def test_initial_state_errors_name_the_layer():
    layer = L.LSTM(3, name="enc")
    x = np.zeros((2, 4, 5), dtype="float32")
    with pytest.raises(ValueError, match="'enc'.*2 initial state"):
        layer(x, initial_state=[np.zeros((2, 3), dtype="float32")])
    with pytest.raises(ValueError, match=r"'enc'.*\(2, 4\).*\(2, 3\)"):
        layer(x, initial_state=[np.zeros((2, 4), dtype="float32")] * 2)


def test_wrong_input_shapes_name_layer_and_shapes():
    layer = L.GRU(3, name="g1")
    with pytest.raises(ValueError, match=r"GRU 'g1'.*rank 3.*\((None|2), 5\)"):
        layer(np.zeros((2, 5), dtype="float32"))
    layer(np.zeros((2, 4, 5), dtype="float32"))
    with pytest.raises(ValueError, match=r"GRU 'g1'.*\(None, None, 5\).*\(2, 4, 6\)"):
        layer(np.zeros((2, 4, 6), dtype="float32"))
    with pytest.raises(ValueError, match=r"LSTM 'l9'.*rank 3"):
        nnrs.Sequential([nnrs.Input((7,)), L.LSTM(2, name="l9")])
    with pytest.raises(ValueError, match="mask of shape"):
        L.LSTM(2)(np.zeros((2, 4, 5), dtype="float32"), mask=np.ones((2, 3), dtype=bool))


# ---- dropout --------------------------------------------------------------------------------------

@pytest.mark.parametrize("make", [lambda: L.LSTM(4, dropout=0.5, recurrent_dropout=0.3, return_sequences=True),
                                  lambda: L.GRU(4, dropout=0.5, return_sequences=True),
                                  lambda: L.SimpleRNN(4, recurrent_dropout=0.5, return_sequences=True)])
def test_dropout_only_in_training(make):
    rng = np.random.default_rng(8)
    x = rng.normal(size=(3, 5, 6)).astype("float32")
    layer = make()
    ref = layer.__class__.from_config({**layer.get_config(), "dropout": 0.0, "recurrent_dropout": 0.0, "name": "ref"})
    ref.build((None, 5, 6))
    layer.build((None, 5, 6))
    ref.set_weights(layer.get_weights())
    inf = layer(x).numpy()
    np.testing.assert_allclose(inf, ref(x).numpy(), atol=1e-6)
    np.testing.assert_allclose(layer(x, training=False).numpy(), inf)
    t1, t2 = layer(x, training=True).numpy(), layer(x, training=True).numpy()
    assert not np.allclose(t1, inf) and not np.allclose(t1, t2)
    assert layer.cell._dropout_mask is None and layer.cell._recurrent_dropout_mask is None  # masks live for one call


def test_input_dropout_mask_is_the_same_at_every_step():
    cell = L.SimpleRNNCell(5, dropout=0.5, activation=None, use_bias=False, kernel_initializer="identity",
                           recurrent_initializer="zeros", seed=3)
    layer = L.RNN(cell, return_sequences=True)
    x = np.ones((2, 4, 5), dtype="float32")
    y = layer(x, training=True).numpy()
    assert set(np.unique(y)) <= {0.0, 2.0}
    for t in range(1, 4):
        np.testing.assert_array_equal(y[:, t], y[:, 0])


# ---- the generic RNN, custom and stacked cells ------------------------------------------------------

@nnrs.saving.register_keras_serializable(package="Test")
class MinimalCell(nnrs.layers.Layer):
    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.state_size = units

    def build(self, input_shape):
        self.kernel = self.add_weight((input_shape[-1], self.units), name="kernel")
        self.recurrent_kernel = self.add_weight((self.units, self.units), name="recurrent_kernel")

    def call(self, inputs, states):
        out = ops.matmul(inputs, self.kernel) + ops.matmul(states[0], self.recurrent_kernel)
        return out, [out]

    def get_config(self):
        return {**super().get_config(), "units": self.units}


def test_custom_cell_in_rnn_and_saving(tmp_path):
    rng = np.random.default_rng(9)
    x = rng.normal(size=(2, 4, 3)).astype("float32")
    model = nnrs.Sequential([nnrs.Input((4, 3)), L.RNN(MinimalCell(5), return_sequences=True), L.Dense(1)])
    y = model.predict(x, verbose=0)
    cell = model.layers[0].cell
    k, rk = cell.kernel.numpy(), cell.recurrent_kernel.numpy()
    h = np.zeros((2, 5), dtype="float32")
    for t in range(4):
        h = x[:, t] @ k + h @ rk
    np.testing.assert_allclose(model.layers[0](x).numpy()[:, -1], h, rtol=1e-5, atol=1e-6)
    model.save(tmp_path / "c.keras")
    np.testing.assert_allclose(nnrs.models.load_model(tmp_path / "c.keras").predict(x, verbose=0), y, atol=1e-6)


def test_stacked_cells_equal_stacked_layers():
    rng = np.random.default_rng(10)
    x = rng.normal(size=(2, 5, 3)).astype("float32")
    stacked = L.RNN([L.LSTMCell(4), L.GRUCell(3)], return_state=True)
    y, s_lstm, s_gru = stacked(x)
    assert isinstance(s_lstm, list) and len(s_lstm) == 2
    a, b = L.LSTM(4, return_sequences=True), L.GRU(3)
    a.build((None, 5, 3))
    b.build((None, 5, 4))
    a.set_weights(stacked.get_weights()[:3])
    b.set_weights(stacked.get_weights()[3:])
    np.testing.assert_allclose(y.numpy(), b(a(x)).numpy(), atol=1e-6)
    np.testing.assert_allclose(s_gru.numpy(), y.numpy(), atol=1e-6)
    cfg = stacked.get_config()
    again = L.RNN.from_config(cfg)
    assert [c.__class__.__name__ for c in again.cell.cells] == ["LSTMCell", "GRUCell"]


def test_cells_on_their_own_and_configs():
    rng = np.random.default_rng(11)
    for cell in [L.SimpleRNNCell(3), L.GRUCell(3, reset_after=False), L.LSTMCell(3, unit_forget_bias=True)]:
        x = rng.normal(size=(2, 4)).astype("float32")
        states = cell.get_initial_state(batch_size=2)
        out, new = cell(x, states)
        assert out.shape == (2, 3) and len(new) == len(states)
        again = type(cell).from_config(json.loads(json.dumps(cell.get_config())))
        assert again.get_config() == cell.get_config()
    lstm = L.LSTMCell(3)
    lstm.build((None, 2))
    np.testing.assert_array_equal(lstm.bias.numpy(), np.r_[np.zeros(3), np.ones(3), np.zeros(6)])


@pytest.mark.parametrize("make", [
    lambda: L.SimpleRNN(3, activation="relu", dropout=0.1, return_sequences=True, go_backwards=True, name="s"),
    lambda: L.GRU(3, reset_after=False, recurrent_dropout=0.2, seed=4, stateful=True, unroll=True, name="g"),
    lambda: L.LSTM(3, unit_forget_bias=False, kernel_regularizer="l2", return_state=True, name="l"),
    lambda: L.Bidirectional(L.LSTM(3, return_sequences=True), merge_mode="ave", name="b"),
    lambda: L.Bidirectional(L.GRU(2), backward_layer=L.GRU(2, go_backwards=True, name="back"), name="b2"),
    lambda: L.RNN(L.GRUCell(2), zero_output_for_mask=True, name="r"),
])
def test_get_config_round_trips(make):
    layer = make()
    cfg = layer.get_config()
    again = type(layer).from_config(json.loads(json.dumps(cfg)))
    assert again.get_config() == cfg


def test_keras_config_keys():
    cfg = L.LSTM(4).get_config()
    for key in ("units", "activation", "recurrent_activation", "use_bias", "kernel_initializer", "recurrent_initializer",
                "bias_initializer", "unit_forget_bias", "kernel_regularizer", "recurrent_regularizer", "bias_regularizer",
                "activity_regularizer", "kernel_constraint", "recurrent_constraint", "bias_constraint", "dropout",
                "recurrent_dropout", "seed", "return_sequences", "return_state", "go_backwards", "stateful", "unroll",
                "zero_output_for_mask"):
        assert key in cfg
    assert "cell" not in cfg and "reset_after" in L.GRU(2).get_config()
    b = L.Bidirectional(L.LSTM(2, name="enc")).get_config()
    assert b["layer"]["config"]["name"] == "forward_enc" and b["backward_layer"]["config"]["go_backwards"] is True


def test_bidirectional_states_and_errors():
    rng = np.random.default_rng(12)
    x = rng.normal(size=(2, 5, 3)).astype("float32")
    b = L.Bidirectional(L.LSTM(2, return_state=True))
    out = b(x)
    assert len(out) == 5 and out[0].shape == (2, 4)
    np.testing.assert_allclose(out[0].numpy()[:, :2], out[1].numpy())  # forward output = its final h
    np.testing.assert_allclose(out[0].numpy()[:, 2:], out[3].numpy())
    with pytest.raises(ValueError, match="merge_mode"):
        L.Bidirectional(L.LSTM(2), merge_mode="max")
    with pytest.raises(ValueError, match="not a recurrent layer"):
        L.Bidirectional(L.Dense(2))
    with pytest.raises(ValueError, match="go_backwards"):
        L.Bidirectional(L.LSTM(2), backward_layer=L.LSTM(2))


# ---- models: fit, summary shapes ---------------------------------------------------------------------

def test_stacked_recurrent_model_trains_and_summarizes(capsys):
    rng = np.random.default_rng(13)
    x = rng.normal(size=(64, 6, 2)).astype("float32")
    y = (x[:, :, 0].sum(axis=1) > 0).astype("float32")[:, None]
    nnrs.random.seed(0)
    model = nnrs.Sequential([nnrs.Input((6, 2)), L.LSTM(8, return_sequences=True), L.Bidirectional(L.GRU(4)),
                             L.Dense(1, activation="sigmoid")])
    model.compile(optimizer=nnrs.optimizers.Adam(0.02), loss="binary_crossentropy")
    h = model.fit(x, y, epochs=15, batch_size=16, verbose=0)
    assert h.history["loss"][-1] < 0.6 * h.history["loss"][0]
    model.summary()
    text = capsys.readouterr().out
    assert "(None, 6, 8)" in text and "(None, 8)" in text
    assert L.LSTM(3, return_state=True).compute_output_shape((None, 6, 2)) == [(None, 3), (None, 3), (None, 3)]


# ---- the fused path, also checked with a stand-in for nnrs.functions.recurrent -------------------

def _fake_rnn_sequence(calls):
    """``rnn_sequence`` written independently from the layers (plain ops, Keras' equations)."""

    def rnn_sequence(kind, x, kernel, recurrent_kernel, bias, states, mask=None, reverse=False, activation="tanh",
                     zero_masked=False):
        calls.append(kind)
        n, t, _ = x.shape
        u = recurrent_kernel.shape[0]
        h = states[0]
        c = states[1] if kind == "lstm" else None
        outs, prev = [], ops.zeros_like(h)
        for i in (range(t - 1, -1, -1) if reverse else range(t)):
            xt = x[:, i]
            if kind == "simple_rnn":
                act = ops.relu if activation == "relu" else ops.tanh
                nh, nc = act(xt @ kernel + bias + h @ recurrent_kernel), None
            elif kind == "gru":
                mx = xt @ kernel + bias[0]
                mi = h @ recurrent_kernel + bias[1]
                z = ops.sigmoid(mx[:, :u] + mi[:, :u])
                r = ops.sigmoid(mx[:, u:2 * u] + mi[:, u:2 * u])
                nh, nc = z * h + (1.0 - z) * ops.tanh(mx[:, 2 * u:] + r * mi[:, 2 * u:]), None
            else:
                g = xt @ kernel + h @ recurrent_kernel + bias
                nc = ops.sigmoid(g[:, u:2 * u]) * c + ops.sigmoid(g[:, :u]) * ops.tanh(g[:, 2 * u:3 * u])
                nh = ops.sigmoid(g[:, 3 * u:]) * ops.tanh(nc)
            out = nh
            if mask is not None:
                m = nnrs.Tensor(mask.numpy()[:, i:i + 1])
                out = ops.where(m, nh, ops.zeros_like(nh) if zero_masked else prev)
                nh = ops.where(m, nh, h)
                if c is not None:
                    nc = ops.where(m, nc, c)
            h, c, prev = nh, nc, out
            outs.append(out)
        extra = [h] + ([c] if kind == "lstm" else [])
        return ops.stack(outs + extra, axis=1)

    return rnn_sequence


@pytest.fixture
def fused(monkeypatch):
    calls = []
    mod = types.ModuleType("nnrs.functions.recurrent")
    mod.rnn_sequence = _fake_rnn_sequence(calls)
    monkeypatch.setitem(sys.modules, "nnrs.functions.recurrent", mod)
    return calls


FUSED_CASES = [k for k, v in MRF.CASES.items() if v[2] is None or v[2]["merge_mode"] is not None]


@pytest.mark.parametrize("name", FUSED_CASES)
def test_fused_path_equals_cell_loop(name, fused):
    with_fake = _run_case(name)
    cls, kw, bidi, _, _ = MRF.CASES[name]
    fusable_acts = ("tanh", "relu") if cls == "SimpleRNN" else ("tanh",)
    default = kw.get("activation", "tanh") in fusable_acts and kw.get("reset_after", True) and "recurrent_activation" not in kw
    assert bool(fused) == bool(default)
    want = [_NPZ[k] for k in sorted((k for k in _NPZ.files if k.startswith(f"{name}/y")), key=lambda k: int(k.split("/y")[1]))]
    for y, w in zip(with_fake, want):
        np.testing.assert_allclose(y, w, atol=1e-5, rtol=1e-5)


def test_fused_path_with_input_dropout_and_without_module(fused, monkeypatch):
    rng = np.random.default_rng(14)
    x = rng.normal(size=(2, 4, 3)).astype("float32")
    layer = L.LSTM(3, dropout=0.5, seed=1, return_sequences=True)
    layer.build((None, 4, 3))
    y_inf = layer(x).numpy()
    y_train = layer(x, training=True).numpy()
    assert fused == ["lstm", "lstm"] and not np.allclose(y_inf, y_train)
    monkeypatch.setitem(sys.modules, "nnrs.functions.recurrent", None)  # import fails: the cell loop runs
    np.testing.assert_allclose(layer(x).numpy(), y_inf, atol=1e-6)
    assert fused == ["lstm", "lstm"]
    assert R._FusedRNN._fused_call(layer, nnrs.Tensor(x), layer.get_initial_state(2), None, False) is None


def test_regularizers_constraints_and_freezing():
    rng = np.random.default_rng(15)
    x = rng.normal(size=(8, 4, 3)).astype("float32")
    layer = L.LSTM(3, kernel_regularizer=nnrs.regularizers.L2(0.1), recurrent_constraint=nnrs.constraints.MaxNorm(0.05))
    model = nnrs.Sequential([nnrs.Input((4, 3)), layer, L.Dense(1)])
    assert len(model.losses) == 1
    np.testing.assert_allclose(float(model.losses[0].numpy()), 0.1 * np.sum(layer.cell.kernel.numpy() ** 2), rtol=1e-5)
    model.compile(optimizer="sgd", loss="mse")
    model.fit(x, np.ones((8, 1)), epochs=1, batch_size=8, verbose=0)
    norms = np.sqrt(np.sum(layer.cell.recurrent_kernel.numpy() ** 2, axis=0))
    assert norms.max() <= 0.05 + 1e-6
    layer.trainable = False
    assert layer.trainable_weights == [] and not layer.cell.trainable and len(model.trainable_weights) == 2
