"""Batch normalization: kernels (cpu equals the numpy oracle), the contract's errors,
the BatchNorm Function's gradients, and the BatchNormalization layer."""

import json

import nnrs
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from nnrs import backend as _backend
from nnrs.functions import BatchNorm

from tests.conftest import host, tol

dtypes = st.sampled_from([np.float32, np.float64])
# any rank >= 1, the channels last; odd sizes, batch 1, single rows and columns
shapes = st.lists(st.integers(1, 7), min_size=1, max_size=4).map(tuple)


def _arrays(shape, dtype, seed):
    rng = np.random.default_rng(seed)
    c = shape[-1]
    x = (rng.standard_normal(shape) * 3 + 5).astype(dtype)
    gamma, beta = rng.standard_normal(c).astype(dtype), rng.standard_normal(c).astype(dtype)
    mean, var = rng.standard_normal(c).astype(dtype), rng.uniform(0.2, 3.0, c).astype(dtype)
    gy = rng.standard_normal(shape).astype(dtype)
    return x, gamma, beta, mean, var, gy


@settings(max_examples=60, deadline=None)
@given(shape=shapes, dtype=dtypes, seed=st.integers(0, 2**31), training=st.booleans(), affine=st.booleans())
def test_batch_norm_matches_numpy(kernels, ref, shape, dtype, seed, training, affine):
    x, gamma, beta, mean, var, gy = _arrays(shape, dtype, seed)
    if not affine:
        gamma = beta = None
    got = kernels.batch_norm_forward(x, gamma, beta, mean, var, 1e-3, training)
    want = ref.batch_norm_forward(x, gamma, beta, mean, var, 1e-3, training)
    for g, w in zip(got, want):
        assert g.dtype == dtype and g.shape == w.shape
        np.testing.assert_allclose(g, w, *tol(dtype))
    m, v = want[1], want[2]
    got = kernels.batch_norm_backward(gy, x, gamma, m, v, 1e-3, training)
    want = ref.batch_norm_backward(gy, x, gamma, m, v, 1e-3, training)
    rtol, atol = tol(dtype)
    for g, w in zip(got, want):
        assert g.dtype == dtype and g.shape == w.shape
        np.testing.assert_allclose(g, w, rtol * 10, atol * 10 * max(1.0, float(np.abs(w).max(initial=0))))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_batch_norm_large_parallel_and_offset(kernels, ref, dtype):
    # many rows (several blocks, the thread pool), a large offset: f64 accumulation keeps the variance
    rng = np.random.default_rng(1)
    x = (rng.standard_normal((300, 50, 7)) + 1e4).astype(dtype)
    y, m, v = kernels.batch_norm_forward(x, None, None, None, None, 1e-3, True)
    y2, m2, v2 = ref.batch_norm_forward(x, None, None, None, None, 1e-3, True)
    np.testing.assert_allclose(m, m2, *tol(dtype))
    np.testing.assert_allclose(v, v2, *tol(dtype))
    np.testing.assert_allclose(v, x.astype(np.float64).reshape(-1, 7).var(0), rtol=1e-3)
    # y = x * a + b with |b| ~ 1e4 |a|: the rounding of b (not the statistics) bounds the agreement
    np.testing.assert_allclose(y, y2, rtol=0, atol=1e-2 if dtype == np.float32 else 1e-9)
    gy = rng.standard_normal(x.shape).astype(dtype)
    for g, w in zip(kernels.batch_norm_backward(gy, x, None, m2, v2), ref.batch_norm_backward(gy, x, None, m2, v2)):
        np.testing.assert_allclose(g, w, rtol=1e-3, atol=1e-3 if dtype == np.float32 else 1e-9)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_batch_norm_update_in_place(backend, dtype):
    mm, mv = np.array([1.0, 2.0, 3.0], dtype), np.array([4.0, 5.0, 6.0], dtype)
    mean, var = np.array([0.0, 1.0, 2.0], dtype), np.array([1.0, 1.0, 1.0], dtype)
    mm, mv, mean, var = (backend.asarray(a) for a in (mm, mv, mean, var))
    backend.batch_norm_update(mm, mv, mean, var, 0.9)
    np.testing.assert_allclose(host(mm), [0.9, 1.9, 2.9], rtol=1e-6)
    np.testing.assert_allclose(host(mv), [3.7, 4.6, 5.5], rtol=1e-6)


