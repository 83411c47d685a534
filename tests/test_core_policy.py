"""The core's policies: tensors know their backend, thread-local state, version counters,
a lean backward (saved arrays released, leaf gradients never aliased)."""

import threading

import nnrs
import numpy as np
import pytest
from nnrs import ops
from nnrs.tensor import Tensor, Variable

from tests.conftest import host


# ---- tensors know their backend ---------------------------------------------------------
def test_tensor_keeps_the_backend_it_was_made_on():
    with nnrs.backend.use("numpy"):
        t = Tensor(np.ones(3, np.float32))
    assert t.backend.name == "numpy"
    with nnrs.backend.use("cpu"):
        y = t * 2.0 + t  # runs on numpy, where t lives
        assert y.backend.name == "numpy"
        np.testing.assert_array_equal(y.numpy(), np.full(3, 3.0, np.float32))


def test_mixing_backends_in_one_op_is_a_clear_error():
    with nnrs.backend.use("numpy"):
        a = Tensor(np.ones(3, np.float32))
    with nnrs.backend.use("cpu"):
        b = Tensor(np.ones(3, np.float32))
    with pytest.raises(ValueError, match=r"Binary: the operands live on different backends \('numpy' and 'cpu'\)"):
        a + b


def test_model_built_on_one_backend_keeps_working_after_set_backend():
    x = np.random.default_rng(0).standard_normal((16, 4)).astype(np.float32)
    y = (x.sum(axis=1) > 0).astype(np.int64)
    with nnrs.backend.use("numpy"):
        nnrs.random.seed(0)
        m = nnrs.Sequential([nnrs.Input((4,)), nnrs.layers.Dense(8, activation="relu"), nnrs.layers.Dense(2)])
        m.compile(optimizer="adam", loss=nnrs.losses.SparseCategoricalCrossentropy(from_logits=True))
    with nnrs.backend.use("cpu"):
        m.fit(x, y, epochs=2, batch_size=8, verbose=0)
        m.train_on_batch(x, y)
        assert m.evaluate(x, y, verbose=0) > 0
        assert m.predict(x, verbose=0).shape == (16, 2)
        assert m(x).backend.name == "numpy"
    assert all(w.backend.name == "numpy" for w in m.weights)


# ---- thread-local state -----------------------------------------------------------------
def _in_thread(fn):
    out = {}

    def run():
        out["v"] = fn()

    th = threading.Thread(target=run)
    th.start()
    th.join()
    return out["v"]


def test_grad_mode_is_per_thread():
    with nnrs.no_grad():
        assert not nnrs.is_grad_enabled()
        assert _in_thread(nnrs.is_grad_enabled) is True
    assert nnrs.is_grad_enabled()


def test_active_backend_is_per_thread():
    default = _in_thread(lambda: nnrs.backend.current().name)
    with nnrs.backend.use("numpy"):
        assert nnrs.backend.current().name == "numpy"
        assert _in_thread(lambda: nnrs.backend.current().name) == default


# ---- version counters -----------------------------------------------------------------
def test_backward_after_an_in_place_update_is_an_error(backend):
    w = Variable(np.ones((3, 2)), name="w", dtype="float64")
    x = Tensor(np.ones((4, 3)))
    loss = ops.sum(ops.matmul(x, w))
    w.assign(np.zeros((3, 2)))
    with pytest.raises(RuntimeError, match=r"variable 'w' was changed in place .* after this graph used it"):
        loss.backward()


def test_optimizer_step_bumps_the_version(backend):
    w = Variable(np.ones(3, np.float32), name="w")
    loss = ops.sum(ops.square(w))
    loss.backward()
    stale = ops.sum(ops.multiply(w, 2.0))
    nnrs.optimizers.SGD(0.1).apply_gradients([(w.grad, w)])
    with pytest.raises(RuntimeError, match="changed in place"):
        stale.backward()
    fresh = ops.sum(ops.multiply(w, 2.0))
    fresh.backward()  # a graph recorded after the step is fine


# ---- a lean backward ------------------------------------------------------------------
def test_backward_releases_saved_arrays_and_refuses_a_second_pass(backend):
    x = Tensor(np.ones((2, 3)), requires_grad=True)
    y = ops.tanh(ops.multiply(x, 3.0))
    loss = ops.sum(y)
    node = y._ctx
    assert hasattr(node, "y")  # the activation saved its output for backward
    loss.backward()
    assert not hasattr(node, "y") and not hasattr(node, "x")
    with pytest.raises(RuntimeError, match="second time"):
        loss.backward()


def test_retain_graph_allows_a_second_backward(backend):
    x = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    loss = ops.sum(ops.square(x))
    loss.backward(retain_graph=True)
    loss.backward()
    np.testing.assert_allclose(host(x.grad), [4.0, 8.0])


def test_leaf_gradients_never_share_a_buffer(backend):
    a = Tensor(np.ones(3), requires_grad=True)
    b = Tensor(np.ones(3), requires_grad=True)
    (a + b).backward()  # add passes one gradient array to both inputs
    assert not backend.xp.shares_memory(a.grad, b.grad)
    a.grad += 1
    np.testing.assert_array_equal(host(b.grad), np.ones(3))


def test_a_train_step_keeps_no_graph_alive():
    import gc
    import weakref

    nnrs.random.seed(0)
    m = nnrs.Sequential([nnrs.Input((4,)), nnrs.layers.Dense(8, activation="relu"), nnrs.layers.Dense(1)])
    m.compile(optimizer="sgd", loss="mse")
    x, y = np.ones((8, 4), np.float32), np.ones((8, 1), np.float32)
    m._prepare_training()
    lv, out = m._train_batch(m._bk.asarray(x), y, None)
    assert out._ctx is None and lv.shape == ()  # predictions come back detached, the loss as a 0-d array
    import nnrs.function as fn

    nodes = [o for o in gc.get_objects() if isinstance(o, fn.Function)]
    refs = [weakref.ref(n) for n in nodes]
    del nodes
    m._train_batch(m._bk.asarray(x), y, None)
    gc.collect()
    alive = [r() for r in refs if r() is not None and getattr(r(), "parents", ())]
    assert not alive, f"{len(alive)} graph nodes of an earlier step still hold their inputs"
