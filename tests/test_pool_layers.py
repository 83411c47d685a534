"""Pooling, padding, cropping and upsampling layers: numbers against Keras 3, configs,
save/load round trips, shape errors and a small model that trains.

The Keras numbers in ``KERAS`` were computed with Keras 3.15.1 (torch backend): for each
case, ``x = _input(shape)``, ``y = layer(torch.tensor(x, requires_grad=True))``, then
``(y * w).sum().backward()`` with ``w = arange(y.numel()) % 5 - 2`` in y's shape; y and
x.grad rounded to 5 decimals. "ties" inputs hold only 0, 1 and 2, so max windows tie and
the gradient shows which element Keras picks (the first, as nnrs).

Keras' torch backend pads an asymmetric "same" pooling window by *replicating* the edge
(``_apply_same_padding``), so its average over a window of 3 or more that sticks out on
one side only counts an edge value twice. TensorFlow, JAX and Keras' numpy backend average
over the real elements only, as nnrs does; the "same" average cases taken from Keras are
therefore ones with symmetric padding (or a pool of 2, where both rules agree), and the
asymmetric rule is checked on hand-computed numbers (``test_same_average_counts_real_elements_only``)."""

import json
import re
import zipfile

import nnrs
import numpy as np
import pytest
from nnrs import layers

L = layers


def _input(shape, ties=False):
    n = int(np.prod(shape))
    if ties:
        return ((np.arange(n) * 7) % 3).reshape(shape).astype("float32")
    return (((np.arange(n) * 37) % 101) / 10.0 - 5.0).reshape(shape).astype("float32")


LAYERS = {
    "max2d_p3_s2_same": lambda: L.MaxPooling2D(3, 2, "same"),
    "avg2d_p3_s2_same_sym": lambda: L.AveragePooling2D(3, 2, "same"),
    "avg2d_p23_s12_valid": lambda: L.AveragePooling2D((2, 3), (1, 2), "valid"),
    "max2d_p2_s3_valid": lambda: L.MaxPooling2D(2, 3),
    "max1d_p3_s2_same": lambda: L.MaxPooling1D(3, 2, "same"),
    "avg1d_p2_s3_same": lambda: L.AveragePooling1D(2, 3, "same"),
    "avg2d_p2_s1_same": lambda: L.AveragePooling2D(2, 1, "same"),
    "ties_max2d_p2_s1_same": lambda: L.MaxPooling2D(2, 1, "same"),
    "upsampling_23": lambda: L.UpSampling2D((2, 3)),
    "zero_padding": lambda: L.ZeroPadding2D(((1, 0), (2, 1))),
    "cropping": lambda: L.Cropping2D(((1, 0), (0, 2))),
}

