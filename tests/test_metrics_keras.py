"""Metrics against reference values computed with Keras 3.15.1 on torch (KERAS_BACKEND=torch):
AUC, F1Score, regression metrics, Mean/Sum, top-k; a Keras-style Metric subclass in fit."""

import nnrs as keras
import numpy as np
import pytest
from nnrs import metrics as M

YT = np.array([0, 0, 1, 1, 1, 0, 1, 0], "float32")
YP = np.array([0.1, 0.4, 0.35, 0.8, 0.65, 0.2, 0.9, 0.55], "float32")
W = np.array([1, 2, 1, 0.5, 1, 1, 3, 1], "float32")

# AUC(**kw): (result after one update, result after a second, weighted update on the first 5 samples squared)
AUC_CASES = [
    ({}, 0.875, 0.82417583),
    ({"curve": "PR"}, 0.90883923, 0.85511827),
    ({"num_thresholds": 7}, 0.875, 0.80769229),
    ({"curve": "PR", "num_thresholds": 13}, 0.92568314, 0.86863351),
    ({"summation_method": "minoring"}, 0.875, 0.82417583),
    ({"summation_method": "majoring", "curve": "PR"}, 0.91666669, 0.86411273),
]


@pytest.mark.parametrize("kw,first,second", AUC_CASES)
def test_auc_matches_keras(kw, first, second):
    m = M.AUC(**kw)
    m.update_state(YT, YP)
    assert abs(m.result() - first) < 1e-6
    m.update_state(YT[:5], YP[:5] ** 2, sample_weight=W[:5])
    assert abs(m.result() - second) < 1e-6


I60 = np.arange(60, dtype="float32")
YP60 = ((np.sin(I60 * 1.7) + 1) / 2).astype("float32")
YT60 = (np.cos(I60 * 0.9) + 0.3 * np.sin(I60 * 1.7) > 0).astype("float32")
W60 = (1 + (I60 % 3)).astype("float32")

# (kw, unweighted, weighted in two batches): Keras 3.15.1 on torch
AUC60 = [
    ({}, 0.65127915, 0.6590656),
    ({"curve": "PR"}, 0.69577509, 0.69149572),
    ({"num_thresholds": 50, "curve": "PR"}, 0.67627144, 0.66499448),
    ({"thresholds": [0.2, 0.5, 0.7]}, 0.60344827, 0.61637932),
    ({"from_logits": True}, 0.65016681, 0.65545046),
]


@pytest.mark.parametrize("kw,plain,weighted", AUC60)
def test_auc_on_a_longer_example(kw, plain, weighted):
    m = M.AUC(**kw)
    m.update_state(YT60, YP60 * 8 - 4 if kw.get("from_logits") else YP60)
    assert abs(m.result() - plain) < 1e-6
    m.reset_state()
    m.update_state(YT60[:30], YP60[:30], sample_weight=W60[:30])
    m.update_state(YT60[30:], YP60[30:], sample_weight=W60[30:])
    assert abs(m.result() - weighted) < 1e-6


I40 = np.arange(40, dtype="float32")
YP2 = np.stack([(np.sin(I40 * 1.7) + 1) / 2, (np.cos(I40 * 2.3) + 1) / 2], 1).astype("float32")
YT2 = np.stack([np.cos(I40 * 0.9) + 0.3 * np.sin(I40 * 1.7) > 0, np.sin(I40 * 0.7) + 0.5 * np.cos(I40 * 2.3) > 0],
               1).astype("float32")
W40 = (1 + (I40 % 3)).astype("float32")

# (kw, one update, then a weighted update with the rows reversed): Keras 3.15.1 on torch
AUC_MULTI = [
    ({"multi_label": True}, 0.63313133, 0.57871729),
    ({"multi_label": True, "curve": "PR"}, 0.70511574, 0.61159456),
    ({"multi_label": True, "label_weights": [0.2, 0.8]}, 0.63725257, 0.55304891),
    ({"multi_label": False}, 0.63126564, 0.57720041),
    ({"multi_label": True, "num_labels": 2, "summation_method": "majoring"}, 0.63439393, 0.58499205),
]


