"""Functional graphs whose layer calls return several tensors (return_state, Bidirectional
merge_mode=None, custom layers) and take symbolic tensors by keyword (initial_state=, mask=):
numbers, files and configs against Keras 3 (fixtures by tests/fixtures/keras3/make_seq2seq_fixtures.py),
training, gradients, save/load/clone round trips, summary and plot text, errors."""

import json
import os
import sys
import zipfile

import nnrs
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from nnrs import ops

L = nnrs.layers
HERE = os.path.dirname(os.path.abspath(__file__))
FIX = os.path.join(HERE, "fixtures", "keras3")
sys.path.insert(0, FIX)
import make_seq2seq_fixtures as S2S  # noqa: E402

sys.path.remove(FIX)

NAMES = ["encdec", "bidi_state", "bidi_init", "bidi_none", "gru_repeat", "shared_states", "two_outputs", "mask_kwarg", "stacked_states",
         "nested_multi"]
S2S.custom_layers(nnrs)  # registers S2S>TwoWays and S2S>NonZeroSteps with nnrs
XS = S2S.load_inputs()


def _preds(path):
    z = np.load(path)
    return [z[f"arr_{i}"] for i in range(len(z.files))]


def _close(got, want, atol=1e-5):
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert g.shape == w.shape
        np.testing.assert_allclose(g, w, atol=atol, rtol=1e-5)


def _built(name):
    model = S2S.models(nnrs)[name]
    S2S.set_weights(model)
    return model


def test_fixture_models_are_the_script_models():
    assert sorted(NAMES) == sorted(S2S.models(nnrs)) == sorted(XS)


# ---- Keras' numbers and files ----------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_keras_file_loads_and_predicts_as_keras(name):
    model = nnrs.models.load_model(os.path.join(FIX, f"s2s_{name}.keras"))
    _close(S2S.predict(model, XS[name]), _preds(os.path.join(FIX, f"s2s_{name}_pred.npz")))


@pytest.mark.parametrize("name", NAMES)
def test_graph_built_in_nnrs_computes_keras_numbers(name, backend):
    with nnrs.backend.use(backend.name):
        model = _built(name)
        _close(S2S.predict(model, XS[name]), _preds(os.path.join(FIX, f"s2s_{name}_pred.npz")))


@pytest.mark.parametrize("name", NAMES)
def test_nnrs_files_hold_nnrs_numbers(name):
    """The nnrs_s2s_* files (opened by Keras in make_seq2seq_fixtures.py --check-nnrs) load back in nnrs."""
    model = nnrs.models.load_model(os.path.join(FIX, f"nnrs_s2s_{name}.keras"))
    _close(S2S.predict(model, XS[name]), _preds(os.path.join(FIX, f"nnrs_s2s_{name}_pred.npz")))


def _keras_config(name):
    with zipfile.ZipFile(os.path.join(FIX, f"s2s_{name}.keras")) as z:
        return json.loads(z.read("config.json"))["config"]


@pytest.mark.parametrize("name", NAMES)
def test_config_has_keras_inbound_nodes_and_layer_order(name):
    """Keras' exact inbound_nodes: args/kwargs with __keras_tensor__ records [layer, node index, tensor index]."""
    ours, theirs = _built(name).get_config(), _keras_config(name)
    assert [r["name"] for r in ours["layers"]] == [r["name"] for r in theirs["layers"]]
    assert [r["class_name"] for r in ours["layers"]] == [r["class_name"] for r in theirs["layers"]]
    for a, b in zip(ours["layers"], theirs["layers"]):
        assert S2S.strip_none(a["inbound_nodes"]) == S2S.strip_none(b["inbound_nodes"]), a["name"]
    assert ours["input_layers"] == theirs["input_layers"]
    assert ours["output_layers"] == theirs["output_layers"]


@pytest.mark.parametrize("path", [f"s2s_{name}.keras" for name in NAMES] + ["fn.keras", "shared.keras", "nested.keras"])
def test_layers_and_weights_in_keras_order(path):
    """model.layers (so weights and get_weights) in Keras' order: its config's, deepest first, inputs among them."""
    with zipfile.ZipFile(os.path.join(FIX, path)) as z:
        cfg = json.loads(z.read("config.json"))["config"]
    model = nnrs.models.load_model(os.path.join(FIX, path))
    assert [layer.name for layer in model.layers] == [r["name"] for r in cfg["layers"]]
    assert [w.shape for w in model.weights] == [w.shape for layer in model.layers for w in layer.weights]


