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


def _input(shape):
    n = int(np.prod(shape))
    return (((np.arange(n) * 37) % 101) / 10.0 - 5.0).reshape(shape).astype("float32")


# UpSampling2D(size, interpolation="bilinear") in Keras 3.15.1 (torch backend) on
# _input(shape): the output and the gradient of sum(y * w), w = arange(y.size) % 5 - 2 in
# y's shape, both flat and rounded to 5 decimals.
BILINEAR_KERAS = [
((2, 3), (1, 3, 2, 2),
     [-5.0, -1.3, -5.0, -1.3, -2.53333, -2.2, -0.06667, -3.1, 2.4, -4.0, 2.4, -4.0, -3.825, -0.125, -3.825, -0.125, -2.2, -1.025, -0.575, -1.925, 1.05, -2.825, 1.05, -2.825, -1.475, 2.225, -1.475, 2.225, -1.53333, 1.325, -1.59167, 0.425, -1.65, -0.475, -1.65, -0.475, 0.875, 2.05, 0.875, 2.05, -0.025, 1.15, -0.925, 0.25, -1.825, -0.65, -1.825, -0.65, 3.225, -0.65, 3.225, -0.65, 2.325, -1.55, 1.425, -2.45, 0.525, -3.35, 0.525, -3.35, 4.4, -2.0, 4.4, -2.0, 3.5, -2.9, 2.6, -3.8, 1.7, -4.7, 1.7, -4.7],
     [0.5, -1.83333, -2.0, 1.08333, 0.08333, 0.66667, 0.91667, -1.41667, -1.58333, -0.16667, 0.08333, 0.66667]),
    ((3, 1), (2, 2, 3, 1),
     [-5.0, -1.3, 2.4, -5.0, -1.3, 2.4, -4.66667, -0.96667, 2.73333, -4.33333, -0.63333, 3.06667, -4.0, -0.3, 3.4, -4.0, -0.3, 3.4, -3.0, 0.7, 4.4, -3.0, 0.7, 4.4, -2.66667, 1.03333, 1.36667, -2.33333, 1.36667, -1.66667, -2.0, 1.7, -4.7, -2.0, 1.7, -4.7],
     [-1.0, 0.33333, -1.66667, -1.0, -1.33333, 1.66667, 1.33333, 1.0, -1.0, -0.33333, 1.0, -1.0]),
    ((1, 1), (1, 2, 2, 1),
     [-5.0, -1.3, 2.4, -4.0],
     [-2.0, -1.0, 0.0, 1.0]),
]


@pytest.mark.parametrize("size, shape, y_keras, gx_keras", BILINEAR_KERAS)
def test_bilinear_matches_keras(backend, size, shape, y_keras, gx_keras):
    x = nnrs.Tensor(_input(shape), requires_grad=True)
    layer = L.UpSampling2D(size, interpolation="bilinear")
    y = layer(x)
    assert (None,) + tuple(y.shape[1:]) == layer.compute_output_shape((None,) + shape[1:])
    np.testing.assert_allclose(backend.to_numpy(y.data).ravel(), y_keras, rtol=1e-5, atol=1e-5)
    w = (np.arange(int(np.prod(y.shape))) % 5 - 2).reshape(y.shape).astype("float32")
    nnrs.ops.sum(y * nnrs.Tensor(w)).backward()
    np.testing.assert_allclose(backend.to_numpy(x.grad).ravel(), gx_keras, rtol=1e-5, atol=1e-5)


def test_bilinear_config_round_trip():
    a = L.UpSampling2D(3, interpolation="bilinear")
    assert a.get_config()["interpolation"] == "bilinear"
    b = L.UpSampling2D.from_config(json.loads(json.dumps(a.get_config())))
    x = _x((2, 4, 3, 2))
    np.testing.assert_array_equal(a(x).data, b(x).data)
