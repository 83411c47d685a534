"""layers.Embedding: Keras' forward on the same table, the scatter-add gradient, masks,
errors naming the layer, config and save/load round trips (Keras' own .keras file too)."""

import json
from pathlib import Path

import nnrs
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from nnrs import layers

from tests.conftest import host

FIX = Path(__file__).resolve().parent / "fixtures" / "text"


def test_forward_matches_keras_on_the_same_table(backend):
    f = np.load(FIX / "embedding.npz")
    e = layers.Embedding(13, 5, mask_zero=True, weights=[f["table"]])
    for k in ("1", "2", "3"):
        y = e(f["ids" + k])
        assert y.shape == f["out" + k].shape and y.dtype == np.float32
        np.testing.assert_array_equal(y.numpy(), f["out" + k])  # a gather: exact
    m = e.compute_mask(f["ids2"])
    assert m.dtype == np.bool_ and isinstance(m, nnrs.Tensor)
    np.testing.assert_array_equal(m.numpy(), f["mask2"])


@settings(max_examples=25, deadline=None)
@given(shape=st.lists(st.integers(1, 4), min_size=1, max_size=3), vocab=st.integers(1, 9), dim=st.integers(1, 5),
       seed=st.integers(0, 2**31 - 1), dtype=st.sampled_from(["int32", "int64", "uint8", "float32"]))
def test_forward_is_the_table_rows_at_the_ids(shape, vocab, dim, seed, dtype):
    rng = np.random.default_rng(seed)
    table = rng.normal(size=(vocab, dim)).astype(np.float32)
    ids = rng.integers(0, vocab, shape).astype(dtype)
    for name in ("numpy", "cpu"):
        with nnrs.backend.use(name):
            e = layers.Embedding(vocab, dim, weights=[table])
            y = e(ids)
            np.testing.assert_array_equal(y.numpy(), table[ids.astype(np.int64)])
            assert y.shape == tuple(shape) + (dim,)


@settings(max_examples=25, deadline=None)
@given(shape=st.lists(st.integers(1, 5), min_size=1, max_size=3), vocab=st.integers(1, 12), dim=st.integers(1, 6),
       seed=st.integers(0, 2**31 - 1), dtype=st.sampled_from(["float32", "float64"]))
def test_gradient_of_the_rust_kernels_matches_the_numpy_oracle(shape, vocab, dim, seed, dtype):
    rng = np.random.default_rng(seed)
    table = rng.normal(size=(vocab, dim)).astype(dtype)
    ids = rng.integers(0, vocab, shape)
    g = rng.normal(size=tuple(shape) + (dim,)).astype(dtype)
    grads = {}
    for name in ("numpy", "cpu"):
        with nnrs.backend.use(name):
            e = layers.Embedding(vocab, dim, weights=[table], dtype=dtype)
            (e(ids) * nnrs.Tensor(g)).sum().backward()
            grads[name] = np.asarray(e.embeddings.grad)
    expect = np.zeros((vocab, dim))
    np.add.at(expect, ids.reshape(-1), g.reshape(-1, dim).astype(np.float64))
    rtol, atol = (1e-5, 1e-5) if dtype == "float32" else (1e-12, 1e-12)
    np.testing.assert_allclose(grads["numpy"], expect, rtol=rtol, atol=atol)
    np.testing.assert_allclose(grads["cpu"], grads["numpy"], rtol=rtol, atol=atol)
    assert grads["cpu"].dtype == dtype


def test_gradient_is_a_scatter_add_into_the_used_rows(backend):
    rng = np.random.default_rng(0)
    e = layers.Embedding(6, 3, dtype="float64")
    ids = np.array([[1, 4, 1], [0, 1, 5]])
    y = e(ids)
    g = rng.normal(size=y.shape)
    (y * nnrs.Tensor(g)).sum().backward()
    expect = np.zeros((6, 3))
    np.add.at(expect, ids.reshape(-1), g.reshape(-1, 3))
    np.testing.assert_allclose(host(e.embeddings.grad), expect, rtol=1e-12)
    assert not expect[[2, 3]].any()  # rows never looked up get nothing


@pytest.mark.parametrize("ids", [[3, 0, 3, 2], [[1, 1], [4, 0]], [[[2, 2, 2]], [[0, 4, 1]]]])
def test_gradcheck_wrt_the_embeddings(backend, ids):
    e = layers.Embedding(5, 3, dtype="float64")
    e.build(None)
    ids = np.array(ids)
    assert nnrs.gradcheck(lambda: nnrs.ops.tanh(e(ids)), wrt=[e.embeddings])


def test_out_of_range_ids_are_an_error_naming_the_layer(backend):
    e = layers.Embedding(10, 4, name="words")
    for bad, shown in (([[3, 10]], "10"), ([[-1, 2]], "-1")):
        with pytest.raises(ValueError, match=rf"Embedding 'words': id {shown} is out of range.*\[0, 10\)"):
            e(np.array(bad))
    with pytest.raises(TypeError, match="Embedding 'words': expected integer ids"):
        e(np.array([[True, False]]))