def test_keras_history_of_states_and_keyword_records():
    cfg = _built("shared_states").get_config()
    rec = {r["name"]: r for r in cfg["layers"]}
    assert len(rec["encoder"]["inbound_nodes"]) == 2
    states = rec["decoder"]["inbound_nodes"][0]["kwargs"]["initial_state"]
    assert [s["config"]["keras_history"] for s in states] == [["encoder", 0, 1], ["encoder", 1, 2]]
    adds = rec["add"]["inbound_nodes"][0]["args"][0]
    assert [s["config"]["keras_history"] for s in adds] == [["decoder", 0, 0], ["encoder", 1, 1], ["encoder", 0, 2]]
    mask = {r["name"]: r for r in _built("mask_kwarg").get_config()["layers"]}["gru"]["inbound_nodes"][0]["kwargs"]["mask"]
    assert mask["config"] == {"shape": [None, S2S.T_ENC], "dtype": "bool", "keras_history": ["steps", 0, 0]}


def test_encoder_decoder_fit_matches_keras():
    """Same weights, same data, SGD(0.1), 3 epochs without shuffling: Keras' losses and final weights."""
    want = np.load(os.path.join(FIX, "s2s_fit.npz"))
    model = _built("encdec")
    model.compile(optimizer=nnrs.optimizers.SGD(0.1), loss="mse")
    x, y = S2S.fit_data()
    h = model.fit(x, y, epochs=3, batch_size=8, shuffle=False, verbose=0)
    np.testing.assert_allclose(h.history["loss"], want["loss"], rtol=1e-5)
    for i, w in enumerate(model.get_weights()):
        np.testing.assert_allclose(w, want[f"w{i}"], atol=1e-5)
    assert h.history["loss"][-1] < h.history["loss"][0]


def test_gradients_flow_through_state_edges():
    """Finite differences in float64 through return_state outputs and initial_state keyword edges."""
    nnrs.random.seed(3)
    enc_in, dec_in = nnrs.Input((4, 2), dtype="float64"), nnrs.Input((3, 2), dtype="float64")
    _, h, c = L.LSTM(3, return_state=True, dtype="float64")(enc_in)
    fwd, bwd = L.Bidirectional(L.GRU(2, return_sequences=True, dtype="float64"), merge_mode=None, dtype="float64")(dec_in)
    dec = L.LSTM(3, return_sequences=True, dtype="float64")(L.Concatenate(dtype="float64", name="fb")([fwd, bwd]), initial_state=[h, c])
    model = nnrs.Model([enc_in, dec_in], L.Dense(2, dtype="float64")(dec), dtype="float64")
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(2, 4, 2)), rng.normal(size=(2, 3, 2))
    assert nnrs.gradcheck(lambda p, q: model([p, q]), a, b, wrt=model.weights)


@settings(max_examples=25, deadline=None)
@given(kind=st.sampled_from(["SimpleRNN", "GRU", "LSTM"]), n=st.integers(1, 4), t_enc=st.integers(1, 5), t_dec=st.integers(1, 5),
       f=st.integers(1, 4), units=st.integers(1, 5), back=st.booleans(), seed=st.integers(0, 2 ** 16))
def test_graph_equals_the_layers_called_by_hand(kind, n, t_enc, t_dec, f, units, back, seed):
    """Any encoder-decoder shape: the graph's numbers are those of its layers called on tensors."""
    rng = np.random.default_rng(seed)
    enc_in, dec_in = nnrs.Input((None, f)), nnrs.Input((None, f))
    encoder = getattr(L, kind)(units, return_state=True, go_backwards=back)
    decoder = getattr(L, kind)(units, return_sequences=True)
    head = L.Dense(2)
    _, *states = encoder(enc_in)
    model = nnrs.Model([enc_in, dec_in], [head(decoder(dec_in, initial_state=states)), states[-1]])
    model.set_weights([rng.uniform(-0.7, 0.7, size=w.shape).astype("float32") for w in model.get_weights()])
    a, b = rng.normal(size=(n, t_enc, f)).astype("float32"), rng.normal(size=(n, t_dec, f)).astype("float32")
    _, *s = encoder(nnrs.Tensor(a))
    want = head(decoder(nnrs.Tensor(b), initial_state=s)).numpy()
    got = model.predict([a, b], verbose=0)
    np.testing.assert_allclose(got[0], want, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(got[1], s[-1].numpy(), rtol=1e-5, atol=1e-6)


def test_gradients_through_bidirectional_states_and_a_keyword_mask():
    nnrs.random.seed(4)
    enc_in, dec_in = nnrs.Input((4, 2), dtype="float64"), nnrs.Input((3, 2), dtype="float64")
    y, hf, cf, hb, cb = L.Bidirectional(L.LSTM(2, return_state=True, dtype="float64"), merge_mode="ave", dtype="float64")(enc_in)
    mask = ops.greater(ops.sum(dec_in, axis=-1), -1.0)
    dec = L.Bidirectional(L.GRU(2, return_sequences=True, dtype="float64"), dtype="float64")(dec_in, initial_state=[hf, cb], mask=mask)
    model = nnrs.Model([enc_in, dec_in], [dec, y], dtype="float64")
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=(2, 4, 2)), rng.normal(size=(2, 3, 2))
    b[0, 2] = -5.0  # a masked step
    assert nnrs.gradcheck(lambda p, q: ops.concatenate([ops.reshape(o, (2, -1)) for o in model([p, q])], axis=1), a, b,
                          wrt=model.weights)


