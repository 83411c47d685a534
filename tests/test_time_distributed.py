"""TimeDistributed and RepeatVector: numbers against per-step definitions and against Keras 3
files (tests/fixtures/keras3/td_*.keras, written by make_masking_fixtures.py there), gradients,
masks, configs and .keras round trips in both directions."""

import json
import zipfile
from pathlib import Path

import nnrs
import numpy as np
import pytest
from nnrs import layers as L
from nnrs.layers.base import get_keras_mask

FIX = Path(__file__).parent / "fixtures" / "keras3"


def _x(shape, seed=0, dtype="float32"):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


@pytest.mark.parametrize("name", ["td_repeat", "td_masking", "td_conv"])
def test_keras_files_load_with_keras_predictions(name, tmp_path):
    model = nnrs.models.load_model(FIX / f"{name}.keras")
    x, want = np.load(FIX / f"{name}_x.npy"), np.load(FIX / f"{name}_pred.npy")
    np.testing.assert_allclose(model.predict(x, verbose=0), want, atol=1e-5)
    model.save(tmp_path / "again.keras")  # and nnrs' own file of it loads to the same numbers
    back = nnrs.models.load_model(tmp_path / "again.keras")
    np.testing.assert_allclose(back.predict(x, verbose=0), want, atol=1e-5)
    with zipfile.ZipFile(tmp_path / "again.keras") as z, zipfile.ZipFile(FIX / f"{name}.keras") as k:
        ours, theirs = json.loads(z.read("config.json")), json.loads(k.read("config.json"))
    for a, b in zip(ours["config"]["layers"], theirs["config"]["layers"]):
        assert a["class_name"] == b["class_name"]
        if a["class_name"] == "TimeDistributed":
            assert a["config"]["layer"]["class_name"] == b["config"]["layer"]["class_name"]
            assert a["config"]["layer"]["module"] == b["config"]["layer"]["module"] == "keras.layers"


def test_time_distributed_dense_is_dense_per_step(backend):
    x = _x((3, 4, 5))
    td = L.TimeDistributed(L.Dense(2, activation="tanh"))
    y = td(x).numpy()
    k, b = td.layer.get_weights()
    np.testing.assert_allclose(y, np.tanh(x @ k + b), rtol=1e-5, atol=1e-6)
    assert len(td.weights) == 2 and td.count_params() == 5 * 2 + 2  # one Dense, shared by every step


def test_time_distributed_conv_is_conv_per_step(backend):
    x = _x((2, 3, 6, 6, 2))
    td = L.TimeDistributed(L.Conv2D(3, 3, padding="same"))
    y = td(x).numpy()
    assert y.shape == (2, 3, 6, 6, 3)
    for step in range(3):
        np.testing.assert_allclose(y[:, step], td.layer(x[:, step]).numpy(), rtol=1e-5, atol=1e-6)


def test_gradients():
    td = L.TimeDistributed(L.Dense(3, activation="sigmoid", dtype="float64"), dtype="float64")
    td.build((None, 4, 2))
    assert nnrs.gradcheck(td, _x((2, 4, 2), dtype="float64"), wrt=td.weights)
    tdc = L.TimeDistributed(L.Conv2D(2, 2, dtype="float64"), dtype="float64")
    tdc.build((None, 2, 4, 4, 2))
    assert nnrs.gradcheck(tdc, _x((1, 2, 4, 4, 2), dtype="float64"), wrt=tdc.weights)
    assert nnrs.gradcheck(L.RepeatVector(3, dtype="float64"), _x((2, 4), dtype="float64"))


def test_shapes_and_summary():
    model = nnrs.Sequential([nnrs.Input((5,)), L.Dense(4), L.RepeatVector(3), L.TimeDistributed(L.Dense(2))])
    assert model.output_shape == (None, 3, 2)
    lines = []
    model.summary(print_fn=lines.append)
    text = "\n".join(lines)
    assert "(TimeDistributed)" in text and "(None, 3, 2)" in text and "(None, 3, 4)" in text
    inp = nnrs.Input((3, 8, 8, 1))
    out = L.TimeDistributed(L.Flatten())(L.TimeDistributed(L.Conv2D(2, 3))(inp))
    assert out.shape == (None, 3, 72)


