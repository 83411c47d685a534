"""Device placement: ``Tensor.to``, ``Variable.move_to``, ``layer.to`` / ``model.to`` (weights,
optimizer state and metric state move in place), numpy data on any backend, models saved on
one backend loaded on another, and the error for a backend that cannot run here (cuda)."""

import sys
import types

import nnrs
import numpy as np
import pytest
from nnrs import backend as B
from nnrs import layers

PAIRS = [("cpu", "numpy"), ("numpy", "cpu")]


def _data(n=48, seed=0, dtype="float32"):
    r = np.random.default_rng(seed)
    x = r.normal(size=(n, 5)).astype(dtype)
    y = (x @ r.normal(size=(5, 1)) + 0.1 * r.normal(size=(n, 1))).astype(dtype)
    return x, y


def _mlp(optimizer="adam", metrics=("mae",)):
    nnrs.random.seed(7)
    m = nnrs.Sequential([layers.Input((5,)), layers.Dense(8, activation="tanh"), layers.Dense(1)])
    m.compile(optimizer=optimizer, loss="mse", metrics=list(metrics))
    return m


def _fit_losses(m, x, y, epochs):
    return m.fit(x, y, epochs=epochs, batch_size=16, shuffle=False, verbose=0).history["loss"]


@pytest.fixture
def cuda_missing():
    """Skip where a real cuda backend can run (these tests are about its absence)."""
    if "cuda" in B.available():
        pytest.skip("a CUDA device is present: the 'cuda unavailable' errors cannot happen here")


# ---- Tensor.to -----------------------------------------------------------------------

@pytest.mark.parametrize("src,dst", PAIRS)
@pytest.mark.parametrize("dtype", ["float32", "float64", "int32", "bool"])
def test_tensor_to_copies_values_and_dtype(src, dst, dtype):
    a = (np.arange(12).reshape(3, 4) % 3).astype(dtype)
    t = nnrs.Tensor(a, backend=B.get(src))
    u = t.to(dst)
    assert u is not t and u.backend is B.get(dst) and t.backend is B.get(src)
    assert u.dtype == a.dtype and u.shape == a.shape
    np.testing.assert_array_equal(u.numpy(), a)
    assert not np.shares_memory(u.data, t.data)  # a copy: changing one never changes the other


@pytest.mark.parametrize("where", ["cpu", "numpy"])
def test_tensor_to_same_backend_is_same_object(where):
    t = nnrs.Tensor(np.ones(3), backend=B.get(where))
    assert t.to(where) is t
    assert t.to(B.get(where)) is t
    assert t.to(nnrs.Tensor(np.zeros(1), backend=B.get(where))) is t  # a tensor names its backend


@pytest.mark.parametrize("src,dst", PAIRS)
def test_tensor_to_is_differentiable(src, dst):
    x = nnrs.Tensor(np.array([1.0, -2.0, 3.0]), requires_grad=True, backend=B.get(src))
    y = x.to(dst)
    assert y.requires_grad and y.backend.name == dst
    (y * y).sum().backward()
    assert isinstance(x.grad, np.ndarray)
    np.testing.assert_allclose(x.grad, 2 * x.numpy())
    # the gradient accumulates on the source: a second path on the source backend adds to it
    x.grad = None
    z = (x.to(dst) * 3.0).sum().to(src) + (x * x).sum()
    z.backward()
    np.testing.assert_allclose(x.grad, 3.0 + 2 * x.numpy())


@pytest.mark.parametrize("src,dst", PAIRS)
def test_tensor_to_gradcheck(src, dst):
    with B.use(src):
        assert nnrs.gradcheck(lambda t: (t.to(dst) * t.to(dst)).to(src) * 2.0, np.random.default_rng(0).normal(size=(3, 4)))


def test_tensor_to_without_grad_mode_records_nothing():
    x = nnrs.Tensor(np.ones(2), requires_grad=True, backend=B.get("cpu"))
    with nnrs.no_grad():
        y = x.to("numpy")
    assert not y.requires_grad and y._ctx is None


