"""Metrics: values against hand-computed results, accumulation over batches, sample
weights, reset, Keras names and ``get`` with the accuracy-by-loss rule."""

import numpy as np
import pytest
from nnrs import metrics


def test_mean_plain_and_weighted():
    m = metrics.Mean()
    assert m.name == "mean" and m.result() == 0.0
    m.update_state([1.0, 2.0, 3.0])
    m.update_state(np.array([[4.0, 6.0]]))  # rank 2: one sample with mean 5
    assert m.result() == pytest.approx((1 + 2 + 3 + 5) / 4)
    m.reset_state()
    m.update_state([1.0, 3.0], sample_weight=[3.0, 1.0])
    assert m.result() == pytest.approx(1.5)
    m.update_state(10.0)
    assert m.result() == pytest.approx((3 + 3 + 10) / 5)


def test_accuracy_exact_match():
    m = metrics.Accuracy()
    m.update_state([1, 2, 3, 4], [1, 2, 0, 4])
    assert m.result() == pytest.approx(0.75)
    m.update_state([[1], [1]], [1, 0])  # (n, 1) vs (n,) squeezed
    assert m.result() == pytest.approx(4 / 6)
    assert isinstance(m.result(), float)


def test_binary_accuracy_threshold_and_batches():
    m = metrics.BinaryAccuracy()
    assert m.name == "binary_accuracy"
    m.update_state(np.array([[1], [0], [1], [0]]), np.array([[0.9], [0.6], [0.4], [0.1]]))
    assert m.result() == pytest.approx(0.5)
    m.update_state(np.array([1, 1]), np.array([0.7, 0.8]))  # second batch, rank 1
    assert m.result() == pytest.approx(4 / 6)
    m2 = metrics.BinaryAccuracy(threshold=0.65)
    m2.update_state([1, 0], [0.6, 0.3])
    assert m2.result() == pytest.approx(0.5)
    m.reset_state()
    assert m.result() == 0.0


def test_binary_accuracy_multilabel_counts_elements():
    m = metrics.BinaryAccuracy()
    m.update_state([[1, 0, 1], [0, 0, 0]], [[0.8, 0.2, 0.1], [0.9, 0.1, 0.2]])
    assert m.result() == pytest.approx(4 / 6)


def test_categorical_accuracy():
    y = np.eye(3)[[0, 1, 2, 1]]
    p = np.array([[0.8, 0.1, 0.1], [0.2, 0.7, 0.1], [0.5, 0.4, 0.1], [0.3, 0.3, 0.4]])
    m = metrics.CategoricalAccuracy()
    m.update_state(y, p)
    assert m.name == "categorical_accuracy" and m.result() == pytest.approx(0.5)


@pytest.mark.parametrize("labels", [np.array([0, 1, 2, 1]), np.array([[0], [1], [2], [1]]),
                                    np.array([0.0, 1.0, 2.0, 1.0], dtype=np.float32)])
def test_sparse_categorical_accuracy(labels):
    p = np.array([[0.8, 0.1, 0.1], [0.2, 0.7, 0.1], [0.5, 0.4, 0.1], [0.3, 0.3, 0.4]])
    m = metrics.SparseCategoricalAccuracy()
    m.update_state(labels, p)
    assert m.name == "sparse_categorical_accuracy" and m.result() == pytest.approx(0.5)
    m.update_state(labels[:2], p[:2], sample_weight=[0.0, 2.0])  # one correct with weight 2
    assert m.result() == pytest.approx((2 + 2) / (4 + 2))


def test_precision_recall():
    y = np.array([1, 1, 0, 0, 1, 0])
    p = np.array([0.9, 0.2, 0.7, 0.1, 0.6, 0.4])
    # predicted positive: 0, 2, 4 -> tp = 2 (0, 4), fp = 1 (2), fn = 1 (1)
    pr, rc = metrics.Precision(), metrics.Recall()
    pr.update_state(y, p)
    rc.update_state(y, p)
    assert (pr.name, rc.name) == ("precision", "recall")
    assert pr.result() == pytest.approx(2 / 3) and rc.result() == pytest.approx(2 / 3)
    pr.update_state([0, 0], [0.9, 0.8])  # two more false positives
    assert pr.result() == pytest.approx(2 / 5)
    pr.reset_state()
    assert pr.result() == 0.0  # nothing predicted positive: 0, not nan
    w = metrics.Precision()
    w.update_state(y, p, sample_weight=[1, 1, 3, 1, 1, 1])
    assert w.result() == pytest.approx(2 / 5)
    t = metrics.Recall(thresholds=[0.5, 0.15])
    t.update_state(y, p)
    assert t.result() == pytest.approx([2 / 3, 1.0])


