"""Layer and Model subclassing as in Keras 3: tracking of sub-layers and weights held in
attributes (also in lists, tuples and dicts), add_weight's signature, training and mask
reaching call only where it takes them, add_loss, freezing, get/set_weights, any-rank Dense.
Each program is written Keras-style (``import nnrs as keras``); tests taking ``backend``
run on every backend."""

import nnrs as keras
import numpy as np
import pytest
from nnrs import layers, ops

X = np.random.default_rng(0).normal(size=(16, 6)).astype(np.float32)


class Block(layers.Layer):
    """Sub-layers in an attribute, a list and a dict, one of them shared."""

    def __init__(self, **kw):
        super().__init__(**kw)
        self.first = layers.Dense(5, activation="relu")
        self.stack = [layers.Dense(4), layers.Dense(3)]
        self.heads = {"b": layers.Dense(2), "a": layers.Dense(2)}
        self.again = self.stack[0]  # shared: counted once

    def call(self, x):
        h = self.stack[1](self.stack[0](self.first(x)))
        return ops.add(self.heads["b"](h), self.heads["a"](h))


class Scale(layers.Layer):
    """Weights made in build: a trainable scale and a non-trainable offset."""

    def build(self, input_shape):
        self.scale = self.add_weight(shape=(input_shape[-1],), initializer="ones", name="scale")
        self.offset = self.add_weight(shape=(input_shape[-1],), initializer="zeros", trainable=False, name="offset")

    def call(self, x):
        return ops.add(ops.multiply(x, self.scale), self.offset)


class EagerWeights(layers.Layer):
    """Weights made in __init__ (the input size is known)."""

    def __init__(self, n, units, **kw):
        super().__init__(**kw)
        self.w = self.add_weight(shape=(n, units), initializer="random_normal", name="w")
        self.b = self.add_weight(shape=(units,), initializer="zeros", name="b")

    def call(self, x):
        return ops.add(ops.matmul(x, self.w), self.b)


class ListModel(keras.Model):
    def __init__(self, sizes, classes, activation="softmax"):
        super().__init__()
        self.hidden = [layers.Dense(n, activation="relu") for n in sizes]
        self.out = layers.Dense(classes, activation=activation)

    def call(self, x):
        for layer in self.hidden:
            x = layer(x)
        return self.out(x)


class Nested(keras.Model):
    def __init__(self):
        super().__init__()
        self.body = ListModel([8], 4)
        self.tail = keras.Sequential([layers.Dense(3)])
        self.pair = (layers.Dense(2), {"deep": [layers.Dense(2)]})

    def call(self, x):
        return self.pair[1]["deep"][0](self.pair[0](self.tail(self.body(x))))


class Penalized(layers.Layer):
    def __init__(self, rate, **kw):
        super().__init__(**kw)
        self.rate = rate
        self.dense = layers.Dense(1)

    def call(self, x):
        y = self.dense(x)
        self.add_loss(ops.multiply(ops.mean(ops.square(y)), self.rate))
        return y


class Recorder(layers.Layer):
    seen: list = []

    def call(self, x, training=None):
        Recorder.seen.append(training)
        return x


def _mlp_data(n=128, seed=1):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 6)).astype(np.float32)
    return x, (x[:, :1] * 2.0 - x[:, 1:2]).astype(np.float32)


def _shapes(model):
    return [tuple(w.shape) for w in model.weights]


def test_block_tracks_attribute_list_and_dict_in_keras_order():
    b = Block()
    b(X)
    assert _shapes(b) == [(6, 5), (5,), (5, 4), (4,), (4, 3), (3,), (3, 2), (2,), (3, 2), (2,)]


def test_shared_sub_layer_counts_once():
    b = Block()
    b(X)
    assert b.count_params() == 6 * 5 + 5 + 5 * 4 + 4 + 4 * 3 + 3 + 2 * (3 * 2 + 2)