# (name, input shape, Keras output (flat), Keras gradient wrt the input (flat))
KERAS = [
    ('max2d_p3_s2_same', (1, 5, 6, 2),
     [3.7, 3.4, 4.4, 4.7, 4.4, 2.0, 4.3, 4.0, 5.0, 4.7, 3.6, 3.3, 4.3, 4.6, 2.9, 3.9, 3.6, 3.9],
     [0.0, 0.0, 0.0, 0.0, 0.0, -1.0, 0.0, 0.0, 2.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, -2.0, 0.0, 0.0, 3.0, 0.0, -2.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, -1.0, 0.0, 0.0, -1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, -3.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 2.0, 0.0, 0.0, -2.0, 0.0, 0.0]),
    ('avg2d_p3_s2_same_sym', (1, 5, 7, 2),
     [-0.65, -2.0, 0.35, 0.68333, 0.0, -1.35, 1.0, -0.35, -0.38333, -0.05, 1.17778, 0.38889, -0.85556, 0.6, 1.26667, -1.76667, -1.8, 1.9, 0.88333, -0.46667, -1.15, 0.86667, -0.15, -1.5],
     [-0.5, -0.25, -0.5, -0.08333, 0.0, 0.16667, 0.33333, -0.16667, 0.33333, -0.33333, 0.08333, -0.33333, -0.25, 0.0, -0.33333, 0.08333, -0.55556, 0.13889, -0.22222, 0.05556, 0.11111, -0.16667, 0.33333, -0.22222, 0.41667, -0.55556, 0.08333, -0.33333, 0.16667, 0.33333, -0.05556, 0.22222, -0.22222, -0.11111, -0.22222, 0.0, 0.0, 0.11111, 0.33333, -0.22222, 0.33333, -0.33333, -0.08333, 0.33333, -0.13889, 0.55556, -0.05556, 0.22222, -0.38889, 0.16667, -0.33333, -0.05556, 0.0, -0.13889, 0.33333, -0.08333, -0.25, 0.0, -0.08333, 0.33333, 0.16667, 0.33333, -0.16667, 0.16667, -0.33333, -0.16667, -0.33333, 0.08333, 0.0, 0.25]),
    ('avg2d_p23_s12_valid', (1, 4, 5, 1),
     [-0.46667, 0.2, -0.48333, 0.18333, -0.5, 0.16667],
     [-0.33333, -0.33333, -0.5, -0.16667, -0.16667, -0.33333, -0.33333, -0.33333, 0.0, 0.0, 0.33333, 0.33333, 0.16667, -0.16667, -0.16667, 0.33333, 0.33333, 0.0, -0.33333, -0.33333]),
    ('max2d_p2_s3_valid', (2, 5, 4, 1),
     [3.4, 3.7, 3.0, 2.3],
     [0.0, 0.0, 0.0, 0.0, 0.0, -2.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, -1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]),
    ('max1d_p3_s2_same', (1, 7, 2),
     [2.4, -1.3, 2.4, 3.4, 4.4, 0.7, 1.7, 2.7],
     [0.0, -1.0, -2.0, 0.0, 0.0, 1.0, 0.0, -2.0, 2.0, 0.0, -1.0, 0.0, 0.0, 0.0]),
    ('avg1d_p2_s3_same', (1, 7, 1),
     [-3.15, -2.15, -3.0],
     [-1.0, -1.0, 0.0, -0.5, -0.5, 0.0, 0.0]),
    ('avg2d_p2_s1_same', (1, 3, 3, 1),
     [-2.65, 1.05, 2.9, -1.65, 2.05, 3.9, -1.15, 2.55, 4.4],
     [-0.5, -0.75, -0.25, -0.25, 0.0, -0.75, -0.25, 0.25, 0.5]),
    ('ties_max2d_p2_s1_same', (1, 4, 5, 2),
     [2.0, 2.0, 2.0, 2.0, 2.0, 2.0, 2.0, 2.0, 2.0, 1.0, 2.0, 2.0, 2.0, 2.0, 2.0, 2.0, 2.0, 2.0, 1.0, 2.0, 2.0, 2.0, 2.0, 2.0, 2.0, 2.0, 2.0, 2.0, 2.0, 2.0, 2.0, 1.0, 2.0, 2.0, 1.0, 2.0, 2.0, 1.0, 2.0, 0.0],
     [0.0, 0.0, -2.0, 0.0, 0.0, -1.0, 0.0, 0.0, 0.0, 0.0, 0.0, -2.0, 0.0, 0.0, 4.0, 0.0, 0.0, -2.0, 0.0, 2.0, -4.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 1.0, 4.0, 0.0, -1.0, -2.0, 0.0, 2.0, -3.0, 0.0, 0.0, 1.0, 2.0]),
    ('upsampling_23', (1, 2, 2, 2),
     [-5.0, -1.3, -5.0, -1.3, -5.0, -1.3, 2.4, -4.0, 2.4, -4.0, 2.4, -4.0, -5.0, -1.3, -5.0, -1.3, -5.0, -1.3, 2.4, -4.0, 2.4, -4.0, 2.4, -4.0, -0.3, 3.4, -0.3, 3.4, -0.3, 3.4, -3.0, 0.7, -3.0, 0.7, -3.0, 0.7, -0.3, 3.4, -0.3, 3.4, -0.3, 3.4, -3.0, 0.7, -3.0, 0.7, -3.0, 0.7],
     [1.0, -3.0, -3.0, 3.0, 0.0, 1.0, 1.0, -3.0]),
    ('zero_padding', (1, 2, 2, 1),
     [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, -5.0, -1.3, 0.0, 0.0, 0.0, 2.4, -4.0, 0.0],
     [0.0, 1.0, 0.0, 1.0]),
    ('cropping', (1, 3, 4, 1),
     [-0.3, 3.4, 4.4, -2.0],
     [0.0, 0.0, 0.0, 0.0, -2.0, -1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0]),
]