def test_arguments_are_checked():
    with pytest.raises(ValueError, match="input_dim must be a positive integer"):
        layers.Embedding(0, 3)
    with pytest.raises(ValueError, match="output_dim must be a positive integer"):
        layers.Embedding(4, 2.5)
    with pytest.raises(ValueError, match="LoRA"):
        layers.Embedding(4, 2, lora_rank=2)
    with pytest.warns(UserWarning, match="input_length is ignored"):
        layers.Embedding(4, 2, input_length=7)


def test_float_ids_are_cast_as_keras_does():
    e = layers.Embedding(4, 2, weights=[np.arange(8, dtype=np.float32).reshape(4, 2)])
    np.testing.assert_array_equal(e(np.array([[1.0, 3.0]], dtype=np.float32)).numpy(), [[[2, 3], [6, 7]]])


def test_compute_mask():
    e = layers.Embedding(5, 2)
    assert e.compute_mask(np.array([[0, 1]])) is None
    e = layers.Embedding(5, 2, mask_zero=True)
    np.testing.assert_array_equal(e.compute_mask(np.array([[0, 1, 0], [2, 0, 4]])).numpy(), [[0, 1, 0], [1, 0, 1]])
    x = nnrs.Input((3,), dtype="int32")
    km = e.compute_mask(x)
    assert km.shape == (None, 3) and km.dtype == np.bool_


def test_defaults_weight_and_config_as_keras():
    e = layers.Embedding(10, 4, mask_zero=True, embeddings_regularizer="l2", embeddings_constraint="max_norm", name="emb")
    e.build((None, 3))
    assert [w.path for w in e.weights] == ["emb/embeddings"]
    assert e.embeddings.name == "embeddings" and e.embeddings.shape == (10, 4)
    w = e.embeddings.numpy()
    assert -0.05 <= w.min() and w.max() <= 0.05 and w.std() > 0.01  # RandomUniform(-0.05, 0.05)
    cfg = e.get_config()
    keys = ["name", "trainable", "dtype", "input_dim", "output_dim", "embeddings_initializer", "embeddings_regularizer",
            "activity_regularizer", "embeddings_constraint", "mask_zero", "quantization_config"]
    assert list(cfg) == keys
    assert cfg["embeddings_initializer"]["class_name"] == "RandomUniform"
    assert cfg["embeddings_regularizer"]["class_name"] == "L2"
    assert cfg["embeddings_constraint"]["class_name"] == "MaxNorm"
    act = layers.Embedding(3, 2, activity_regularizer="l1").get_config()
    assert list(act) == keys and act["activity_regularizer"]["class_name"] == "L1"
    twin = layers.Embedding.from_config(json.loads(json.dumps(cfg)))
    assert twin.get_config() == cfg
    assert len(e.weight_losses()) == 1  # the L2 penalty of the table
    assert e.embeddings.constraint is e.embeddings_constraint


def test_in_a_model_fit_save_and_load(tmp_path):
    nnrs.random.seed(0)
    rng = np.random.default_rng(1)
    x = rng.integers(1, 30, (64, 6)).astype("int32")
    y = (x[:, 0] > 15).astype("int64")  # the label is read off the first id
    model = nnrs.Sequential([nnrs.Input((6,), dtype="int32"), layers.Embedding(30, 8),
                             layers.Flatten(), layers.Dense(2, activation="softmax")])
    model.compile(optimizer=nnrs.optimizers.Adam(0.05), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    before = model.layers[0].embeddings.numpy().copy()
    model.fit(x, y, epochs=15, batch_size=16, verbose=0)
    after = model.layers[0].embeddings.numpy()
    assert model.evaluate(x, y, verbose=0)[1] >= 0.9
    assert not np.array_equal(before[x.reshape(-1)], after[x.reshape(-1)])  # used rows moved
    np.testing.assert_array_equal(before[0], after[0])  # row 0 never used: Adam never touched it
    path = tmp_path / "m.keras"
    model.save(path)
    back = nnrs.models.load_model(path)
    np.testing.assert_allclose(back.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-6)
    assert back.layers[0].get_config() == model.layers[0].get_config()


def test_loads_a_keras_file_with_the_same_predictions():
    model = nnrs.models.load_model(FIX / "embedding_model.keras")
    x = np.load(FIX / "embedding_model_x.npy")
    np.testing.assert_allclose(model.predict(x, verbose=0), np.load(FIX / "embedding_model_pred.npy"), rtol=1e-5, atol=1e-6)
    emb = model.layers[0]
    assert isinstance(emb, layers.Embedding) and emb.embeddings_regularizer is not None