def test_own_weights_come_first_trainable_then_non_trainable():
    class Mixed(layers.Layer):
        def __init__(self):
            super().__init__()
            self.inner = layers.Dense(2)
            self.frozen = self.add_weight(shape=(1,), initializer="zeros", trainable=False, name="frozen")
            self.live = self.add_weight(shape=(1,), name="live")

        def call(self, x):
            return ops.multiply(self.inner(x), self.live)

    m = Mixed()
    m(X)
    assert [w.name for w in m.weights] == ["live", "frozen", "kernel", "bias"]
    assert [w.name for w in m.non_trainable_weights] == ["frozen"]


def test_weights_made_in_init_and_in_build():
    e, s = EagerWeights(6, 3), Scale()
    assert len(e.weights) == 2 and len(s.weights) == 0 and not s.built
    s(X)
    assert s.built and [w.name for w in s.trainable_weights] == ["scale"] and [w.name for w in s.non_trainable_weights] == ["offset"]


def test_variable_assigned_directly_is_tracked():
    class Direct(layers.Layer):
        def __init__(self):
            super().__init__()
            self.v = keras.Variable(np.ones(3, np.float32), name="v")
            self.more = [keras.Variable(np.zeros(2, np.float32), name="w")]

        def call(self, x):
            return x

    assert [w.name for w in Direct().weights] == ["v", "w"]


def test_list_model_layers_and_weights():
    m = ListModel([8, 8], 3)
    m(X)
    assert [type(l).__name__ for l in m.layers] == ["Dense", "Dense", "Dense"]
    assert len(m.trainable_weights) == 6 and m.count_params() == 6 * 8 + 8 + 8 * 8 + 8 + 8 * 3 + 3


def test_list_appended_after_assignment_is_seen():
    class Grow(keras.Model):
        def __init__(self):
            super().__init__()
            self.blocks = []
            for n in (4, 2):
                self.blocks.append(layers.Dense(n))

        def call(self, x):
            for b in self.blocks:
                x = b(x)
            return x

    m = Grow()
    m(X)
    assert m.count_params() == 6 * 4 + 4 + 4 * 2 + 2


def test_nested_models_collect_every_weight():
    m = Nested()
    y = m(X)
    assert y.shape == (16, 2)
    assert len(m.layers) == 4 and m.count_params() == (6 * 8 + 8 + 8 * 4 + 4) + (4 * 3 + 3) + (3 * 2 + 2) + (2 * 2 + 2)
    assert len(m.trainable_weights) == 10


def test_summary_counts_subclassed_model():
    m = ListModel([8], 3)
    m(X)
    lines = []
    m.summary(print_fn=lines.append)
    text = "\n".join(lines)
    assert "Total params: 83" in text and "Trainable params: 83" in text and "(None, 8)" in text and "(None, 3)" in text


def test_subclassed_model_fit_trains_list_layers(backend):
    keras.random.seed(0)
    x, y = _mlp_data()
    m = keras.Sequential([keras.Input((6,)), Block(), layers.Dense(1)])
    m.compile(optimizer=keras.optimizers.Adam(0.02), loss="mse")
    before = [w.copy() for w in m.get_weights()]
    h = m.fit(x, y, epochs=15, batch_size=32, verbose=0)
    assert h.history["loss"][-1] < 0.3 * h.history["loss"][0]
    assert all(not np.allclose(a, b) for a, b in zip(before, m.get_weights()))


def test_frozen_layer_is_not_updated_by_fit(backend):
    keras.random.seed(0)
    x, y = _mlp_data()
    m = ListModel([8, 8], 1, activation=None)
    m.compile(optimizer="adam", loss="mse")
    m(x[:2])
    m.hidden[0].trainable = False
    frozen = [w.copy() for w in m.hidden[0].get_weights()]
    others = [w.copy() for w in m.out.get_weights()]
    assert len(m.trainable_weights) == 4 and len(m.non_trainable_weights) == 2
    m.fit(x, y, epochs=2, batch_size=32, verbose=0)
    assert all(np.array_equal(a, b) for a, b in zip(frozen, m.hidden[0].get_weights()))
    assert all(not np.allclose(a, b) for a, b in zip(others, m.out.get_weights()))


