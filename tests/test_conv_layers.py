"""Convolution layers: Keras 3's numbers on identical weights (references written by real
Keras 3 with the torch backend into tests/fixtures/keras3/conv_layers.npz, see
make_conv_fixtures.py there; torch's unfold/fold likewise), configs, files, training,
shape errors."""

import json
from pathlib import Path

import nnrs
import numpy as np
import pytest
from nnrs import layers as L
from nnrs import ops

FIX = np.load(Path(__file__).parent / "fixtures" / "keras3" / "conv_layers.npz")
CASES = sorted({k.split("/")[0] for k in FIX.files if not k.startswith("unfold_")})
UNFOLDS = sorted({k.split("/")[0] for k in FIX.files if k.startswith("unfold_")})


def keras_layer(name):
    """The nnrs layer made from the Keras config of case ``name``, with Keras' weights set."""
    cfg = json.loads(str(FIX[f"{name}/config"]))
    kinds = {"conv2d": "Conv2D", "conv1d": "Conv1D", "depthwise": "DepthwiseConv2D", "separable": "SeparableConv2D",
             "transpose": "Conv2DTranspose"}
    layer = getattr(L, kinds[name.split("_")[0]]).from_config(cfg)
    x = FIX[f"{name}/x"]
    layer.build((None,) + x.shape[1:])
    ws = [FIX[f"{name}/w{i}"] for i in range(len(layer.weights))]
    assert [w.shape for w in ws] == [tuple(v.shape) for v in layer.weights]
    layer.set_weights(ws)
    return layer, x