@pytest.mark.parametrize("call, err, msg", [
    (lambda b, x, c: b.batch_norm_forward(x, c(4)), ValueError, r"batch_norm_forward: gamma must have shape \(3,\), got \(4,\)"),
    (lambda b, x, c: b.batch_norm_forward(x, None, None, c(3), None, 1e-3, False), ValueError, "training=False needs"),
    (lambda b, x, c: b.batch_norm_forward(x, epsilon=0.0), ValueError, "epsilon must be a positive"),
    (lambda b, x, c: b.batch_norm_forward(x, c(3).astype(np.float32)), TypeError, "same dtype"),
    (lambda b, x, c: b.batch_norm_forward(np.float64(1.0).reshape(())), ValueError, "at least 1 dimension"),
    (lambda b, x, c: b.batch_norm_backward(x[:1], x, None, c(3), c(3)), ValueError, "gy must have the shape of x"),
    (lambda b, x, c: b.batch_norm_update(c(3), c(2), c(3), c(3), 0.9), ValueError, "one shape"),
    (lambda b, x, c: b.batch_norm_update(c(3), c(3), c(3), c(3), 1.5), ValueError, r"momentum must be in \[0, 1\]"),
])
def test_batch_norm_errors_are_the_same_on_every_backend(call, err, msg):
    x = np.ones((2, 3))
    msgs = set()
    for name in ("numpy", "cpu"):
        with pytest.raises(err, match=msg) as e:
            call(_backend.get(name), x, lambda n: np.ones(n))
        msgs.add(str(e.value))
    assert len(msgs) == 1


def test_binding_rejects_bad_shapes_without_the_contract(core):
    with pytest.raises(ValueError, match=r"batch_norm_forward: gamma must have shape \(3,\)"):
        core.batch_norm_forward(np.ones((2, 3)), np.ones(2))
    with pytest.raises(ValueError, match="training=False needs"):
        core.batch_norm_forward(np.ones((2, 3)), None, None, None, None, 1e-3, False)
    with pytest.raises(ValueError, match="moving_mean and moving_var share memory"):
        a = np.ones(3)
        core.batch_norm_update(a, a, np.ones(3), np.ones(3), 0.5)


# ---- gradients ---------------------------------------------------------------------------
@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("shape", [(5, 3), (2, 3, 4), (1, 2, 2, 3)])
def test_batch_norm_gradcheck(backend, training, shape):
    rng = np.random.default_rng(2)
    c = shape[-1]
    x, gamma, beta = rng.normal(size=shape) * 2 + 1, rng.normal(size=c), rng.normal(size=c)
    mean, var = rng.normal(size=c), rng.uniform(0.5, 2.0, c)
    assert nnrs.gradcheck(lambda a, g, b: BatchNorm.apply(a, g, b, mean, var, 1e-3, training), x, gamma, beta)
    assert nnrs.gradcheck(lambda a: BatchNorm.apply(a, None, None, mean, var, 1e-3, training), x)


def test_layer_gradcheck_through_batch_statistics(backend):
    layer = nnrs.layers.BatchNormalization(dtype="float64", gamma_initializer="random_normal", beta_initializer="random_normal")
    x = np.random.default_rng(3).normal(size=(6, 4))
    layer.build(x.shape)
    assert nnrs.gradcheck(lambda a: layer(a, training=True), x, wrt=[layer.gamma, layer.beta])


# ---- the layer ---------------------------------------------------------------------------
KERAS_KEYS = ["name", "trainable", "dtype", "axis", "momentum", "epsilon", "center", "scale", "beta_initializer",
              "gamma_initializer", "moving_mean_initializer", "moving_variance_initializer", "beta_regularizer",
              "gamma_regularizer", "beta_constraint", "gamma_constraint", "synchronized", "renorm", "renorm_clipping",
              "renorm_momentum"]


def test_config_has_keras_keys_and_round_trips():
    bn = nnrs.layers.BatchNormalization(axis=1, momentum=0.9, epsilon=1e-5, center=False, gamma_regularizer="l2",
                                        moving_variance_initializer="zeros")
    cfg = bn.get_config()
    assert list(cfg) == KERAS_KEYS
    assert cfg["gamma_initializer"]["class_name"] == "Ones" and cfg["moving_variance_initializer"]["class_name"] == "Zeros"
    json.dumps(cfg)
    twin = nnrs.layers.BatchNormalization.from_config(cfg)
    assert twin.get_config() | {"name": None} == cfg | {"name": None}


def test_weights_in_keras_order_and_names():
    bn = nnrs.layers.BatchNormalization()
    bn.build((None, 4, 3))
    assert [w.path.split("/")[-1] for w in bn.weights] == ["gamma", "beta", "moving_mean", "moving_variance"]
    assert [w.trainable for w in bn.weights] == [True, True, False, False]
    assert [w.shape for w in bn.weights] == [(3,)] * 4
    no_affine = nnrs.layers.BatchNormalization(center=False, scale=False)
    no_affine.build((None, 3))
    assert [w.path.split("/")[-1] for w in no_affine.weights] == ["moving_mean", "moving_variance"]