# ---- graph structure --------------------------------------------------------------------------------


def test_outputs_know_their_call_and_index():
    x = nnrs.Input((None, 3))
    lstm = L.LSTM(4, return_state=True)
    out, h, c = lstm(x)
    assert out.node is h.node is c.node and [out.index, h.index, c.index] == [0, 1, 2]
    assert h._keras_history == (lstm, 0, 1)
    assert out.shape == h.shape == c.shape == (None, 4)
    _, h2, _ = lstm(x)
    assert h2._keras_history == (lstm, 1, 1)
    bi = L.Bidirectional(L.LSTM(2, return_sequences=True, return_state=True), merge_mode=None)
    ys = bi(x)
    assert [t.shape for t in ys] == [(None, None, 2)] * 2 + [(None, 2)] * 4
    assert [t.index for t in ys] == list(range(6))
    y, hf, cf, hb, cb = L.Bidirectional(L.LSTM(2, return_state=True))(x)
    assert y.shape == (None, 4) and hb.shape == (None, 2)


def test_positional_initial_state_is_an_edge_too():
    enc_in, dec_in = nnrs.Input((5, 3), name="e"), nnrs.Input((6, 3), name="d")
    encoder, decoder = L.LSTM(4, return_state=True, name="enc"), L.LSTM(4, return_sequences=True, name="dec")
    _, h, c = encoder(enc_in)
    model = nnrs.Model([enc_in, dec_in], decoder(dec_in, [h, c]))
    node = {r["name"]: r for r in model.get_config()["layers"]}["dec"]["inbound_nodes"][0]
    assert len(node["args"]) == 2 and [t["config"]["keras_history"] for t in node["args"][1]] == [["enc", 0, 1], ["enc", 0, 2]]
    xs = XS["encdec"]
    _, eh, ec = encoder(nnrs.Tensor(xs[0]))
    want = decoder(nnrs.Tensor(xs[1]), initial_state=[eh, ec]).numpy()
    np.testing.assert_allclose(model.predict(xs, verbose=0), want, rtol=1e-6)
    again = nnrs.Model.from_config(model.get_config())
    again.set_weights(model.get_weights())
    np.testing.assert_allclose(again.predict(xs, verbose=0), want, rtol=1e-6)


class Pair(L.Layer):
    """A custom layer without compute_output_shape that returns two tensors (counts its calls)."""

    calls = 0

    def call(self, x):
        Pair.calls += 1
        return ops.sum(x, axis=-1), x * 2.0


class Both(L.Layer):
    """A custom layer that returns a dict and reads tensors from nested keyword arguments."""

    def call(self, x, extras=None):
        return {"sum": x + extras["a"], "prod": x * extras["more"][0]}


def test_custom_layer_with_two_outputs_and_each_call_once():
    x = nnrs.Input((None, 3))
    s, d = Pair()(x)
    assert s.shape == (None, None) and d.shape == (None, None, 3)
    model = nnrs.Model(x, [L.Dense(2)(d), s, ops.multiply(d, 3.0)])
    data = np.random.default_rng(0).normal(size=(2, 4, 3)).astype("float32")
    Pair.calls = 0
    outs = model.predict(data, verbose=0)
    assert Pair.calls == 1  # three consumers of one call: it runs once
    np.testing.assert_allclose(outs[1], data.sum(-1), rtol=1e-6)
    np.testing.assert_allclose(outs[2], data * 6.0, rtol=1e-6)


