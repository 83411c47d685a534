"""affine_transform against Keras 3's ops.image.affine_transform on fixed transforms
(reference made by tests/fixtures/norm/make_norm_fixtures.py with Keras 3.15 on torch)."""

from pathlib import Path

import numpy as np
import pytest

FIX = Path(__file__).parent / "fixtures" / "norm"


@pytest.mark.parametrize("mode", ["constant", "nearest", "wrap", "mirror", "reflect"])
@pytest.mark.parametrize("interp", ["nearest", "bilinear"])
def test_affine_transform_matches_keras(backend, mode, interp):
    k = np.load(FIX / "keras_norm.npz")
    y = backend.affine_transform(k["at_images"], k["at_transforms"], interp, mode, 0.5)
    np.testing.assert_allclose(y, k[f"at_{mode}_{interp}"], atol=1e-5)
