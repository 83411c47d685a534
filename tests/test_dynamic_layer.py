"""nnrs.layers.DynamicConv2D: shapes, the documented maths against a loop reference,
gradcheck of the whole layer, errors, config and .keras round trips, training."""

import json

import nnrs
import numpy as np
import pytest
from nnrs import layers


def _reference(layer, x):
    """The layer's docstring maths with plain loops (numpy, float64)."""
    ws = [w.numpy().astype(np.float64) for w in layer.weights]
    n, h, w, c = x.shape
    (kh, kw), (sh, sw), (dh, dw), g = layer.kernel_size, layer.strides, layer.dilation_rate, layer.groups
    if layer.padding == "same":
        oh, ow = -(-h // sh), -(-w // sw)
        th = max((oh - 1) * sh + (kh - 1) * dh + 1 - h, 0)
        tw = max((ow - 1) * sw + (kw - 1) * dw + 1 - w, 0)
        top, left = th // 2, tw // 2
    else:
        oh, ow = (h - (kh - 1) * dh - 1) // sh + 1, (w - (kw - 1) * dw - 1) // sw + 1
        top = left = 0
    z = np.zeros((n, oh, ow, c))
    for i in range(oh):
        for j in range(ow):
            ci, cj = i * sh - top + ((kh - 1) * dh) // 2, j * sw - left + ((kw - 1) * dw) // 2
            r0, c0 = ci - (sh - 1) // 2, cj - (sw - 1) // 2
            rows = [r for r in range(r0, r0 + sh) if 0 <= r < h]
            cols = [q for q in range(c0, c0 + sw) if 0 <= q < w]
            z[:, i, j] = x[:, rows][:, :, cols].mean(axis=(1, 2))
    b = layer.use_bias
    w0, b0 = ws[0], (ws[1] if b else 0.0)
    w1, b1 = ws[1 + b], (ws[2 + b] if b else 0.0)
    kern = (np.maximum(z @ w0 + b0, 0.0) @ w1 + b1).reshape(n, oh, ow, kh * kw, g)
    y = np.zeros((n, oh, ow, c))
    cg = c // g
    for i in range(oh):
        for j in range(ow):
            for u in range(kh):
                for v in range(kw):
                    r, q = i * sh + u * dh - top, j * sw + v * dw - left
                    if 0 <= r < h and 0 <= q < w:
                        y[:, i, j] += np.repeat(kern[:, i, j, u * kw + v], cg, axis=-1) * x[:, r, q]
    if layer.projection is not None:
        wp, bp = ws[2 + 2 * b], (ws[3 + 2 * b] if b else 0.0)
        y = y @ wp + bp
    return y


CONFIGS = [  # one line per case: constructor arguments, input shape
    (dict(), (2, 6, 5, 4)),
    (dict(kernel_size=3, strides=2, groups=2), (2, 7, 9, 4)),
    (dict(kernel_size=(3, 2), strides=(3, 1), groups=3, padding="valid"), (1, 10, 6, 6)),
    (dict(kernel_size=5, strides=2, reduction_ratio=2, filters=5, dilation_rate=1), (2, 5, 5, 4)),
    (dict(kernel_size=3, dilation_rate=2, groups=4, use_bias=False), (1, 7, 7, 8)),
    (dict(kernel_size=2, strides=2, padding="same", filters=3), (1, 1, 1, 2)),
    (dict(kernel_size=4, strides=3, padding="valid", groups=1), (2, 8, 11, 3)),
]


@pytest.mark.parametrize("kwargs,shape", CONFIGS)
def test_forward_matches_the_documented_maths(backend, kwargs, shape):
    layer = layers.DynamicConv2D(dtype="float64", bias_initializer="glorot_uniform", **kwargs)
    x = np.random.default_rng(0).standard_normal(shape)
    y = layer(x)
    want = _reference(layer, x)
    assert y.shape == want.shape and (None,) + y.shape[1:] == layer.compute_output_shape((None,) + shape[1:])
    np.testing.assert_allclose(y.numpy(), want, rtol=1e-10, atol=1e-12)


def test_weights_shapes_and_names():
    layer = layers.DynamicConv2D(filters=16, kernel_size=3, groups=2, reduction_ratio=4, name="inv")
    layer.build((None, 8, 8, 8))
    assert [tuple(w.shape) for w in layer.weights] == [(8, 2), (2,), (2, 18), (18,), (8, 16), (16,)]
    assert [w.path for w in layer.weights] == ["inv_reduce/kernel", "inv_reduce/bias", "inv_span/kernel", "inv_span/bias",
                                               "inv_projection/kernel", "inv_projection/bias"]
    assert layer.count_params() == 8 * 2 + 2 + 2 * 18 + 18 + 8 * 16 + 16
    same = layers.DynamicConv2D(filters=8)
    same.build((None, 4, 4, 8))
    assert same.projection is None and len(same.weights) == 4


@pytest.mark.parametrize("kwargs,shape", [
    (dict(kernel_size=3, groups=2), (2, 4, 5, 4)),
    (dict(kernel_size=3, strides=2, filters=3, activation="tanh"), (1, 5, 4, 2)),
    (dict(kernel_size=2, strides=(1, 2), padding="valid", reduction_ratio=1), (2, 3, 5, 2)),
])
def test_gradcheck_whole_layer(backend, kwargs, shape):
    layer = layers.DynamicConv2D(dtype="float64", bias_initializer="glorot_uniform", **kwargs)
    x = np.random.default_rng(1).standard_normal(shape)
    layer.build((None,) + shape[1:])
    assert nnrs.gradcheck(lambda t: layer(t), x, wrt=layer.trainable_weights)


def test_errors_name_the_layer_and_shapes():
    with pytest.raises(ValueError, match=r"DynamicConv2D 'd1': data_format='channels_first' is not supported"):
        layers.DynamicConv2D(data_format="channels_first", name="d1")
    with pytest.raises(ValueError, match=r"DynamicConv2D 'd2': the 6 channels of input shape \(None, 4, 4, 6\) must "
                                         r"be divisible by groups=4"):
        layers.DynamicConv2D(groups=4, name="d2").build((None, 4, 4, 6))
    with pytest.raises(ValueError, match=r"DynamicConv2D 'd3': expected input shape \(batch, height, width, channels\)"
                                         r".*got \(None, 4, 6\)"):
        layers.DynamicConv2D(name="d3").build((None, 4, 6))
    with pytest.raises(ValueError, match=r"DynamicConv2D 'd4': padding must be 'valid' or 'same', got 'causal'"):
        layers.DynamicConv2D(padding="causal", name="d4")
    with pytest.raises(ValueError, match=r"DynamicConv2D 'd5': groups must be a positive integer"):
        layers.DynamicConv2D(groups=0, name="d5")
    with pytest.raises(ValueError, match=r"DynamicConv2D 'd6': kernel_size must be a positive int"):
        layers.DynamicConv2D(kernel_size=(3, 0), name="d6")
    with pytest.raises(ValueError, match=r"DynamicConv2D 'd7': with padding='valid' the input \(None, 2, 8, 1\) is "
                                         r"smaller than the dilated kernel 3"):
        layers.DynamicConv2D(padding="valid", name="d7").build((None, 2, 8, 1))
    layer = layers.DynamicConv2D(name="d8")
    layer(np.zeros((1, 4, 4, 4), np.float32))
    with pytest.raises(ValueError, match=r"DynamicConv2D 'd8': expected input shape \(None, 4, 4, 4\).*"
                                         r"got \(1, 4, 4, 3\)"):
        layer(np.zeros((1, 4, 4, 3), np.float32))
    with pytest.raises(ValueError, match=r"DynamicConv2D 'd9': filters must be None or a positive integer"):
        layers.DynamicConv2D(filters=0, name="d9")


def test_get_config_round_trip():
    layer = layers.DynamicConv2D(filters=6, kernel_size=(3, 5), strides=2, groups=2, reduction_ratio=2, padding="valid",
                                 dilation_rate=1, activation="relu", use_bias=False, kernel_initializer="he_normal",
                                 kernel_regularizer="l2", name="inv")
    cfg = layer.get_config()
    for key in ("filters", "kernel_size", "strides", "groups", "reduction_ratio", "padding", "data_format",
                "dilation_rate", "activation", "use_bias", "kernel_initializer", "bias_initializer",
                "kernel_regularizer", "bias_regularizer", "kernel_constraint", "bias_constraint", "name", "trainable",
                "dtype"):
        assert key in cfg, key
    assert cfg["kernel_size"] == [3, 5] and cfg["strides"] == [2, 2] and cfg["padding"] == "valid"
    back = layers.DynamicConv2D.from_config(json.loads(json.dumps(cfg)))
    assert back.get_config() == cfg
    x = np.random.default_rng(2).standard_normal((2, 9, 11, 4)).astype(np.float32)
    layer(x)
    back(x)
    back.set_weights(layer.get_weights())
    np.testing.assert_array_equal(back(x).numpy(), layer(x).numpy())
    assert len(layer.losses) == 3  # l2 on the kernels of reduce, span and projection


def _model():
    return nnrs.Sequential([
        nnrs.Input((28, 28, 1)),
        layers.Dense(4),                                                          # lift 1 -> 4 channels per pixel
        layers.DynamicConv2D(kernel_size=3, strides=2, groups=2, reduction_ratio=2, activation="relu"),
        layers.DynamicConv2D(filters=6, kernel_size=3, strides=2, groups=1, reduction_ratio=2, activation="relu"),
        layers.Flatten(),
        layers.Dense(3, activation="softmax"),
    ])


def test_small_model_trains_and_round_trips(backend, tmp_path):
    nnrs.random.seed(0)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((48, 28, 28, 1)).astype(np.float32)
    y = rng.integers(0, 3, 48)
    model = _model()
    assert model.output_shape == (None, 3)
    assert model.layers[2].output_shape == (None, 7, 7, 6)
    model.compile(optimizer=nnrs.optimizers.Adam(0.01), loss="sparse_categorical_crossentropy")
    hist = model.fit(x, y, batch_size=16, epochs=6, verbose=0, shuffle=False)
    losses = hist.history["loss"]
    assert losses[-1] < 0.8 * losses[0], losses
    path = tmp_path / "dyn.keras"
    model.save(path)
    back = nnrs.models.load_model(path)
    assert isinstance(back.layers[1], layers.DynamicConv2D)
    np.testing.assert_array_equal(back.predict(x, verbose=0), model.predict(x, verbose=0))
    for a, b in zip(model.get_weights(), back.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_functional_model_with_symbolic_input():
    inp = nnrs.Input((9, 9, 4))
    out = layers.DynamicConv2D(kernel_size=3, strides=2, groups=2)(inp)
    assert out.shape == (None, 5, 5, 4)
    model = nnrs.Model(inp, out)
    assert model.predict(np.ones((2, 9, 9, 4), np.float32), verbose=0).shape == (2, 5, 5, 4)


def test_default_name_is_keras_snake_case():
    # Keras 3's to_snake_case does not split a digit from the capital after it ("Conv2D" -> "conv2d")
    from nnrs._util import snake_case

    assert [snake_case(n) for n in ("Conv2D", "Conv2DTranspose", "UpSampling2D", "R2Score", "LSTMCell")] == [
        "conv2d", "conv2d_transpose", "up_sampling2d", "r2_score", "lstm_cell"]
    assert layers.DynamicConv2D().name.startswith("dynamic_conv2d")