def test_tensor_to_then_in_place_change_is_an_error():
    v = nnrs.Variable(np.ones(3), backend=B.get("cpu"))
    y = (v.to("numpy") * 2.0).sum()
    v.assign(np.zeros(3))
    with pytest.raises(RuntimeError, match="changed in place"):
        y.backward()


def test_variable_to_returns_a_copy_and_keeps_the_variable():
    v = nnrs.Variable(np.arange(3.0), name="w", backend=B.get("cpu"))
    u = v.to("numpy")
    assert u is not v and not isinstance(u, nnrs.Variable) and v.backend.name == "cpu"
    u.sum().backward()
    np.testing.assert_array_equal(v.grad, np.ones(3))


@pytest.mark.parametrize("src,dst", PAIRS)
def test_variable_move_to_in_place(src, dst):
    v = nnrs.Variable(np.arange(4.0), name="w", backend=B.get(src))
    v.grad = np.full(4, 0.5)
    old, version = v.data, v._version
    assert v.move_to(dst) is v
    assert v.backend is B.get(dst) and v.name == "w" and v._version == version + 1
    np.testing.assert_array_equal(v.numpy(), np.arange(4.0))
    np.testing.assert_array_equal(v.grad, np.full(4, 0.5))
    assert not np.shares_memory(v.data, old) and v.data.flags.c_contiguous
    assert v.move_to(dst) is v and v._version == version + 1  # already there: nothing happens


def test_to_rejects_unknown_names_and_types():
    t = nnrs.Tensor(np.ones(2))
    with pytest.raises(ValueError, match="unknown backend 'gpu'"):
        t.to("gpu")
    with pytest.raises(TypeError, match="backend name"):
        t.to(3)
    m = _mlp()
    with pytest.raises(ValueError, match="unknown backend 'tpu'"):
        m.to("tpu")
    with pytest.raises(ValueError, match="unknown backend"):
        nnrs.Variable(np.ones(2)).move_to("Cpu")


# ---- layer.to / model.to ---------------------------------------------------------------

