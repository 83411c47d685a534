"""The ``cuda`` backend class (python/nnrs/backend/cuda_backend.py) on a machine without a GPU:
``cupy`` is replaced by tests/cuda/fakecupy.py, whose device arrays are not numpy arrays and whose
RawModule runs the same .cu sources compiled as C++ (g++ and the emulation header). Each
implemented kernel equals the numpy oracle on hypothesis shapes in float32 and float64 and
returns device arrays; a small Dense model moved to ``cuda`` trains like its numpy twin and its
step makes no device-to-host copy; a kernel the backend does not have yet raises a clear error."""

from __future__ import annotations

import sys

import nnrs
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from nnrs import backend as B
from nnrs import layers
from nnrs.backend import cuda_launch
from nnrs.backend.base import ACTIVATIONS, Backend

from tests.conftest import tol

from . import fakecupy

MOD = "nnrs.backend.cuda_backend"
DTYPES = st.sampled_from([np.float32, np.float64])
ALPHA = {"leaky_relu": 0.2, "elu": 1.3}


@pytest.fixture(scope="module")
def cuda():
    """The cuda backend on the fake CuPy, for this module only (see ``fakecupy.installed``)."""
    with fakecupy.installed() as be:
        yield be


def _dev(cuda, a):
    return cuda.asarray(np.ascontiguousarray(a))


def _host(cuda, d):
    assert isinstance(d, fakecupy.ndarray), f"expected a device array, got {type(d).__name__}"
    return cuda.to_numpy(d)


def _close(cuda, got, want, dtype):
    got = _host(cuda, got)
    assert got.dtype == np.dtype(dtype) and got.shape == np.shape(want)
    rtol, atol = tol(dtype)
    np.testing.assert_allclose(got, want, rtol=rtol, atol=atol)


def _x(shape, dtype, seed, scale=3.0):
    return (np.random.default_rng(seed).standard_normal(shape) * scale).astype(dtype)


# ---- the backend itself -----------------------------------------------------------------------

def test_get_cuda_gives_device_arrays(cuda):
    assert cuda.name == "cuda" and cuda.xp is fakecupy and "cuda" in B.available()
    assert B.get("cuda") is cuda
    a = np.arange(6.0).reshape(2, 3)
    d = cuda.asarray(a, dtype=np.float32)
    assert isinstance(d, fakecupy.ndarray) and not isinstance(d, np.ndarray) and d.dtype == np.float32
    np.testing.assert_array_equal(cuda.to_numpy(d), a.astype(np.float32))
    with pytest.raises(TypeError, match="implicit conversion"):  # the fake keeps CuPy's rule
        np.asarray(d)


def test_no_device_is_a_clear_error(cuda):
    fakecupy.DEVICES = 0
    saved = B._BACKENDS.pop("cuda")
    try:
        with pytest.raises(B.BackendUnavailableError, match="found no CUDA device"):
            B.get("cuda")
    finally:
        fakecupy.DEVICES = 1
        B._BACKENDS["cuda"] = saved


def test_each_kernel_file_is_compiled_once(cuda):
    be = sys.modules[MOD]
    x = _dev(cuda, _x((3, 5), np.float32, 0))
    cuda.activation_forward("relu", x)
    n = fakecupy.compiles
    for name in ("tanh", "softmax", "gelu"):
        cuda.activation_forward(name, x)
        cuda.activation_forward(name, cuda.asarray(x, dtype=np.float64))
    assert fakecupy.compiles == n
    assert set(be._MODULES) <= set(cuda_launch.KERNEL_FILES) and "activation.cu" in be._MODULES
    mod = be._MODULES["activation.cu"]
    assert mod.options == tuple(cuda_launch.nvrtc_options())
    assert not any("arch" in o for o in mod.options)  # CuPy adds the device's own architecture
    # the headers are pasted in (no include path needed, and CuPy's cache key covers them), each once
    assert mod.code == cuda_launch.kernel_source("activation.cu") and '#include "' not in mod.code
    assert mod.code.count("nn_sigmoid(T x)") == 1 and "act_forward(int act" in mod.code


# ---- parity with the numpy oracle --------------------------------------------------------------

@settings(max_examples=40, deadline=None)
@given(name=st.sampled_from(ACTIVATIONS), rows=st.integers(0, 40), cols=st.integers(1, 300), dtype=DTYPES,
       seed=st.integers(0, 2**31))