@pytest.mark.parametrize("kw,first,second", AUC_MULTI)
def test_multi_label_auc_matches_keras(kw, first, second):
    m = M.AUC(**kw)
    m.update_state(YT2, YP2)
    assert abs(m.result() - first) < 1e-6
    m.update_state(YT2, YP2[::-1], sample_weight=W40)
    assert abs(m.result() - second) < 1e-6


def test_auc_config_and_unsupported_arguments():
    assert M.AUC().get_config() == {"name": "auc", "dtype": "float32", "num_thresholds": 200, "curve": "ROC",
                                    "summation_method": "interpolation", "multi_label": False, "num_labels": None,
                                    "label_weights": None, "from_logits": False}
    with pytest.raises(ValueError, match="label_weights"):
        M.AUC(label_weights=[0.5, 0.5])
    with pytest.raises(ValueError, match="curve"):
        M.AUC(curve="DET")


Y = np.array([[0, 1, 0], [1, 0, 0], [0, 0, 1], [0, 1, 0], [1, 0, 0]], "float32")
P = np.array([[0.2, 0.5, 0.3], [0.4, 0.35, 0.25], [0.7, 0.1, 0.2], [0.6, 0.3, 0.1], [0.2, 0.2, 0.6]], "float32")
SW5 = np.array([1, 2, 0.5, 1, 3], "float32")

F1_CASES = [
    (None, None, [0.4, 0.66666657, 0.0], [0.44444439, 0.24999994, 0.0]),
    (None, 0.3, [0.4, 0.5, 0.0], [0.44444439, 0.4, 0.0]),
    ("micro", None, 0.4, 0.31999993),
    ("micro", 0.3, 0.36363631, 0.3703703),
    ("macro", None, 0.3555555, 0.23148143),
    ("macro", 0.3, 0.29999995, 0.28148144),
    ("weighted", None, 0.42666662, 0.32888883),
    ("weighted", 0.3, 0.35999995, 0.37688884),
]


@pytest.mark.parametrize("average,threshold,first,second", F1_CASES)
def test_f1_score_matches_keras(average, threshold, first, second):
    m = M.F1Score(average=average, threshold=threshold)
    m.update_state(Y, P)
    np.testing.assert_allclose(m.result(), first, atol=1e-6)
    m.update_state(Y, P[::-1], sample_weight=SW5)
    np.testing.assert_allclose(m.result(), second, atol=1e-6)


def test_f1_config():
    assert M.F1Score().get_config() == {"name": "f1_score", "dtype": "float32", "average": None, "threshold": None}
    with pytest.raises(ValueError, match="average"):
        M.F1Score(average="samples")


YR = np.array([[1.0, 2.0], [3.0, -1.0], [0.5, 4.0]], "float32")
PR = np.array([[1.5, 1.0], [2.0, -0.5], [1.0, 3.0]], "float32")
W3 = np.array([1., 2., 0.5], "float32")

REGRESSION = [
    (M.MeanAbsolutePercentageError, 51.38888931, 50.96154022),
    (M.MeanSquaredLogarithmicError, 0.07158500, 0.09446605),
    (M.RootMeanSquaredError, 0.79056942, 0.97072534),
    (M.MeanSquaredError, 0.625, 0.94230771),
    (lambda: M.R2Score(), 0.69689846, 0.60392702),
    (lambda: M.R2Score(class_aggregation="variance_weighted_average"), 0.76804119, 0.65586168),
    (lambda: M.R2Score(class_aggregation=None), [0.57142854, 0.82236844], [0.5082742, 0.69957983]),
    (lambda: M.R2Score(num_regressors=1), 0.62112308, 0.56431973),
]


