"""Masks as in Keras 3: how they flow through layers and models, how losses and metrics
use them, and the Masking layer (numbers from Keras 3 in tests/fixtures/keras3/masking.npz,
written by make_masking_fixtures.py there)."""

import gc
import warnings
from pathlib import Path

import nnrs
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from nnrs import layers as L
from nnrs import ops
from nnrs.layers.base import _masks, get_keras_mask, set_keras_mask

FIX = Path(__file__).parent / "fixtures" / "keras3"
KX = np.load(FIX / "masking.npz")


class ZeroMask(L.Layer):
    """A test layer that makes a mask: steps whose features are all 0 are masked."""

    def call(self, x):
        return ops.multiply(x, 1.0)

    def compute_mask(self, x, mask=None):
        return ops.any(ops.not_equal(x, 0.0), axis=-1)


class MaskReader(L.Layer):
    """A test layer with the recurrent layers' interface: call takes the mask, records it."""

    supports_masking = True

    def call(self, x, mask=None, training=None):
        self.seen = None if mask is None else mask.numpy()
        return x


class Halve(L.Layer):
    """A test layer that gives its output a mask of its own: the first half of the steps."""

    def call(self, x):
        return ops.multiply(x, 1.0)

    def compute_mask(self, x, mask=None):
        t = x.shape[1]
        m = np.zeros(x.shape[:2], dtype=bool)
        m[:, : t // 2] = True
        return nnrs.Tensor(m, backend=x.backend)


def _seq(seed=0, shape=(4, 5, 3)):
    x = np.random.default_rng(seed).standard_normal(shape).astype("float32")
    x[0, 3:] = 0.0
    x[2, 0] = 0.0
    return x


def _mask_of(x):
    return np.any(x != 0, axis=-1)


# ---- propagation ------------------------------------------------------------------------

def test_supports_masking_defaults_follow_keras():
    assert ZeroMask().supports_masking  # its own compute_mask: supports masking
    assert not L.Flatten().supports_masking and not L.Conv2D(2, 3).supports_masking
    for layer in (L.Dense(2), L.Activation("relu"), L.Dropout(0.1), L.BatchNormalization(), L.Add(name="m_add_1"),
                  L.Concatenate(name="m_concatenate_2"),
                  L.GaussianNoise(0.1), L.Masking(), L.TimeDistributed(L.Dense(2)), L.GlobalAveragePooling1D()):
        assert layer.supports_masking, type(layer).__name__
    for layer in (L.Reshape((2,)), L.MaxPooling1D(), L.GlobalMaxPooling1D(), L.RepeatVector(2), L.ZeroPadding2D()):
        assert not layer.supports_masking, type(layer).__name__
    d = L.Dense(2)
    d.supports_masking = False
    assert not d.supports_masking and L.Dense(2).supports_masking


def test_layer_call_passes_and_attaches_masks(backend):
    x = _seq()
    y = ZeroMask()(x)
    np.testing.assert_array_equal(get_keras_mask(y).numpy(), _mask_of(x))
    reader = MaskReader()
    z = reader(L.Dense(3)(y))  # Dense passes the mask on
    np.testing.assert_array_equal(reader.seen, _mask_of(x))
    np.testing.assert_array_equal(get_keras_mask(z).numpy(), _mask_of(x))
    explicit = np.ones((4, 5), bool)
    reader(y, mask=nnrs.Tensor(explicit))  # a mask given by the caller wins
    np.testing.assert_array_equal(reader.seen, explicit)
    assert get_keras_mask(L.Dense(3)(x)) is None  # nothing made a mask


def test_layer_without_masking_drops_the_mask_with_a_warning():
    y = ZeroMask()(_seq())
    with pytest.warns(UserWarning, match="Flatten .* does not support masking"):
        z = L.Flatten()(y)
    assert get_keras_mask(z) is None


def test_later_mask_maker_replaces_the_mask():
    y = Halve()(ZeroMask()(_seq()))
    np.testing.assert_array_equal(get_keras_mask(y).numpy(), np.arange(5)[None, :].repeat(4, 0) < 2)

    class Same(Halve):
        def call(self, x):
            return x

    # an output that already carries a mask keeps it (Keras' rule): here the same tensor comes back
    x = _seq()
    np.testing.assert_array_equal(get_keras_mask(Same()(ZeroMask()(x))).numpy(), _mask_of(x))


def test_sequential_propagates_masks(backend):
    x = _seq()
    reader = MaskReader()
    model = nnrs.Sequential([nnrs.Input((5, 3)), ZeroMask(), L.Dense(4), L.Dropout(0.5), reader, L.Dense(2)])
    assert not model._direct  # a layer that makes masks: the layer-by-layer path
    out = model(x)
    np.testing.assert_array_equal(reader.seen, _mask_of(x))
    np.testing.assert_array_equal(get_keras_mask(out).numpy(), _mask_of(x))
    assert model.predict(x, verbose=0).shape == (4, 5, 2)
    reader.seen = None
    model(_seq(1), training=True)
    np.testing.assert_array_equal(reader.seen, _mask_of(_seq(1)))


def test_sequential_mask_argument_reaches_the_first_layer():
    reader = MaskReader()
    model = nnrs.Sequential([nnrs.Input((5, 3)), reader, L.Dense(2)])
    m = np.zeros((4, 5), bool)
    m[:, 1] = True
    out = model(_seq(), mask=nnrs.Tensor(m))
    np.testing.assert_array_equal(reader.seen, m)
    np.testing.assert_array_equal(get_keras_mask(out).numpy(), m)


def test_functional_masks_follow_the_edges():
    inp = nnrs.Input((5, 3))
    r1, r2 = MaskReader(), MaskReader()
    masked = ZeroMask()(inp)
    a = r1(L.Dense(4)(masked))
    b = r2(L.Dense(4)(inp))  # the model's input has no mask
    model = nnrs.Model(inp, L.Add(name="m_add_3")([a, b]))
    x = _seq()
    out = model(x)
    np.testing.assert_array_equal(r1.seen, _mask_of(x))
    assert r2.seen is None
    assert get_keras_mask(out) is None  # Add: a mask only when every input has one (Keras)


def test_nested_and_subclassed_models_propagate():
    inner = nnrs.Sequential([nnrs.Input((5, 3)), L.Dense(4), L.Dense(4)])
    reader = MaskReader()
    inp = nnrs.Input((5, 3))
    outer = nnrs.Model(inp, reader(inner(ZeroMask()(inp))))
    x = _seq()
    out = outer(x)
    np.testing.assert_array_equal(reader.seen, _mask_of(x))
    np.testing.assert_array_equal(get_keras_mask(out).numpy(), _mask_of(x))

    class Net(nnrs.Model):
        def __init__(self):
            super().__init__()
            self.mask, self.dense, self.reader = ZeroMask(), L.Dense(3), MaskReader()

        def call(self, x):
            return self.reader(self.dense(self.mask(x)))

    net = Net()
    out = net(x)
    np.testing.assert_array_equal(net.reader.seen, _mask_of(x))
    np.testing.assert_array_equal(get_keras_mask(out).numpy(), _mask_of(x))


def test_merge_masks_follow_keras_rules():
    x, z = _seq(0), _seq(1)
    z[1, 4] = 0.0
    mx, mz = _mask_of(x), _mask_of(z)
    a, b = ZeroMask()(x), ZeroMask()(z)
    for layer in (L.Add(name="m_add_4"), L.Multiply(name="m_multiply_5"), L.Average(name="m_average_6"),
                  L.Maximum(name="m_maximum_7"), L.Minimum(name="m_minimum_8"), L.Subtract(name="m_subtract_9")):
        np.testing.assert_array_equal(get_keras_mask(layer([a, b])).numpy(), mx | mz)
    assert get_keras_mask(L.Add(name="m_add_10")([a, nnrs.Tensor(z)])) is None
    # Concatenate on features: a step counts where any input's step does; an input without mask counts everywhere
    np.testing.assert_array_equal(get_keras_mask(L.Concatenate(name="m_concatenate_11")([a, b])).numpy(), mx | mz)
    assert get_keras_mask(L.Concatenate(name="m_concatenate_12")([a, nnrs.Tensor(z)])).numpy().all()
    # Concatenate on time: the masks are joined along time
    joined = L.Concatenate(axis=1, name="m_concatenate_13")([a, b])
    np.testing.assert_array_equal(get_keras_mask(joined).numpy(), np.concatenate([mx, mz], 1))
    assert get_keras_mask(L.Dot(axes=2, name="m_dot_14")([a, b])) is None


def test_global_average_pooling_1d_masked_mean(backend):
    x = _seq()
    m = _mask_of(x)
    m[3, 4] = False
    y = L.GlobalAveragePooling1D()(nnrs.Tensor(x), mask=nnrs.Tensor(m))
    want = (x * m[..., None]).sum(1) / m.sum(1, keepdims=True)
    np.testing.assert_allclose(y.numpy(), want, rtol=1e-6)
    assert get_keras_mask(y) is None
    model = nnrs.Sequential([nnrs.Input((5, 3)), L.Masking(0.0), L.GlobalAveragePooling1D()])
    np.testing.assert_allclose(model.predict(x, verbose=0), (x * _mask_of(x)[..., None]).sum(1) / _mask_of(x).sum(1)[:, None],
                               rtol=1e-6)


def test_masks_are_released_with_their_tensors():
    gc.collect()
    before = len(_masks)
    t = nnrs.Tensor(np.ones((2, 3), "float32"))
    set_keras_mask(t, np.array([True, False]))
    assert len(_masks) == before + 1 and get_keras_mask(t).dtype == np.bool_
    del t
    gc.collect()
    assert len(_masks) == before
    t = nnrs.Tensor(np.ones((2, 3), "float32"))
    set_keras_mask(t, np.array([True, True]))
    set_keras_mask(t, None)
    assert get_keras_mask(t) is None


# ---- Masking ---------------------------------------------------------------------------------

@pytest.mark.parametrize("key, value", [("zero", 0.0), ("minus1", -1.0)])
def test_masking_matches_keras(backend, key, value):
    x = KX[f"masking_{key}_x"]
    y = L.Masking(value)(x)
    np.testing.assert_array_equal(y.numpy(), KX[f"masking_{key}_y"])
    np.testing.assert_array_equal(get_keras_mask(y).numpy(), KX[f"masking_{key}_mask"])
    np.testing.assert_array_equal(L.Masking(value).compute_mask(nnrs.Tensor(x)).numpy(), KX[f"masking_{key}_mask"])


def test_masking_gradient_and_errors():
    x = _seq().astype("float64")
    x[1, 2] = -1.0
    # away from the masked steps (a step exactly at mask_value is not differentiable there)
    assert nnrs.gradcheck(lambda t: L.Masking(-5.0, dtype="float64")(t), x)
    t = nnrs.Tensor(x, requires_grad=True)
    ops.sum(ops.multiply(L.Masking(-1.0, dtype="float64")(t), 3.0)).backward()
    want = np.broadcast_to(3.0 * np.any(x != -1.0, axis=-1)[..., None], x.shape)
    np.testing.assert_array_equal(t.grad.numpy() if hasattr(t.grad, "numpy") else t.grad, want)
    with pytest.raises(TypeError, match="mask_value must be a number"):
        L.Masking("zero")
    with pytest.raises(ValueError, match="Masking 'm'.*at least 2 dimensions"):
        L.Masking(name="m")(np.ones(3, "float32"))


def test_masking_config_and_save_round_trip(tmp_path):
    layer = L.Masking(-1.0, name="m")
    cfg = layer.get_config()
    assert cfg["mask_value"] == -1.0 and cfg["name"] == "m"
    assert L.Masking.from_config(cfg).mask_value == -1.0
    model = nnrs.Sequential([nnrs.Input((5, 3)), L.Masking(0.0), L.Dense(2)])
    model.save(tmp_path / "m.keras")
    back = nnrs.models.load_model(tmp_path / "m.keras")
    x = _seq()
    np.testing.assert_allclose(back.predict(x, verbose=0), model.predict(x, verbose=0))
    np.testing.assert_array_equal(get_keras_mask(back(x)).numpy(), _mask_of(x))


# ---- losses and metrics -------------------------------------------------------------------------

REG = {
    "mse_default": lambda: nnrs.losses.MeanSquaredError(),
    "mse_sum": lambda: nnrs.losses.MeanSquaredError(reduction="sum"),
    "mse_mws": lambda: nnrs.losses.MeanSquaredError(reduction="mean_with_sample_weight"),
    "mae_default": lambda: nnrs.losses.MeanAbsoluteError(),
    "huber_default": lambda: nnrs.losses.Huber(),
    "scce": lambda: nnrs.losses.SparseCategoricalCrossentropy(),
}


@pytest.mark.parametrize("sw_key", ["nosw", "sw2"])
@pytest.mark.parametrize("key", sorted(REG))
def test_masked_loss_and_metrics_match_keras(key, sw_key):
    """evaluate and one SGD step of Masking -> Dense on Keras' weights give Keras' loss,
    metrics and updated weights."""
    cls = key == "scce"
    head = L.Dense(4, activation="softmax") if cls else L.Dense(2)
    model = nnrs.Sequential([nnrs.Input((5, 3)), L.Masking(0.0), head])
    tag = "cls" if cls else "reg"
    model.set_weights([KX[f"loss_w_{tag}_0"], KX[f"loss_w_{tag}_1"]])
    metrics, weighted = (["accuracy"], ["sparse_categorical_accuracy"]) if cls else (["mae"], ["mse"])
    model.compile(nnrs.optimizers.SGD(0.1), loss=REG[key](), metrics=metrics, weighted_metrics=weighted)
    x, y = KX["loss_x"], KX[f"loss_y_{tag}"]
    sw = KX["loss_sw2"] if sw_key == "sw2" else None
    res = model.evaluate(x, y, sample_weight=sw, batch_size=6, verbose=0, return_dict=True)
    assert res.keys() == {"loss", metrics[0], weighted[0]}
    for name, v in res.items():
        np.testing.assert_allclose(v, KX[f"{key}_{sw_key}_eval_{name}"], rtol=1e-5, err_msg=name)
    res = model.train_on_batch(x, y, sample_weight=sw, return_dict=True)
    np.testing.assert_allclose(res["loss"], KX[f"{key}_{sw_key}_train_loss"], rtol=1e-5)
    for i, w in enumerate(model.get_weights()):
        np.testing.assert_allclose(w, KX[f"{key}_{sw_key}_train_w{i}"], rtol=1e-5, atol=1e-6)


def test_masked_loss_definitions(backend):
    rng = np.random.default_rng(3)
    p, t = rng.standard_normal((3, 4, 2)), rng.standard_normal((3, 4, 2))
    m = np.array([[1, 1, 0, 0], [1, 1, 1, 1], [0, 1, 0, 0]], bool)
    per = ((p - t) ** 2).mean(-1)
    pred = nnrs.Tensor(p)
    set_keras_mask(pred, m)
    mse = nnrs.losses.MeanSquaredError
    np.testing.assert_allclose(mse()(t, pred).numpy(), per[m].mean())
    np.testing.assert_allclose(mse(reduction="sum")(t, pred).numpy(), per[m].sum())
    np.testing.assert_allclose(mse(reduction="none")(t, pred).numpy(), per * m)
    w = rng.uniform(0.5, 2.0, size=3)
    # per-sample weights weigh each sample's unmasked steps (nnrs; Keras 3.15 fails there)
    np.testing.assert_allclose(mse()(t, pred, sample_weight=w).numpy(), (per * w[:, None] * m).sum() / m.sum())
    np.testing.assert_allclose(mse(reduction="mean_with_sample_weight")(t, pred, sample_weight=w).numpy(),
                               (per * w[:, None] * m).sum() / (w[:, None] * m).sum())
    none = nnrs.Tensor(p)
    set_keras_mask(none, np.zeros((3, 4), bool))  # every step masked: 0, not nan
    assert float(mse()(t, none).numpy()) == 0.0
    bad = nnrs.Tensor(p)
    set_keras_mask(bad, np.ones((2, 4), bool))
    with pytest.raises(ValueError, match="mask of the predictions"):
        mse()(t, bad)


def test_masked_steps_do_not_move_the_weights():
    """Changing the targets of masked steps changes neither the loss nor the update."""
    x = _seq()
    rng = np.random.default_rng(1)
    y = rng.standard_normal((4, 5, 2)).astype("float32")
    y2 = y.copy()
    y2[~_mask_of(x)] += 100.0
    results = []
    for target in (y, y2):
        nnrs.random.seed(0)
        model = nnrs.Sequential([nnrs.Input((5, 3)), L.Masking(0.0), L.Dense(2)])
        model.compile("adam", "mse", metrics=["mae"])
        loss = model.train_on_batch(x, target)
        results.append((loss, model.get_weights(), model.evaluate(x, target, verbose=0)))
    assert results[0][0] == pytest.approx(results[1][0])
    for a, b in zip(results[0][1], results[1][1]):
        np.testing.assert_allclose(a, b, rtol=1e-6)
    np.testing.assert_allclose(results[0][2], results[1][2], rtol=1e-6)


def test_mean_metric_reads_the_mask_of_its_predictions():
    rng = np.random.default_rng(4)
    p, t = rng.standard_normal((3, 4, 2)), rng.standard_normal((3, 4, 2))
    m = np.array([[1, 1, 0, 0], [1, 1, 1, 1], [0, 1, 0, 0]], bool)
    pred = nnrs.Tensor(p)
    set_keras_mask(pred, m)
    metric = nnrs.metrics.MeanAbsoluteError()
    metric.update_state(t, pred)
    np.testing.assert_allclose(metric.result(), np.abs(p - t).mean(-1)[m].mean())
    rmse = nnrs.metrics.RootMeanSquaredError()  # not a mean wrapper: Keras gives it no mask
    rmse.update_state(t, pred)
    np.testing.assert_allclose(rmse.result(), np.sqrt(((p - t) ** 2).mean()))


def test_fit_with_masks_runs_and_learns():
    nnrs.random.seed(0)
    x = _seq(shape=(64, 5, 3))
    x[::3, 2:] = 0.0
    y = (x.sum(-1, keepdims=True) > 0).astype("float32")
    model = nnrs.Sequential([nnrs.Input((5, 3)), L.Masking(0.0), L.Dense(8, activation="relu"), L.Dense(1, activation="sigmoid")])
    model.compile("adam", "binary_crossentropy", metrics=["accuracy"])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no layer drops the mask here
        hist = model.fit(x, y, epochs=15, batch_size=16, verbose=0, validation_split=0.25)
    assert hist.history["loss"][-1] < hist.history["loss"][0]
    assert set(hist.history) == {"loss", "accuracy", "val_loss", "val_accuracy"}


def test_multi_output_model_masks_each_output_on_its_own():
    inp = nnrs.Input((5, 3))
    masked = L.Masking(0.0)(inp)
    seq_out = L.Dense(2, name="seq")(masked)
    pooled = L.Dense(2, name="pooled")(L.GlobalAveragePooling1D()(masked))  # the pooling ends the mask
    model = nnrs.Model(inp, [seq_out, pooled])
    model.compile("sgd", loss="mse", metrics={"seq": ["mae"], "pooled": ["mae"]})
    x = _seq()
    rng = np.random.default_rng(5)
    ys, yp = rng.standard_normal((4, 5, 2)).astype("float32"), rng.standard_normal((4, 2)).astype("float32")
    ps, pp = model.predict(x, verbose=0)
    m = _mask_of(x)
    res = model.evaluate(x, [ys, yp], batch_size=4, verbose=0, return_dict=True)
    np.testing.assert_allclose(res["seq_loss"], ((ps - ys) ** 2).mean(-1)[m].mean(), rtol=1e-5)
    np.testing.assert_allclose(res["pooled_loss"], ((pp - yp) ** 2).mean(), rtol=1e-5)
    np.testing.assert_allclose(res["seq_mae"], np.abs(ps - ys).mean(-1)[m].mean(), rtol=1e-5)
    np.testing.assert_allclose(res["pooled_mae"], np.abs(pp - yp).mean(), rtol=1e-5)
    np.testing.assert_allclose(res["loss"], res["seq_loss"] + res["pooled_loss"], rtol=1e-5)


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 4), t=st.integers(1, 6), f=st.integers(1, 3), seed=st.integers(0, 2**16),
       reduction=st.sampled_from(["sum_over_batch_size", "mean", "sum", "mean_with_sample_weight", "none"]),
       weights=st.sampled_from([None, "sample", "temporal"]), bname=st.sampled_from(["numpy", "cpu"]))