def test_activations_match_numpy(cuda, ref, name, rows, cols, dtype, seed):
    x = _x((rows, cols), dtype, seed)
    gy = _x((rows, cols), dtype, seed + 1, 1.0)
    alpha = ALPHA.get(name, 0.0)
    y = cuda.activation_forward(name, _dev(cuda, x), alpha)
    want_y = ref.activation_forward(name, x, alpha)
    _close(cuda, y, want_y, dtype)
    gx = cuda.activation_backward(name, _dev(cuda, gy), _dev(cuda, x), y, alpha)
    _close(cuda, gx, ref.activation_backward(name, gy, x, want_y, alpha), dtype)


@settings(max_examples=30, deadline=None)
@given(shape=st.lists(st.integers(1, 7), min_size=1, max_size=3), data=st.data(), log=st.booleans(), dtype=DTYPES,
       seed=st.integers(0, 2**31))
def test_softmax_any_axis_matches_numpy(cuda, ref, shape, data, log, dtype, seed):
    axis = data.draw(st.integers(-len(shape), len(shape) - 1))
    x, gy = _x(shape, dtype, seed), _x(shape, dtype, seed + 1, 1.0)
    y = cuda.softmax_forward(_dev(cuda, x), axis, log)
    want = ref.softmax_forward(x, axis, log)
    _close(cuda, y, want, dtype)
    _close(cuda, cuda.softmax_backward(_dev(cuda, gy), y, axis, log), ref.softmax_backward(gy, want, axis, log), dtype)


@settings(max_examples=30, deadline=None)
@given(n=st.integers(1, 9), k=st.integers(1, 9), m=st.integers(1, 9), ta=st.booleans(), tb=st.booleans(), dtype=DTYPES,
       act=st.sampled_from(["linear", "relu", "tanh", "softmax"]), bias=st.booleans(), seed=st.integers(0, 2**31))
def test_matmul_and_linear_match_numpy(cuda, ref, n, k, m, ta, tb, dtype, act, bias, seed):
    a = _x((k, n) if ta else (n, k), dtype, seed)
    b = _x((m, k) if tb else (k, m), dtype, seed + 1)
    _close(cuda, cuda.matmul(_dev(cuda, a), _dev(cuda, b), ta, tb), ref.matmul(a, b, ta, tb), dtype)
    x, w, bb = _x((n, k), dtype, seed), _x((k, m), dtype, seed + 2), _x((m,), dtype, seed + 3) if bias else None
    y = cuda.linear_forward(_dev(cuda, x), _dev(cuda, w), None if bb is None else _dev(cuda, bb), act)
    _close(cuda, y, ref.linear_forward(x, w, bb, act), dtype)
    gy = _x((n, m), dtype, seed + 4)
    got = cuda.linear_backward(_dev(cuda, x), _dev(cuda, w), _dev(cuda, gy), True, bias)
    want = ref.linear_backward(x, w, gy, True, bias)
    for g, wg in zip(got, want):
        assert (g is None) == (wg is None)
        if g is not None:
            _close(cuda, g, wg, dtype)


@settings(max_examples=40, deadline=None)
@given(rows=st.integers(0, 300), classes=st.integers(1, 12), sparse=st.booleans(), weighted=st.booleans(),
       device_grad=st.sampled_from(["float", "host0d", "device0d"]), dtype=DTYPES, seed=st.integers(0, 2**31))
def test_softmax_crossentropy_matches_numpy(cuda, ref, rows, classes, sparse, weighted, device_grad, dtype, seed):
    rng = np.random.default_rng(seed)
    logits = _x((rows, classes), dtype, seed, 4.0)
    if sparse:
        target = rng.integers(0, classes, size=rows).astype(np.int64)
    else:
        target = np.eye(classes, dtype=dtype)[rng.integers(0, classes, size=rows)] * dtype(0.9) + dtype(0.1 / classes)
    weight = rng.uniform(0.0, 2.0, size=rows).astype(dtype) if weighted else None
    dl, dt, dw = _dev(cuda, logits), _dev(cuda, target), None if weight is None else _dev(cuda, weight)
    loss = cuda.loss_forward("softmax_crossentropy", dl, dt, dw)
    assert isinstance(loss, fakecupy.ndarray) and loss.shape == ()  # stays on the device
    _close(cuda, loss, ref.loss_forward("softmax_crossentropy", logits, target, weight), dtype)
    grad = 0.7
    g_arg = {"float": grad, "host0d": np.asarray(grad, dtype), "device0d": cuda.asarray(np.asarray(grad, dtype))}[device_grad]
    g = cuda.loss_backward("softmax_crossentropy", dl, dt, dw, g_arg)
    _close(cuda, g, ref.loss_backward("softmax_crossentropy", logits, target, weight, grad), dtype)