@pytest.mark.parametrize("src,dst", PAIRS)
def test_model_to_moves_weights_in_place(src, dst):
    with B.use(src):
        m = _mlp()
    x, y = _data()
    before = [w for w in m.weights]
    values = [w.numpy().copy() for w in m.weights]
    pred = m.predict(x, verbose=0)
    assert m.to(dst) is m
    assert all(a is b for a, b in zip(before, m.weights))
    assert all(w.backend is B.get(dst) for w in m.weights)
    assert m.home_backend() is B.get(dst)
    for w, v in zip(m.weights, values):
        np.testing.assert_array_equal(w.numpy(), v)
    np.testing.assert_allclose(m.predict(x, verbose=0), pred, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("src,dst", PAIRS)
def test_layer_to_moves_its_weights(src, dst):
    with B.use(src):
        d = layers.Dense(3)
        d.build((None, 4))
    k = d.kernel
    assert d.to(dst) is d and d.kernel is k and k.backend is B.get(dst)
    out = d(np.ones((2, 4), dtype="float32"))
    assert out.backend is B.get(dst)


@pytest.mark.parametrize("src,dst", PAIRS)
def test_model_to_runs_the_kernels_of_the_new_backend(src, dst, monkeypatch):
    with B.use(src):
        m = _mlp()
    x, y = _data()
    m.fit(x, y, epochs=1, batch_size=16, verbose=0)
    calls = {"src": 0, "dst": 0}
    for key, name in (("src", src), ("dst", dst)):
        b = B.get(name)
        orig = b.linear_forward

        def counting(*a, _orig=orig, _key=key, **k):
            calls[_key] += 1
            return _orig(*a, **k)

        monkeypatch.setattr(b, "linear_forward", counting)
    m.to(dst)
    with B.use(src):  # the active backend does not matter: the weights decide
        m.fit(x, y, epochs=1, batch_size=16, verbose=0)
        m.predict(x, verbose=0)
        m.evaluate(x, y, verbose=0)
        m.train_on_batch(x[:8], y[:8])
        m.predict_on_batch(x[:8])
    assert calls["src"] == 0 and calls["dst"] > 0


def test_unbuilt_model_to_builds_its_weights_there():
    m = nnrs.Sequential([layers.Dense(4), layers.Dense(1)])
    with B.use("cpu"):
        m.to("numpy")
        m.build((None, 3))
    assert m.weights and all(w.backend.name == "numpy" for w in m.weights)
    m.compile(optimizer="sgd", loss="mse")
    x, y = _data(16)
    m.fit(x[:, :3], y, epochs=1, verbose=0)
    assert all(w.backend.name == "numpy" for w in m.weights)


def test_weightless_model_computes_where_it_was_put():
    m = nnrs.Sequential([layers.Input((2, 3)), layers.Flatten()])
    with B.use("cpu"):
        m.to("numpy")
        out = m(np.ones((1, 2, 3), dtype="float32"))
    assert out.backend.name == "numpy"


def test_stateful_rnn_states_move():
    with B.use("cpu"):
        nnrs.random.seed(3)
        m = nnrs.Sequential([layers.Input((4, 2), batch_size=2), layers.SimpleRNN(3, stateful=True)])
        x = np.random.default_rng(0).normal(size=(2, 4, 2)).astype("float32")
        m.predict(x, verbose=0)
        rnn = m.layers[-1]
        states = [s.numpy().copy() for s in rnn.states]
        ref = m.predict(x, verbose=0)
        rnn.states[0].assign(states[0])
        m.to("numpy")
    assert all(s.backend.name == "numpy" for s in rnn.states)
    np.testing.assert_allclose(m.predict(x, verbose=0), ref, rtol=1e-5, atol=1e-6)


# ---- optimizer state and training across a move -----------------------------------------

@pytest.mark.parametrize("opt", ["adam", "rmsprop", "adagrad", "sgd_momentum", "adamw"])
@pytest.mark.parametrize("src,dst", PAIRS)
def test_optimizer_state_moves_with_the_model(opt, src, dst):
    make = {"sgd_momentum": lambda: nnrs.optimizers.SGD(0.05, momentum=0.9), "adamw": lambda: nnrs.optimizers.AdamW(0.01),
            "rmsprop": lambda: nnrs.optimizers.RMSprop(0.01, momentum=0.5)}.get(opt, lambda: opt)
    with B.use(src):
        m = _mlp(make())
    x, y = _data()
    m.fit(x, y, epochs=1, batch_size=16, shuffle=False, verbose=0)
    o = m.optimizer
    before = [a.copy() for a in o.variables]
    olds = list(o.variables)
    assert before, "the optimizer should have state after a step"
    m.to(dst)
    after = o.variables
    assert all(o._slot_backends[k] is B.get(dst) for k in o._slots)
    for a, b, old in zip(after, before, olds):
        np.testing.assert_array_equal(a, b)
        assert not np.shares_memory(a, old)
    assert o.iterations == 3


@pytest.mark.parametrize("src,dst", PAIRS)
def test_there_and_back_keeps_the_trajectory_exactly(src, dst):
    """Moving away and back without a step in between changes nothing, bit for bit: the
    weights, the optimizer's moments and the iteration count all survive the moves."""
    x, y = _data()
    with B.use(src):
        a = _mlp()
        b = _mlp()
    la = _fit_losses(a, x, y, 4)
    lb = _fit_losses(b, x, y, 2)
    b.to(dst).to(src)
    lb += b.fit(x, y, epochs=2, batch_size=16, shuffle=False, verbose=0).history["loss"]
    assert la == lb
    for wa, wb in zip(a.weights, b.weights):
        np.testing.assert_array_equal(wa.numpy(), wb.numpy())


@pytest.mark.parametrize("src,dst", PAIRS)
def test_training_continues_after_a_move(src, dst):
    """Train 2 epochs on src, move, train 2 more on dst: the same losses (to rounding) as 4
    epochs on src only, and as 4 epochs on dst only; the moments were not reset (a reset
    Adam would take a visibly different step)."""
    nnrs.config.set_floatx("float64")
    try:
        x, y = _data(dtype="float64")
        with B.use(src):
            stay, move = _mlp(), _mlp()
        with B.use(dst):
            there = _mlp()
        l_stay = _fit_losses(stay, x, y, 4)
        l_there = _fit_losses(there, x, y, 4)
        l_move = _fit_losses(move, x, y, 2)
        move.to(dst)
        l_move += _fit_losses(move, x, y, 2)
        np.testing.assert_allclose(l_move, l_stay, rtol=1e-10)
        np.testing.assert_allclose(l_move, l_there, rtol=1e-10)
        for ws, wm in zip(stay.weights, move.weights):
            np.testing.assert_allclose(wm.numpy(), ws.numpy(), rtol=1e-9, atol=1e-12)

        # the same with fresh optimizer state after the move gives a different trajectory
        with B.use(src):
            reset = _mlp()
        l_reset = _fit_losses(reset, x, y, 2)
        reset.to(dst)
        reset.compile(optimizer="adam", loss="mse", metrics=["mae"])
        l_reset += _fit_losses(reset, x, y, 2)
        assert not np.allclose(l_reset[2:], l_stay[2:], rtol=1e-6)
    finally:
        nnrs.config.set_floatx("float32")


class _SumAbs(nnrs.metrics.Metric):
    """A metric keeping its state in a Variable (built-in ones keep host floats)."""

    def __init__(self, name="sum_abs", **kw):
        super().__init__(name=name, **kw)
        self.total = self.add_variable(shape=(), initializer="zeros", name="total")

    def update_state(self, y_true, y_pred, sample_weight=None):
        self.total.assign_add(nnrs.ops.sum(nnrs.ops.abs(y_pred)))

    def result(self):
        return self.total


@pytest.mark.parametrize("src,dst", PAIRS)
def test_metric_state_moves(src, dst):
    x, y = _data()
    with B.use(src):
        m = _mlp(metrics=["mae", _SumAbs()])
    r_before = m.evaluate(x, y, verbose=0)
    m.to(dst)
    from nnrs.models import _metric_state

    vs = [v for mm in m._metrics for v in _metric_state(mm)]
    assert len(vs) == 1 and vs[0].backend is B.get(dst)
    np.testing.assert_allclose(m.evaluate(x, y, verbose=0), r_before, rtol=1e-5)


def test_optimizer_to_alone_for_raw_variables():
    v = nnrs.Variable(np.ones(3), backend=B.get("cpu"))
    opt = nnrs.optimizers.Adam(0.1)
    opt.apply_gradients([(np.full(3, 0.5), v)])
    m1 = [a.copy() for a in opt.variables]
    opt.to("numpy")  # the state first, the variable after: either order works
    v.move_to("numpy")
    opt.apply_gradients([(np.full(3, 0.5), v)])
    ref_v = nnrs.Variable(np.ones(3), backend=B.get("cpu"))
    ref = nnrs.optimizers.Adam(0.1)
    ref.apply_gradients([(np.full(3, 0.5), ref_v)])
    np.testing.assert_array_equal(m1[0], ref.variables[0])
    ref.apply_gradients([(np.full(3, 0.5), ref_v)])
    np.testing.assert_allclose(v.numpy(), ref_v.numpy(), rtol=1e-12)


# ---- numpy data on every backend ---------------------------------------------------------

@pytest.mark.parametrize("where", ["numpy", "cpu"])
@pytest.mark.parametrize("active", ["numpy", "cpu"])
def test_fit_predict_evaluate_take_numpy_on_any_backend(where, active):
    with B.use(where):
        m = _mlp()
    x, y = _data()
    with B.use(active):
        h = m.fit(x, y, epochs=2, batch_size=16, verbose=0, validation_data=(x[:8], y[:8]))
        p = m.predict(x, batch_size=16, verbose=0)
        r = m.evaluate(x, y, verbose=0)
        pb = m.predict_on_batch(x[:4])
    assert np.isfinite(h.history["loss"]).all() and np.isfinite(h.history["val_loss"]).all()
    assert type(p) is np.ndarray and p.shape == (48, 1) and p.dtype == np.float32
    assert type(pb) is np.ndarray
    np.testing.assert_allclose(pb, p[:4], rtol=1e-5, atol=1e-6)
    assert len(r) == 2 and all(np.isfinite(r))
    assert all(w.backend.name == where for w in m.weights)


def test_predict_takes_a_tensor_of_another_backend():
    with B.use("numpy"):
        m = _mlp()
    x, _ = _data(8)
    t = nnrs.Tensor(x, backend=B.get("cpu"))
    np.testing.assert_allclose(m.predict(t, verbose=0), m.predict(x, verbose=0), rtol=1e-6)


# ---- saving on one backend, loading on another --------------------------------------------

@pytest.mark.parametrize("src,dst", PAIRS)
def test_saved_model_loads_on_another_backend(src, dst, tmp_path):
    x, y = _data()
    with B.use(src):
        m = _mlp()
        m.fit(x, y, epochs=2, batch_size=16, shuffle=False, verbose=0)
        m.save(tmp_path / "m.keras")
        m.save_weights(tmp_path / "m.weights.h5")
    p_src = m.predict(x, verbose=0)
    with B.use(dst):
        loaded = nnrs.models.load_model(tmp_path / "m.keras")
    assert all(w.backend.name == dst for w in loaded.weights)
    np.testing.assert_allclose(loaded.predict(x, verbose=0), p_src, rtol=1e-5, atol=1e-6)
    # and continues training like the original would (weights and optimizer state restored)
    l_orig = _fit_losses(m, x, y, 1)
    l_loaded = _fit_losses(loaded, x, y, 1)
    np.testing.assert_allclose(l_loaded, l_orig, rtol=1e-4)
    # load on the active backend, then move back where it was saved
    with B.use(dst):
        again = nnrs.models.load_model(tmp_path / "m.keras").to(src)
    assert all(w.backend.name == src for w in again.weights)
    np.testing.assert_allclose(again.predict(x, verbose=0), p_src, rtol=1e-5, atol=1e-6)
    # weights file into a model built on the other backend
    with B.use(dst):
        w = _mlp()
    w.load_weights(tmp_path / "m.weights.h5")
    assert all(v.backend.name == dst for v in w.weights)
    np.testing.assert_allclose(w.predict(x, verbose=0), p_src, rtol=1e-5, atol=1e-6)


# ---- cuda without CuPy or a GPU ------------------------------------------------------------

def test_available_lists_what_runs():
    names = B.available()
    assert "numpy" in names and "cpu" in names
    for n in names:
        B.get(n)  # every listed backend can really be made


def test_cuda_is_one_clear_error_everywhere(cuda_missing):
    with pytest.raises(B.BackendUnavailableError, match="'cuda' backend is not available") as e1:
        B.get("cuda")
    assert isinstance(e1.value, RuntimeError)
    msg = str(e1.value)
    assert "CuPy" in msg or "CUDA device" in msg
    before = B.current()
    with pytest.raises(B.BackendUnavailableError, match="cuda"):
        nnrs.set_backend("cuda")
    assert B.current() is before  # a failed set_backend changes nothing
    with pytest.raises(B.BackendUnavailableError, match="cuda"):
        with B.use("cuda"):
            pass
    assert B.current() is before
    with pytest.raises(B.BackendUnavailableError, match="cuda"):
        nnrs.Tensor(np.ones(2)).to("cuda")
    m = _mlp()
    m.fit(*_data(16), epochs=1, verbose=0)
    where = [w.backend for w in m.weights]
    state = [a.copy() for a in m.optimizer.variables]
    with pytest.raises(B.BackendUnavailableError, match="cuda"):
        m.to("cuda")
    assert [w.backend for w in m.weights] == where  # nothing moved
    for a, b in zip(m.optimizer.variables, state):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(B.BackendUnavailableError, match="cuda"):
        m.layers[0].to("cuda")
    with pytest.raises(B.BackendUnavailableError, match="cuda"):
        nnrs.Variable(np.ones(2)).move_to("cuda")
    assert "cuda" not in B.available()


def _fake_cupy(count=None, fail=None):
    cp = types.ModuleType("cupy")

    def get_device_count():
        if fail is not None:
            raise fail
        return count

    cp.cuda = types.SimpleNamespace(runtime=types.SimpleNamespace(getDeviceCount=get_device_count))
    return cp


def test_cuda_error_without_cupy(monkeypatch):
    monkeypatch.setitem(sys.modules, "cupy", None)  # import fails as if not installed
    monkeypatch.delitem(B._BACKENDS, "cuda", raising=False)
    with pytest.raises(B.BackendUnavailableError, match="CuPy is not installed"):
        B.get("cuda")


@pytest.mark.parametrize("fake,why", [
    (_fake_cupy(fail=RuntimeError("cudaErrorNoDevice: no CUDA-capable device is detected")), "found no CUDA device"),
    (_fake_cupy(count=0), "found no CUDA device"),
    (_fake_cupy(count=1), "no cuda backend module"),
])
def test_cuda_error_names_what_is_missing(monkeypatch, fake, why):
    monkeypatch.setitem(sys.modules, "cupy", fake)
    monkeypatch.delitem(B._BACKENDS, "cuda", raising=False)
    import importlib.util

    if why == "no cuda backend module" and importlib.util.find_spec("nnrs.backend.cuda_backend") is not None:
        pytest.skip("this build has a cuda backend module")
    with pytest.raises(B.BackendUnavailableError, match=why):
        B.get("cuda")
    with pytest.raises(B.BackendUnavailableError, match=why):
        nnrs.Tensor(np.ones(2)).to("cuda")
    assert "cuda" not in B.available()


def _conv_bn():
    return nnrs.Sequential([layers.Input((6, 6, 2)), layers.Conv2D(3, 3, padding="same"), layers.BatchNormalization(),
                            layers.Activation("relu"), layers.MaxPooling2D(), layers.Dropout(0.3), layers.Flatten(), layers.Dense(2)])


def _functional_lstm():
    i = nnrs.Input((5, 3))
    h = layers.LSTM(4, return_sequences=True)(i)
    g = layers.GRU(3)(h)
    return nnrs.Model(i, layers.Dense(2)(g))


@pytest.mark.parametrize("make,shape", [(_conv_bn, (6, 6, 2)), (_functional_lstm, (5, 3))], ids=["conv_bn", "lstm_gru"])
@pytest.mark.parametrize("src,dst", PAIRS)
def test_larger_models_move_and_keep_training(make, shape, src, dst):
    """Conv, batch norm (moving statistics), dropout, LSTM and GRU: after a move, the same
    predictions and the same training as a copy that never moved."""
    nnrs.config.set_floatx("float64")
    try:
        r = np.random.default_rng(1)
        x = r.normal(size=(16,) + shape)
        y = r.integers(0, 2, size=16)
        models = []
        for _ in range(2):
            nnrs.random.seed(11)
            with B.use(src):
                m = make()
                m.compile(optimizer="adam", loss=nnrs.losses.SparseCategoricalCrossentropy(from_logits=True))
                m.fit(x, y, epochs=1, batch_size=8, shuffle=False, verbose=0)
            models.append(m)
        stay, move = models
        move.to(dst)
        assert all(w.backend is B.get(dst) for w in move.weights)
        np.testing.assert_allclose(move.predict(x, verbose=0), stay.predict(x, verbose=0), rtol=1e-9, atol=1e-12)
        nnrs.random.seed(5)
        l_stay = _fit_losses(stay, x, y, 2)
        nnrs.random.seed(5)
        l_move = _fit_losses(move, x, y, 2)
        np.testing.assert_allclose(l_move, l_stay, rtol=1e-9)
        for ws, wm in zip(stay.weights, move.weights):
            np.testing.assert_allclose(wm.numpy(), ws.numpy(), rtol=1e-8, atol=1e-10)
    finally:
        nnrs.config.set_floatx("float32")


@pytest.mark.parametrize("src,active", PAIRS)
def test_sparse_crossentropy_of_probabilities_off_the_active_backend(src, active):
    x, _ = _data(8)
    y = np.array([0, 1] * 4)
    with B.use(src):
        m = nnrs.Sequential([layers.Input((5,)), layers.Dense(2)])
        m.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    with B.use(active):
        assert np.isfinite(m.fit(x, y, epochs=1, verbose=0).history["loss"]).all()