@pytest.mark.parametrize("name, shape, y_keras, gx_keras", KERAS, ids=[c[0] for c in KERAS])
def test_matches_keras(backend, name, shape, y_keras, gx_keras):
    x = nnrs.Tensor(_input(shape, name.startswith("ties")), requires_grad=True)
    layer = LAYERS[name]()
    y = layer(x)
    assert (None,) + tuple(y.shape[1:]) == layer.compute_output_shape((None,) + shape[1:])
    np.testing.assert_allclose(backend.to_numpy(y.data).ravel(), y_keras, rtol=1e-5, atol=1e-5)
    w = (np.arange(int(np.prod(y.shape))) % 5 - 2).reshape(y.shape).astype("float32")
    nnrs.ops.sum(y * nnrs.Tensor(w)).backward()
    np.testing.assert_allclose(backend.to_numpy(x.grad).ravel(), gx_keras, rtol=1e-5, atol=1e-5)


def test_same_average_counts_real_elements_only(backend):
    # [1, 2, 3, 4], pool 3, stride 2, "same": 2 outputs, padding (0, 1): windows [1, 2, 3]
    # and [3, 4, pad] -> 2 and 3.5 (TensorFlow); a 2-D pool 3 x 3 on a 2 x 2 image, stride 2:
    # padding (0, 1) on both axes, one window over the 4 real pixels.
    x = np.array([1.0, 2.0, 3.0, 4.0], np.float32).reshape(1, 4, 1)
    np.testing.assert_allclose(backend.to_numpy(L.AveragePooling1D(3, 2, "same")(x).data).ravel(), [2.0, 3.5])
    x2 = np.array([1.0, 2.0, 3.0, 6.0], np.float32).reshape(1, 2, 2, 1)
    np.testing.assert_allclose(backend.to_numpy(L.AveragePooling2D(3, 2, "same")(x2).data).ravel(), [3.0])


# Keras 3.15.1's get_config of each layer with default arguments (name and dtype left out).
KERAS_CONFIGS = {
    "MaxPooling1D": {"pool_size": (2,), "padding": "valid", "strides": (2,), "data_format": "channels_last"},
    "MaxPooling2D": {"pool_size": (2, 2), "padding": "valid", "strides": (2, 2), "data_format": "channels_last"},
    "GlobalAveragePooling1D": {"data_format": "channels_last", "keepdims": False},
    "GlobalAveragePooling2D": {"data_format": "channels_last", "keepdims": False},
    "GlobalMaxPooling1D": {"data_format": "channels_last", "keepdims": False},
    "GlobalMaxPooling2D": {"data_format": "channels_last", "keepdims": False},
}


@pytest.mark.parametrize("cls", sorted(KERAS_CONFIGS))
def test_default_config_is_keras(cls):
    cfg = getattr(L, cls)().get_config()
    assert cfg["trainable"] is True
    assert cfg["dtype"]["class_name"] == "DTypePolicy" and cfg["dtype"]["config"]["name"] == "float32"
    assert {k: v for k, v in cfg.items() if k not in ("name", "trainable", "dtype")} == KERAS_CONFIGS[cls]


def test_average_pooling_config_and_required_pool_size():
    # Keras' AveragePooling*D have no default pool_size
    with pytest.raises(TypeError):
        L.AveragePooling2D()
    cfg = L.AveragePooling1D(3, padding="SAME").get_config()
    assert (cfg["pool_size"], cfg["strides"], cfg["padding"]) == ((3,), (3,), "same")


