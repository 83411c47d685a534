"""nnrs.data: to_categorical, train_test_split, Standardizer, batches, shuffle_indices."""

import nnrs.random
import numpy as np
import pytest
from nnrs import data

# --------------------------------------------------------------------------- to_categorical


def test_to_categorical_basic():
    out = data.to_categorical([2, 0, 1, 2])
    assert out.dtype == np.float64 and out.shape == (4, 3)  # as Keras 3 (a float64 numpy array)
    np.testing.assert_array_equal(out, [[0, 0, 1], [1, 0, 0], [0, 1, 0], [0, 0, 1]])


def test_to_categorical_num_classes_dtype_and_shapes():
    out = data.to_categorical(np.array([[1], [3]]), num_classes=5, dtype="int64")
    assert out.dtype == np.int64 and out.shape == (2, 5)  # trailing axis of 1 dropped, as Keras
    np.testing.assert_array_equal(out.argmax(-1), [1, 3])
    grid = np.array([[0, 1], [2, 1]])
    out = data.to_categorical(grid, 3)
    assert out.shape == (2, 2, 3)
    np.testing.assert_array_equal(out.argmax(-1), grid)
    assert out.sum() == 4
    np.testing.assert_array_equal(data.to_categorical([1.0, 0.0]), [[0, 1], [1, 0]])  # integral floats
    assert data.to_categorical(np.array([], dtype=np.int64), num_classes=4).shape == (0, 4)
    assert data.one_hot is data.to_categorical


@pytest.mark.parametrize(
    "y, kw, match",
    [
        ([0, 3], dict(num_classes=3), "class label 3 is out of range for num_classes=3"),
        ([0, -1], {}, "class labels must be >= 0, found -1"),
        ([0.5, 1], {}, "non-integral"),
        ([True, False], {}, "integer class labels"),
        (["a"], {}, "integer class labels"),
        ([], {}, "cannot infer num_classes"),
        ([0, 1], dict(num_classes=0), "num_classes must be a positive integer"),
        ([0, 1], dict(num_classes=2.0), "num_classes must be a positive integer"),
    ],
)
def test_to_categorical_errors(y, kw, match):
    with pytest.raises(ValueError, match=match):
        data.to_categorical(y, **kw)


# --------------------------------------------------------------------------- shuffle_indices / train_test_split


def test_shuffle_indices():
    idx = data.shuffle_indices(50, rng=0)
    assert idx.dtype == np.int64
    assert sorted(idx.tolist()) == list(range(50))
    assert idx.tolist() != list(range(50))
    np.testing.assert_array_equal(idx, data.shuffle_indices(50, rng=0))
    np.testing.assert_array_equal(idx, data.shuffle_indices(50, rng=np.random.default_rng(0)))
    assert data.shuffle_indices(0).shape == (0,)
    with pytest.raises(ValueError, match="non-negative integer"):
        data.shuffle_indices(-1)
    with pytest.raises(ValueError, match="non-negative integer"):
        data.shuffle_indices(3.0)
    with pytest.raises(ValueError, match="numpy.random.Generator"):
        data.shuffle_indices(3, rng="seed")


def test_shuffle_follows_nnrs_random_seed():
    nnrs.random.seed(11)
    a = data.shuffle_indices(100)
    nnrs.random.seed(11)
    b = data.shuffle_indices(100)
    c = data.shuffle_indices(100)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(b, c)


def test_train_test_split_keeps_pairs():
    x = np.arange(100).reshape(50, 2)
    y = np.arange(50) * 10
    x_tr, x_te, y_tr, y_te = data.train_test_split(x, y, test_size=0.2, seed=1)
    assert x_tr.shape == (40, 2) and x_te.shape == (10, 2) and y_tr.shape == (40,) and y_te.shape == (10,)
    np.testing.assert_array_equal(x_tr[:, 0] * 5, y_tr)  # rows stay with their labels
    np.testing.assert_array_equal(x_te[:, 0] * 5, y_te)
    assert sorted(np.concatenate([y_tr, y_te]).tolist()) == y.tolist()  # a partition
    again = data.train_test_split(x, y, test_size=0.2, seed=1)
    for u, w in zip((x_tr, x_te, y_tr, y_te), again):
        np.testing.assert_array_equal(u, w)
    assert not np.array_equal(y_te, data.train_test_split(x, y, test_size=0.2, seed=2)[3])