def test_masked_reduction_matches_the_definition(n, t, f, seed, reduction, weights, bname):
    rng = np.random.default_rng(seed)
    p, y = rng.standard_normal((n, t, f)), rng.standard_normal((n, t, f))
    m = rng.random((n, t)) < 0.6
    w = {None: None, "sample": rng.uniform(0.1, 2.0, n), "temporal": rng.uniform(0.1, 2.0, (n, t))}[weights]
    with nnrs.backend.use(bname) as b:
        pred = nnrs.Tensor(p)
        set_keras_mask(pred, m)
        got = b.to_numpy(nnrs.losses.MeanSquaredError(reduction=reduction)(y, pred, sample_weight=w).data)
    per = ((p - y) ** 2).mean(-1)
    ww = np.ones((n, t)) if w is None else np.broadcast_to(w if w.ndim == 2 else w[:, None], (n, t))
    total = (per * ww * m).sum()
    valid = max(m.sum(), 1)  # no unmasked entry: the loss is 0, not nan (Keras divides "no nan")
    want = {"none": per * ww * m, "sum": total, "sum_over_batch_size": total / valid, "mean": total / valid,
            "mean_with_sample_weight": total / max((ww * m).sum(), 1e-300)}[reduction]
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)


@settings(max_examples=25, deadline=None)
@given(n=st.integers(1, 3), t=st.integers(1, 5), f=st.integers(1, 4), units=st.integers(1, 4), seed=st.integers(0, 2**16),
       bname=st.sampled_from(["numpy", "cpu"]))
