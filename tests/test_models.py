"""Model API: Sequential/functional models, compile/fit/evaluate/predict, errors, summary."""

import nnrs
import numpy as np
import pytest
from nnrs import layers


def blobs(n=300, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    centers = np.array([[2.0, 0.0], [-2.0, 0.0], [0.0, 2.5]])
    x = (centers[y] + rng.normal(0, 0.6, (n, 2))).astype(np.float32)
    return x, y


def mlp(out=3, act="softmax", dropout=0.0):
    nnrs.random.seed(0)
    ls = [nnrs.Input((2,)), layers.Dense(16, activation="relu")]
    if dropout:
        ls.append(layers.Dropout(dropout))
    ls.append(layers.Dense(out, activation=act))
    return nnrs.Sequential(ls)


def test_fit_learns_and_history_records(backend):
    x, y = blobs()
    m = mlp()
    m.compile(optimizer=nnrs.optimizers.Adam(0.01), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    h = m.fit(x, y, batch_size=32, epochs=15, verbose=0, validation_split=0.2)
    assert set(h.history) >= {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert len(h.history["loss"]) == 15 and h.history["loss"][-1] < h.history["loss"][0]
    loss, acc = m.evaluate(x, y, verbose=0)
    assert acc > 0.9 and loss < 0.4
    p = m.predict(x[:10], verbose=0)
    assert p.shape == (10, 3) and np.allclose(p.sum(1), 1, atol=1e-5)


def test_same_seed_same_training_on_every_backend():
    x, y = blobs(120)
    results = {}
    for name in ("numpy", "cpu"):
        with nnrs.backend.use(name):
            m = mlp(dropout=0.3)
            m.compile(optimizer=nnrs.optimizers.SGD(0.1, momentum=0.9), loss="sparse_categorical_crossentropy")
            nnrs.random.seed(1)
            h = m.fit(x, y, batch_size=16, epochs=3, verbose=0)
            results[name] = (h.history["loss"], m.get_weights())
    np.testing.assert_allclose(results["numpy"][0], results["cpu"][0], rtol=1e-4)
    for a, b in zip(results["numpy"][1], results["cpu"][1]):
        np.testing.assert_allclose(a, b, rtol=1e-3, atol=1e-5)


def test_softmax_output_uses_fused_logits_and_matches_from_logits(backend):
    x, y = blobs(64)
    m = mlp()
    probs = m(x)
    loss_p = nnrs.losses.SparseCategoricalCrossentropy()(y, probs)
    logits = probs._keras_logits[1]
    loss_l = nnrs.losses.SparseCategoricalCrossentropy(from_logits=True)(y, logits)
    assert abs(loss_p.item() - loss_l.item()) < 1e-6


def test_unfused_crossentropy_on_plain_probabilities(backend):
    rng = np.random.default_rng(0)
    p = rng.dirichlet(np.ones(4), 8).astype(np.float32)
    y = rng.integers(0, 4, 8)
    got = nnrs.losses.SparseCategoricalCrossentropy()(y, p).item()
    assert abs(got - float(np.mean(-np.log(p[np.arange(8), y])))) < 1e-5


@pytest.mark.parametrize("loss", ["mse", "mae", "huber", nnrs.losses.MeanSquaredError()])
def test_regression_losses_train(backend, loss):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 3)).astype(np.float32)
    y = x @ np.array([[1.0], [-2.0], [0.5]], dtype=np.float32) + 0.3
    nnrs.random.seed(0)
    m = nnrs.Sequential([nnrs.Input((3,)), layers.Dense(1)])
    m.compile(optimizer=nnrs.optimizers.Adam(0.05), loss=loss, metrics=["mae"])
    h = m.fit(x, y, epochs=30, batch_size=20, verbose=0)
    assert h.history["loss"][-1] < 0.1 * h.history["loss"][0]


def test_binary_classification_with_sigmoid(backend):
    x, y = blobs()
    yb = (y == 0).astype(np.float32)
    m = mlp(out=1, act="sigmoid")
    m.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy", "precision", "recall"])
    m.fit(x, yb, epochs=10, batch_size=32, verbose=0)
    res = m.evaluate(x, yb, verbose=0, return_dict=True)
    assert res["accuracy"] > 0.9 and 0 < res["precision"] <= 1 and 0 < res["recall"] <= 1


def test_regularizers_add_to_the_loss(backend):
    x, y = blobs(64)
    nnrs.random.seed(0)
    plain = nnrs.Sequential([nnrs.Input((2,)), layers.Dense(3)])
    nnrs.random.seed(0)
    reg = nnrs.Sequential([nnrs.Input((2,)), layers.Dense(3, kernel_regularizer=nnrs.regularizers.L2(0.1),
                                                           bias_regularizer="l1", activity_regularizer=nnrs.regularizers.L1(0.01))])
    for m in (plain, reg):
        m.compile(optimizer="sgd", loss=nnrs.losses.SparseCategoricalCrossentropy(from_logits=True))
    k = reg.layers[-1].kernel.numpy()
    out = plain.predict(x, verbose=0)
    expected_extra = 0.1 * float((k ** 2).sum()) + 0.01 * float(np.abs(out).sum()) / len(x)
    diff = reg.evaluate(x, y, batch_size=64, verbose=0) - plain.evaluate(x, y, batch_size=64, verbose=0)
    assert abs(diff - expected_extra) < 1e-4


def test_class_and_sample_weight_change_the_loss(backend):
    x, y = blobs(64)
    m = mlp()
    m.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    base = m.evaluate(x, y, verbose=0)
    assert abs(m.evaluate(x, y, verbose=0, sample_weight=np.full(64, 2.0)) - 2 * base) < 1e-5
    h = m.fit(x, y, epochs=1, verbose=0, class_weight={0: 0.0, 1: 0.0, 2: 0.0}, shuffle=False)
    assert h.history["loss"][0] == 0.0


def test_functional_model_matches_sequential(backend):
    nnrs.random.seed(3)
    inp = nnrs.Input((2,))
    h = layers.Dense(8, activation="tanh")(inp)
    out = layers.Dense(3)(h)
    fm = nnrs.Model(inp, out)
    x, y = blobs(32)
    seq = nnrs.Sequential([nnrs.Input((2,)), layers.Dense(8, activation="tanh"), layers.Dense(3)])
    seq.set_weights(fm.get_weights())
    np.testing.assert_allclose(fm.predict(x, verbose=0), seq.predict(x, verbose=0), rtol=1e-5)


def test_predict_on_batch_and_train_on_batch(backend):
    x, y = blobs(32)
    m = mlp()
    m.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    l0 = m.train_on_batch(x, y)[0]
    for _ in range(20):
        l1 = m.train_on_batch(x, y)[0]
    assert l1 < l0
    np.testing.assert_allclose(m.predict_on_batch(x[:1]), m.predict(x[:1], verbose=0), rtol=1e-6)


def test_summary_lists_shapes_and_params(backend):
    lines = []
    mlp().summary(print_fn=lines.append)
    text = "\n".join(lines)
    assert "(None, 16)" in text and "(None, 3)" in text
    assert "Total params: 99" in text  # 2*16+16 + 16*3+3


def test_get_set_weights_keras_shapes(backend):
    m = mlp()
    shapes = [w.shape for w in m.get_weights()]
    assert shapes == [(2, 16), (16,), (16, 3), (3,)]
    with pytest.raises(ValueError, match=r"kernel.*\(2, 16\).*\(16, 2\)"):
        m.set_weights([np.zeros((16, 2)), np.zeros(16), np.zeros((16, 3)), np.zeros(3)])


# ---- bad input: one line per case ------------------------------------------------------

def compiled():
    m = mlp()
    m.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    return m


@pytest.mark.parametrize("call, exc, match", [
    (lambda m: m.fit(np.zeros((10, 3), np.float32), np.zeros(10), verbose=0), ValueError, r"expected input shape \(None, 2\), got \(10, 3\)"),
    (lambda m: m.predict(np.zeros((4, 5), np.float32)), ValueError, r"expected input shape \(None, 2\), got \(4, 5\)"),
    (lambda m: m.fit(np.zeros((10, 2)), np.zeros(9), verbose=0), ValueError, r"x has 10 samples, y has 9"),
    (lambda m: m.fit(np.array([["a", "b"]] * 4), np.zeros(4), verbose=0), TypeError, r"x must be numeric.*<U1"),
    (lambda m: m.fit(np.zeros((4, 2)), np.array(["a"] * 4), verbose=0), TypeError, r"y must be numeric"),
    (lambda m: m.fit(np.zeros((4, 2)), np.array([0, 1, 2, 7]), verbose=0), ValueError, r"class index 7 is out of range for 3 classes"),
    (lambda m: m.compile(optimizer="adamm", loss="mse"), ValueError, r"adamm"),
    (lambda m: m.compile(optimizer="adam", loss="msee"), ValueError, r"unknown loss 'msee'"),
    (lambda m: layers.Dense(3, activation="rellu"), ValueError, r"unknown activation 'rellu'"),
    (lambda m: layers.Dense(0), ValueError, r"units must be a positive integer"),
    (lambda m: m.layers[0](nnrs.Tensor(np.zeros((2, 5), np.float32))), ValueError, r"Dense 'dense.*expected input shape \(None, 2\).*got \(2, 5\)"),
    (lambda m: nnrs.Sequential([nnrs.Input((2,)), layers.Reshape((3,))]), ValueError, r"Reshape.*2 values per sample.*needs 3"),
])
def test_bad_input_is_a_clear_error(call, exc, match):
    with pytest.raises(exc, match=match):
        call(compiled())


def test_uncompiled_fit_says_so():
    with pytest.raises(RuntimeError, match="compile"):
        mlp().fit(np.zeros((4, 2)), np.zeros(4))


def test_epoch_loss_is_the_same_with_or_without_a_batch_callback():
    # without a batch-level callback fit sums the batch losses on the backend at the epoch's
    # end; with one it adds each on the host as it goes: the logged epoch loss must agree
    rng = np.random.default_rng(0)
    x = rng.standard_normal((50, 4)).astype(np.float32)
    y = rng.standard_normal((50, 1)).astype(np.float32)
    runs = []
    for cbs in ([], [nnrs.callbacks.LambdaCallback(on_train_batch_end=lambda b, logs: None)]):
        nnrs.random.seed(0)
        m = nnrs.Sequential([nnrs.Input((4,)), nnrs.layers.Dense(3, activation="tanh"), nnrs.layers.Dense(1)])
        m.compile(optimizer="sgd", loss="mse")
        runs.append(m.fit(x, y, epochs=3, batch_size=16, shuffle=False, verbose=0, callbacks=cbs).history["loss"])
    np.testing.assert_allclose(runs[0], runs[1], rtol=1e-12)
