"""ResidualBlock, DenseBlock, TransitionLayer and the model builders of nnrs.applications."""

import nnrs
import numpy as np
import pytest
from nnrs import applications
from nnrs import layers as L

RNG = np.random.default_rng(0)


def images(n=2, h=8, w=8, c=3):
    return RNG.normal(size=(n, h, w, c)).astype("float32")


def n_params(shapes):
    return sum(int(np.prod(s)) for s in shapes)


@pytest.mark.parametrize("filters, strides, bottleneck, cin, projected", [
    (4, 1, False, 4, False),   # identity shortcut
    (4, 2, False, 4, True),    # downsampling: projection
    (6, 1, False, 4, True),    # wider: projection
    (2, 1, True, 8, False),    # bottleneck 2 -> 8 channels = input: identity
    (2, 2, True, 3, True),
])
def test_residual_block_shapes_weights_and_shortcut(filters, strides, bottleneck, cin, projected):
    block = L.ResidualBlock(filters, strides=strides, bottleneck=bottleneck)
    x = images(c=cin)
    y = block(x).numpy()
    out_c = 4 * filters if bottleneck else filters
    assert y.shape == (2, -(-8 // strides), -(-8 // strides), out_c)
    assert block.compute_output_shape((None, 8, 8, cin)) == (None,) + y.shape[1:]
    assert (block.projection is not None) == projected
    if bottleneck:
        convs = [(1, 1, cin, filters), (3, 3, filters, filters), (1, 1, filters, out_c)]
    else:
        convs = [(3, 3, cin, filters), (3, 3, filters, filters)]
    bn = 4 * sum(c[-1] for c in convs)  # gamma, beta, moving mean and variance per conv
    proj = (cin * out_c + 4 * out_c) if projected else 0
    assert block.count_params() == n_params(convs) + bn + proj
    assert (y >= 0).all()  # ends in ReLU


def test_residual_block_identity_path_adds_the_input():
    block = L.ResidualBlock(3)
    x = np.abs(images(c=3))
    block(x)
    for conv in block.convs:  # zero residual branch: the block is relu(x) = x
        conv.set_weights([np.zeros_like(w) for w in conv.get_weights()])
    np.testing.assert_allclose(block(x).numpy(), x, atol=1e-6)


def test_dense_block_concatenates_every_layer():
    block = L.DenseBlock(3, growth_rate=5)
    x = images(c=4)
    y = block(x).numpy()
    assert y.shape == (2, 8, 8, 4 + 3 * 5)
    np.testing.assert_array_equal(y[..., :4], x)  # the block's input is passed through untouched
    # each layer: BN(c) + conv1x1 c->20 + BN(20) + conv3x3 20->5, with c = 4, 9, 14
    expect = sum(4 * c + c * 20 + 4 * 20 + 9 * 20 * 5 for c in (4, 9, 14))
    assert block.count_params() == expect
    plain = L.DenseBlock(2, growth_rate=3, bottleneck=False)
    assert plain(x).shape == (2, 8, 8, 10) and len(plain.convs) == 2


def test_transition_layer_compresses_and_pools():
    t = L.TransitionLayer(0.5)
    y = t(images(h=9, w=8, c=7)).numpy()
    assert y.shape == (2, 4, 4, 3)
    assert t.compute_output_shape((None, 9, 8, 7)) == (None, 4, 4, 3)
    with pytest.raises(ValueError, match="compression"):
        L.TransitionLayer(0.0)


def test_blocks_reject_wrong_rank_naming_the_layer():
    with pytest.raises(ValueError, match=r"ResidualBlock 'rb'.*rank 4.*\(None, 5\)"):
        L.ResidualBlock(2, name="rb")(np.ones((2, 5), "float32"))
    with pytest.raises(ValueError, match="DenseBlock"):
        L.DenseBlock(2)(np.ones((2, 5, 3), "float32"))


@pytest.mark.parametrize("make", [
    lambda: applications.LeNet5((12, 12, 1), 3),
    lambda: applications.ResNet(8, input_shape=(8, 8, 2), classes=3),
    lambda: applications.ResNet(11, input_shape=(8, 8, 2), classes=3, bottleneck=True, base_filters=4),
    lambda: applications.DenseNet((2, 2), growth_rate=4, input_shape=(8, 8, 2), classes=3),
], ids=["lenet", "resnet8", "resnet11_bottleneck", "densenet"])
def test_builders_train_save_and_load(make, tmp_path):
    nnrs.random.seed(0)
    m = make()
    shape = m.input_shape[1:]
    x = RNG.normal(size=(16,) + shape).astype("float32")
    y = RNG.integers(0, 3, size=16)
    m.compile(optimizer=nnrs.optimizers.Adam(1e-2), loss="sparse_categorical_crossentropy")
    hist = m.fit(x, y, batch_size=8, epochs=4, verbose=0)
    assert hist.history["loss"][-1] < hist.history["loss"][0]
    pred = m.predict(x, verbose=0)
    assert pred.shape == (16, 3)
    m.save(tmp_path / "m.keras")
    back = nnrs.models.load_model(tmp_path / "m.keras")
    np.testing.assert_allclose(back.predict(x, verbose=0), pred, atol=1e-6)
    rows = []
    m.summary(print_fn=rows.append)
    assert any("ResidualBlock" in r or "DenseBlock" in r or "Conv2D" in r for r in rows)


def test_builders_check_their_arguments():
    with pytest.raises(ValueError, match="6n\\+2"):
        applications.ResNet(10)
    with pytest.raises(ValueError, match="9n\\+2"):
        applications.ResNet(8, bottleneck=True)
    with pytest.raises(ValueError, match="input_shape"):
        applications.LeNet5((28, 28))
    with pytest.raises(ValueError, match="blocks"):
        applications.DenseNet(())


def test_block_records_name_nnrs_not_keras():
    m = applications.ResNet(8, input_shape=(8, 8, 1), classes=2)
    rec = next(r for r in m.get_config()["layers"] if r["class_name"] == "ResidualBlock")
    assert rec["module"] == "nnrs.layers" and rec["registered_name"] == "nnrs>ResidualBlock"
    conv = next(r for r in m.get_config()["layers"] if r["class_name"] == "Conv2D")
    assert conv["module"] == "keras.layers"


def test_weights_held_in_nested_containers_are_refused_at_save(tmp_path):
    class Nested(L.Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.pairs = [[L.Dense(2), L.Dense(2)]]

        def call(self, x):
            return self.pairs[0][1](self.pairs[0][0](x))

    m = nnrs.Sequential([nnrs.Input((3,)), Nested(name="nested")])
    assert len(m.weights) == 4
    with pytest.raises(ValueError, match=r"Dense 'dense.*' inside Nested 'nested'.*nested container"):
        m.save_weights(tmp_path / "n.weights.h5")
    assert not (tmp_path / "n.weights.h5").exists()


def test_functional_model_builds_block_weights_at_construction_and_trains_them():
    m = applications.ResNet(8, input_shape=(8, 8, 1), classes=2)
    assert len(m.weights) == 47  # every sub-layer of every block exists before the first call
    block = m.get_layer("stage1_block1")
    before = [w.copy() for w in block.get_weights()]
    m.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    m.fit(RNG.normal(size=(8, 8, 8, 1)).astype("float32"), RNG.integers(0, 2, size=8), epochs=1, verbose=0)
    assert all(not np.array_equal(a, b) for a, b in zip(before, block.get_weights()))  # kernels, BN weights and moving stats move


def test_weights_created_during_fit_are_trained_in_that_fit():
    class Late(L.Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.inner = None

        def call(self, x, training=False):
            if self.inner is None and training:  # made in the first training step only
                self.inner = L.Dense(4)
            return x if self.inner is None else self.inner(x)

    nnrs.random.seed(0)
    m = nnrs.Sequential([Late(), L.Dense(1)])
    m.compile(optimizer=nnrs.optimizers.SGD(0.1), loss="mse")
    x, y = RNG.normal(size=(16, 4)).astype("float32"), RNG.normal(size=(16, 1)).astype("float32")
    seen = []
    m.fit(x, y, batch_size=4, epochs=1, verbose=0,
          callbacks=[nnrs.callbacks.LambdaCallback(on_train_batch_end=lambda b, logs: seen.append(m.layers[0].inner.get_weights()[0].copy()))])
    assert not np.array_equal(seen[0], seen[-1])