def test_freezing_between_train_on_batch_calls_is_seen():
    keras.random.seed(0)
    x, y = _mlp_data(32)
    m = keras.Sequential([keras.Input((6,)), layers.Dense(4), layers.Dense(1)])
    m.compile(optimizer="sgd", loss="mse")
    m.train_on_batch(x, y)
    m.layers[0].trainable = False
    k = m.layers[0].kernel.numpy().copy()
    m.train_on_batch(x, y)
    assert np.array_equal(k, m.layers[0].kernel.numpy())
    m.layers[0].trainable = True
    m.train_on_batch(x, y)
    assert not np.array_equal(k, m.layers[0].kernel.numpy())


def test_freezing_a_block_freezes_its_sub_layers_and_unfreezing_restores():
    b = Block()
    b(X)
    b.trainable = False
    assert b.trainable_weights == [] and len(b.non_trainable_weights) == 10 and not b.first.trainable
    b.trainable = True
    assert len(b.trainable_weights) == 10


def test_whole_model_frozen_fit_changes_nothing():
    x, y = _mlp_data(64)
    m = ListModel([4], 1, activation=None)
    m.compile(optimizer="adam", loss="mse")
    m(x[:1])
    m.trainable = False
    w0 = m.get_weights()
    m.fit(x, y, epochs=1, verbose=0)
    assert all(np.array_equal(a, b) for a, b in zip(w0, m.get_weights()))


def test_add_loss_is_listed_and_cleared_on_the_next_call():
    p = Penalized(0.5)
    p(X)
    assert len(p.losses) == 1
    y = p.dense(X).numpy()
    assert np.isclose(p.losses[0].item(), 0.5 * np.mean(y ** 2), rtol=1e-5)
    p(X)
    assert len(p.losses) == 1


def test_add_loss_in_a_sub_layer_reaches_model_losses_and_training_loss():
    keras.random.seed(0)
    x, y = _mlp_data(64)
    plain, pen = keras.Sequential([keras.Input((6,)), Penalized(0.0)]), keras.Sequential([keras.Input((6,)), Penalized(10.0)])
    pen.set_weights(plain.get_weights())
    for m in (plain, pen):
        m.compile(optimizer="sgd", loss="mse")
    lp, lq = plain.train_on_batch(x, y), pen.train_on_batch(x, y)
    pred = x @ plain.get_weights()[0] + plain.get_weights()[1]  # plain took one step: recompute from pen's start
    assert lq > lp and len(pen.losses) == 1 and pred.shape == (64, 1)
    ev_plain, ev_pen = plain.evaluate(x, y, verbose=0), pen.evaluate(x, y, verbose=0)
    assert ev_pen > ev_plain


def test_add_loss_value_enters_the_training_loss_exactly(backend):
    x, y = _mlp_data(32)
    keras.random.seed(3)
    m = keras.Sequential([keras.Input((6,)), Penalized(2.0)])
    m.compile(optimizer=keras.optimizers.SGD(0.0), loss="mse")
    w, b = m.get_weights()
    p = x @ w + b
    expected = np.mean((p - y) ** 2) + 2.0 * np.mean(p ** 2)
    assert np.isclose(m.train_on_batch(x, y), expected, rtol=1e-5)


def test_activity_regularizer_loss_in_model_losses():
    m = keras.Sequential([keras.Input((6,)), layers.Dense(3, activity_regularizer=keras.regularizers.L2(0.1))])
    y = m(X).numpy()
    assert len(m.losses) == 1 and np.isclose(m.losses[0].item(), 0.1 * np.sum(y ** 2) / len(X), rtol=1e-5)


def test_frozen_weights_regularizer_not_in_losses():
    m = keras.Sequential([keras.Input((6,)), layers.Dense(3, kernel_regularizer="l2")])
    assert len(m.losses) == 1
    m.trainable = False
    assert m.losses == []


