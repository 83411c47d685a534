"""The CUDA kernels, compiled as C++ with tests/cuda/emulation/cuda_emulation.h and launched
over the grid of nnrs.backend.cuda_launch, equal the numpy oracle (the numpy backend's
methods) in float32 and float64 on hypothesis shapes: size 0 and 1, odd sizes, sizes that are
not a multiple of the block, and grids capped low so the grid-stride loops wrap. Every array
is passed with poisoned guard zones (NaN), so a write outside it fails and a read outside it
turns a result into NaN."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from nnrs.backend import cuda_launch
from nnrs.backend.base import ACTIVATIONS

from tests.conftest import tol

from .emulation.loader import Guarded

DTYPES = st.sampled_from([np.float32, np.float64])
# element counts: empty, one, around the block size, and a few blocks with a ragged end
SIZES = st.one_of(st.sampled_from([0, 1, 2, 255, 256, 257, 513]), st.integers(0, 1500))
# the grid: cuda_launch's own, or capped at 1..3 blocks so the stride loop takes several turns
MAX_GRID = st.sampled_from([cuda_launch.MAX_GRID, cuda_launch.MAX_GRID, 1, 2, 3])
ALPHA = {"leaky_relu": 0.2, "elu": 1.3}


def _x(n, dtype, seed, scale=3.0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(n) * scale
    if n > 2:
        x[rng.integers(0, n, size=max(1, n // 10))] = 0.0  # the kinks of relu & co
    return x.astype(dtype)


def test_emulation_runs_the_threads_of_a_launch_out_of_order(tmp_path):
    """A kernel whose thread i reads what thread i - 1 writes in the same launch is right only if
    the threads run in order, which a GPU does not do; the emulation's scrambled order shows it.
    Every pair still runs exactly once."""
    from .emulation import loader

    if not loader.have_cxx():
        pytest.skip("g++ is not installed")
    src = tmp_path / "racy.cu"
    src.write_text('#include "nnrs_common.cuh"\n'
                   'extern "C" __global__ void chain(float* y, long long* hits, nn_index n) {\n'
                   '    for (nn_index i = nn_first(); i < n; i += nn_stride()) {\n'
                   '        y[i] = (i > 0 ? y[i - 1] : 0.0f) + 1.0f;\n'
                   '        hits[i] += 1;\n'
                   '    }\n'
                   '}\n')
    cmd, so, kernels = loader.build(str(src), str(tmp_path))
    import subprocess

    subprocess.run(cmd, check=True)
    fn, _ = loader.EmulatedModule(so, kernels).sig["chain"]
    n = 1000
    y, hits = np.zeros(n, np.float32), np.zeros(n, np.int64)
    fn(4, 256, y.ctypes.data, hits.ctypes.data, n)
    assert np.array_equal(hits, np.ones(n, np.int64))
    assert not np.array_equal(y, np.arange(1, n + 1, dtype=np.float32))  # what an in-order run would give


def test_activation_codes_cover_the_contract():
    assert set(cuda_launch.ELEMENTWISE_ACTIVATIONS) == set(ACTIVATIONS) - {"softmax", "log_softmax"}
    assert cuda_launch.activation_code("linear") == 0
    with pytest.raises(ValueError, match="unknown activation 'nope'"):
        cuda_launch.activation_code("nope")


def test_launch_config():
    assert cuda_launch.launch_config("activation_forward", 0) == (1, 256)
    assert cuda_launch.launch_config("activation_forward", 257) == (2, 256)
    assert cuda_launch.launch_config("activation_forward", 10**9) == (cuda_launch.MAX_GRID, 256)
    assert cuda_launch.launch_config("softmax_xent_forward_sparse", 129) == (2, 128)
    assert cuda_launch.launch_config("adam_update", 10**6, max_grid=3) == (3, 256)
    with pytest.raises(ValueError, match="unknown CUDA kernel"):
        cuda_launch.launch_config("nope", 3)
    with pytest.raises(ValueError, match="float32 or float64"):
        cuda_launch.kernel_name("adam_update", np.int32)


def test_scalar_args_follow_the_kernel_signature():
    sigs = cuda_launch.signatures()
    assert {f"{k}_{d}" for k in cuda_launch.KERNELS for d in ("f32", "f64")} == set(sigs)
    args = cuda_launch.scalar_args("dropout_forward_f32", (None, None, None, 5, 2**64 - 1, 3, 2.0))
    assert [type(a) for a in args[3:]] == [np.int64, np.uint64, np.uint64, np.float32]
    assert all(a is cuda_launch.NULL and a == 0 for a in args[:3])  # None: a 64-bit null pointer, never None itself
    assert type(cuda_launch.scalar_args("adam_update_f64", (None,) * 4 + (7,) + (0.1,) * 5)[5]) is np.float64
    assert type(cuda_launch.scalar_args("activation_forward_f32", (3, None, None, 0, 0.5))[0]) is np.int32
    with pytest.raises(TypeError, match=r"adam_update_f32 takes 10 arguments \(param, grad, m, v, n, c1"):
        cuda_launch.scalar_args("adam_update_f32", (1, 2))
    with pytest.raises(ValueError, match="unknown CUDA kernel"):
        cuda_launch.scalar_args("adam_update", ())


# ---- activations ------------------------------------------------------------------------------

@settings(max_examples=60, deadline=None)
@given(name=st.sampled_from(cuda_launch.ELEMENTWISE_ACTIVATIONS), n=SIZES, dtype=DTYPES, seed=st.integers(0, 2**31),
       scale=st.sampled_from([0.1, 1.0, 6.0, 40.0]), max_grid=MAX_GRID)
def test_activation_matches_numpy(emu, ref, name, n, dtype, seed, scale, max_grid):
    mod = emu["activation.cu"]
    x = _x(n, dtype, seed, scale)
    gy = _x(n, dtype, seed + 1, 1.0)
    alpha = ALPHA.get(name, 0.0)
    code = cuda_launch.activation_code(name)
    gx_, y_ = Guarded(x), Guarded(np.zeros(n, dtype))
    mod.launch("activation_forward", dtype, n, code, gx_, y_, n, alpha, max_grid=max_grid)
    y = y_.check("y")
    want = ref.activation_forward(name, x, alpha)
    np.testing.assert_allclose(y, want, *tol(dtype), err_msg=f"{name} forward")
    g_ = Guarded(np.zeros(n, dtype))
    mod.launch("activation_backward", dtype, n, code, Guarded(gy), gx_, Guarded(want), g_, n, alpha, max_grid=max_grid)
    gx = g_.check("gx")
    np.testing.assert_allclose(gx, ref.activation_backward(name, gy, x, want, alpha), *tol(dtype), err_msg=f"{name} backward")
    assert np.array_equal(gx_.check("x"), x)  # the input is left alone


@pytest.mark.parametrize("name", cuda_launch.ELEMENTWISE_ACTIVATIONS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_activation_forward_keeps_nan_and_infinities_as_numpy(emu, ref, name, dtype):
    # a NaN input stays NaN (relu of NaN is NaN as numpy's maximum, not 0), and the infinities and signed zeros agree
    x = np.array([np.nan, -np.nan, np.inf, -np.inf, 0.0, -0.0, 1.5, -1.5], dtype)
    alpha = ALPHA.get(name, 0.0)
    y_ = Guarded(np.zeros(x.size, dtype))
    emu["activation.cu"].launch("activation_forward", dtype, x.size, cuda_launch.activation_code(name), Guarded(x), y_, x.size, alpha)
    np.testing.assert_allclose(y_.check("y"), ref.activation_forward(name, x, alpha), *tol(dtype), err_msg=name)


@settings(max_examples=40, deadline=None)
@given(log=st.booleans(), rows=st.one_of(st.sampled_from([0, 1, 127, 128, 129]), st.integers(0, 300)),
       cols=st.one_of(st.sampled_from([1, 2]), st.integers(1, 37)), dtype=DTYPES, seed=st.integers(0, 2**31),
       scale=st.sampled_from([0.1, 1.0, 40.0]), max_grid=MAX_GRID)
def test_softmax_rows_match_numpy(emu, ref, log, rows, cols, dtype, seed, scale, max_grid):
    mod = emu["activation.cu"]
    name = "log_softmax" if log else "softmax"
    x = _x(rows * cols, dtype, seed, scale).reshape(rows, cols)
    gy = _x(rows * cols, dtype, seed + 1, 1.0).reshape(rows, cols)
    y_ = Guarded(np.zeros((rows, cols), dtype))
    mod.launch("softmax_rows_forward", dtype, rows, int(log), Guarded(x), y_, rows, cols, max_grid=max_grid)
    want = ref.activation_forward(name, x)
    np.testing.assert_allclose(y_.check("y"), want, *tol(dtype), err_msg=f"{name} forward")
    g_ = Guarded(np.zeros((rows, cols), dtype))
    mod.launch("softmax_rows_backward", dtype, rows, int(log), Guarded(gy), Guarded(want), g_, rows, cols, max_grid=max_grid)
    np.testing.assert_allclose(g_.check("gx"), ref.activation_backward(name, gy, x, want), *tol(dtype), err_msg=f"{name} backward")


# ---- softmax cross-entropy --------------------------------------------------------------------

ROWS = st.one_of(st.sampled_from([0, 1, 127, 128, 129]), st.integers(0, 300))
CLASSES = st.one_of(st.sampled_from([1, 2, 10]), st.integers(1, 37))


def _xent_data(rows, classes, dtype, seed, sparse):
    rng = np.random.default_rng(seed)
    logits = (rng.standard_normal((rows, classes)) * 4).astype(dtype)
    labels = rng.integers(0, classes, size=rows).astype(np.int64)
    target = labels if sparse else np.eye(classes, dtype=dtype)[labels]
    if not sparse and rows and classes > 1 and seed % 2:  # soft targets too
        target = rng.dirichlet(np.ones(classes), size=rows).astype(dtype)
    return logits, labels, target


@settings(max_examples=50, deadline=None)
@given(rows=ROWS, classes=CLASSES, dtype=DTYPES, seed=st.integers(0, 2**31), sparse=st.booleans(), weighted=st.booleans(),
       grad=st.sampled_from([1.0, 0.5, -2.0]), max_grid=MAX_GRID)
def test_softmax_xent_matches_numpy(emu, ref, rows, classes, dtype, seed, sparse, weighted, grad, max_grid):
    mod = emu["loss.cu"]
    logits, labels, target = _xent_data(rows, classes, dtype, seed, sparse)
    kind = "sparse" if sparse else "onehot"
    tg = Guarded(target)
    loss_ = Guarded(np.zeros(rows, dtype))
    mod.launch(f"softmax_xent_forward_{kind}", dtype, rows, Guarded(logits), tg, loss_, rows, classes, max_grid=max_grid)
    want = ref._per_sample("softmax_crossentropy", logits, target, 1.0)
    np.testing.assert_allclose(loss_.check("loss"), want, *tol(dtype), err_msg=f"{kind} forward")

    weight = np.random.default_rng(seed + 7).uniform(0, 2, rows).astype(dtype) if weighted else None
    g_ = Guarded(np.zeros((rows, classes), dtype))
    scale = cuda_launch.softmax_xent_scale(grad, rows)
    mod.launch(f"softmax_xent_backward_{kind}", dtype, rows, Guarded(logits), tg, None if weight is None else Guarded(weight), g_,
               rows, classes, scale, max_grid=max_grid)
    want = ref.loss_backward("softmax_crossentropy", logits, target, weight, grad)
    np.testing.assert_allclose(g_.check("g"), want, *tol(dtype), err_msg=f"{kind} backward")


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_softmax_xent_bad_label_gives_nan_not_a_stray_read(emu, dtype):
    mod = emu["loss.cu"]
    logits = np.zeros((3, 4), dtype)
    labels = np.array([0, 4, -1], np.int64)
    loss_ = Guarded(np.zeros(3, dtype))
    mod.launch("softmax_xent_forward_sparse", dtype, 3, Guarded(logits), Guarded(labels), loss_, 3, 4)
    loss = loss_.check("loss")
    assert loss[0] == pytest.approx(np.log(4)) and np.isnan(loss[1:]).all()
    g_ = Guarded(np.zeros((3, 4), dtype))
    mod.launch("softmax_xent_backward_sparse", dtype, 3, Guarded(logits), Guarded(labels), None, g_, 3, 4, 1.0)
    g = g_.check("g")
    assert np.isfinite(g[0]).all() and np.isnan(g[1:]).all()


# ---- dropout ----------------------------------------------------------------------------------

@settings(max_examples=50, deadline=None)
@given(n=SIZES, dtype=DTYPES, seed=st.one_of(st.integers(0, 2**64 - 1), st.integers(-(2**63), -1)),
       rate=st.one_of(st.sampled_from([0.0, 0.5, 0.9, 0.999]), st.floats(0.0, 0.99)), max_grid=MAX_GRID)
def test_dropout_masks_equal_numpy_exactly(emu, ref, n, dtype, seed, rate, max_grid):
    mod = emu["dropout.cu"]
    x = _x(n, dtype, n + 3)
    y_, m_ = Guarded(np.zeros(n, dtype)), Guarded(np.zeros(n, dtype))
    mod.launch("dropout_forward", dtype, n, Guarded(x), y_, m_, n, cuda_launch.dropout_seed(seed),
               cuda_launch.dropout_threshold(rate), cuda_launch.dropout_scale(rate), max_grid=max_grid)
    want_y, want_mask = ref.dropout_forward(x, rate, seed)
    mask = m_.check("mask")
    assert np.array_equal(mask, want_mask) and mask.dtype == want_mask.dtype
    assert np.array_equal(y_.check("y"), want_y)
    gy = _x(n, dtype, n + 4)
    g_ = Guarded(np.zeros(n, dtype))
    mod.launch("dropout_backward", dtype, n, Guarded(gy), m_, g_, n, max_grid=max_grid)
    assert np.array_equal(g_.check("gx"), gy * want_mask)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("seed", [0, 99, -5, 2**64 - 1])
def test_dropout_keeps_an_element_whose_uniform_equals_the_rate(emu, ref, dtype, seed):
    """``uniform >= rate`` at equality: rate set to element 0's own uniform keeps it, the next
    float above drops it — as the numpy oracle."""
    from nnrs.backend.numpy_backend import splitmix_uniform

    u0 = float(splitmix_uniform(seed, 1)[0])
    for rate in (u0, float(np.nextafter(u0, 1.0))):
        x = np.ones(3, dtype)
        m_ = Guarded(np.zeros(3, dtype))
        emu["dropout.cu"].launch("dropout_forward", dtype, 3, Guarded(x), Guarded(np.zeros(3, dtype)), m_, 3, cuda_launch.dropout_seed(seed),
                                 cuda_launch.dropout_threshold(rate), cuda_launch.dropout_scale(rate))
        want = ref.dropout_forward(x, rate, seed)[1]
        assert np.array_equal(m_.check("mask"), want)
        assert (want[0] != 0) == (rate == u0)


def test_dropout_masks_equal_the_rust_backend(emu, cpu):
    """Same seed, same mask on the cpu (Rust) backend and the emulated CUDA kernel."""
    x = np.ones(10_001, np.float32)
    for seed, rate in [(0, 0.5), (12345, 0.1), (2**64 - 1, 0.75), (-7, 0.3)]:
        m_ = Guarded(np.zeros(x.size, np.float32))
        emu["dropout.cu"].launch("dropout_forward", np.float32, x.size, Guarded(x), Guarded(np.zeros_like(x)), m_, x.size,
                                 cuda_launch.dropout_seed(seed), cuda_launch.dropout_threshold(rate), cuda_launch.dropout_scale(rate))
        _, want = cpu.dropout_forward(x, rate, seed)
        assert np.array_equal(m_.check("mask"), np.asarray(want))


# ---- optimizers -------------------------------------------------------------------------------

def _same(a, b, msg):
    """The update kernels do the oracle's operations in its order, without fused multiply-add
    (-ffp-contract=off here, --fmad=false under NVRTC), so they agree to the bit."""
    np.testing.assert_array_equal(a, b, err_msg=msg)


def _state(n, dtype, seed, k):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(n).astype(dtype) for _ in range(k)]


@settings(max_examples=40, deadline=None)
@given(opt=st.sampled_from(["sgd", "adam", "rmsprop", "adagrad"]), n=SIZES, dtype=DTYPES, seed=st.integers(0, 2**31),
       momentum=st.sampled_from([0.0, 0.9]), nesterov=st.booleans(), wd=st.sampled_from([0.0, 0.01]), max_grid=MAX_GRID)
def test_optimizer_updates_match_numpy(emu, ref, opt, n, dtype, seed, momentum, nesterov, wd, max_grid):
    """Three consecutive in-place steps of each fused update kernel equal the oracle's to the bit."""
    mod = emu["optim.cu"]
    p, *_ = _state(n, dtype, seed, 1)
    want_p = p.copy()
    if opt == "sgd":
        st_, want_st = [Guarded(np.zeros(n, dtype))], [np.zeros(n, dtype)]
    elif opt == "adam":
        st_, want_st = [Guarded(np.zeros(n, dtype)), Guarded(np.zeros(n, dtype))], [np.zeros(n, dtype), np.zeros(n, dtype)]
    elif opt == "rmsprop":
        st_, want_st = [Guarded(np.zeros(n, dtype)), Guarded(np.zeros(n, dtype))], [np.zeros(n, dtype), np.zeros(n, dtype)]
    else:
        st_, want_st = [Guarded(np.zeros(n, dtype))], [np.zeros(n, dtype)]
    p_ = Guarded(p)
    lr = 0.01
    for step in range(1, 4):
        (g,) = _state(n, dtype, seed + step, 1)
        g_ = Guarded(g)
        if opt == "sgd":
            vel = st_[0] if momentum else None
            mod.launch("sgd_update", dtype, n, p_, g_, vel, n, *cuda_launch.sgd_scalars(lr, momentum, nesterov, wd), max_grid=max_grid)
            ref.sgd_update(want_p, g, want_st[0], lr, momentum, nesterov, wd)
        elif opt == "adam":
            mod.launch("adam_update", dtype, n, p_, g_, *st_, n, *cuda_launch.adam_scalars(lr, 0.9, 0.999, 1e-7, step, wd),
                       max_grid=max_grid)
            ref.adam_update(want_p, g, *want_st, lr, 0.9, 0.999, 1e-7, step, wd)
        elif opt == "rmsprop":
            rho, c, lr_, eps, mm, use_m, wdc = cuda_launch.rmsprop_scalars(lr, 0.9, momentum, 1e-7, wd)
            mom = st_[1] if momentum else None
            mod.launch("rmsprop_update", dtype, n, p_, g_, st_[0], mom, n, rho, c, lr_, eps, mm, use_m, wdc, max_grid=max_grid)
            ref.rmsprop_update(want_p, g, want_st[0], want_st[1], lr, 0.9, momentum, 1e-7, wd)
        else:
            mod.launch("adagrad_update", dtype, n, p_, g_, st_[0], n, *cuda_launch.adagrad_scalars(lr, 1e-7, wd), max_grid=max_grid)
            ref.adagrad_update(want_p, g, want_st[0], lr, 1e-7, wd)
        g_.check("grad")
    _same(p_.check("param"), want_p, f"{opt} param")
    used = st_ if (opt in ("adam", "adagrad") or momentum) else st_[:1]
    if opt == "sgd" and not momentum:
        used = []
    for i, s in enumerate(used):
        _same(s.check(f"state {i}"), want_st[i], f"{opt} state {i}")


def test_adam_scalars_reject_step_zero():
    with pytest.raises(ValueError, match="step counts from 1"):
        cuda_launch.adam_scalars(0.1, 0.9, 0.999, 1e-7, 0)
