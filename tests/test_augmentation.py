"""Image augmentation: the affine_transform and gaussian_noise kernels (cpu equals the
numpy oracle), their Functions' gradients, and the augmentation layers."""

import json

import nnrs
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from nnrs import backend as _backend
from nnrs.functions import AffineTransform, Flip, GaussianNoise
from nnrs.layers.augmentation import rotation_transforms

from tests.conftest import tol

dtypes = st.sampled_from([np.float32, np.float64])
MODES = ("constant", "nearest", "wrap", "mirror", "reflect")


def _transforms(rng, n, projective):
    t = np.tile([1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0], (n, 1)) + rng.normal(0, 0.4, (n, 8)) * [1, 1, 4, 1, 1, 4, 0, 0]
    if projective:
        t[:, 6:] = rng.normal(0, 0.05, (n, 2))
    return t


@settings(max_examples=60, deadline=None)
@given(n=st.integers(1, 3), h=st.integers(1, 7), w=st.integers(1, 7), c=st.integers(1, 3), dtype=dtypes,
       mode=st.sampled_from(MODES), interp=st.sampled_from(["nearest", "bilinear"]), projective=st.booleans(),
       seed=st.integers(0, 2**31))
def test_affine_transform_matches_numpy(kernels, ref, n, h, w, c, dtype, mode, interp, projective, seed):
    rng = np.random.default_rng(seed)
    img = rng.standard_normal((n, h, w, c)).astype(dtype)
    t = _transforms(rng, n, projective).astype(dtype)
    y = kernels.affine_transform(img, t, interp, mode, 0.25)
    assert y.dtype == dtype and y.shape == img.shape
    np.testing.assert_allclose(y, ref.affine_transform(img, t, interp, mode, 0.25), *tol(dtype))
    gy = rng.standard_normal(img.shape).astype(dtype)
    gx = kernels.affine_transform_backward(gy, t, interp, mode)
    assert gx.dtype == dtype and gx.shape == img.shape
    np.testing.assert_allclose(gx, ref.affine_transform_backward(gy, t, interp, mode), *tol(dtype))


def test_affine_transform_large_parallel(kernels, ref):
    rng = np.random.default_rng(0)
    img = rng.standard_normal((16, 40, 50, 3)).astype(np.float32)
    t = _transforms(rng, 16, True).astype(np.float32)
    np.testing.assert_allclose(kernels.affine_transform(img, t, "bilinear", "reflect"),
                               ref.affine_transform(img, t, "bilinear", "reflect"), *tol(np.float32))


def test_affine_transform_simple_cases(backend):
    img = np.arange(2 * 3 * 4 * 1, dtype=np.float64).reshape(2, 3, 4, 1)
    ident = np.tile([1.0, 0, 0, 0, 1, 0, 0, 0], (2, 1))
    np.testing.assert_array_equal(backend.affine_transform(img, ident), img)
    shift = np.tile([1.0, 0, -1, 0, 1, 0, 0, 0], (2, 1))  # output x reads input x - 1: a roll right under wrap
    np.testing.assert_array_equal(backend.affine_transform(img, shift, "nearest", "wrap"), np.roll(img, 1, axis=2))
    out = backend.affine_transform(img, shift, "bilinear", "constant", fill_value=-5.0)
    np.testing.assert_array_equal(out[:, :, 0, 0], -5.0)
    np.testing.assert_array_equal(out[:, :, 1:], img[:, :, :-1])
    nan_t = np.tile([1.0, 0, 0, 0, 1, 0, -1.0, 0], (2, 1))  # k = 1 - x: 0 at x = 1 (infinite coordinate)
    assert np.all(backend.affine_transform(img, nan_t, "bilinear", "reflect", 7.0)[:, :, 1] == 7.0)