def test_add_weight_positional_shape_initializer_dtype():
    class L(layers.Layer):
        def build(self, input_shape):
            self.a = self.add_weight((3,), "ones", "float64")
            self.b = self.add_weight((2,), dtype="int32", trainable=False)
            self.c = self.add_weight()

        def call(self, x):
            return x

    l = L()
    l(X)
    assert l.a.dtype == np.float64 and np.array_equal(l.a.numpy(), np.ones(3))
    assert l.b.dtype == np.int32 and np.array_equal(l.b.numpy(), [0, 0]) and l.c.shape == () and l.c.name == "variable"


def test_add_weight_default_initializer_is_glorot_uniform():
    keras.random.seed(5)
    w = layers.Layer().add_weight(shape=(200, 300))
    limit = np.sqrt(6.0 / 500)
    assert w.dtype == np.float32 and np.abs(w.numpy()).max() <= limit and np.abs(w.numpy()).max() > 0.9 * limit


def test_add_weight_rejects_name_positionally_and_too_many_positionals():
    with pytest.raises(ValueError, match="name="):
        layers.Layer().add_weight("kernel", (2,))
    with pytest.raises(TypeError, match="positional"):
        layers.Layer().add_weight((2,), "zeros", "float32", True)
    with pytest.raises(ValueError, match="both"):
        layers.Layer().add_weight((2,), shape=(3,))


def test_add_weight_keeps_constraint_and_regularizer():
    def nonneg(v):
        return ops.maximum(v, 0.0)

    l = layers.Layer()
    w = l.add_weight(shape=(2,), constraint=nonneg, regularizer="l2", name="w")
    assert w.constraint is nonneg and w.regularizer is not None and w.path.endswith("/w")
    with pytest.raises(ValueError, match="overwrite_with_gradient"):
        l.add_weight(shape=(2,), overwrite_with_gradient=True)
    with pytest.raises(ValueError, match="aggregation"):
        l.add_weight(shape=(2,), aggregation="median")


def test_call_without_training_argument_inside_fit():
    class Plain(layers.Layer):
        def __init__(self):
            super().__init__()
            self.d = layers.Dense(1)

        def call(self, inputs):
            return self.d(inputs)

    x, y = _mlp_data(64)
    m = keras.Sequential([keras.Input((6,)), Plain()])
    m.compile(optimizer="adam", loss="mse")
    assert np.isfinite(m.fit(x, y, epochs=2, verbose=0).history["loss"][-1])
    assert m.evaluate(x, y, verbose=0) > 0 and m.predict(x, verbose=0).shape == (64, 1)


def test_training_flag_propagates_through_call_context_as_in_keras(backend):
    class Takes(keras.Model):
        def __init__(self):
            super().__init__()
            self.r, self.d = Recorder(), layers.Dense(1)

        def call(self, x, training=None):
            return self.d(self.r(x))

    class NoTraining(Takes):
        def call(self, x):
            return self.d(self.r(x))

    x, y = _mlp_data(8)
    for cls, fit_flag, predict_flag in ((Takes, True, False), (NoTraining, None, None)):
        m = cls()
        m.compile(optimizer="sgd", loss="mse")
        m(x)
        Recorder.seen.clear()
        m.train_on_batch(x, y)
        m.predict(x, verbose=0)
        m(x, training=True)
        assert Recorder.seen == [fit_flag, predict_flag, True]


def test_dropout_in_subclassed_model_is_active_only_in_training():
    class Drop(keras.Model):
        def __init__(self):
            super().__init__()
            self.drop = layers.Dropout(0.5)

        def call(self, x, training=False):
            return self.drop(x, training=training)

    m, ones = Drop(), np.ones((4, 100), np.float32)
    assert np.array_equal(m(ones).numpy(), ones)
    assert (m(ones, training=True).numpy() == 0).any()


def test_mask_reaches_call_only_when_it_takes_it():
    class Masked(layers.Layer):
        def call(self, x, mask=None):
            return x if mask is None else ops.multiply(x, ops.cast(mask, x.dtype))

    m = np.array([[1, 0, 1, 1, 0, 1]] * 16, dtype=bool)
    assert np.array_equal(Masked()(X, mask=m).numpy(), X * m)
    with pytest.raises(TypeError):
        layers.Dense(2)(X, mask=m)