def test_train_test_split_sizes_and_no_shuffle():
    x = np.arange(10)
    x_tr, x_te = data.train_test_split(x, test_size=3, shuffle=False)
    np.testing.assert_array_equal(x_tr, np.arange(7))
    np.testing.assert_array_equal(x_te, [7, 8, 9])
    x_tr, x_te = data.train_test_split(x, test_size=0.25)  # ceil(2.5) = 3
    assert len(x_te) == 3 and len(x_tr) == 7
    x_tr, x_te, y_tr, y_te = data.train_test_split(list(range(4)), [0, 1, 0, 1], test_size=1, shuffle=False)
    assert isinstance(x_tr, np.ndarray) and y_te.tolist() == [1]


@pytest.mark.parametrize(
    "kw, match",
    [
        (dict(test_size=0.0), "test_size must be a fraction"),
        (dict(test_size=1.0), "test_size must be a fraction"),
        (dict(test_size=True), "test_size must be a fraction"),
        (dict(test_size=10), "gives 10 test and 0 training samples"),
        (dict(test_size=0), "gives 0 test and 10 training samples"),
        (dict(seed="x"), "numpy.random.Generator"),
    ],
)
def test_train_test_split_errors(kw, match):
    with pytest.raises(ValueError, match=match):
        data.train_test_split(np.arange(10), np.arange(10), **kw)


def test_train_test_split_length_mismatch():
    with pytest.raises(ValueError, match=r"len\(x\)=10 and len\(y\)=9"):
        data.train_test_split(np.zeros((10, 3)), np.zeros(9))


# --------------------------------------------------------------------------- Standardizer


def test_standardizer_per_feature():
    rng = np.random.default_rng(0)
    x = rng.normal([1.0, -5.0, 100.0], [2.0, 0.1, 30.0], size=(500, 3))
    s = data.Standardizer().fit(x)
    np.testing.assert_allclose(s.mean_.ravel(), x.mean(0))
    np.testing.assert_allclose(s.std_.ravel(), x.std(0))
    z = s.transform(x)
    np.testing.assert_allclose(z.mean(0), 0, atol=1e-12)
    np.testing.assert_allclose(z.std(0), 1, atol=1e-12)
    np.testing.assert_allclose(s.inverse_transform(z), x, rtol=1e-12)
    np.testing.assert_allclose(data.Standardizer().fit_transform(x), z)
    np.testing.assert_allclose(data.standardize(x), z)
    # New data uses the fitted statistics, not its own.
    np.testing.assert_allclose(s.transform(x[:5] + 1), z[:5] + 1 / x.std(0), rtol=1e-12)


def test_standardizer_constant_feature_is_safe():
    x = np.array([[1.0, 7.0], [3.0, 7.0], [5.0, 7.0]])
    z = data.standardize(x)
    assert np.all(np.isfinite(z))
    np.testing.assert_array_equal(z[:, 1], 0)
    np.testing.assert_allclose(z[:, 0], [-1.2247448714, 0, 1.2247448714])
    s = data.Standardizer().fit(x)
    np.testing.assert_allclose(s.inverse_transform(s.transform(x)), x)


def test_standardizer_dtypes():
    x32 = np.arange(12, dtype=np.float32).reshape(6, 2)
    assert data.standardize(x32).dtype == np.float32
    assert data.standardize(np.arange(12).reshape(6, 2)).dtype == np.float32  # ints -> float32
    assert data.standardize(x32.astype(np.float64)).dtype == np.float64


def test_standardizer_per_channel_images():
    rng = np.random.default_rng(1)
    x = rng.normal([0.0, 10.0, -3.0], [1.0, 5.0, 0.5], size=(8, 4, 4, 3)).astype(np.float32)
    s = data.Standardizer(axis=(0, 1, 2)).fit(x)
    assert s.mean_.shape == (1, 1, 1, 3)
    z = s.transform(x)
    np.testing.assert_allclose(z.mean(axis=(0, 1, 2)), 0, atol=1e-5)
    np.testing.assert_allclose(z.std(axis=(0, 1, 2)), 1, atol=1e-5)
    np.testing.assert_allclose(s.transform(x[:2, :2]), z[:2, :2])  # reduced axes may change size
    with pytest.raises(ValueError, match=r"fitted on shape \('\*', '\*', '\*', 3\).*\(8, 4, 4, 2\)"):
        s.transform(x[..., :2])