@pytest.mark.parametrize("call, err, msg", [
    (lambda b, x, t: b.affine_transform(x[0], t), ValueError, r"affine_transform: images must have shape \(batch, height"),
    (lambda b, x, t: b.affine_transform(x, t[:1]), ValueError, r"transforms must have shape \(2, 8\), got \(1, 8\)"),
    (lambda b, x, t: b.affine_transform(x, t, "bicubic"), ValueError, "unknown interpolation 'bicubic'"),
    (lambda b, x, t: b.affine_transform(x, t, "nearest", "zeros"), ValueError, "unknown fill_mode 'zeros'"),
    (lambda b, x, t: b.affine_transform(x, t.astype(np.float32)), TypeError, "same dtype"),
    (lambda b, x, t: b.affine_transform_backward(x, t[:, :6]), ValueError, r"transforms must have shape \(2, 8\)"),
    (lambda b, x, t: b.gaussian_noise_forward(x, -1.0, 3), ValueError, "stddev must be a finite number >= 0"),
    (lambda b, x, t: b.gaussian_noise_forward(x, 1.0, 2.5), TypeError, "seed must be an int"),
])
def test_errors_are_the_same_on_every_backend(call, err, msg):
    x, t = np.ones((2, 3, 4, 1)), np.ones((2, 8))
    msgs = set()
    for name in ("numpy", "cpu"):
        with pytest.raises(err, match=msg) as e:
            call(_backend.get(name), x, t)
        msgs.add(str(e.value))
    assert len(msgs) == 1


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_gaussian_noise_matches_numpy(kernels, ref, dtype):
    x = np.random.default_rng(1).standard_normal((7, 5, 3)).astype(dtype)
    y = kernels.gaussian_noise_forward(x, 0.3, 12345)
    assert y.dtype == dtype
    np.testing.assert_allclose(y, ref.gaussian_noise_forward(x, 0.3, 12345), *tol(dtype))
    big = kernels.gaussian_noise_forward(np.zeros(200_000, dtype), 2.0, 9)
    assert abs(big.mean()) < 0.03 and abs(big.std() - 2.0) < 0.03


# ---- gradients ---------------------------------------------------------------------------
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("interp", ["nearest", "bilinear"])
def test_affine_transform_gradcheck(backend, mode, interp):
    rng = np.random.default_rng(2)
    t = backend.asarray(_transforms(rng, 2, True))
    assert nnrs.gradcheck(lambda a: AffineTransform.apply(a, t, interp, mode, 0.5), rng.normal(size=(2, 4, 5, 2)))


def test_flip_and_noise_gradcheck(backend):
    rows, cols = np.array([[2, 1, 0], [0, 1, 2]]), np.array([[0, 1, 2, 3], [3, 2, 1, 0]])
    x = np.random.default_rng(3).normal(size=(2, 3, 4, 2))
    assert nnrs.gradcheck(lambda a: Flip.apply(a, rows, cols), x)
    assert nnrs.gradcheck(lambda a: GaussianNoise.apply(a, 0.5, 11), x)


# ---- the layers --------------------------------------------------------------------------
def _imgs(n=4, h=6, w=7, c=2, seed=0):
    return np.random.default_rng(seed).normal(size=(n, h, w, c)).astype("float32")


LAYERS = [
    lambda **kw: nnrs.layers.RandomFlip(**kw),
    lambda **kw: nnrs.layers.RandomTranslation(0.3, 0.3, **kw),
    lambda **kw: nnrs.layers.RandomRotation(0.2, **kw),
    lambda **kw: nnrs.layers.RandomCrop(4, 5, **kw),
]


@pytest.mark.parametrize("make", LAYERS)
def test_inference_is_identity_and_training_augments(backend, make):
    x = _imgs()
    layer = make(seed=3)
    np.testing.assert_array_equal(layer(x, training=False).numpy(), x)
    y = layer(x).numpy()  # a direct call trains, as Keras' image preprocessing layers
    assert y.shape != x.shape or not np.allclose(y, x)
    model = nnrs.Sequential([nnrs.Input(x.shape[1:]), make(seed=3)])
    np.testing.assert_array_equal(model.predict(x, verbose=0), x)


@pytest.mark.parametrize("make", LAYERS)
def test_seeds_reproduce(backend, make):
    x = _imgs()
    a, b = make(seed=5), make(seed=5)
    for _ in range(2):
        np.testing.assert_array_equal(a(x).numpy(), b(x).numpy())
    nnrs.random.seed(11)
    c1 = make()(x).numpy()
    nnrs.random.seed(11)
    c2 = make()(x).numpy()
    np.testing.assert_array_equal(c1, c2)