def test_dict_outputs_and_nested_keyword_tensors():
    x, a, b = nnrs.Input((3,)), nnrs.Input((3,)), nnrs.Input((3,))
    out = Both()(x, extras={"a": a, "more": [b]})
    assert isinstance(out, dict) and out["sum"].shape == (None, 3)
    assert [out["prod"].index, out["sum"].index] == [0, 1]  # Keras' order: sorted keys
    model = nnrs.Model([x, a, b], [out["sum"], out["prod"]])
    rng = np.random.default_rng(1)
    xs = [rng.normal(size=(2, 3)).astype("float32") for _ in range(3)]
    got = model.predict(xs, verbose=0)
    np.testing.assert_allclose(got[0], xs[0] + xs[1], rtol=1e-6)
    np.testing.assert_allclose(got[1], xs[0] * xs[2], rtol=1e-6)
    kw = model.get_config()["layers"][-1]["inbound_nodes"][0]["kwargs"]
    assert kw["extras"]["a"]["config"]["keras_history"][0] == model._inputs[1].name
    with nnrs.saving.custom_object_scope({"Both": Both}):
        again = nnrs.Model.from_config(model.get_config())
    for g, w in zip(again.predict(xs, verbose=0), got):
        np.testing.assert_allclose(g, w, rtol=1e-6)


class Spec(L.Layer):
    """A custom layer that states its outputs with Keras' compute_output_spec."""

    def compute_output_spec(self, x):
        return nnrs.KerasTensor(x.shape[:-1] + (2,), x.dtype), nnrs.KerasTensor(x.shape, "bool")

    def call(self, x):
        self.traced = True
        return x[..., :2], ops.greater(x, 0.0)


def test_compute_output_spec_gives_the_outputs():
    x = nnrs.Input((None, 3))
    layer = Spec()
    layer.traced = False
    head, positive = layer(x)
    assert not layer.traced  # the spec was asked, call was not run on stand-ins
    assert (head.shape, head.dtype, positive.shape, positive.dtype) == ((None, None, 2), np.float32, (None, None, 3), np.bool_)
    model = nnrs.Model(x, [head, positive])
    data = np.random.default_rng(2).normal(size=(2, 4, 3)).astype("float32")
    got = model.predict(data, verbose=0)
    np.testing.assert_array_equal(got[0], data[..., :2])
    np.testing.assert_array_equal(got[1], data > 0)


class MaskReader(L.Layer):
    supports_masking = True

    def call(self, x, mask=None):
        self.seen = None if mask is None else mask.numpy()
        return x


def test_symbolic_mask_keyword_reaches_call_and_masks_flow():
    x = nnrs.Input((5, 3))
    m = S2S.custom_layers(nnrs)[1]()(x)
    reader = MaskReader()
    seq = L.GRU(3, return_sequences=True)(x, mask=m)
    out = L.Dense(2)(reader(seq))  # the GRU's output carries the mask on to the next layer
    model = nnrs.Model(x, out)
    data = XS["mask_kwarg"][0]
    model.predict(data, verbose=0)
    np.testing.assert_array_equal(reader.seen, data.any(axis=-1))
    eager = model.layers[2](nnrs.Tensor(data), mask=nnrs.Tensor(data.any(axis=-1))).numpy()
    direct = L.GRU(3, return_sequences=True)
    direct.build((None, 5, 3))
    direct.set_weights(model.layers[2].get_weights())
    np.testing.assert_allclose(eager, direct(nnrs.Tensor(data), mask=nnrs.Tensor(data.any(axis=-1))).numpy(), rtol=1e-6)


def test_mask_from_masking_layer_flows_into_return_state_encoder():
    """Masks made by layers still flow: the encoder's states stop at each sequence's last real step."""
    x = nnrs.Input((5, 3))
    _, h = L.GRU(4, return_state=True)(L.Masking(0.0)(x))
    model = nnrs.Model(x, h)
    data = XS["mask_kwarg"][0]
    got = model.predict(data, verbose=0)
    gru = model.layers[2]
    for i, n in enumerate([3, 5, 1, 5]):
        np.testing.assert_allclose(got[i], gru(nnrs.Tensor(data[i:i + 1, :n]))[1].numpy()[0], rtol=1e-5, atol=1e-6)