def test_default_names_are_keras():
    assert L.MaxPooling2D().name.startswith("max_pooling2d")
    assert L.GlobalAveragePooling1D().name.startswith("global_average_pooling1d")


POOL_LAYERS = [
    lambda: L.MaxPooling1D(3, 1, "same"), lambda: L.MaxPooling2D((2, 3), (1, 2)), lambda: L.AveragePooling1D(2),
    lambda: L.AveragePooling2D(3, 2, "same"), lambda: L.GlobalAveragePooling1D(keepdims=True),
    lambda: L.GlobalAveragePooling2D(), lambda: L.GlobalMaxPooling1D(), lambda: L.GlobalMaxPooling2D(keepdims=True),
    lambda: L.MaxPool2D(), lambda: L.GlobalAvgPool2D(),
]


@pytest.mark.parametrize("make", POOL_LAYERS)
def test_config_round_trip(make):
    a = make()
    b = type(a).from_config(a.get_config())
    assert b.get_config() == a.get_config()
    # through JSON, as a .keras file holds it (tuples become lists)
    c = type(a).from_config(json.loads(json.dumps(a.get_config())))
    assert c.get_config() == a.get_config()
    x = _input((2, 6, 5) if "1D" in type(a).__name__ else (2, 6, 5, 3))
    np.testing.assert_array_equal(a(x).data, c(x).data)


def test_model_save_and_load(tmp_path):
    m = nnrs.Sequential([
        nnrs.Input((9, 8, 3)), L.ZeroPadding2D(((1, 0), (0, 2))), L.MaxPooling2D(3, 2, "same"),
        L.AveragePooling2D(2, 1), L.UpSampling2D((2, 1)), L.Cropping2D(1), L.GlobalMaxPooling2D(keepdims=True),
        L.Reshape((1, 3)), L.MaxPooling1D(1), L.AveragePooling1D(1, padding="same"), L.GlobalAveragePooling1D(),
        L.Dense(2),
    ])
    x = np.random.default_rng(0).standard_normal((4, 9, 8, 3)).astype("float32")
    want = m.predict(x, verbose=0)
    m.save(tmp_path / "m.keras")
    back = nnrs.models.load_model(tmp_path / "m.keras")
    assert [type(a).__name__ for a in back.layers] == [type(a).__name__ for a in m.layers]
    assert [a.get_config() for a in back.layers] == [a.get_config() for a in m.layers]
    np.testing.assert_allclose(back.predict(x, verbose=0), want, rtol=1e-6, atol=1e-6)
    with zipfile.ZipFile(tmp_path / "m.keras") as z:
        cfg = json.loads(z.read("config.json"))
    names = [c["class_name"] for c in cfg["config"]["layers"]]
    assert "MaxPooling2D" in names and "ZeroPadding2D" in names and "GlobalAveragePooling1D" in names
    mp = next(c for c in cfg["config"]["layers"] if c["class_name"] == "MaxPooling2D")
    assert mp["module"] == "keras.layers" and mp["config"]["pool_size"] == [3, 3] and mp["config"]["padding"] == "same"