@settings(max_examples=30, deadline=None)
@given(shape=st.lists(st.integers(0, 40), min_size=1, max_size=3), rate=st.sampled_from([0.0, 0.1, 0.5, 0.9]), dtype=DTYPES,
       seed=st.integers(0, 2**64 - 1))
def test_dropout_masks_equal_numpy_exactly(cuda, ref, shape, rate, dtype, seed):
    x = _x(shape, dtype, seed % 2**31)
    y, mask = cuda.dropout_forward(_dev(cuda, x), rate, seed)
    want_y, want_mask = ref.dropout_forward(x, rate, seed)
    np.testing.assert_array_equal(_host(cuda, mask), want_mask)
    np.testing.assert_array_equal(_host(cuda, y), want_y)


def _opt_case(cuda, ref, kernel, n, dtype, seed, state_names, **kw):
    rng = np.random.default_rng(seed)
    param, grad = rng.standard_normal(n).astype(dtype), rng.standard_normal(n).astype(dtype)
    states = {s: (np.abs(rng.standard_normal(n)).astype(dtype) if kw.pop(f"use_{s}", True) else None) for s in state_names}
    dp = _dev(cuda, param)
    ds = {s: None if v is None else _dev(cuda, v) for s, v in states.items()}
    getattr(cuda, kernel)(dp, _dev(cuda, grad), *ds.values(), **kw)
    getattr(ref, kernel)(param, grad, *states.values(), **kw)
    _close(cuda, dp, param, dtype)  # updated in place on the device, as the oracle's host arrays
    for s, v in states.items():
        if v is not None:
            _close(cuda, ds[s], v, dtype)


@settings(max_examples=40, deadline=None)
@given(n=st.integers(0, 700), dtype=DTYPES, seed=st.integers(0, 2**31), momentum=st.sampled_from([0.0, 0.9]),
       nesterov=st.booleans(), wd=st.sampled_from([0.0, 0.01]), which=st.sampled_from(["sgd", "adam", "rmsprop", "adagrad"]),
       step=st.integers(1, 5))
def test_optimizer_updates_match_numpy(cuda, ref, n, dtype, seed, momentum, nesterov, wd, which, step):
    if which == "sgd":
        _opt_case(cuda, ref, "sgd_update", n, dtype, seed, ["velocity"], use_velocity=bool(momentum), lr=0.05,
                  momentum=momentum, nesterov=nesterov, weight_decay=wd)
    elif which == "adam":
        _opt_case(cuda, ref, "adam_update", n, dtype, seed, ["m", "v"], lr=0.01, beta1=0.9, beta2=0.999, eps=1e-7, step=step,
                  weight_decay=wd)
    elif which == "rmsprop":
        _opt_case(cuda, ref, "rmsprop_update", n, dtype, seed, ["ms", "mom"], use_mom=bool(momentum), lr=0.01, rho=0.9,
                  momentum=momentum, eps=1e-7, weight_decay=wd)
    else:
        _opt_case(cuda, ref, "adagrad_update", n, dtype, seed, ["acc"], lr=0.01, eps=1e-7, weight_decay=wd)


@settings(max_examples=30, deadline=None)
@given(op=st.sampled_from(["add", "sub", "mul", "div", "maximum", "minimum"]), shape=st.lists(st.integers(1, 5), min_size=1, max_size=3),
       bcast=st.booleans(), dtype=DTYPES, seed=st.integers(0, 2**31), red=st.sampled_from(["sum", "mean", "max", "min"]),
       s=st.sampled_from([-1.5, 0.25, 3.0]), reverse=st.booleans())
def test_binary_and_reduce_match_numpy(cuda, ref, op, shape, bcast, dtype, seed, red, s, reverse):
    a = _x(shape, dtype, seed)
    b = _x(shape[-1:] if bcast else shape, dtype, seed + 1)
    _close(cuda, cuda.binary(op, _dev(cuda, a), _dev(cuda, b)), ref.binary(op, a, b), dtype)
    _close(cuda, cuda.binary_scalar(op, _dev(cuda, a), s, reverse), ref.binary_scalar(op, a, s, reverse), dtype)
    for axes in (None, (0,), (-1,)):
        _close(cuda, cuda.reduce(red, _dev(cuda, a), axes, True), ref.reduce(red, a, axes, True), dtype)