def test_compute_output_shape_default_traces_call():
    class Halve(layers.Layer):
        def call(self, x):
            return x[:, : x.shape[1] // 2]

    seq = keras.Sequential([keras.Input((6,)), Halve(), layers.Dense(2)])
    assert Halve().compute_output_shape((None, 6)) == (None, 3) and _shapes(seq) == [(3, 2), (2,)]


def test_dense_on_3d_input_matches_numpy(backend):
    keras.random.seed(0)
    x = np.random.default_rng(1).normal(size=(4, 5, 6)).astype(np.float32)
    m = keras.Sequential([keras.Input((5, 6)), layers.Dense(3, activation="tanh"), layers.Dense(2)])
    (k1, b1, k2, b2) = m.get_weights()
    ref = np.tanh(x @ k1 + b1) @ k2 + b2
    assert m.output_shape == (None, 5, 2) and np.allclose(m.predict(x, verbose=0), ref, rtol=1e-5, atol=1e-5)


def test_dense_on_3d_input_trains():
    keras.random.seed(0)
    x = np.random.default_rng(1).normal(size=(64, 5, 6)).astype(np.float32)
    y = x.sum(-1, keepdims=True)
    m = keras.Sequential([keras.Input((5, 6)), layers.Dense(8, activation="relu"), layers.Dropout(0.1), layers.Dense(1)])
    m.compile(optimizer=keras.optimizers.Adam(0.01), loss="mse")
    h = m.fit(x, y, epochs=20, batch_size=16, verbose=0)
    assert h.history["loss"][-1] < 0.2 * h.history["loss"][0]


def test_dense_3d_input_rejects_wrong_feature_size():
    d = layers.Dense(2)
    d(np.zeros((2, 3, 4), np.float32))
    with pytest.raises(ValueError, match="axis -1"):
        d(np.zeros((2, 3, 5), np.float32))


def test_get_set_weights_round_trip_on_nested_model():
    a, b = Nested(), Nested()
    a(X), b(X)
    b.set_weights(a.get_weights())
    assert np.allclose(a(X).numpy(), b(X).numpy())
    assert all(np.array_equal(p, q) for p, q in zip(a.get_weights(), b.get_weights()))
    with pytest.raises(ValueError):
        b.set_weights(a.get_weights()[:-1])


def test_subclassed_list_model_matches_sequential_on_mnist(mnist_dir):
    (xtr, ytr), (xte, yte) = keras.datasets.mnist.load_data(str(mnist_dir))  # the 10k file: 8k train, 2k test
    xtr, xte = xtr.reshape(-1, 784).astype(np.float32) / 255.0, xte.reshape(-1, 784).astype(np.float32) / 255.0
    ytr, yte = ytr.astype(np.int64), yte.astype(np.int64)
    accs = []
    with keras.backend.use("cpu"):
        for make in (lambda: keras.Sequential([keras.Input((784,)), layers.Dense(64, activation="relu"),
                                                layers.Dense(10, activation="softmax")]),
                     lambda: ListModel([64], 10)):
            keras.random.seed(0)
            m = make()
            m.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
            m.fit(xtr, ytr, batch_size=64, epochs=3, verbose=0)
            accs.append(m.evaluate(xte, yte, verbose=0)[1])
    assert accs[0] > 0.9 and abs(accs[0] - accs[1]) <= 0.005


def test_subclassed_model_with_two_inputs():
    class Two(keras.Model):
        def __init__(self):
            super().__init__()
            self.a, self.b = layers.Dense(3), layers.Dense(3)

        def call(self, inputs):
            return ops.add(self.a(inputs[0]), self.b(inputs[1]))

    m = Two()
    y = m([X, X[:, :2]])
    assert y.shape == (16, 3) and _shapes(m) == [(6, 3), (3,), (2, 3), (3,)]


def test_functional_model_passes_training_to_custom_layers():
    inp = keras.Input((6,))
    out = layers.Dense(1)(Recorder()(inp))
    m = keras.Model(inp, out)
    m.compile(optimizer="sgd", loss="mse")
    Recorder.seen.clear()
    m.train_on_batch(X, X[:, :1])
    m.predict(X, verbose=0)
    assert Recorder.seen == [True, False]


def test_count_params_needs_a_built_layer():
    with pytest.raises(ValueError, match="built"):
        ListModel([4], 2).count_params()
    m = ListModel([4], 2)
    m.build((None, 6))
    assert m.count_params() == 6 * 4 + 4 + 4 * 2 + 2


def test_summary_of_an_unbuilt_subclassed_model():
    lines = []
    ListModel([4], 2).summary(print_fn=lines.append)
    assert any("unbuilt" in line for line in lines) and "Total params: 0" in lines


def test_build_by_hand_then_call_builds_once():
    s = Scale()
    s.build((None, 6))
    assert s.built
    s(X)
    assert len(s.weights) == 2


def test_frozen_base_model_inside_sequential_transfer_learning():
    keras.random.seed(0)
    x, y = _mlp_data(64)
    base = keras.Sequential([keras.Input((6,)), layers.Dense(8, activation="relu")])
    base.trainable = False
    model = keras.Sequential([keras.Input((6,)), base, layers.Dense(1)])
    model.compile(optimizer="adam", loss="mse")
    k = base.get_weights()
    assert len(model.trainable_weights) == 2 and len(model.non_trainable_weights) == 2
    model.fit(x, y, epochs=2, verbose=0)
    assert all(np.array_equal(a, b) for a, b in zip(k, base.get_weights()))


def test_layer_made_frozen_creates_frozen_weights():
    s = Scale(trainable=False)
    s(X)
    assert s.trainable_weights == [] and len(s.non_trainable_weights) == 2
    s.trainable = True
    assert [w.name for w in s.trainable_weights] == ["scale"]


def test_sequential_passes_mask_to_a_first_layer_that_takes_it():
    class Masked(layers.Layer):
        def call(self, x, mask=None):
            return x if mask is None else ops.multiply(x, ops.cast(mask, x.dtype))

    m = np.array([[1, 0, 1, 1, 0, 1]] * 16, dtype=bool)
    seq = keras.Sequential([keras.Input((6,)), Masked(), layers.Activation("linear")])
    assert np.array_equal(seq(X, mask=m).numpy(), X * m) and np.array_equal(seq(X).numpy(), X)


def test_functional_model_with_a_custom_layer_of_two_inputs():
    class WeightedSum(layers.Layer):
        def build(self, input_shape):
            self.alpha = self.add_weight(shape=(), initializer="ones", name="alpha")

        def call(self, inputs):
            return ops.add(ops.multiply(inputs[0], self.alpha), inputs[1])

    a, b = keras.Input((6,)), keras.Input((6,))
    out = layers.Dense(2)(WeightedSum()([a, layers.Dense(6)(b)]))
    m = keras.Model([a, b], out)
    assert out.shape == (None, 2) and _shapes(m) == [(6, 6), (6,), (), (6, 2), (2,)]
    k1, b1, alpha, k2, b2 = m.get_weights()
    ref = (X * alpha + (X @ k1 + b1)) @ k2 + b2
    assert np.allclose(m([X, X]).numpy(), ref, rtol=1e-5, atol=1e-5)


def test_sub_layer_assigned_before_super_init_is_tracked():
    class Early(layers.Layer):
        def __init__(self):
            self.d = layers.Dense(2)
            super().__init__()

        def call(self, x):
            return self.d(x)

    e = Early()
    e(X)
    assert _shapes(e) == [(6, 2), (2,)]


def test_deleted_attribute_is_no_longer_tracked():
    b = Block()
    b(X)
    del b.heads
    assert b.count_params() == 6 * 5 + 5 + 5 * 4 + 4 + 4 * 3 + 3