def test_repeat_vector_numbers_and_config(backend):
    x = _x((2, 3))
    y = L.RepeatVector(4)(x).numpy()
    np.testing.assert_array_equal(y, np.repeat(x[:, None, :], 4, axis=1))
    cfg = L.RepeatVector(4, name="r").get_config()
    assert cfg["n"] == 4 and cfg["name"] == "r"
    assert L.RepeatVector.from_config(cfg).n == 4


def test_errors_name_the_layer():
    with pytest.raises(ValueError, match="TimeDistributed 'td'.*at least 3 dimensions"):
        L.TimeDistributed(L.Dense(2), name="td")(_x((2, 3)))
    with pytest.raises(ValueError, match="TimeDistributed 'td2'.*at least 3 dimensions"):
        L.TimeDistributed(L.Dense(2), name="td2")(nnrs.Input((3,)))
    with pytest.raises(TypeError, match="TimeDistributed: layer must be an nnrs layer"):
        L.TimeDistributed("dense")
    with pytest.raises(ValueError, match=r"RepeatVector 'rv'.*\(batch, features\)"):
        L.RepeatVector(2, name="rv")(_x((2, 3, 4)))
    with pytest.raises(ValueError, match="n must be positive"):
        L.RepeatVector(0)
    with pytest.raises(TypeError, match="n must be an integer"):
        L.RepeatVector(2.5)


class StepReader(L.Layer):
    """A per-step test layer that takes a mask: records the mask it got."""

    supports_masking = True

    def call(self, x, mask=None):
        self.seen = None if mask is None else mask.numpy()
        return x


def test_mask_passes_through_and_reaches_the_inner_layer():
    x = _x((3, 4, 2))
    x[0, 2:] = 0.0
    mask = np.any(x != 0, axis=-1)
    model = nnrs.Sequential([nnrs.Input((4, 2)), L.Masking(0.0), L.TimeDistributed(L.Dense(3))])
    np.testing.assert_array_equal(get_keras_mask(model(x)).numpy(), mask)
    reader = StepReader()
    L.TimeDistributed(reader)(L.Masking(0.0)(x))
    np.testing.assert_array_equal(reader.seen, mask.reshape(-1))
    with pytest.raises(ValueError, match="mask must start with"):
        L.TimeDistributed(L.Dense(2))(nnrs.Tensor(x), mask=nnrs.Tensor(np.ones((3, 5), bool)))


def test_config_round_trip_and_training():
    td = L.TimeDistributed(L.Dense(3, activation="relu", name="inner"), name="td")
    cfg = td.get_config()
    assert cfg["name"] == "td" and cfg["layer"]["class_name"] == "Dense" and cfg["layer"]["config"]["units"] == 3
    back = L.TimeDistributed.from_config(json.loads(json.dumps(cfg)))
    assert isinstance(back.layer, L.Dense) and back.layer.units == 3 and back.name == "td"
    nnrs.random.seed(0)
    model = nnrs.Sequential([nnrs.Input((4, 2)), L.TimeDistributed(L.Dense(8, activation="relu")), L.TimeDistributed(L.Dense(1))])
    x = _x((64, 4, 2))
    y = x.sum(-1, keepdims=True)
    model.compile(nnrs.optimizers.Adam(0.02), "mse")
    hist = model.fit(x, y, epochs=20, batch_size=16, verbose=0)
    assert hist.history["loss"][-1] < 0.5 * hist.history["loss"][0]


@pytest.mark.parametrize("name", ["td_repeat", "td_masking", "td_conv"])
def test_nnrs_files_checked_in_keras_still_load(name):
    """nnrs_td_*.keras were saved by nnrs and opened in Keras 3 (make_masking_fixtures.py
    --check-nnrs: same predictions within 1e-5); nnrs still reads them to the same numbers."""
    model = nnrs.models.load_model(FIX / f"nnrs_{name}.keras")
    np.testing.assert_allclose(model.predict(np.load(FIX / f"{name}_x.npy"), verbose=0),
                               np.load(FIX / f"nnrs_{name}_pred.npy"), atol=1e-6)