def test_standardizer_errors():
    s = data.Standardizer()
    with pytest.raises(RuntimeError, match="not fitted"):
        s.transform(np.zeros((2, 2)))
    s.fit(np.zeros((4, 3)))
    with pytest.raises(ValueError, match=r"fitted on shape \('\*', 3\).*got an array of shape \(4, 2\)"):
        s.transform(np.zeros((4, 2)))
    with pytest.raises(ValueError, match="got an array of shape"):
        s.inverse_transform(np.zeros(3))
    with pytest.raises(ValueError, match="empty array"):
        data.Standardizer().fit(np.zeros((0, 3)))
    with pytest.raises(ValueError, match="scalar"):
        data.Standardizer().fit(np.float64(1))
    with pytest.raises(ValueError, match="axis 2 is out of range"):
        data.standardize(np.zeros((3, 2)), axis=2)
    with pytest.raises(ValueError, match="repeated axis"):
        data.standardize(np.zeros((3, 2)), axis=(0, -2))


# --------------------------------------------------------------------------- batches


def test_batches_in_order_with_partial_last():
    x = np.arange(10).reshape(10, 1)
    y = np.arange(10) * 2
    out = list(data.batches(x, y, batch_size=4))
    assert [len(xb) for xb, _ in out] == [4, 4, 2]
    np.testing.assert_array_equal(np.concatenate([xb for xb, _ in out]), x)
    np.testing.assert_array_equal(np.concatenate([yb for _, yb in out]), y)
    assert np.shares_memory(out[0][0], x)  # slices, not copies


def test_batches_without_y_and_bigger_batch():
    out = list(data.batches(np.arange(5), batch_size=100))
    assert len(out) == 1 and out[0][1] is None
    np.testing.assert_array_equal(out[0][0], np.arange(5))
    assert list(data.batches(np.zeros((0, 3)))) == []


def test_batches_shuffled_keeps_pairs_and_covers_all():
    x = np.arange(103)
    y = -np.arange(103)
    out = list(data.batches(x, y, batch_size=10, shuffle=True, rng=3))
    assert [len(xb) for xb, _ in out] == [10] * 10 + [3]
    xs = np.concatenate([xb for xb, _ in out])
    ys = np.concatenate([yb for _, yb in out])
    np.testing.assert_array_equal(xs, -ys)
    assert sorted(xs.tolist()) == list(range(103)) and xs.tolist() != list(range(103))
    again = np.concatenate([xb for xb, _ in data.batches(x, y, batch_size=10, shuffle=True, rng=3)])
    np.testing.assert_array_equal(xs, again)


def test_batches_shuffle_uses_nnrs_generator():
    x = np.arange(20)
    nnrs.random.seed(5)
    a = np.concatenate([xb for xb, _ in data.batches(x, batch_size=6, shuffle=True)])
    nnrs.random.seed(5)
    b = np.concatenate([xb for xb, _ in data.batches(x, batch_size=6, shuffle=True)])
    c = np.concatenate([xb for xb, _ in data.batches(x, batch_size=6, shuffle=True)])
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(b, c)


@pytest.mark.parametrize(
    "args, kw, match",
    [
        ((np.zeros(5), np.zeros(4)), {}, r"len\(x\)=5 and len\(y\)=4"),
        ((np.zeros(5),), dict(batch_size=0), "batch_size must be a positive integer"),
        ((np.zeros(5),), dict(batch_size=2.0), "batch_size must be a positive integer"),
        ((np.zeros(5),), dict(shuffle=True, rng="x"), "numpy.random.Generator"),
        ((np.float64(1.0),), {}, "scalar"),
    ],
)
def test_batches_errors_are_eager(args, kw, match):
    with pytest.raises(ValueError, match=match):
        data.batches(*args, **kw)  # raised at the call, before iterating