@pytest.mark.parametrize("name", CASES)
def test_layer_matches_keras(backend, name):
    layer, x = keras_layer(name)
    want = FIX[f"{name}/y"]
    y = layer(x)
    assert y.shape == want.shape
    assert tuple(layer.compute_output_shape((None,) + x.shape[1:]))[1:] == want.shape[1:]
    np.testing.assert_allclose(backend.to_numpy(y.data), want, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("name", CASES)
def test_config_round_trip(name):
    layer, _ = keras_layer(name)
    cfg = layer.get_config()
    keras_cfg = json.loads(str(FIX[f"{name}/config"]))
    assert set(keras_cfg) - {"name"} <= set(cfg)
    for key in ("kernel_size", "strides", "padding", "dilation_rate", "filters", "groups", "depth_multiplier",
                "output_padding", "use_bias", "activation"):
        if key in keras_cfg:
            assert cfg[key] == keras_cfg[key], key
    again = type(layer).from_config(cfg)
    assert again.get_config() == cfg


@pytest.mark.parametrize("name", UNFOLDS)
def test_unfold_and_fold_match_torch(backend, name):
    k, d, p, s = (tuple(v) if isinstance(v, list) else v for v in json.loads(str(FIX[f"{name}/args"])))
    x = FIX[f"{name}/x"]
    u = ops.unfold(x, k, d, p, s)
    np.testing.assert_allclose(backend.to_numpy(u.data), FIX[f"{name}/y"], rtol=1e-12, atol=1e-12)
    f = ops.fold(FIX[f"{name}/y"] * 0.5 + 1.0, x.shape[2:], k, d, p, s)
    np.testing.assert_allclose(backend.to_numpy(f.data), FIX[f"{name}/fold"], rtol=1e-12, atol=1e-12)
    # unbatched forms, as torch
    assert ops.unfold(x[0], k, d, p, s).shape == FIX[f"{name}/y"].shape[1:]
    assert ops.fold(FIX[f"{name}/y"][0], x.shape[2:], k, d, p, s).shape == x.shape[1:]


OPS = [
    # (fixture case, the op computing it from x and the layer's weights w) — one line per case
    ("separable_relu", lambda x, w: ops.relu(ops.add(ops.separable_conv(x, w[0], w[1]), w[2]))),
    ("separable_same_s2", lambda x, w: ops.add(ops.separable_conv(x, w[0], w[1], 2, "same"), w[2])),
    ("depthwise_same_s2", lambda x, w: ops.add(ops.depthwise_conv(x, w[0], (2, 2), "same"), w[1])),
    ("conv1d_same_s2", lambda x, w: ops.add(ops.conv(x, w[0], 2, "same"), w[1])),
    ("conv2d_dilated_nobias", lambda x, w: ops.conv(x, w[0], 1, "same", dilation_rate=2)),
    ("conv2d_valid_s2", lambda x, w: ops.add(ops.conv(x, w[0], 2, "valid"), w[1])),
    ("transpose_same_op1", lambda x, w: ops.add(ops.conv_transpose(x, w[0], 2, "same", 1), w[1])),
    ("transpose_valid_op2", lambda x, w: ops.add(ops.conv_transpose(x, w[0], 3, "valid", 2), w[1])),
    ("transpose_same_s2_k4", lambda x, w: ops.add(ops.conv_transpose(x, w[0], 2, "same"), w[1])),
]


@pytest.mark.parametrize("name, op", OPS, ids=[c[0] for c in OPS])
def test_ops_match_keras(backend, name, op):
    ws = [FIX[k] for k in sorted(k for k in FIX.files if k.startswith(f"{name}/w"))]
    y = op(FIX[f"{name}/x"], ws)
    np.testing.assert_allclose(backend.to_numpy(y.data), FIX[f"{name}/y"], rtol=1e-5, atol=1e-5)


def test_ops_conv_matches_layer_on_same_weights(backend):
    layer, x = keras_layer("conv2d_groups_tanh")
    y = ops.tanh(ops.add(ops.conv(x, layer.kernel, 1, "same"), layer.bias))
    np.testing.assert_allclose(backend.to_numpy(y.data), FIX["conv2d_groups_tanh/y"], rtol=1e-5, atol=1e-5)


def convnet(seed=0):
    nnrs.random.seed(seed)
    m = nnrs.Sequential([nnrs.Input((8, 8, 1)), L.Conv2D(4, 3, padding="same", activation="relu"),
                         L.Conv2D(4, 3, strides=2, kernel_regularizer=nnrs.regularizers.L2(1e-3)), L.Flatten(),
                         L.Dense(2, activation="softmax")], name="convnet")
    m.compile(optimizer=nnrs.optimizers.Adam(0.01), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return m


def stripes(n=64, seed=1):
    """Images with a vertical or a horizontal bar: the class is the bar's direction."""
    rng = np.random.default_rng(seed)
    x = rng.normal(0, 0.1, (n, 8, 8, 1)).astype("float32")
    y = rng.integers(0, 2, n)
    for i in range(n):
        j = rng.integers(1, 7)
        if y[i]:
            x[i, :, j, 0] += 1.0
        else:
            x[i, j, :, 0] += 1.0
    return x, y


def test_convnet_trains_and_round_trips_through_keras_file(backend, tmp_path):
    m = convnet()
    x, y = stripes()
    hist = m.fit(x, y, epochs=8, batch_size=16, verbose=0)
    loss = hist.history["loss"]
    assert loss[-1] < 0.7 * loss[0]
    path = tmp_path / "convnet.keras"
    m.save(path)
    back = nnrs.models.load_model(path)
    assert [type(layer).__name__ for layer in back.layers] == ["Conv2D", "Conv2D", "Flatten", "Dense"]
    np.testing.assert_allclose(np.asarray(back.predict(x, verbose=0)), np.asarray(m.predict(x, verbose=0)), rtol=1e-5, atol=1e-6)
    lines = []
    m.summary(print_fn=lines.append)
    text = "\n".join(lines)
    assert "(None, 8, 8, 4)" in text and "(None, 3, 3, 4)" in text


def test_every_conv_layer_saves_and_loads(tmp_path):
    nnrs.random.seed(2)
    m = nnrs.Sequential([nnrs.Input((9, 9, 3)), L.DepthwiseConv2D(3, depth_multiplier=2, padding="same"),
                         L.SeparableConv2D(4, 3, strides=2), L.Conv2DTranspose(3, 3, strides=2, padding="same", output_padding=1),
                         L.Conv2D(4, 2, groups=1, dilation_rate=2), L.Reshape((-1, 4)), L.Conv1D(2, 3, padding="causal")])
    x = np.random.default_rng(0).normal(size=(2, 9, 9, 3)).astype("float32")
    path = tmp_path / "all.keras"
    m.save(path)
    back = nnrs.models.load_model(path)
    np.testing.assert_allclose(np.asarray(back.predict(x, verbose=0)), np.asarray(m.predict(x, verbose=0)), rtol=1e-5, atol=1e-6)
    assert m.output_shape == (None, 36, 2)


def test_constraint_applies_after_a_step():
    nnrs.random.seed(0)
    m = nnrs.Sequential([nnrs.Input((5, 5, 2)), L.Conv2D(3, 3, kernel_constraint="non_neg", bias_constraint="non_neg"),
                         L.Flatten(), L.Dense(1)])
    m.compile(optimizer=nnrs.optimizers.SGD(0.5), loss="mse")
    x = np.random.default_rng(0).normal(size=(8, 5, 5, 2)).astype("float32")
    m.fit(x, -np.ones((8, 1), "float32") * 10, epochs=1, verbose=0)
    k, b = m.layers[0].get_weights()
    assert k.min() >= 0 and b.min() >= 0


ERRORS = [
    # (layer, input shape, message fragments) — one line per case
    (lambda: L.Conv2D(2, 3, name="c"), (2, 5, 5), ["Conv2D 'c'", "expected a 4-D input", "(None, 5, 5)"]),
    (lambda: L.Conv1D(2, 3, name="c"), (2, 5, 5, 1), ["Conv1D 'c'", "expected a 3-D input"]),
    (lambda: L.Conv2D(2, 5, name="c"), (2, 3, 3, 1), ["Conv2D 'c'", "larger than the input", "(3, 3)"]),
    (lambda: L.Conv2D(2, 3, groups=2, name="c"), (2, 5, 5, 3), ["Conv2D 'c'", "divisible by groups"]),
]


@pytest.mark.parametrize("make, shape, frags", ERRORS)
def test_bad_inputs_name_the_layer_and_shapes(make, shape, frags):
    with pytest.raises(ValueError) as e:
        make()(np.zeros(shape, "float32"))
    for f in frags:
        assert f in str(e.value)


def test_channels_mismatch_after_build():
    layer = L.Conv2D(2, 3, name="c")
    layer(np.zeros((1, 5, 5, 3), "float32"))
    with pytest.raises(ValueError, match=r"Conv2D .c.*\(None, 5, 5, 3\).*\(1, 5, 5, 4\)"):
        layer(np.zeros((1, 5, 5, 4), "float32"))


@pytest.mark.parametrize("make, frag", [
    (lambda: L.Conv2D(2, 3, data_format="channels_first"), "channels_last only"),
    (lambda: L.Conv2D(2, 3, padding="causal"), "padding must be one of"),
    (lambda: L.Conv2D(2, 3, lora_rank=4), "lora_rank is not supported"),
    (lambda: L.Conv2D(3, 3, groups=2), "divisible by groups"),
    (lambda: L.Conv2DTranspose(2, 3, strides=2, output_padding=2), "output_padding"),
    (lambda: L.DepthwiseConv2D(3, depth_multiplier=0), "depth_multiplier"),
])
def test_unsupported_arguments_are_named(make, frag):
    with pytest.raises(ValueError, match=frag):
        make()


def test_ops_reject_channels_first_and_bad_ranks():
    x, k = np.zeros((1, 5, 5, 2)), np.zeros((3, 3, 2, 2))
    with pytest.raises(ValueError, match="channels_last"):
        ops.conv(x, k, data_format="channels_first")
    with pytest.raises(ValueError, match="3-D .* or 4-D"):
        ops.conv(np.zeros((1, 2, 5, 5, 2)), np.zeros((1, 3, 3, 2, 2)))
    with pytest.raises(ValueError, match="blocks"):
        ops.fold(np.zeros((1, 4, 7)), (4, 4), 2)