@pytest.mark.parametrize("make", LAYERS)
def test_unbatched_image(backend, make):
    x = _imgs()
    y1 = make(seed=7)(x[0]).numpy()
    y4 = make(seed=7)(x[:1]).numpy()
    np.testing.assert_allclose(y1, y4[0], rtol=1e-6)


def test_gaussian_noise_layer(backend):
    x = np.zeros((200, 50), "float32")
    layer = nnrs.layers.GaussianNoise(0.5, seed=1)
    np.testing.assert_array_equal(layer(x).numpy(), x)  # training=False by default
    y = layer(x, training=True).numpy()
    assert abs(y.std() - 0.5) < 0.01
    np.testing.assert_array_equal(nnrs.layers.GaussianNoise(0.5, seed=1)(x, training=True).numpy(), y)


def test_flip_modes(backend):
    x = _imgs(n=32)
    yh = nnrs.layers.RandomFlip("horizontal", seed=0)(x).numpy()
    flipped = [np.array_equal(a, b[:, ::-1]) for a, b in zip(yh, x)]
    kept = [np.array_equal(a, b) for a, b in zip(yh, x)]
    assert all(f or k for f, k in zip(flipped, kept)) and 4 < sum(flipped) < 28
    yv = nnrs.layers.RandomFlip("vertical", seed=0)(x).numpy()
    assert all(np.array_equal(a, b[::-1]) or np.array_equal(a, b) for a, b in zip(yv, x))
    yb = nnrs.layers.RandomFlip(seed=0)(x).numpy()
    # one draw per image, as Keras 3: both flips at once (a half turn) or none
    turned = [np.array_equal(a, b[::-1, ::-1]) for a, b in zip(yb, x)]
    assert all(t or np.array_equal(a, b) for t, a, b in zip(turned, yb, x)) and 4 < sum(turned) < 28


def test_rotation_and_translation_geometry(backend):
    x = _imgs(n=2, h=5, w=5)
    half_turn = nnrs.layers.RandomRotation((0.5, 0.5), fill_mode="constant")(x).numpy()
    np.testing.assert_allclose(half_turn, x[:, ::-1, ::-1], atol=1e-5)
    quarter = rotation_transforms([90.0], 5, 5)
    rot = backend.affine_transform(x[:1], quarter.astype("float32"), "nearest", "constant")
    np.testing.assert_allclose(rot[0], np.rot90(x[0], k=1, axes=(0, 1)), atol=1e-6)
    np.testing.assert_allclose(rotation_transforms([450.0, -270.0, 720.0], 5, 5),
                               np.concatenate([quarter, quarter, rotation_transforms([0.0], 5, 5)]), atol=1e-12)
    assert np.array_equal(nnrs.layers.RandomRotation(0.0)(x).numpy(), x)
    t = nnrs.layers.RandomTranslation((0.4, 0.4), (-0.2, -0.2), fill_mode="wrap", interpolation="nearest")(x).numpy()
    np.testing.assert_array_equal(t, np.roll(np.roll(x, 2, axis=1), -1, axis=2))


def test_random_crop(backend):
    x = _imgs(n=3, h=6, w=7)
    layer = nnrs.layers.RandomCrop(4, 5, seed=2)
    y = layer(x).numpy()
    assert y.shape == (3, 4, 5, 2)
    hits = [(i, j) for i in range(3) for j in range(3) if np.array_equal(x[:, i:i + 4, j:j + 5], y)]
    assert len(hits) == 1
    assert layer.compute_output_shape((None, 6, 7, 2)) == (None, 4, 5, 2)
    assert nnrs.layers.RandomCrop(6, 7)(x).numpy().shape == x.shape  # same size: the whole image
    with pytest.raises(ValueError, match=r"RandomCrop 'rc': images of size \(6, 7\) are not larger than the crop"):
        nnrs.layers.RandomCrop(8, 7, name="rc")(x)