# ---- the whole contract ----------------------------------------------------------------------

def test_every_contract_kernel_is_implemented(cuda):
    """A kernel added to the contract (backend/base.py) without a cuda implementation fails here."""
    cls = sys.modules[MOD].CudaBackend
    contract = [k for k, v in vars(Backend).items() if callable(v) and not k.startswith("_")]
    assert [k for k in contract if getattr(cls, k) is getattr(Backend, k)] == []


def test_fake_kernel_call_is_strict(cuda):
    """The fake refuses what real CuPy would pass on silently wrong: Python scalars for typed
    parameters, non-contiguous or wrongly typed arrays, 2-D grids."""
    fn = sys.modules[MOD].module("activation.cu").get_function("activation_forward_f32")
    x = _dev(cuda, np.ones(4, np.float32))
    y = fakecupy.zeros(4, dtype=np.float32)
    fn((1,), (256,), (np.int32(3), x, y, np.int64(4), np.float32(0)))
    np.testing.assert_array_equal(y.get(), np.ones(4, np.float32))
    with pytest.raises(TypeError, match="scalar alpha must be numpy.float32"):
        fn((1,), (256,), (np.int32(3), x, y, np.int64(4), 0.0))
    with pytest.raises(TypeError, match="argument y must be a C-contiguous float32"):
        fn((1,), (256,), (np.int32(3), x, fakecupy.zeros(8, dtype=np.float32)[::2], np.int64(4), np.float32(0)))
    with pytest.raises(TypeError, match="argument x must be a C-contiguous float32"):
        fn((1,), (256,), (np.int32(3), cuda.asarray(x, dtype=np.float64), y, np.int64(4), np.float32(0)))
    with pytest.raises(ValueError, match="grid must be a 1-D tuple"):
        fn((1, 2), (256,), (np.int32(3), x, y, np.int64(4), np.float32(0)))


def test_in_place_update_of_a_non_contiguous_param_is_an_error(cuda):
    p = fakecupy.zeros((4, 6), dtype=np.float32)[:, ::2]
    g = fakecupy.ones((4, 3), dtype=np.float32)
    with pytest.raises(ValueError, match="sgd_update: param must be C-contiguous"):
        cuda.sgd_update(p, g, None, 0.1)


# ---- placement and training ------------------------------------------------------------------

def test_tensor_to_cuda_and_back(cuda):
    a = np.arange(12.0).reshape(3, 4)
    t = nnrs.Tensor(a, backend=B.get("numpy"), requires_grad=True)
    u = t.to("cuda")
    assert u.backend is cuda and isinstance(u.data, fakecupy.ndarray)
    v = nnrs.ops.relu(u)
    back = v.to("numpy")
    assert back.backend is B.get("numpy")
    np.testing.assert_array_equal(back.numpy(), a)
    nnrs.ops.sum(back).backward()
    np.testing.assert_array_equal(t.grad.numpy() if hasattr(t.grad, "numpy") else t.grad, (a > 0).astype(a.dtype))


def _dense_model(dropout):
    nnrs.random.seed(11)
    stack = [layers.Input((5,)), layers.Dense(8, activation="tanh")]
    if dropout:
        stack.append(layers.Dropout(0.25))
    stack += [layers.Dense(6, activation="relu"), layers.Dense(3)]
    m = nnrs.Sequential(stack)
    m.compile(optimizer=nnrs.optimizers.Adam(0.01), loss=nnrs.losses.SparseCategoricalCrossentropy(from_logits=True))
    return m


def _batch(n=16, seed=3):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, 5)).astype(np.float32), rng.integers(0, 3, size=n).astype(np.int64)


