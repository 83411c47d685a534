"""Keras 3 files: .keras archives and .weights.h5, configs, clone_model, interop with files
written by real Keras 3 (tests/fixtures/keras3, see make_fixtures.py there)."""

import io
import json
import os
import pickle
import zipfile
from pathlib import Path

import h5py
import nnrs
import numpy as np
import pytest
from nnrs import layers as L
from nnrs import saving

from tests.conftest import host

FIX = Path(__file__).parent / "fixtures" / "keras3"


def mlp(seed=0, compiled=True):
    nnrs.random.seed(seed)
    m = nnrs.Sequential([nnrs.Input((8,)), L.Dense(16, activation="relu", kernel_regularizer=nnrs.regularizers.L2(0.01)),
                         L.Dropout(0.25), L.Dense(12, activation="tanh"), L.Reshape((3, 4)), L.Flatten(),
                         L.Activation("sigmoid"), L.Dense(3, activation="softmax")], name="mlp")
    if compiled:
        m.compile(optimizer=nnrs.optimizers.SGD(0.05, momentum=0.5), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return m


def two_in_two_out(seed=0):
    nnrs.random.seed(seed)
    a, b = nnrs.Input((6,), name="in_a"), nnrs.Input((4,), name="in_b")
    h = L.Dense(8, activation="relu", name="hidden")(a)
    out_a = L.Dense(2, name="out_a")(L.Dropout(0.5)(h))
    out_b = L.Dense(3, activation="sigmoid", name="out_b")(L.Dense(5, activation="elu")(b))
    return nnrs.Model([a, b], [out_a, out_b], name="two_in_two_out")


def x8(n=10):
    return np.random.default_rng(3).normal(size=(n, 8)).astype("float32")


def h5_paths(data):
    out = []
    with h5py.File(io.BytesIO(data) if isinstance(data, bytes) else data, "r") as f:
        f.visititems(lambda name, obj: out.append((name, sorted(obj.attrs), getattr(obj, "shape", None))))
    return sorted(out, key=lambda t: t[0])


# ---- round trips -----------------------------------------------------------------------------


def test_sequential_save_load_round_trip(tmp_path):
    m = mlp()
    path = tmp_path / "m.keras"
    m.save(path)
    back = nnrs.models.load_model(path)
    assert type(back) is nnrs.Sequential and back.name == "mlp"
    assert [l.name for l in back.layers] == [l.name for l in m.layers]
    np.testing.assert_array_equal(back.predict(x8(), verbose=0), m.predict(x8(), verbose=0))
    assert back.get_config() == m.get_config()
    assert back.compiled and type(back.optimizer) is nnrs.optimizers.SGD and back.optimizer.get_config() == m.optimizer.get_config()
    assert type(back.loss) is nnrs.losses.SparseCategoricalCrossentropy and back.metrics_names == ["loss", "accuracy"]
    assert back.layers[0].kernel_regularizer.get_config() == {"l2": 0.01}


def test_load_model_compile_false_and_uncompiled_model(tmp_path):
    m = mlp(compiled=False)
    m.save(tmp_path / "m.keras")
    assert json.loads(zipfile.ZipFile(tmp_path / "m.keras").read("config.json"))["compile_config"] == {}
    assert not nnrs.saving.load_model(tmp_path / "m.keras").compiled
    mlp().save(tmp_path / "c.keras")
    assert not nnrs.models.load_model(tmp_path / "c.keras", compile=False).compiled


def test_functional_two_inputs_two_outputs_round_trip(tmp_path):
    f = two_in_two_out()
    f.save(tmp_path / "f.keras")
    back = nnrs.models.load_model(tmp_path / "f.keras")
    xa, xb = np.ones((3, 6), "float32"), np.linspace(-1, 1, 12, dtype="float32").reshape(3, 4)
    for got, want in zip(back([xa, xb]), f([xa, xb])):
        np.testing.assert_array_equal(got.numpy(), want.numpy())
    assert back.get_config() == f.get_config()
    assert {l.name for l in back.layers} == {l.name for l in f.layers}


def test_weights_h5_round_trip_and_suffix(tmp_path):
    a, b = mlp(0), mlp(1)
    a.save_weights(tmp_path / "m.weights.h5")
    b.load_weights(tmp_path / "m.weights.h5")
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_array_equal(wa, wb)
    with pytest.raises(ValueError, match=r"must end in '\.weights\.h5'"):
        a.save_weights(tmp_path / "m.h5")
    with pytest.raises(FileExistsError):
        a.save_weights(tmp_path / "m.weights.h5", overwrite=False)
    a.save(tmp_path / "m.keras")
    b2 = mlp(2)
    b2.load_weights(tmp_path / "m.keras")  # the weights of an archive
    np.testing.assert_array_equal(b2.get_weights()[0], a.get_weights()[0])


# ---- the file layout is Keras 3's ------------------------------------------------------------


def test_archive_members_and_config_records(tmp_path):
    mlp().save(tmp_path / "m.keras")
    z = zipfile.ZipFile(tmp_path / "m.keras")
    assert sorted(z.namelist()) == ["config.json", "metadata.json", "model.weights.h5"]
    assert all(i.compress_type == zipfile.ZIP_STORED for i in z.infolist())
    cfg = json.loads(z.read("config.json"))
    assert set(cfg) == {"module", "class_name", "config", "registered_name", "build_config", "compile_config"}
    assert json.loads(z.read("metadata.json"))["keras_version"].startswith("3.")
    keras_cfg = json.loads(zipfile.ZipFile(FIX / "mlp.keras").read("config.json"))
    ours, theirs = cfg["config"]["layers"], keras_cfg["config"]["layers"]
    assert [(r["module"], r["class_name"], "build_config" in r) for r in ours] == \
        [(r["module"], r["class_name"], "build_config" in r) for r in theirs]
    for o, t in zip(ours, theirs):
        assert set(o["config"]) - {"activity_regularizer"} == set(t["config"]), o["class_name"]


def test_h5_groups_match_the_ones_keras_writes(tmp_path):
    m, f = mlp(), two_in_two_out()
    m.save_weights(tmp_path / "m.weights.h5")
    f.save_weights(tmp_path / "f.weights.h5")
    assert h5_paths(str(tmp_path / "m.weights.h5")) == h5_paths(str(FIX / "mlp.weights.h5"))  # with optimizer/vars/0 and 1
    assert h5_paths(str(tmp_path / "f.weights.h5")) == h5_paths(str(FIX / "fn.weights.h5"))


def test_functional_layer_order_follows_keras():
    named = {"in_a", "in_b", "hidden", "out_a", "out_b"}  # the other layers' automatic names depend on counters

    def order(layers):
        return [(l["class_name"], l["name"] if l["name"] in named else None) for l in layers]

    keras_layers = json.loads(zipfile.ZipFile(FIX / "fn.keras").read("config.json"))["config"]["layers"]
    assert order(two_in_two_out().get_config()["layers"]) == order(keras_layers)


# ---- interop with files written by Keras 3 -----------------------------------------------------


def test_keras_mlp_loads_with_the_same_predictions():
    m = nnrs.models.load_model(FIX / "mlp.keras")
    np.testing.assert_allclose(m.predict(np.load(FIX / "x.npy"), verbose=0), np.load(FIX / "mlp_pred.npy"), atol=1e-6, rtol=0)
    assert m.compiled and type(m.optimizer) is nnrs.optimizers.Adam
    fresh = nnrs.models.clone_model(m)
    fresh.load_weights(FIX / "mlp.weights.h5")
    np.testing.assert_allclose(fresh.predict(np.load(FIX / "x.npy"), verbose=0), np.load(FIX / "mlp_pred.npy"), atol=1e-6, rtol=0)


def test_keras_functional_two_in_two_out_loads_with_the_same_predictions():
    f = nnrs.models.load_model(FIX / "fn.keras")
    xs = [np.load(FIX / "x_a.npy"), np.load(FIX / "x_b.npy")]
    want = [np.load(FIX / "fn_pred_a.npy"), np.load(FIX / "fn_pred_b.npy")]
    for got, w in zip(f(xs), want):
        np.testing.assert_allclose(got.numpy(), w, atol=1e-6, rtol=0)
    fresh = two_in_two_out(seed=5)
    fresh.load_weights(FIX / "fn.weights.h5")
    for got, w in zip(fresh(xs), want):
        np.testing.assert_allclose(got.numpy(), w, atol=1e-6, rtol=0)


def test_keras_functional_with_a_nested_sequential_loads():
    n = nnrs.models.load_model(FIX / "nested.keras")
    assert type(n.get_layer("inner")) is nnrs.Sequential
    np.testing.assert_allclose(n.predict(np.load(FIX / "x.npy"), verbose=0), np.load(FIX / "nested_pred.npy"), atol=1e-6, rtol=0)


def test_nested_model_groups_match_keras(tmp_path):
    nnrs.random.seed(0)
    inner = nnrs.Sequential([L.Dense(4, activation="relu", name="inner_dense"), L.Dense(2, name="inner_out")], name="inner")
    a = nnrs.Input((8,), name="x")
    n = nnrs.Model(a, inner(L.Dense(5, activation="swish", name="pre")(a)), name="nested")
    n.save(tmp_path / "n.keras")
    ours = zipfile.ZipFile(tmp_path / "n.keras").read("model.weights.h5")
    assert h5_paths(ours) == h5_paths(zipfile.ZipFile(FIX / "nested.keras").read("model.weights.h5"))
    back = nnrs.models.load_model(tmp_path / "n.keras")
    np.testing.assert_array_equal(back.predict(x8(), verbose=0), n.predict(x8(), verbose=0))


def test_committed_nnrs_files_still_load():
    """The nnrs-written files that Keras 3 was checked against (make_fixtures.py --check-nnrs)."""
    m = nnrs.models.load_model(FIX / "nnrs_mlp.keras")
    np.testing.assert_allclose(m.predict(np.load(FIX / "x.npy"), verbose=0), np.load(FIX / "nnrs_mlp_pred.npy"), atol=1e-6, rtol=0)
    f = nnrs.models.load_model(FIX / "nnrs_fn.keras")
    got = f([np.load(FIX / "x_a.npy"), np.load(FIX / "x_b.npy")])
    np.testing.assert_allclose(got[1].numpy(), np.load(FIX / "nnrs_fn_pred_b.npy"), atol=1e-6, rtol=0)
    n = nnrs.models.load_model(FIX / "nnrs_nested.keras")
    np.testing.assert_allclose(n.predict(np.load(FIX / "x.npy"), verbose=0), np.load(FIX / "nnrs_nested_pred.npy"), atol=1e-6, rtol=0)


# ---- optimizer state ----------------------------------------------------------------------------

OPTIMIZERS = ["adam", "adamw", "sgd", "rmsprop", "adagrad"]


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_keras_optimizer_state_continues_training_in_nnrs(name):
    """Keras trained 3 steps and saved; one more nnrs step from the loaded state gives Keras' 4th step."""
    tx, ty = np.load(FIX / "train_x.npy"), np.load(FIX / "train_y.npy")
    m = nnrs.models.load_model(FIX / f"opt_{name}.keras")
    assert m.compiled and m.optimizer.iterations == 3
    m.train_on_batch(tx, ty)
    np.testing.assert_allclose(m.predict(tx, verbose=0), np.load(FIX / f"opt_{name}_next.npy"), atol=1e-5, rtol=0)


def test_the_optimizer_fixture_needs_the_state(monkeypatch):
    """Control: starting the optimizer fresh misses Keras' 4th step by far more than the tolerance."""
    monkeypatch.setattr(saving, "_read_optimizer", lambda *a: None)
    tx, ty = np.load(FIX / "train_x.npy"), np.load(FIX / "train_y.npy")
    m = nnrs.models.load_model(FIX / "opt_adam.keras")
    m.train_on_batch(tx, ty)
    assert np.abs(m.predict(tx, verbose=0) - np.load(FIX / "opt_adam_next.npy")).max() > 1e-4


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_committed_nnrs_optimizer_files_still_load(name):
    tx, ty = np.load(FIX / "train_x.npy"), np.load(FIX / "train_y.npy")
    m = nnrs.models.load_model(FIX / f"nnrs_opt_{name}.keras")
    m.train_on_batch(tx, ty)
    np.testing.assert_allclose(m.predict(tx, verbose=0), np.load(FIX / f"nnrs_opt_{name}_next.npy"), atol=1e-6, rtol=0)


def test_optimizer_state_round_trip_and_weights_file(tmp_path, backend):
    tx, ty = np.load(FIX / "train_x.npy"), np.load(FIX / "train_y.npy")
    nnrs.random.seed(0)
    m = nnrs.Sequential([nnrs.Input((3,)), L.Dense(4, activation="tanh"), L.Dense(2)])
    m.compile(optimizer=nnrs.optimizers.Adam(0.01), loss="mse")
    for _ in range(2):
        m.train_on_batch(tx, ty)
    m.optimizer.learning_rate = 0.003  # as ReduceLROnPlateau would
    m.save(tmp_path / "m.keras")
    m.save_weights(tmp_path / "m.weights.h5")
    back = nnrs.models.load_model(tmp_path / "m.keras")
    other = nnrs.models.clone_model(m)
    other.compile(optimizer=nnrs.optimizers.Adam(0.01), loss="mse")
    other.load_weights(tmp_path / "m.weights.h5")
    assert back.optimizer.iterations == other.optimizer.iterations == 2
    assert back.optimizer.learning_rate == pytest.approx(0.003)
    for a, b in zip(back.optimizer.variables, m.optimizer.variables):
        np.testing.assert_array_equal(host(a), host(b))
    for model in (m, back, other):
        model.train_on_batch(tx, ty)
    np.testing.assert_array_equal(back.predict(tx, verbose=0), m.predict(tx, verbose=0))
    np.testing.assert_array_equal(other.predict(tx, verbose=0), m.predict(tx, verbose=0))


def test_optimizer_state_of_another_model_is_skipped_with_a_warning(tmp_path):
    tx, ty = np.load(FIX / "train_x.npy"), np.load(FIX / "train_y.npy")
    m = nnrs.Sequential([nnrs.Input((3,)), L.Dense(4), L.Dense(2)])
    m.compile(optimizer="adam", loss="mse")
    m.train_on_batch(tx, ty)
    m.save_weights(tmp_path / "m.weights.h5")
    other = nnrs.Sequential([nnrs.Input((3,)), L.Dense(4), L.Dense(2)])
    other.compile(optimizer="sgd", loss="mse")  # no slots: the file's Adam state does not fit
    with pytest.warns(UserWarning, match="skipping the optimizer state"):
        other.load_weights(tmp_path / "m.weights.h5")
    np.testing.assert_array_equal(other.get_weights()[0], m.get_weights()[0])
    other.train_on_batch(tx, ty)  # and it still trains


# ---- get_config / from_config ------------------------------------------------------------------

LAYERS = [
    lambda: L.Dense(5, activation="gelu", use_bias=False, kernel_initializer=nnrs.initializers.HeNormal(seed=3),
                    bias_regularizer="l1", activity_regularizer=nnrs.regularizers.L1L2(0.1, 0.2), name="d", trainable=False),
    lambda: L.Dense(2),
    lambda: L.Activation("softmax"),
    lambda: L.Dropout(0.3, seed=4),
    lambda: L.Flatten(),
    lambda: L.Reshape((2, -1)),
    lambda: L.InputLayer(shape=(3, 4), batch_size=2, name="inp"),
]


@pytest.mark.parametrize("make", LAYERS)
def test_layer_config_round_trip(make):
    layer = make()
    cfg = layer.get_config()
    json.dumps(cfg)  # a config is plain JSON
    again = type(layer).from_config(cfg)
    assert type(again) is type(layer) and again.get_config() == cfg
    assert again.name == layer.name and again.trainable == layer.trainable


def test_sequential_from_config_of_get_config():
    m = mlp()
    again = nnrs.Sequential.from_config(m.get_config())
    assert again.get_config() == m.get_config() and again.built
    assert [w.shape for w in again.weights] == [w.shape for w in m.weights]
    unbuilt = nnrs.Sequential([L.Dense(3), L.Dense(1)])
    assert nnrs.Sequential.from_config(unbuilt.get_config()).get_config() == unbuilt.get_config()


def test_model_from_config_of_get_config():
    f = two_in_two_out()
    again = nnrs.Model.from_config(f.get_config())
    assert again.get_config() == f.get_config()


def test_clone_model_has_new_weights_and_the_same_config():
    for m in (mlp(), two_in_two_out()):
        c = nnrs.models.clone_model(m)
        assert c.get_config() == m.get_config()
        assert not any(np.array_equal(a, b) for a, b in zip(c.get_weights(), m.get_weights()) if a.ndim == 2)
        assert not {id(v) for v in c.weights} & {id(v) for v in m.weights}


# ---- atomic writes ----------------------------------------------------------------------------


def test_failed_save_keeps_the_previous_archive(tmp_path, monkeypatch):
    path = tmp_path / "m.keras"
    m = mlp()
    m.save(path)
    before = path.read_bytes()
    real = zipfile.ZipFile.writestr

    def writestr(self, name, data, *a, **k):
        if name == "model.weights.h5":
            real(self, name, data[: len(data) // 2], *a, **k)
            raise OSError("disk full")
        return real(self, name, data, *a, **k)

    monkeypatch.setattr(zipfile.ZipFile, "writestr", writestr)
    with pytest.raises(OSError, match="disk full"):
        mlp(seed=9).save(path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["m.keras"]  # no temporary file left behind


def test_failed_weights_save_keeps_the_previous_file(tmp_path, monkeypatch):
    path = tmp_path / "m.weights.h5"
    mlp().save_weights(path)
    before = path.read_bytes()
    real = saving._write_h5

    def half(group, layer):
        real(group, layer)
        if "layers" in group:  # the model's groups are written, the file is not closed yet
            raise OSError("disk full")

    monkeypatch.setattr(saving, "_write_h5", half)
    with pytest.raises(OSError, match="disk full"):
        mlp(seed=9).save_weights(path)
    assert path.read_bytes() == before and [p.name for p in tmp_path.iterdir()] == ["m.weights.h5"]


# ---- loading runs no code ---------------------------------------------------------------------


def _archive(path, config, weights=None):
    buf = io.BytesIO()
    with h5py.File(buf, "w"):
        pass
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("metadata.json", "{}")
        z.writestr("config.json", json.dumps(config))
        z.writestr("model.weights.h5", weights if weights is not None else buf.getvalue())


def _lambda_model_config():
    cfg = json.loads(zipfile.ZipFile(FIX / "mlp.keras").read("config.json"))
    cfg["config"]["layers"].insert(1, {"module": "keras.layers", "class_name": "Lambda", "registered_name": None, "config": {
        "name": "lam", "function": {"class_name": "__lambda__", "config": {"code": "4wEAAAAAAAAA", "defaults": None, "closure": None}},
        "arguments": {}}})
    return cfg


@pytest.mark.parametrize("safe_mode", [True, False])
def test_lambda_layers_are_refused(tmp_path, safe_mode):
    _archive(tmp_path / "lam.keras", _lambda_model_config())
    with pytest.raises(ValueError, match="safe_mode=True" if safe_mode else "never loads code"):
        nnrs.models.load_model(tmp_path / "lam.keras", safe_mode=safe_mode)


def test_serialized_function_activation_is_refused(tmp_path):
    cfg = json.loads(zipfile.ZipFile(FIX / "mlp.keras").read("config.json"))
    cfg["config"]["layers"][1]["config"]["activation"] = {"class_name": "__lambda__", "config": {"code": "abc"}}
    _archive(tmp_path / "f.keras", cfg)
    with pytest.raises(ValueError, match="serialized Python function"):
        nnrs.models.load_model(tmp_path / "f.keras")


class _Evil:
    def __reduce__(self):
        return (os.system, ("touch PWNED",))


def test_a_pickle_is_never_run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "evil.keras").write_bytes(pickle.dumps(_Evil()))
    with pytest.raises(ValueError, match="not a .keras archive"):
        nnrs.models.load_model(tmp_path / "evil.keras")
    (tmp_path / "evil.weights.h5").write_bytes(pickle.dumps(_Evil()))
    with pytest.raises(ValueError, match="not a readable HDF5"):
        mlp().load_weights(tmp_path / "evil.weights.h5")
    assert not (tmp_path / "PWNED").exists()


def test_classes_are_never_imported_from_the_module_named_in_the_file(tmp_path):
    cfg = json.loads(zipfile.ZipFile(FIX / "mlp.keras").read("config.json"))
    cfg["config"]["layers"][1].update(module="os", class_name="system", registered_name=None)
    _archive(tmp_path / "m.keras", cfg)
    with pytest.raises(ValueError, match=r"Unknown layer class 'system'.*register_keras_serializable"):
        nnrs.models.load_model(tmp_path / "m.keras")


# ---- custom layers ----------------------------------------------------------------------------


@saving.register_keras_serializable(package="NnrsTests")
class Scale(L.Layer):
    def __init__(self, factor=2.0, **kwargs):
        super().__init__(**kwargs)
        self.factor = factor

    def build(self, input_shape):
        self.w = self.add_weight((input_shape[-1],), "ones", name="w")

    def call(self, x, training=False):
        return nnrs.ops.multiply(nnrs.ops.multiply(x, self.w), self.factor)

    def get_config(self):
        return {**super().get_config(), "factor": self.factor}


class Unregistered(Scale):
    pass


def test_registered_custom_layer_round_trip(tmp_path):
    assert nnrs.utils.register_keras_serializable is saving.register_keras_serializable
    assert saving.get_registered_name(Scale) == "NnrsTests>Scale" and saving.get_registered_object("NnrsTests>Scale") is Scale
    nnrs.random.seed(0)
    m = nnrs.Sequential([nnrs.Input((3,)), Scale(3.0), L.Dense(2)])
    m.layers[0].set_weights([np.array([1.0, -2.0, 0.5], "float32")])
    m.save(tmp_path / "s.keras")
    rec = json.loads(zipfile.ZipFile(tmp_path / "s.keras").read("config.json"))["config"]["layers"][1]
    assert rec["registered_name"] == "NnrsTests>Scale" and rec["config"]["factor"] == 3.0
    back = nnrs.models.load_model(tmp_path / "s.keras")
    assert type(back.layers[0]) is Scale and back.layers[0].factor == 3.0
    x = np.arange(6, dtype="float32").reshape(2, 3)
    np.testing.assert_array_equal(back.predict(x, verbose=0), m.predict(x, verbose=0))


def test_unregistered_layer_needs_custom_objects(tmp_path):
    m = nnrs.Sequential([nnrs.Input((3,)), Unregistered(name="u")])
    m.save(tmp_path / "u.keras")
    with pytest.raises(ValueError, match=r"Unknown layer class 'Unregistered'.*custom_objects"):
        nnrs.models.load_model(tmp_path / "u.keras")
    back = nnrs.models.load_model(tmp_path / "u.keras", custom_objects={"Unregistered": Unregistered})
    assert type(back.layers[0]) is Unregistered


# ---- bad files name the problem ----------------------------------------------------------------


def test_bad_files_name_the_problem(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such file"):
        nnrs.models.load_model(tmp_path / "missing.keras")
    with zipfile.ZipFile(tmp_path / "empty.keras", "w") as z:
        z.writestr("metadata.json", "{}")
    with pytest.raises(ValueError, match="has no config.json, model.weights.h5"):
        nnrs.models.load_model(tmp_path / "empty.keras")
    _archive(tmp_path / "json.keras", {})
    with zipfile.ZipFile(tmp_path / "badjson.keras", "w") as z:
        z.writestr("config.json", "{not json")
        z.writestr("model.weights.h5", b"")
    with pytest.raises(ValueError, match="config.json .* is not valid JSON"):
        nnrs.models.load_model(tmp_path / "badjson.keras")
    with pytest.raises(ValueError, match="legacy Keras 2 HDF5"):
        nnrs.models.load_model(tmp_path / "old.h5")
    with pytest.raises(ValueError, match=r"must end in '\.keras'"):
        mlp().save(tmp_path / "m.h5")


def test_weights_of_another_model_are_a_clear_error(tmp_path):
    mlp().save_weights(tmp_path / "m.weights.h5")
    other = nnrs.Sequential([nnrs.Input((8,)), L.Dense(17)])
    with pytest.raises(ValueError, match=r"layers/dense/vars/0 in the file has shape \(8, 16\).*expects \(8, 17\)"):
        other.load_weights(tmp_path / "m.weights.h5")
    before = [w.copy() for w in other.get_weights()]
    small = nnrs.Sequential([nnrs.Input((8,)), L.Dense(16, use_bias=False)])
    with pytest.raises(ValueError, match="has 1 variable.*holds 2"):
        small.load_weights(tmp_path / "m.weights.h5")
    np.testing.assert_array_equal(other.get_weights()[0], before[0])


def test_clone_model_with_clone_function_and_input_tensors():
    m = mlp()
    shared = m.layers[0]
    c = nnrs.models.clone_model(m, clone_function=lambda l: l if l is shared else type(l).from_config(l.get_config()))
    assert c.layers[0] is shared and c.layers[2] is not m.layers[2] and c.get_config() == m.get_config()
    f = two_in_two_out()
    a, b = nnrs.Input((6,), name="new_a"), nnrs.Input((4,), name="new_b")
    g = nnrs.models.clone_model(f, input_tensors=[a, b])
    assert [l["name"] for l in g.get_config()["layers"] if l["class_name"] == "InputLayer"] == ["new_a", "new_b"]
    assert [w.shape for w in g.weights] == [w.shape for w in f.weights]
    with pytest.raises(ValueError, match="has 2 inputs, got 1"):
        nnrs.models.clone_model(f, input_tensors=[a])
    with pytest.raises(NotImplementedError, match="call_function"):
        nnrs.models.clone_model(f, call_function=lambda *a: None)


def test_custom_object_scope_and_get_custom_objects(tmp_path):
    m = nnrs.Sequential([nnrs.Input((3,)), Unregistered(name="u")])
    m.save(tmp_path / "u.keras")
    with saving.custom_object_scope({"Unregistered": Unregistered}):
        assert type(nnrs.models.load_model(tmp_path / "u.keras").layers[0]) is Unregistered
    with pytest.raises(ValueError, match="Unknown layer class 'Unregistered'"):
        nnrs.models.load_model(tmp_path / "u.keras")  # the scope has ended
    saving.get_custom_objects()["Unregistered"] = Unregistered
    try:
        assert type(nnrs.models.load_model(tmp_path / "u.keras").layers[0]) is Unregistered
    finally:
        del saving.get_custom_objects()["Unregistered"]


def test_sharded_weights_are_refused(tmp_path):
    m = mlp()
    with pytest.raises(NotImplementedError, match="max_shard_size"):
        m.save_weights(tmp_path / "m.weights.h5", max_shard_size=1)
    assert not (tmp_path / "m.weights.h5").exists()


def test_load_weights_skip_mismatch_keeps_the_layers_that_do_not_fit(tmp_path):
    def net(head):
        nnrs.utils.set_random_seed(head)
        return nnrs.Sequential([nnrs.Input((4,)), L.Dense(5, name="body"), L.Dense(head, name="head")])

    src, dst = net(3), net(2)
    src.save_weights(tmp_path / "src.weights.h5")
    head_before = [w.copy() for w in dst.layers[1].get_weights()]
    with pytest.raises(ValueError, match=r"expects \(5, 2\)"):
        dst.load_weights(tmp_path / "src.weights.h5")
    np.testing.assert_array_equal(dst.layers[0].get_weights()[0], net(2).layers[0].get_weights()[0])  # nothing assigned
    with pytest.warns(UserWarning, match="'head' keeps its weights"):
        dst.load_weights(tmp_path / "src.weights.h5", skip_mismatch=True)
    for a, b in zip(dst.layers[0].get_weights(), src.layers[0].get_weights()):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(dst.layers[1].get_weights(), head_before):
        np.testing.assert_array_equal(a, b)
    with pytest.warns(UserWarning, match="keeps its weights"):  # the weights inside a .keras archive too
        src.save(tmp_path / "src.keras")
        dst.load_weights(tmp_path / "src.keras", skip_mismatch=True)
    with pytest.raises(TypeError, match="unexpected arguments"):
        dst.load_weights(tmp_path / "src.weights.h5", by_name=True)


def test_shared_layers_and_merge_layers_save_and_load(tmp_path):
    a, b = nnrs.Input((4,), name="a"), nnrs.Input((4,), name="b")
    shared = L.Dense(3, activation="tanh", name="shared")
    ha, hb = shared(a), shared(b)
    again = shared(L.Dense(4, name="proj")(hb))  # a third call, fed by the second
    merged = L.concatenate([ha, hb, again])
    out = L.Dense(1, name="out")(L.add([L.Dense(1, name="side")(merged), L.dot([ha, hb], axes=1)]))
    m = nnrs.Model([a, b], [out, again])
    cfg = m.get_config()
    rec = {r["name"]: r for r in cfg["layers"]}
    assert len(rec["shared"]["inbound_nodes"]) == 3
    assert rec["proj"]["inbound_nodes"][0]["args"][0]["config"]["keras_history"] == ["shared", 1, 0]
    assert cfg["output_layers"] == [["out", 0, 0], ["shared", 2, 0]]
    assert rec["concatenate"]["module"] == "keras.layers" and rec["concatenate"]["config"]["axis"] == -1
    assert rec["concatenate"]["build_config"] == {"input_shape": [[None, 3]] * 3}
    x = [np.random.default_rng(1).normal(size=(6, 4)).astype("float32") for _ in range(2)]
    want = m.predict(x, verbose=0)
    m.save(tmp_path / "s.keras")
    back = nnrs.models.load_model(tmp_path / "s.keras")
    assert len(back.weights) == len(m.weights) == 8  # the shared Dense counted once
    for g, w in zip(back.predict(x, verbose=0), want):
        np.testing.assert_array_equal(g, w)
    assert back.get_config() == json.loads(json.dumps(cfg))
    clone = nnrs.models.clone_model(m)
    assert clone.get_layer("shared") is not m.get_layer("shared")
    assert [type(l).__name__ for l in clone.layers] == [type(l).__name__ for l in m.layers]


# ---- functions saved by name (activations, losses) -----------------------------------------------


def _my_act(x):
    return nnrs.ops.multiply(nnrs.ops.relu(x), 2.0)


def test_keras_registered_activation_and_function_loss_load():
    with pytest.raises(ValueError, match="unknown activation 'My>my_act'"):
        nnrs.models.load_model(FIX / "act.keras")  # not registered in nnrs: a clear error, nothing run
    m = nnrs.models.load_model(FIX / "act.keras", custom_objects={"My>my_act": _my_act})
    assert m.layers[0]._act_fn is _my_act and m.compiled and type(m.loss).__name__ == "MeanSquaredError"
    assert m.metrics_names == ["loss", "mean_absolute_error"]
    np.testing.assert_allclose(m.predict(np.load(FIX / "x.npy"), verbose=0), np.load(FIX / "act_pred.npy"), atol=1e-6, rtol=0)


def test_registered_function_activation_round_trip(tmp_path):
    act = saving.register_keras_serializable(package="NnrsTests", name="double_relu")(_my_act)
    assert saving.get_registered_name(act) == "NnrsTests>double_relu"
    nnrs.random.seed(0)
    m = nnrs.Sequential([nnrs.Input((3,)), L.Dense(4, activation=act), L.Activation(act)])
    assert m.layers[0].get_config()["activation"] == {"module": "builtins", "class_name": "function",
                                                      "config": "NnrsTests>double_relu", "registered_name": "function"}
    m.save(tmp_path / "a.keras")
    back = nnrs.models.load_model(tmp_path / "a.keras")
    x = np.linspace(-1, 1, 6, dtype="float32").reshape(2, 3)
    np.testing.assert_array_equal(back.predict(x, verbose=0), m.predict(x, verbose=0))
    np.testing.assert_allclose(nnrs.models.load_model(FIX / "nnrs_act.keras", custom_objects={"My>my_act": _my_act})
                               .predict(np.load(FIX / "x.npy"), verbose=0), np.load(FIX / "nnrs_act_pred.npy"), atol=1e-6, rtol=0)


def test_to_json_and_model_from_json():
    m = mlp()
    text = m.to_json()
    assert set(json.loads(text)) == {"module", "class_name", "config", "registered_name", "build_config", "compile_config"}
    again = nnrs.models.model_from_json(text)
    assert again.get_config() == m.get_config() and again.compiled  # as in Keras: the record's compile settings apply
    with pytest.raises(ValueError, match="not valid JSON"):
        nnrs.models.model_from_json("{")


def test_unsupported_dtype_policy_is_named():
    cfg = L.Dense(2).get_config()
    cfg["dtype"]["config"]["name"] = "mixed_float16"
    with pytest.raises(ValueError, match="dtype policy 'mixed_float16' is not supported"):
        L.Dense.from_config(cfg)


def test_compile_settings_nnrs_cannot_restore_warn_and_leave_the_model_uncompiled(tmp_path):
    z = zipfile.ZipFile(FIX / "mlp.keras")
    cfg = json.loads(z.read("config.json"))
    cfg["compile_config"]["optimizer"]["class_name"] = "Lion"
    _archive(tmp_path / "lion.keras", cfg, z.read("model.weights.h5"))
    with pytest.warns(UserWarning, match="was not compiled.*Lion"):
        m = nnrs.models.load_model(tmp_path / "lion.keras")
    assert not m.compiled
    np.testing.assert_allclose(m.predict(np.load(FIX / "x.npy"), verbose=0), np.load(FIX / "mlp_pred.npy"), atol=1e-6, rtol=0)


@saving.register_keras_serializable(package="NnrsTests")
class Framed(L.Layer):
    """A custom layer whose arguments share names with Keras-only ones that nnrs' own layers drop."""

    def __init__(self, data_format="channels_first", sparse=False, **kwargs):
        super().__init__(**kwargs)
        self.data_format, self.sparse = data_format, sparse

    def call(self, x, training=False):
        return x

    def get_config(self):
        return {**super().get_config(), "data_format": self.data_format, "sparse": self.sparse}


def test_custom_layer_config_is_passed_back_untouched(tmp_path):
    m = nnrs.Sequential([nnrs.Input((3,)), Framed(data_format="channels_last", sparse=False, name="fr")])
    m.save(tmp_path / "f.keras")
    layer = nnrs.models.load_model(tmp_path / "f.keras").layers[0]
    assert (layer.data_format, layer.sparse) == ("channels_last", False)


# ---- subclassed models and layers that own layers: groups named by attribute ----------------------


@saving.register_keras_serializable(package="My")
class Block(L.Layer):
    """The registered custom layer ``My>Block`` of the Keras fixtures, written as in Keras."""

    def __init__(self, units=4, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.inner = L.Dense(units, activation="tanh")
        self.pair = [L.Dense(units), L.Dense(units, activation="relu")]

    def call(self, x):
        return self.pair[1](self.pair[0](self.inner(x)))

    def get_config(self):
        return {**super().get_config(), "units": self.units}


@saving.register_keras_serializable(package="My")
class Net(nnrs.Model):
    """The registered subclassed model ``My>Net`` of the Keras fixtures."""

    def __init__(self, hidden=6, **kwargs):
        super().__init__(**kwargs)
        self.hidden = hidden
        self.body = Block(hidden)
        self.head = L.Dense(2)

    def call(self, x):
        return self.head(self.body(x))

    def get_config(self):
        return {"hidden": self.hidden, "name": self.name}


def test_keras_subclassed_model_weights_load_by_attribute_names(tmp_path):
    net = Net(6)
    net.build((None, 8))
    net.load_weights(FIX / "net.weights.h5")
    np.testing.assert_allclose(net.predict(np.load(FIX / "x.npy"), verbose=0), np.load(FIX / "net_pred.npy"), atol=1e-6, rtol=0)
    net.save_weights(tmp_path / "n.weights.h5")
    assert h5_paths(str(tmp_path / "n.weights.h5")) == h5_paths(str(FIX / "net.weights.h5"))
    fresh = Net(6)
    fresh.build((None, 8))
    fresh.load_weights(FIX / "nnrs_net.weights.h5")  # written by nnrs, checked in Keras by make_fixtures.py --check-nnrs
    np.testing.assert_allclose(fresh.predict(np.load(FIX / "x.npy"), verbose=0), np.load(FIX / "nnrs_net_pred.npy"), atol=1e-6, rtol=0)


@pytest.mark.parametrize("name, pred", [("net.keras", "net_pred.npy"), ("nnrs_net.keras", "nnrs_net_pred.npy")])
def test_keras_registered_subclassed_model_with_registered_layer_loads_whole(tmp_path, name, pred):
    x = np.load(FIX / "x.npy")
    net = nnrs.models.load_model(FIX / name)  # net.keras: written by Keras 3; nnrs_net.keras: by nnrs, checked in Keras
    assert type(net) is Net and type(net.body) is Block and net.hidden == net.body.units == 6
    assert len(net.weights) == 8
    np.testing.assert_allclose(net.predict(x, verbose=0), np.load(FIX / pred), atol=1e-6, rtol=0)
    net.save(tmp_path / "again.keras")
    np.testing.assert_array_equal(nnrs.models.load_model(tmp_path / "again.keras").predict(x, verbose=0), net.predict(x, verbose=0))


@pytest.mark.parametrize("prefix", ["", "nnrs_"])
def test_keras_shared_layer_and_merge_layers_file_loads(prefix):
    x = np.load(FIX / "x.npy")
    m = nnrs.models.load_model(FIX / f"{prefix}shared.keras")
    assert m.get_layer("shared").units == 3 and len(m.weights) == 8
    got = m.predict([x[:, :4], x[:, 4:]], verbose=0)
    for i, g in enumerate(got):
        np.testing.assert_allclose(g, np.load(FIX / f"{prefix}shared_pred_{i}.npy"), atol=1e-6, rtol=0)
    if not prefix:  # nnrs writes Keras' config back: same layer order, same call records
        keras_cfg = json.loads(zipfile.ZipFile(FIX / "shared.keras").read("config.json"))["config"]
        ours = m.get_config()
        assert [l["name"] for l in ours["layers"]] == [l["name"] for l in keras_cfg["layers"]]
        for a, b in zip(ours["layers"], keras_cfg["layers"]):
            assert [n["args"] for n in a["inbound_nodes"]] == [n["args"] for n in b["inbound_nodes"]], a["name"]
        assert ours["output_layers"] == keras_cfg["output_layers"]


def test_registered_subclassed_model_round_trip(tmp_path):
    @saving.register_keras_serializable(package="NnrsTests")
    class Wide(nnrs.Model):
        def __init__(self, hidden=5, **kwargs):
            super().__init__(**kwargs)
            self.hidden = hidden
            self.d1, self.d2 = L.Dense(hidden, activation="relu"), L.Dense(2)

        def call(self, x, training=False):
            return self.d2(self.d1(x))

        def get_config(self):
            return {**super().get_config(), "hidden": self.hidden}

        @classmethod
        def from_config(cls, config):  # Keras' signature: no custom_objects argument
            return cls(**config)

    m = Wide(hidden=7)
    x = np.ones((4, 3), "float32")
    m.compile(optimizer="adam", loss="mse")
    m.fit(x, np.ones((4, 2), "float32"), epochs=2, verbose=0)
    m.save(tmp_path / "w.keras")
    back = nnrs.models.load_model(tmp_path / "w.keras")
    assert type(back) is Wide and back.hidden == 7 and back.optimizer.iterations == m.optimizer.iterations
    np.testing.assert_array_equal(back.predict(x, verbose=0), m.predict(x, verbose=0))


def test_ops_on_symbolic_tensors_are_refused_at_save_and_the_old_file_stays(tmp_path):
    a = nnrs.Input((3,))
    m = nnrs.Model(a, nnrs.ops.multiply(L.Dense(2)(a), 2.0))
    mlp().save(tmp_path / "m.keras")
    before = (tmp_path / "m.keras").read_bytes()
    with pytest.raises(ValueError, match=r"nnrs.ops.multiply applied to a symbolic tensor"):
        m.save(tmp_path / "m.keras")
    assert (tmp_path / "m.keras").read_bytes() == before


@pytest.mark.parametrize("name", ["convnet", "nnrs_convnet"])
def test_convnet_files_load_with_their_predictions(name, tmp_path):
    """convnet.keras: conv, batch norm (moving statistics after 3 steps), pooling and dense,
    written by Keras 3; nnrs_convnet.keras: the same written by nnrs (Keras opens it too:
    make_fixtures.py --check-nnrs)."""
    x = np.load(FIX / "x_img.npy")
    m = nnrs.models.load_model(FIX / f"{name}.keras")
    assert [type(l).__name__ for l in m.layers] == ["Conv2D", "BatchNormalization", "MaxPooling2D", "Conv2D",
                                                    "AveragePooling2D", "Flatten", "Dense"]
    np.testing.assert_allclose(m.predict(x, verbose=0), np.load(FIX / f"{name}_pred.npy"), atol=1e-5, rtol=0)
    m.save(tmp_path / "again.keras")
    np.testing.assert_array_equal(nnrs.models.load_model(tmp_path / "again.keras").predict(x, verbose=0), m.predict(x, verbose=0))