def test_tiny_convnet_trains_with_fit(backend):
    nnrs.random.seed(0)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 8, 8, 2)).astype("float32")
    y = rng.integers(0, 2, 64)
    x[..., 0] += np.where(y == 1, 1.0, -1.0)[:, None, None]  # the class shifts channel 0
    m = nnrs.Sequential([
        nnrs.Input((8, 8, 2)), L.ZeroPadding2D(1), L.MaxPooling2D(2), L.AveragePooling2D(2, padding="same"),
        L.GlobalAveragePooling2D(), L.Dense(2, activation="softmax"),
    ])
    m.compile(optimizer=nnrs.optimizers.Adam(0.05), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    h = m.fit(x, y, batch_size=16, epochs=10, verbose=0)
    assert h.history["loss"][-1] < 0.5 * h.history["loss"][0]
    assert h.history["accuracy"][-1] > 0.8


def test_summary_and_symbolic_shapes():
    inp = nnrs.Input((None, 7, 3))
    y = L.MaxPooling2D(2, padding="same")(inp)
    assert y.shape == (None, None, 4, 3)
    assert L.AveragePooling2D(3, 2)(y).shape == (None, None, 1, 3)
    assert L.GlobalMaxPooling2D(keepdims=True)(y).shape == (None, 1, 1, 3)
    m = nnrs.Sequential([nnrs.Input((10, 4)), L.MaxPooling1D(3, 2), L.GlobalAveragePooling1D()])
    lines = []
    m.summary(print_fn=lines.append)
    text = "\n".join(lines)
    assert "(None, 4, 4)" in text and "(None, 4)" in text


@pytest.mark.parametrize("make, shape, msg", [
    (lambda: L.MaxPooling2D(), (2, 5, 3), r"MaxPooling2D 'max_pooling2d.*': expected input shape \(batch, height, width, "
                                          r"channels\), got \(None, 5, 3\)"),
    (lambda: L.MaxPooling1D(), (2, 5, 3, 1), r"expected input shape \(batch, steps, channels\), got \(None, 5, 3, 1\)"),
    (lambda: L.AveragePooling2D(3), (2, 2, 5, 1), r"AveragePooling2D .*pool_size \(3, 3\) is larger than the input .*"
                                                  r"expected an input shape of at least \(None, 3, 3, 1\), "
                                                  r"got \(None, 2, 5, 1\)"),
    (lambda: L.GlobalAveragePooling2D(), (2, 5, 3), r"GlobalAveragePooling2D .*expected input shape \(batch, height, "
                                                    r"width, channels\), got \(None, 5, 3\)"),
    (lambda: L.GlobalMaxPooling1D(), (2, 5), r"GlobalMaxPooling1D .*\(batch, steps, channels\), got \(None, 5\)"),
])
def test_bad_input_names_the_layer_and_shapes(make, shape, msg):
    with pytest.raises(ValueError, match=msg):
        make()(np.zeros(shape, "float32"))
    with pytest.raises(ValueError, match=msg):
        make()(nnrs.Input(shape[1:]))


@pytest.mark.parametrize("make, arg", [
    (lambda: L.MaxPooling2D(data_format="channels_first"), "data_format='channels_first'"),
    (lambda: L.GlobalAveragePooling2D(data_format="channels_first"), "data_format='channels_first'"),
    (lambda: L.AveragePooling2D(2, padding="causal"), "padding must be 'valid' or 'same', got 'causal'"),
    (lambda: L.MaxPooling2D((2, 2, 2)), "pool_size must be a positive int or a tuple of 2"),
    (lambda: L.MaxPooling1D(2, strides=0), "strides must be a positive int"),
])
def test_bad_arguments_are_named(make, arg):
    with pytest.raises(ValueError, match=re.escape(arg)):
        make()


def test_ops_pooling_like_keras(backend):
    x = _input((2, 6, 5, 3))
    a = nnrs.ops.max_pool(x, 2)  # strides default to pool_size
    assert a.shape == (2, 3, 2, 3)
    np.testing.assert_allclose(backend.to_numpy(a.data), x[:, :6, :4].reshape(2, 3, 2, 2, 2, 3).max(axis=(2, 4)))
    b = nnrs.ops.average_pool(x, (3, 2), strides=(1, 2), padding="same")
    assert b.shape == (2, 6, 3, 3)
    x1 = _input((2, 7, 3))
    np.testing.assert_allclose(backend.to_numpy(nnrs.ops.max_pool(x1, 3, 2).data),
                               np.stack([x1[:, i:i + 3].max(axis=1) for i in (0, 2, 4)], axis=1))
    with pytest.raises(ValueError, match="max_pool: data_format='channels_first' is not supported"):
        nnrs.ops.max_pool(x, 2, data_format="channels_first")
    with pytest.raises(ValueError, match=r"average_pool: expected an input of rank 3 .* or 4 .*got shape \(6, 5\)"):
        nnrs.ops.average_pool(x[0, :, :, 0], 2)
    with pytest.raises(ValueError, match=r"max_pool: pool_size \(7, 2\) is larger than the input's spatial shape \(6, 5\)"):
        nnrs.ops.max_pool(x, (7, 2))
