"""ZeroPadding2D, Cropping2D, UpSampling2D: Keras 3 arguments and configs, numbers against
their definitions (the Keras numbers are in tests/test_pool_layers.py), errors, save/load."""

import json
import re

import nnrs
import numpy as np
import pytest
from nnrs import layers as L


def _x(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype("float32")


@pytest.mark.parametrize("arg, want", [
    (1, ((1, 1), (1, 1))),
    (2, ((2, 2), (2, 2))),
    ((1, 2), ((1, 1), (2, 2))),
    (((1, 2), (3, 0)), ((1, 2), (3, 0))),
    ([[0, 1], [2, 3]], ((0, 1), (2, 3))),
])
def test_padding_and_cropping_argument_forms(backend, arg, want):
    x = _x((2, 6, 7, 3))
    (t, b), (lf, r) = want
    pad = L.ZeroPadding2D(arg)
    assert pad.padding == want
    y = backend.to_numpy(pad(x).data)
    np.testing.assert_array_equal(y, np.pad(x, ((0, 0), (t, b), (lf, r), (0, 0))))
    crop = L.Cropping2D(arg)
    assert crop.cropping == want
    np.testing.assert_array_equal(backend.to_numpy(crop(x).data), x[:, t:6 - b, lf:7 - r])


@pytest.mark.parametrize("size", [1, 2, (2, 3), (1, 4)])
def test_upsampling_repeats_pixels(backend, size):
    x = _x((2, 3, 4, 2))
    sh, sw = (size, size) if isinstance(size, int) else size
    y = backend.to_numpy(L.UpSampling2D(size)(x).data)
    np.testing.assert_array_equal(y, x.repeat(sh, axis=1).repeat(sw, axis=2))


def test_upsampling_gradient_sums_each_block(backend):
    x = nnrs.Tensor(_x((1, 2, 2, 1)), requires_grad=True)
    y = L.UpSampling2D((2, 3))(x)
    g = np.arange(24, dtype=np.float32).reshape(1, 4, 6, 1)
    nnrs.ops.sum(y * nnrs.Tensor(g)).backward()
    want = g.reshape(1, 2, 2, 2, 3, 1).sum(axis=(2, 4))
    np.testing.assert_array_equal(backend.to_numpy(x.grad), want)


# Keras 3.15.1's get_config of each layer with default arguments (name and dtype left out).
KERAS_CONFIGS = {
    "ZeroPadding2D": {"padding": ((1, 1), (1, 1)), "data_format": "channels_last"},
    "Cropping2D": {"cropping": ((0, 0), (0, 0)), "data_format": "channels_last"},
    "UpSampling2D": {"size": (2, 2), "data_format": "channels_last", "interpolation": "nearest"},
}


@pytest.mark.parametrize("cls", sorted(KERAS_CONFIGS))
def test_default_config_is_keras(cls):
    layer = getattr(L, cls)()
    cfg = layer.get_config()
    assert {k: v for k, v in cfg.items() if k not in ("name", "trainable", "dtype")} == KERAS_CONFIGS[cls]
    assert layer.name.startswith({"ZeroPadding2D": "zero_padding2d", "Cropping2D": "cropping2d",
                                  "UpSampling2D": "up_sampling2d"}[cls])


@pytest.mark.parametrize("make", [lambda: L.ZeroPadding2D(((1, 2), (0, 3))), lambda: L.Cropping2D((1, 2)),
                                  lambda: L.UpSampling2D((3, 1))])
def test_config_round_trip(make):
    a = make()
    b = type(a).from_config(json.loads(json.dumps(a.get_config())))
    assert b.get_config() == a.get_config()
    x = _x((2, 6, 7, 3))
    np.testing.assert_array_equal(a(x).data, b(x).data)


def test_output_shapes_with_unknown_sizes():
    inp = nnrs.Input((None, 7, 3))
    assert L.ZeroPadding2D(((1, 2), (0, 3)))(inp).shape == (None, None, 10, 3)
    assert L.Cropping2D(((1, 2), (0, 3)))(inp).shape == (None, None, 4, 3)
    assert L.UpSampling2D((2, 3))(inp).shape == (None, None, 21, 3)


def test_save_and_load(tmp_path):
    m = nnrs.Sequential([nnrs.Input((5, 6, 2)), L.ZeroPadding2D((1, 2)), L.UpSampling2D(2), L.Cropping2D(((3, 1), (2, 0))),
                         L.Flatten(), L.Dense(3)])
    x = _x((3, 5, 6, 2))
    want = m.predict(x, verbose=0)
    m.save(tmp_path / "r.keras")
    back = nnrs.models.load_model(tmp_path / "r.keras")
    assert [a.get_config() for a in back.layers] == [a.get_config() for a in m.layers]
    np.testing.assert_allclose(back.predict(x, verbose=0), want, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("make, arg", [
    (lambda: L.ZeroPadding2D(data_format="channels_first"), "data_format='channels_first'"),
    (lambda: L.Cropping2D(data_format="channels_first"), "data_format='channels_first'"),
    (lambda: L.UpSampling2D(data_format="channels_first"), "data_format='channels_first'"),
    (lambda: L.UpSampling2D(interpolation="bicubic"), "interpolation='bicubic' is not supported"),
    (lambda: L.ZeroPadding2D((1, 2, 3)), "padding must be an int, a tuple of 2 ints or a tuple of 2 tuples"),
    (lambda: L.ZeroPadding2D(-1), "padding must be"),
    (lambda: L.Cropping2D(((1, 2), (3,))), "cropping must be"),
    (lambda: L.UpSampling2D(0), "size must be a positive int"),
])
def test_bad_arguments_are_named(make, arg):
    with pytest.raises(ValueError, match=re.escape(arg)):
        make()


@pytest.mark.parametrize("make, shape, msg", [
    (lambda: L.ZeroPadding2D(), (2, 5, 3), r"ZeroPadding2D .*expected input shape \(batch, height, width, channels\), "
                                           r"got \(None, 5, 3\)"),
    (lambda: L.UpSampling2D(), (2, 5, 3, 1, 1), r"UpSampling2D .*got \(None, 5, 3, 1, 1\)"),
    (lambda: L.Cropping2D(((2, 1), (0, 0))), (2, 3, 5, 1), r"Cropping2D .*cropping \(\(2, 1\), \(0, 0\)\) leaves nothing "
                                                           r"of the input; expected an input shape of at least "
                                                           r"\(None, 4, 1, 1\), got \(None, 3, 5, 1\)"),
])
def test_bad_input_names_the_layer_and_shapes(make, shape, msg):
    with pytest.raises(ValueError, match=msg):
        make()(np.zeros(shape, "float32"))
    with pytest.raises(ValueError, match=msg):
        make()(nnrs.Input(shape[1:]))