# ---- round trips --------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_save_load_clone_config_json_round_trips(name, tmp_path):
    model = _built(name)
    want = S2S.predict(model, XS[name])
    path = tmp_path / "m.keras"
    model.save(path)
    _close(S2S.predict(nnrs.models.load_model(path), XS[name]), want, atol=1e-6)
    clone = nnrs.models.clone_model(model)
    assert [l.name for l in clone.layers] == [l.name for l in model.layers]
    clone.set_weights(model.get_weights())
    _close(S2S.predict(clone, XS[name]), want, atol=1e-6)
    again = nnrs.Model.from_config(model.get_config())
    again.set_weights(model.get_weights())
    _close(S2S.predict(again, XS[name]), want, atol=1e-6)
    assert again.get_config() == model.get_config()
    js = nnrs.models.model_from_json(model.to_json())
    js.set_weights(model.get_weights())
    _close(S2S.predict(js, XS[name]), want, atol=1e-6)


def test_clone_with_ops_on_symbolic_tensors_and_new_inputs():
    x = nnrs.Input((4, 3))
    mask = ops.any(ops.not_equal(x, 0.0), axis=-1)
    out, h = L.GRU(2, return_state=True)(x, mask=mask)
    model = nnrs.Model(x, [out, h * 2.0])
    new_in = nnrs.Input((4, 3), name="fresh")
    clone = nnrs.models.clone_model(model, input_tensors=new_in, clone_function=lambda layer: layer)
    data = XS["mask_kwarg"][0][:, :4]
    for g, w in zip(clone.predict(data, verbose=0), model.predict(data, verbose=0)):
        np.testing.assert_allclose(g, w, rtol=1e-6)


# ---- summary, plot --------------------------------------------------------------------------------------


def test_summary_connected_to_with_node_and_tensor_indices():
    lines = []
    _built("shared_states").summary(print_fn=lines.append)
    text = "\n".join(lines)
    assert "encoder (LSTM)" in text and "[(None, 3), (None, 3), (None, 3)]" in text
    rows = [ln.split()[0] for ln in lines if "(" in ln and ln.split()[0] in ("a", "b", "encoder", "decoder", "add")]
    assert rows == ["b", "a", "encoder", "decoder", "add"]  # one row per layer, in Keras' order
    assert "a[0][0], b[0][0]" in text  # the encoder's two calls
    assert "b[0][0], encoder[0][1], encoder[1][2]" in text  # the decoder reads b and two states
    assert "decoder[0][0], encoder[1][1], encoder[0][2]" in text
    assert "Total params: 168" in text  # two LSTM(3) on 3 features, 4 * 3 * (3 + 3 + 1) each; the shared one counts once
    lines = []
    _built("bidi_none").summary(print_fn=lines.append)
    assert any("bigru (Bidirectional)" in ln and "[(None, 5, 4), (None, 5, 4)]" in ln for ln in lines)
    assert any("add (Add)" in ln and "bigru[0][0], bigru[0][1]" in ln for ln in lines)


def test_plot_model_dot_of_several_outputs(tmp_path):
    nnrs.utils.plot_model(_built("encdec"), to_file=tmp_path / "m.dot", show_shapes=True)
    text = (tmp_path / "m.dot").read_text()
    assert "encoder (LSTM) | [(None, 5), (None, 5), (None, 5)]" in text
    assert text.count("->") == 4  # enc_in -> encoder, dec_in -> decoder, encoder -> decoder (once for h and c), decoder -> head
    nnrs.utils.plot_model(_built("shared_states"), to_file=tmp_path / "s.dot")
    text = (tmp_path / "s.dot").read_text()
    assert text.count("encoder (LSTM)") == 1  # one box per layer, as Keras draws it
    assert text.count("->") == 6  # a, b -> encoder; b, encoder -> decoder; decoder, encoder -> add


# ---- errors ---------------------------------------------------------------------------------------------


def test_errors_name_the_layer_and_shapes():
    enc, dec = nnrs.Input((None, 3)), nnrs.Input((None, 3))
    _, h, c = L.LSTM(4, return_state=True)(enc)
    with pytest.raises(ValueError, match=r"LSTM 'dec1'.*expected 2 initial state tensor\(s\), got 1"):
        L.LSTM(4, name="dec1")(dec, initial_state=[h])
    with pytest.raises(ValueError, match=r"LSTM 'dec2'.*initial state 0 has shape \(None, 4\), expected \(None, 5\)"):
        L.LSTM(5, name="dec2")(dec, initial_state=[h, c])
    with pytest.raises(ValueError, match=r"Bidirectional 'bi'.*expected 4 initial state tensor\(s\), got 2"):
        L.Bidirectional(L.LSTM(4), name="bi")(dec, initial_state=[h, c])
    with pytest.raises(ValueError, match=r"Dense 'd'.*mask holds symbolic tensors but the first input is not a KerasTensor"):
        L.Dense(2, name="d")(np.zeros((2, 3), np.float32), mask=ops.any(ops.not_equal(enc, 0.0), axis=-1))
    with pytest.raises(TypeError, match=r"Dense 'd2': call\(\) takes no keyword argument\(s\) mask"):
        L.Dense(2, name="d2")(enc, mask=ops.any(ops.not_equal(enc, 0.0), axis=-1))  # as Keras: Dense.call has no mask