def test_time_distributed_dense_any_shape(n, t, f, units, seed, bname):
    x = np.random.default_rng(seed).standard_normal((n, t, f))
    with nnrs.backend.use(bname):
        td = L.TimeDistributed(L.Dense(units, dtype="float64"), dtype="float64")
        y = td(x).numpy()
    k, bias = td.layer.get_weights()
    np.testing.assert_allclose(y, x @ k + bias, rtol=1e-12, atol=1e-12)


def test_symbolic_mask_keyword_is_a_graph_edge():
    """A symbolic mask given by keyword is recorded in the graph and reaches call at run time."""
    inp = nnrs.Input((5, 3))
    mask = ops.any(ops.not_equal(inp, 0.0), axis=-1)
    reader = MaskReader()
    model = nnrs.Model(inp, reader(inp, mask=mask))
    x = np.ones((2, 5, 3), np.float32)
    x[0, 3:] = 0.0
    model.predict(x, verbose=0)
    np.testing.assert_array_equal(reader.seen, x.any(axis=-1))


def test_temporal_sample_weights_without_a_mask():
    """(batch, time) sample weights (Keras' temporal weights) weigh each step; the divisor
    stays the number of entries for the default reduction."""
    rng = np.random.default_rng(6)
    x, y = rng.standard_normal((4, 5, 3)).astype("float32"), rng.standard_normal((4, 5, 2)).astype("float32")
    sw = rng.uniform(0.0, 2.0, (4, 5)).astype("float32")
    model = nnrs.Sequential([nnrs.Input((5, 3)), L.Dense(2)])
    model.compile("sgd", "mse", weighted_metrics=["mae"])
    p = model.predict(x, verbose=0)
    res = model.evaluate(x, y, sample_weight=sw, batch_size=4, verbose=0, return_dict=True)
    np.testing.assert_allclose(res["loss"], (((p - y) ** 2).mean(-1) * sw).mean(), rtol=1e-5)
    np.testing.assert_allclose(res["mae"], (np.abs(p - y).mean(-1) * sw).sum() / sw.sum(), rtol=1e-5)
    with pytest.raises(ValueError, match="sample_weight has 3 entries but x has 4"):
        model.evaluate(x, y, sample_weight=sw[:3], verbose=0)