def test_layer_errors():
    with pytest.raises(ValueError, match="RandomFlip 'f': data_format='channels_first' is not supported"):
        nnrs.layers.RandomFlip(data_format="channels_first", name="f")
    with pytest.raises(ValueError, match=r"RandomRotation 'r': expected images of shape .* got \(2, 3\)"):
        nnrs.layers.RandomRotation(0.1, name="r")(np.ones((2, 3), "float32"))
    with pytest.raises(ValueError, match="unknown fill_mode 'mirrorball'"):
        nnrs.layers.RandomTranslation(0.1, 0.1, fill_mode="mirrorball")
    with pytest.raises(ValueError, match=r"height_factor must lie in \[-1.0, 1.0\]"):
        nnrs.layers.RandomTranslation(1.5, 0.1)
    with pytest.raises(ValueError, match=r"factor must lie in \[-1.0, 1.0\]"):
        nnrs.layers.RandomRotation(1.5)
    assert nnrs.layers.RandomRotation((-0.5, 1.5)).factor == (-0.5, 1.5)  # a pair may exceed a turn, as in Keras
    with pytest.raises(ValueError, match="unknown mode 'diagonal'"):
        nnrs.layers.RandomFlip("diagonal")
    with pytest.raises(ValueError, match="stddev must be a finite number"):
        nnrs.layers.GaussianNoise(-0.1)


KERAS_KEYS = {
    "RandomFlip": ["name", "trainable", "dtype", "data_format", "seed", "mode"],
    "RandomTranslation": ["name", "trainable", "dtype", "data_format", "height_factor", "width_factor", "fill_mode",
                          "interpolation", "seed", "fill_value"],
    "RandomRotation": ["name", "trainable", "dtype", "data_format", "factor", "fill_mode", "fill_value",
                       "interpolation", "seed"],
    "RandomCrop": ["name", "trainable", "dtype", "data_format", "height", "width", "seed"],
    "GaussianNoise": ["name", "trainable", "dtype", "stddev", "seed"],
}


@pytest.mark.parametrize("layer", [
    nnrs.layers.RandomFlip("horizontal", seed=1), nnrs.layers.RandomTranslation(0.1, (-0.2, 0.3), fill_mode="constant"),
    nnrs.layers.RandomRotation(0.1, interpolation="nearest"), nnrs.layers.RandomCrop(3, 4),
    nnrs.layers.GaussianNoise(0.2, seed=4),
])
def test_configs_have_keras_keys_and_round_trip(layer):
    cfg = layer.get_config()
    assert list(cfg) == KERAS_KEYS[type(layer).__name__]
    json.dumps(cfg)
    twin = type(layer).from_config(cfg)
    assert twin.get_config() | {"name": None} == cfg | {"name": None}
    if isinstance(layer, nnrs.layers.RandomRotation):
        assert cfg["factor"] == [-0.1, 0.1]
    if isinstance(layer, nnrs.layers.RandomCrop):
        assert isinstance(cfg["seed"], int)  # Keras draws a default seed and keeps it


def test_model_with_augmentation_trains_saves_and_loads(tmp_path, backend):
    rng = np.random.default_rng(4)
    x, y = rng.normal(size=(8, 6, 6, 2)).astype("float32"), rng.normal(size=(8, 1)).astype("float32")
    model = nnrs.Sequential([
        nnrs.Input((6, 6, 2)), nnrs.layers.Dense(3),  # a trainable layer before the warps: gradients pass through them
        nnrs.layers.RandomFlip(seed=1), nnrs.layers.RandomRotation(0.05, seed=2),
        nnrs.layers.RandomTranslation(0.1, 0.1, seed=3), nnrs.layers.GaussianNoise(0.1, seed=4),
        nnrs.layers.BatchNormalization(), nnrs.layers.Flatten(), nnrs.layers.Dense(1),
    ])
    model.compile("adam", "mse")
    first = model.layers[0].kernel.numpy().copy()
    model.fit(x, y, batch_size=4, epochs=1, verbose=0)
    assert not np.array_equal(model.layers[0].kernel.numpy(), first)
    path = tmp_path / "aug.keras"
    model.save(path)
    loaded = nnrs.models.load_model(path)
    assert [type(l).__name__ for l in loaded.layers] == [type(l).__name__ for l in model.layers]
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-5, atol=1e-6)