def test_training_uses_batch_stats_and_updates_moving_stats(backend):
    x = np.random.default_rng(4).normal(3.0, 2.0, size=(64, 5)).astype("float32")
    bn = nnrs.layers.BatchNormalization(momentum=0.5)
    y = bn(x, training=True).numpy()
    np.testing.assert_allclose(y.mean(0), 0, atol=1e-5)
    np.testing.assert_allclose(y.var(0), x.var(0) / (x.var(0) + 1e-3), rtol=1e-4)
    np.testing.assert_allclose(bn.moving_mean.numpy(), 0.5 * x.mean(0), rtol=1e-5)
    np.testing.assert_allclose(bn.moving_variance.numpy(), 0.5 + 0.5 * x.var(0), rtol=1e-5)  # biased variance
    before = bn.moving_mean.numpy().copy()
    y_inf = bn(x).numpy()  # inference by default: moving statistics, nothing updated
    np.testing.assert_array_equal(bn.moving_mean.numpy(), before)
    want = (x - before) / np.sqrt(bn.moving_variance.numpy() + 1e-3)
    np.testing.assert_allclose(y_inf, want, rtol=1e-5, atol=1e-5)


def test_trainable_false_runs_in_inference_mode(backend):
    x = np.random.default_rng(5).normal(size=(8, 3)).astype("float32")
    bn = nnrs.layers.BatchNormalization()
    bn.build(x.shape)
    bn.trainable = False
    np.testing.assert_allclose(bn(x, training=True).numpy(), x / np.sqrt(1 + 1e-3), rtol=1e-6)
    np.testing.assert_array_equal(bn.moving_mean.numpy(), 0)


def test_fit_updates_and_predict_evaluate_do_not(backend):
    rng = np.random.default_rng(6)
    x, y = rng.normal(2.0, 1.0, size=(32, 4)).astype("float32"), rng.normal(size=(32, 1)).astype("float32")
    model = nnrs.Sequential([nnrs.Input((4,)), nnrs.layers.BatchNormalization(), nnrs.layers.Dense(1)])
    model.compile("sgd", "mse")
    bn = model.layers[0]
    model.predict(x, verbose=0)
    model.evaluate(x, y, verbose=0)
    np.testing.assert_array_equal(bn.moving_mean.numpy(), 0)
    model.fit(x, y, batch_size=8, epochs=1, verbose=0)
    assert np.all(bn.moving_mean.numpy() > 0.05)  # 4 steps of momentum 0.99 towards ~2


def test_axis_other_than_last(backend):
    x = np.random.default_rng(7).normal(size=(4, 3, 5)).astype("float32")
    a = nnrs.layers.BatchNormalization(axis=1)
    b = nnrs.layers.BatchNormalization()
    ya = a(x, training=True).numpy()
    yb = b(np.moveaxis(x, 1, -1), training=True).numpy()
    np.testing.assert_allclose(ya, np.moveaxis(yb, -1, 1), rtol=1e-5, atol=1e-6)
    assert a.moving_mean.shape == (3,)


def test_layer_errors():
    bn = nnrs.layers.BatchNormalization(name="bn")
    bn(np.ones((2, 4, 3), "float32"))
    with pytest.raises(ValueError, match=r"BatchNormalization 'bn': expected input shape \(None, 4, 3\) \(axis 2 of size 3\), got \(2, 4, 5\)"):
        bn(np.ones((2, 4, 5), "float32"))
    with pytest.raises(ValueError, match="BatchNormalization 'bn': expected input of rank 3"):
        bn(np.ones((2, 3), "float32"))
    built = nnrs.layers.BatchNormalization(name="b2")
    built.build((None, 3))
    with pytest.raises(ValueError, match=r"BatchNormalization 'b2': expected input of rank 2 \(built for \(None, 3\)\)"):
        built(np.ones((2, 2, 3), "float32"))
    with pytest.raises(ValueError, match="synchronized=True"):
        nnrs.layers.BatchNormalization(synchronized=True)
    with pytest.raises(ValueError, match="renorm=True"):
        nnrs.layers.BatchNormalization(renorm=True)
    with pytest.raises(ValueError, match="axis 3 is out of range"):
        nnrs.layers.BatchNormalization(axis=3)(np.ones((2, 3), "float32"))


def test_save_and_load_keeps_moving_stats(tmp_path, backend):
    rng = np.random.default_rng(8)
    x, y = rng.normal(1.0, 2.0, size=(16, 3)).astype("float32"), rng.normal(size=(16, 2)).astype("float32")
    model = nnrs.Sequential([nnrs.Input((3,)), nnrs.layers.Dense(4), nnrs.layers.BatchNormalization(momentum=0.7),
                             nnrs.layers.Dense(2)])
    model.compile("adam", "mse")
    model.fit(x, y, batch_size=4, epochs=2, verbose=0)
    path = tmp_path / "bn.keras"
    model.save(path)
    loaded = nnrs.models.load_model(path)
    for a, b in zip(model.get_weights(), loaded.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert np.any(loaded.layers[1].moving_mean.numpy() != 0)
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-6)
    assert loaded.layers[1].get_config() == model.layers[1].get_config()