@pytest.mark.parametrize("dropout", [False, True])
def test_dense_model_trains_on_cuda_like_numpy(cuda, dropout):
    x, y = _batch()
    ref_m, m = _dense_model(dropout), _dense_model(dropout)
    ref_m.to("numpy")
    m.to("cuda")
    assert all(isinstance(v.data, fakecupy.ndarray) for v in m.weights)
    for i in range(3):
        nnrs.random.seed(100 + i)  # the same dropout seed for both
        want = ref_m.train_on_batch(x, y)
        nnrs.random.seed(100 + i)
        got = m.train_on_batch(x, y)
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    for a, b in zip(m.get_weights(), ref_m.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)
    p = m.predict(x, verbose=0)
    assert isinstance(p, np.ndarray)
    np.testing.assert_allclose(p, ref_m.predict(x, verbose=0), rtol=1e-4, atol=1e-5)
    m.to("numpy")  # and back: weights and optimizer state are host arrays again, training goes on the same
    assert all(isinstance(v.data, np.ndarray) for v in m.weights)
    nnrs.random.seed(200)
    got = m.train_on_batch(x, y)
    nnrs.random.seed(200)
    np.testing.assert_allclose(got, ref_m.train_on_batch(x, y), rtol=1e-5, atol=1e-6)


def test_training_step_makes_no_host_copy(cuda):
    """One step (forward, fused loss, backward, fused Adam update) moves nothing to the host;
    the loss value reaches it only when asked for."""
    x, y = _batch()
    m = _dense_model(True)
    m.to("cuda")
    loss_fn = nnrs.losses.SparseCategoricalCrossentropy(from_logits=True)
    xd = nnrs.Tensor(x, backend=cuda)  # labels stay host ints, as fit hands them: losses.py checks them on the host
    m.optimizer.build(m.trainable_variables)
    for _ in range(2):  # the first step also creates the optimizer state
        fakecupy.reset_counters()
        loss = loss_fn(y, m(xd, training=True))
        loss.backward()
        m.optimizer.apply_gradients([(v.grad, v) for v in m.trainable_variables])
        assert fakecupy.transfers == 0, f"{fakecupy.transfers} device-to-host copies in one training step"
        assert fakecupy.launches > 0 and fakecupy.uploads == 1  # the checked labels
        for v in m.trainable_variables:
            v.grad = None
    assert np.isfinite(float(loss.data)) and fakecupy.transfers == 1  # asked for: one copy


def test_fit_copies_the_loss_once_per_epoch_unless_a_callback_reads_batches(cuda):
    """Without a callback reading batch logs, ``fit`` keeps the batch losses on the device and
    copies their weighted sum once per epoch; a batch-level callback (the progress bar, a
    LambdaCallback) gets each batch's loss, one copy per step, as it asked."""
    x, y = _batch(48)
    m = _dense_model(False)
    m.to("cuda")
    fakecupy.reset_counters()
    h = m.fit(x, y, epochs=2, batch_size=16, shuffle=False, verbose=0)
    assert len(h.history["loss"]) == 2 and np.all(np.isfinite(h.history["loss"]))
    assert fakecupy.transfers == 2, f"{fakecupy.transfers} device-to-host copies in 2 epochs of 3 steps"
    seen = []
    fakecupy.reset_counters()
    h2 = m.fit(x, y, epochs=1, batch_size=16, shuffle=False, verbose=0,
               callbacks=[nnrs.callbacks.LambdaCallback(on_train_batch_end=lambda b, logs: seen.append(logs["loss"]))])
    assert len(seen) == 3 and fakecupy.transfers == 3
    assert h2.history["loss"][0] == pytest.approx(seen[-1], rel=1e-12)


@pytest.mark.parametrize("make_opt", [
    lambda: nnrs.optimizers.SGD(0.05, momentum=0.9, nesterov=True),
    lambda: nnrs.optimizers.AdamW(0.01, weight_decay=0.01),
    lambda: nnrs.optimizers.RMSprop(0.01, momentum=0.5),
    lambda: nnrs.optimizers.Adagrad(0.05),
], ids=["sgd", "adamw", "rmsprop", "adagrad"])
def test_one_hot_model_with_each_optimizer_matches_numpy(cuda, make_opt):
    x, labels = _batch()
    y = np.eye(3, dtype=np.float32)[labels]
    models = []
    for where in ("numpy", "cuda"):
        nnrs.random.seed(5)
        m = nnrs.Sequential([layers.Input((5,)), layers.Dense(7, activation="elu"), layers.Dense(3)])
        m.compile(optimizer=make_opt(), loss=nnrs.losses.CategoricalCrossentropy(from_logits=True))
        m.to(where)
        models.append(m)
    for _ in range(3):
        np.testing.assert_allclose(models[1].train_on_batch(x, y), models[0].train_on_batch(x, y), rtol=1e-5, atol=1e-6)
    for a, b in zip(models[1].get_weights(), models[0].get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)