class Liar(L.Layer):
    """Says it returns two tensors, returns one."""

    def compute_output_shape(self, input_shape):
        return [input_shape, input_shape]

    def call(self, x):
        return x


def test_call_that_disagrees_with_its_symbolic_outputs_is_reported():
    x = nnrs.Input((3,))
    a, b = Liar(name="liar")(x)
    model = nnrs.Model(x, [a, b])
    with pytest.raises(ValueError, match=r"Liar 'liar'.*returned one Tensor, but its symbolic call gave 2"):
        model.predict(np.zeros((2, 3), np.float32), verbose=0)


def test_config_naming_a_missing_output_is_refused():
    cfg = _built("encdec").get_config()
    dec = next(r for r in cfg["layers"] if r["name"] == "decoder")
    dec["inbound_nodes"][0]["kwargs"]["initial_state"][1]["config"]["keras_history"] = ["encoder", 0, 7]
    with pytest.raises(ValueError, match=r"layer 'decoder' reads output 7 of call 0 of 'encoder', which has 3 output"):
        nnrs.Model.from_config(cfg)


def test_nested_functional_model_weights_group_is_named_as_keras_names_it(tmp_path):
    """Keras names a nested functional model's group "functional"; files of earlier nnrs ("model") still load."""
    import h5py

    inner_in = nnrs.Input((3,))
    inner = nnrs.Model(inner_in, L.Dense(2)(inner_in))
    x = nnrs.Input((3,))
    model = nnrs.Model(x, L.Dense(1)(inner(x)))
    path = str(tmp_path / "w.weights.h5")
    model.save_weights(path)
    with h5py.File(path, "a") as f:
        assert "functional" in f["layers"] and "model" not in f["layers"]
        f.move("layers/functional", "layers/model")
    want = model.get_weights()
    model.set_weights([np.zeros_like(w) for w in want])
    model.load_weights(path)
    for got, w in zip(model.get_weights(), want):
        np.testing.assert_array_equal(got, w)


class Penalized(L.Layer):
    """A custom layer (no compute_output_shape) that adds a loss in call and holds a regularized Dense."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.inner = L.Dense(2, activity_regularizer="l2")

    def call(self, x):
        self.add_loss(ops.sum(x) * 0.0 + 1.0)
        return self.inner(x), x


def test_working_out_output_shapes_leaves_no_losses_behind():
    layer = Penalized()
    data = nnrs.Tensor(np.ones((2, 3), np.float32))
    layer(data)
    before = [float(v.numpy()) for v in layer.losses]
    assert len(before) == 2  # the added loss and the inner activity penalty of the real call
    x = nnrs.Input((3,))
    a, b = layer(x)  # shapes worked out by running call on stand-ins
    assert (a.shape, b.shape) == ((None, 2), (None, 3))
    assert [float(v.numpy()) for v in layer.losses] == before


def test_layer_input_output_and_model_inputs_outputs():
    enc_in, dec_in = nnrs.Input((None, 3), name="e"), nnrs.Input((None, 3), name="d")
    encoder = L.LSTM(4, return_state=True)
    out, h, c = encoder(enc_in)
    decoder = L.LSTM(4)
    y = decoder(dec_in, initial_state=[h, c])
    model = nnrs.Model([enc_in, dec_in], y)
    assert encoder.input is enc_in and encoder.output == [out, h, c]
    assert decoder.input == [dec_in, h, c] and decoder.output is y  # keyword tensors are inputs of the call too
    assert model.input == [enc_in, dec_in] and model.output is y
    assert model.inputs == [enc_in, dec_in] and model.outputs == [y]
    with pytest.raises(AttributeError, match=r"Dense 'fresh' has never been called on symbolic tensors, so it has no output"):
        _ = L.Dense(2, name="fresh").output
