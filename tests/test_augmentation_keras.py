"""affine_transform against Keras 3's ops.image.affine_transform on fixed transforms
(reference made by tests/fixtures/norm/make_norm_fixtures.py with Keras 3.15 on torch)."""

from pathlib import Path

import numpy as np
import pytest

from tests.conftest import on_host

FIX = Path(__file__).parent / "fixtures" / "norm"


@pytest.mark.parametrize("mode", ["constant", "nearest", "wrap", "mirror", "reflect"])
@pytest.mark.parametrize("interp", ["nearest", "bilinear"])
def test_affine_transform_matches_keras(backend, mode, interp):
    b = on_host(backend)
    k = np.load(FIX / "keras_norm.npz")
    y = b.affine_transform(k["at_images"], k["at_transforms"], interp, mode, 0.5)
    np.testing.assert_allclose(y, k[f"at_{mode}_{interp}"], atol=1e-5)


def test_random_rotation_matches_keras_given_its_angles(backend):
    b = on_host(backend)
    from nnrs.layers.augmentation import rotation_transforms

    k = np.load(FIX / "keras_norm.npz")
    imgs = k["rr_images"]
    t = rotation_transforms(k["rr_angle"], imgs.shape[1], imgs.shape[2])
    np.testing.assert_allclose(t, k["rr_matrix"], atol=1e-6)
    y = b.affine_transform(imgs, t.astype("float32"), "bilinear", "reflect", 0.0)
    np.testing.assert_allclose(y, k["rr_out"], atol=1e-5)


def test_random_translation_matches_keras_given_its_shifts(backend):
    b = on_host(backend)
    from nnrs.layers.augmentation import translation_transforms

    k = np.load(FIX / "keras_norm.npz")
    tr = k["rt_translations"]
    t = translation_transforms(tr[:, 0], tr[:, 1]).astype("float32")
    y = b.affine_transform(k["rr_images"], t, "bilinear", "wrap", 0.0)
    np.testing.assert_allclose(y, k["rt_out"], atol=1e-5)


def test_keras_model_file_with_augmentation_and_batch_norm_loads(backend):
    import nnrs

    k = np.load(FIX / "keras_norm.npz")
    m = nnrs.models.load_model(FIX / "aug_bn_model.keras")
    assert [type(l).__name__ for l in m.layers] == ["RandomFlip", "RandomRotation", "RandomTranslation", "RandomCrop",
                                                    "GaussianNoise", "BatchNormalization", "Flatten", "Dense"]
    assert [l.seed for l in m.layers[:5]] == [1, 2, 3, 6, 4]
    np.testing.assert_allclose(m.predict(k["rr_images"], verbose=0), k["aug_pred"], atol=1e-5)