def test_precision_class_id_and_top_k():
    y = np.array([[0, 1, 0], [1, 0, 0], [0, 1, 0]])
    p = np.array([[0.2, 0.7, 0.1], [0.3, 0.6, 0.1], [0.6, 0.3, 0.1]])
    m = metrics.Precision(class_id=1)
    m.update_state(y, p)  # class 1 predicted for rows 0, 1: one right
    assert m.result() == pytest.approx(0.5)
    r = metrics.Recall(top_k=2)
    r.update_state(y, p)  # every true class is within the top 2
    assert r.result() == pytest.approx(1.0)


def test_mse_mae_rmse():
    y = np.array([[0.0, 1.0], [2.0, 2.0]])
    p = np.array([[1.0, 1.0], [2.0, 4.0]])
    mse, mae, rmse = metrics.MeanSquaredError(), metrics.MeanAbsoluteError(), metrics.RootMeanSquaredError()
    for m in (mse, mae, rmse):
        m.update_state(y, p)
    assert (mse.name, mae.name) == ("mean_squared_error", "mean_absolute_error")
    assert mse.result() == pytest.approx(5 / 4)
    assert mae.result() == pytest.approx(3 / 4)
    assert rmse.result() == pytest.approx(np.sqrt(5 / 4))
    mse.update_state(y, p, sample_weight=[0.0, 1.0])
    # per-sample mse: 0.5 and 2.0; weights so far 1,1 then 0,1
    assert mse.result() == pytest.approx((0.5 + 2.0 + 2.0) / 3)


def test_top_k_accuracy():
    p = np.array([[0.5, 0.3, 0.2], [0.1, 0.2, 0.7]])
    m = metrics.SparseTopKCategoricalAccuracy(k=2)
    m.update_state([1, 0], p)
    assert m.result() == pytest.approx(0.5)
    c = metrics.TopKCategoricalAccuracy(k=1)
    c.update_state(np.eye(3)[[0, 2]], p)
    assert c.result() == pytest.approx(1.0)


def test_call_updates_and_returns_result():
    m = metrics.Accuracy()
    assert m([1, 2], [1, 0]) == pytest.approx(0.5)
    assert m([1], [1]) == pytest.approx(2 / 3)


def test_accepts_objects_with_numpy_method():
    class T:
        def __init__(self, a):
            self.a = np.asarray(a)

        def numpy(self):
            return self.a

    m = metrics.BinaryAccuracy()
    m.update_state(T([1, 0]), T([0.9, 0.9]))
    assert m.result() == pytest.approx(0.5)


@pytest.mark.parametrize("loss,cls", [
    ("binary_crossentropy", metrics.BinaryAccuracy),
    ("BinaryCrossentropy", metrics.BinaryAccuracy),
    ("sparse_categorical_crossentropy", metrics.SparseCategoricalAccuracy),
    ("categorical_crossentropy", metrics.CategoricalAccuracy),
    ("mse", metrics.Accuracy),
    (None, metrics.Accuracy),
])
def test_get_accuracy_by_loss(loss, cls):
    for ident in ("accuracy", "acc"):
        m = metrics.get(ident, loss=loss)
        assert type(m) is cls and m.name == ident


def test_get_accuracy_by_loss_object():
    class BinaryCrossentropy:
        name = "binary_crossentropy"

    def sparse_categorical_crossentropy(y, p):
        return 0

    assert type(metrics.get("accuracy", loss=BinaryCrossentropy())) is metrics.BinaryAccuracy
    assert type(metrics.get("acc", loss=sparse_categorical_crossentropy)) is metrics.SparseCategoricalAccuracy


def test_get_names_objects_and_errors():
    assert type(metrics.get("mae")) is metrics.MeanAbsoluteError and metrics.get("mae").name == "mae"
    assert type(metrics.get("mse")) is metrics.MeanSquaredError
    assert type(metrics.get("precision")) is metrics.Precision
    assert type(metrics.get("binary_accuracy")) is metrics.BinaryAccuracy
    assert type(metrics.get("SparseCategoricalAccuracy")) is metrics.SparseCategoricalAccuracy
    m = metrics.Recall()
    assert metrics.get(m) is m
    r = metrics.get(metrics.serialize(metrics.BinaryAccuracy(threshold=0.7)))
    assert type(r) is metrics.BinaryAccuracy and r.threshold == 0.7

    def my_metric(y_true, y_pred):
        return np.abs(np.asarray(y_true) - np.asarray(y_pred))

    w = metrics.get(my_metric)
    assert w.name == "my_metric"
    w.update_state([1.0, 2.0], [1.0, 4.0])
    assert w.result() == pytest.approx(1.0)
    with pytest.raises(ValueError) as e:
        metrics.get("f1_score_of_doom")
    assert "accuracy" in str(e.value) and "mae" in str(e.value)
