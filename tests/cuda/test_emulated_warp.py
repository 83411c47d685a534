"""cuda_kernels/warp.cu (affine / projective warps, every interpolation and fill mode), compiled
as C++ with the emulation header (atomicAdd a plain add) and launched over cuda_launch's grid
(also capped at 1, 2, 3 blocks so the grid-stride loops wrap), equals the numpy oracle on
hypothesis shapes and transforms in float32 and float64, with poisoned guard zones around every
array. The forward makes the oracle's float64 operations in its order: bit-equal. The backward
adds in another order (atomics on the GPU): equal within tolerance."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from nnrs.backend import cuda_launch
from nnrs.backend.base import FILL_MODES, INTERPOLATIONS

from tests.conftest import tol
from tests.test_augmentation import _transforms

from .emulation.loader import Guarded

DTYPES = st.sampled_from([np.float32, np.float64])
MAX_GRID = st.sampled_from([cuda_launch.MAX_GRID, cuda_launch.MAX_GRID, 1, 2, 3])


@settings(max_examples=100, deadline=None)
@given(n=st.integers(1, 3), h=st.integers(1, 7), w=st.integers(1, 7), c=st.integers(1, 3), dtype=DTYPES,
       mode=st.sampled_from(FILL_MODES), interp=st.sampled_from(INTERPOLATIONS), projective=st.booleans(),
       special=st.sampled_from(["none", "nan", "inf", "far", "half"]), fill=st.sampled_from([0.0, 0.25, -3.0]),
       seed=st.integers(0, 2**31), max_grid=MAX_GRID)
def test_affine_transform_kernels_match_numpy(emu, ref, n, h, w, c, dtype, mode, interp, projective, special, fill, seed, max_grid):
    rng = np.random.default_rng(seed)
    img = rng.standard_normal((n, h, w, c)).astype(dtype)
    t = _transforms(rng, n, projective)
    if special == "nan":
        t[0, 2] = np.nan
    elif special == "inf":
        t[-1, 5] = np.inf
    elif special == "far":  # shifts of many image sizes: wrap / mirror / reflect fold several times
        t[:, 2] += rng.integers(-40, 40, n)
        t[:, 5] += rng.integers(-40, 40, n)
    elif special == "half":  # exact half-pixel coordinates: nearest rounds half to even
        t[:] = [1.0, 0.0, 0.5, 0.0, 1.0, -1.5, 0.0, 0.0]
    t = t.astype(dtype)
    codes = (INTERPOLATIONS.index(interp), FILL_MODES.index(mode))
    y_ = Guarded(np.zeros(img.shape, dtype))
    emu["warp.cu"].launch("affine_transform_forward", dtype, img.size, Guarded(img), Guarded(t), y_, n, h, w, c, *codes, fill,
                          max_grid=max_grid)
    np.testing.assert_array_equal(y_.check("y"), ref.affine_transform(img, t, interp, mode, fill))
    gy = rng.standard_normal(img.shape).astype(dtype)
    gx_ = Guarded(np.zeros(img.shape, np.float64))
    emu["warp.cu"].launch("affine_transform_backward", dtype, gy.size, Guarded(gy), Guarded(t), gx_, n, h, w, c, *codes,
                          max_grid=max_grid)
    got = gx_.check("gx").astype(dtype)
    np.testing.assert_allclose(got, ref.affine_transform_backward(gy, t, interp, mode), *tol(dtype))
