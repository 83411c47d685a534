"""BatchNormalization against Keras 3 (reference numbers made by
tests/fixtures/norm/make_norm_fixtures.py with Keras 3.15 on torch)."""

from pathlib import Path

import nnrs
import numpy as np
import pytest

FIX = Path(__file__).parent / "fixtures" / "norm"


@pytest.fixture(scope="module")
def k():
    return np.load(FIX / "keras_norm.npz")


def test_layer_matches_keras_training_and_inference(backend, k):
    bn = nnrs.layers.BatchNormalization(momentum=0.9, epsilon=1e-3)
    bn.build((None, 3, 5))
    bn.set_weights([k["bn_gamma"], k["bn_beta"], k["bn_mm"], k["bn_mv"]])
    np.testing.assert_allclose(bn(k["bn_x"], training=False).numpy(), k["bn_infer"], atol=1e-5)
    np.testing.assert_allclose(bn(k["bn_x"], training=True).numpy(), k["bn_train"], atol=1e-5)
    # the moving variance moves towards the biased batch variance, as in Keras
    np.testing.assert_allclose(bn.moving_mean.numpy(), k["bn_mm_after"], atol=1e-5)
    np.testing.assert_allclose(bn.moving_variance.numpy(), k["bn_mv_after"], atol=1e-5)


def _model():
    m = nnrs.Sequential([nnrs.Input((6,)), nnrs.layers.Dense(4), nnrs.layers.BatchNormalization(momentum=0.8),
                         nnrs.layers.Dense(1)])
    m.compile(optimizer=nnrs.optimizers.SGD(0.1), loss="mse")
    return m


def test_tiny_model_train_on_batch_matches_keras(backend, k):
    m = _model()
    m.set_weights([k[f"model_w0_{i}"] for i in range(8)])
    losses = [m.train_on_batch(k["model_x"][i], k["model_y"][i]) for i in range(3)]
    np.testing.assert_allclose(losses, k["model_losses"], rtol=1e-5)
    for i, w in enumerate(m.get_weights()):
        np.testing.assert_allclose(w, k[f"model_w3_{i}"], atol=1e-5)
    np.testing.assert_allclose(m.predict(k["model_x"][0], verbose=0), k["model_pred"], atol=1e-5)


def test_keras_weights_file_loads(backend, k):
    m = _model()
    m.load_weights(FIX / "bn_model.weights.h5")
    for i, w in enumerate(m.get_weights()):
        np.testing.assert_array_equal(w, k[f"model_w3_{i}"])
    np.testing.assert_allclose(m.predict(k["model_x"][0], verbose=0), k["model_pred"], atol=1e-5)