@pytest.mark.parametrize("make,first,second", REGRESSION)
def test_regression_metrics_match_keras(make, first, second):
    m = make()
    m.update_state(YR, PR)
    np.testing.assert_allclose(m.result(), first, rtol=1e-6)
    m.update_state(YR, PR[::-1], sample_weight=W3)
    np.testing.assert_allclose(m.result(), second, rtol=1e-6)


def test_mean_sum_and_top_k():
    m = M.Mean()
    m.update_state([1., 2., 4.])
    m.update_state([[1., 3.]], sample_weight=[[0.5, 2.]])
    assert abs(m.result() - 2.41176462) < 1e-6  # Keras 3.15.1 on torch
    s = M.Sum()
    s.update_state([1., 2., 4.])
    s.update_state([1., 3.], sample_weight=[0.5, 2.])
    assert s.result() == 13.5
    t = M.TopKCategoricalAccuracy(k=1)
    t.update_state(Y, np.array([[0.2, 0.5, 0.3], [0.4, 0.35, 0.25], [0.7, 0.1, 0.2], [0.6, 0.3, 0.1], [0.2, 0.1, 0.7]]))
    assert abs(t.result() - 0.4) < 1e-7


@pytest.mark.parametrize("name,cls", [
    ("auc", M.AUC), ("AUC", M.AUC), ("mape", M.MeanAbsolutePercentageError), ("msle", M.MeanSquaredLogarithmicError),
    ("mean_absolute_percentage_error", M.MeanAbsolutePercentageError), ("f1_score", M.F1Score), ("r2_score", M.R2Score),
    ("root_mean_squared_error", M.RootMeanSquaredError), ("top_k_categorical_accuracy", M.TopKCategoricalAccuracy),
    ("sparse_top_k_categorical_accuracy", M.SparseTopKCategoricalAccuracy),
])
def test_string_names(name, cls):
    assert type(M.get(name)) is cls


class MeanAbsErr(keras.metrics.Metric):
    """A Keras-style metric: state in variables, updated with ops, read in result()."""

    def __init__(self, name="mean_abs_err", **kwargs):
        super().__init__(name=name, **kwargs)
        self.total = self.add_variable(shape=(), initializer="zeros", name="total")
        self.count = self.add_weight(name="count", initializer="zeros")

    def update_state(self, y_true, y_pred, sample_weight=None):
        err = keras.ops.abs(keras.ops.subtract(y_true, y_pred))
        if sample_weight is not None:
            w = keras.ops.reshape(keras.ops.convert_to_tensor(sample_weight), (-1, 1))
            err = keras.ops.multiply(err, w)
            self.count.assign_add(keras.ops.multiply(keras.ops.sum(w), float(y_pred.shape[-1])))
        else:
            self.count.assign_add(float(np.size(y_pred)))
        self.total.assign_add(keras.ops.sum(err))

    def result(self):
        return keras.ops.divide(self.total, self.count)


def test_custom_metric_subclass_state(backend):
    m = MeanAbsErr()
    m.update_state(np.array([[1.], [2.]]), np.array([[1.5], [1.]]))
    assert m.result() == 0.75
    m.update_state(np.array([[0.]]), np.array([[3.]]), sample_weight=np.array([2.0]))
    assert abs(m.result() - (1.5 + 6.0) / 4.0) < 1e-6
    assert [v.name for v in m.variables] == ["total", "count"]
    m.reset_state()
    assert float(m.total.numpy()) == 0.0 and float(m.count.numpy()) == 0.0
    assert m.get_config() == {"name": "mean_abs_err", "dtype": "float32"}


def test_custom_metric_in_fit_and_evaluate(backend):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 3)).astype("float32")
    y = x.sum(1, keepdims=True).astype("float32")
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.Adam(0.1), loss="mse", metrics=[MeanAbsErr(), "mae"])
    h = model.fit(x, y, epochs=3, batch_size=16, verbose=0)
    np.testing.assert_allclose(h.history["mean_abs_err"], h.history["mae"], rtol=1e-5)
    assert h.history["mean_abs_err"][-1] < h.history["mean_abs_err"][0]
    res = model.evaluate(x, y, verbose=0, return_dict=True)
    assert abs(res["mean_abs_err"] - float(np.abs(model.predict(x, verbose=0) - y).mean())) < 1e-5


def test_builtin_metrics_report_in_fit(backend):
    rng = np.random.default_rng(1)
    x = rng.normal(size=(96, 4)).astype("float32")
    y = (x[:, 0] + x[:, 1] > 0).astype("float32")[:, None]
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer=keras.optimizers.Adam(0.05), loss="binary_crossentropy",
                  metrics=["auc", keras.metrics.AUC(curve="PR", name="pr_auc"), keras.metrics.F1Score(threshold=0.5)])
    h = model.fit(x, y, epochs=4, batch_size=32, verbose=0)
    assert set(h.history) == {"loss", "auc", "pr_auc", "f1_score"}
    assert h.history["auc"][-1] > h.history["auc"][0] + 0.1  # training improves the ranking
    res = model.evaluate(x, y, verbose=0, return_dict=True)
    ref = M.AUC()
    ref.update_state(y, model.predict(x, verbose=0))
    assert abs(res["auc"] - ref.result()) < 1e-9


# losses as metrics: (class, targets, after one update, after a second weighted update), Keras 3.15.1 on torch
LOSS_METRICS = [
    (M.BinaryCrossentropy, Y, 0.72006595, 0.71416205),
    (M.CategoricalCrossentropy, Y, 1.20645738, 1.22769845),
    (M.SparseCategoricalCrossentropy, np.argmax(Y, 1), 1.20645738, 1.22769845),
    (M.KLDivergence, Y, 1.2064544, 1.22769547),
    (M.Poisson, Y, 0.73548567, 0.74256605),
    (M.LogCoshError, Y, 0.12343979, 0.12055477),
    (M.CosineSimilarity, Y, 0.50162303, 0.50273764),
    (M.Hinge, Y, 1.11999989, 1.11733329),
    (M.SquaredHinge, Y, 1.38433337, 1.37546659),
    (M.CategoricalHinge, Y, 1.18999994, 1.15600002),
]


@pytest.mark.parametrize("cls,targets,first,second", LOSS_METRICS)
def test_loss_metrics_match_keras(backend, cls, targets, first, second):
    m = cls()
    m.update_state(targets, P)
    assert abs(m.result() - first) < 1e-6
    m.update_state(targets, P[::-1], sample_weight=SW5)
    assert abs(m.result() - second) < 1e-6


def test_loss_metric_names_and_config():
    for name, cls in [("binary_crossentropy", M.BinaryCrossentropy), ("kl_divergence", M.KLDivergence),
                      ("log_cosh_error", M.LogCoshError), ("categorical_hinge", M.CategoricalHinge)]:
        assert type(M.get(name)) is cls
    assert M.LogCoshError().name == "logcosh"
    assert M.BinaryCrossentropy(from_logits=True).get_config() == {"name": "binary_crossentropy", "dtype": "float32",
                                                                   "from_logits": True, "label_smoothing": 0}
    with pytest.raises(TypeError, match="axis"):
        M.Poisson(axis=0)


def test_subclass_of_a_builtin_metric_keeps_its_state():
    class Halved(M.Mean):
        def reset_state(self):
            super().reset_state()
            self.resets = getattr(self, "resets", 0) + 1

        def update_state(self, values, sample_weight=None):
            super().update_state(np.asarray(values) / 2, sample_weight)

    m = Halved()
    m.update_state([2.0, 4.0])
    assert m.result() == 1.5
    m.reset_state()
    assert m.result() == 0.0 and m.resets == 1


def test_metric_functions_return_per_sample_numpy():
    got = M.binary_crossentropy(Y, P)
    assert isinstance(got, np.ndarray) and got.shape == (5,)
    np.testing.assert_allclose(M.categorical_crossentropy(Y, P), M.sparse_categorical_crossentropy(np.argmax(Y, 1), P), rtol=1e-6)
    assert M.huber(Y, P, delta=0.5).shape == (5,)
