"""sgd_update / adam_update / rmsprop_update / adagrad_update (in place): cpu equals the
numpy oracle over several steps in a row."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import tol

dtypes = st.sampled_from([np.float32, np.float64])
shapes = st.lists(st.integers(0, 7), min_size=0, max_size=3).map(tuple)
STEPS = 4


def _start(shape, dtype, seed):
    rng = np.random.default_rng(seed)
    param = rng.standard_normal(shape).astype(dtype)
    grads = [rng.standard_normal(shape).astype(dtype) for _ in range(STEPS)]
    return param, grads


def _run(backend, kernel, param, grads, states, **kw):
    """Runs STEPS updates on copies; returns the final param and states."""
    param = param.copy()
    states = {k: (None if v is None else v.copy()) for k, v in states.items()}
    for i, g in enumerate(grads):
        extra = {"step": i + 1} if kernel == "adam_update" else {}
        assert getattr(backend, kernel)(param, g, *states.values(), **kw, **extra) is None
    return param, states


def _compare(kernels, ref, kernel, param, grads, states, dtype, **kw):
    got_p, got_s = _run(kernels, kernel, param, grads, states, **kw)
    want_p, want_s = _run(ref, kernel, param, grads, states, **kw)
    assert got_p.dtype == dtype
    np.testing.assert_allclose(got_p, want_p, *tol(dtype))
    for k in states:
        if want_s[k] is not None and states[k] is not None:
            np.testing.assert_allclose(got_s[k], want_s[k], *tol(dtype), err_msg=k)


@settings(max_examples=50, deadline=None)
@given(shape=shapes, dtype=dtypes, seed=st.integers(0, 2**31), momentum=st.sampled_from([0.0, 0.9]),
       nesterov=st.booleans(), wd=st.sampled_from([0.0, 0.01]), lr=st.sampled_from([0.1, 0.003]))
def test_sgd_matches_numpy(kernels, ref, shape, dtype, seed, momentum, nesterov, wd, lr):
    param, grads = _start(shape, dtype, seed)
    velocity = np.zeros(shape, dtype) if momentum else None
    _compare(kernels, ref, "sgd_update", param, grads, {"velocity": velocity}, dtype,
             lr=lr, momentum=momentum, nesterov=nesterov, weight_decay=wd)


@settings(max_examples=50, deadline=None)
@given(shape=shapes, dtype=dtypes, seed=st.integers(0, 2**31), wd=st.sampled_from([0.0, 0.004]),
       betas=st.sampled_from([(0.9, 0.999), (0.5, 0.9)]), eps=st.sampled_from([1e-7, 1e-3]))
def test_adam_matches_numpy(kernels, ref, shape, dtype, seed, wd, betas, eps):
    param, grads = _start(shape, dtype, seed)
    states = {"m": np.zeros(shape, dtype), "v": np.zeros(shape, dtype)}
    _compare(kernels, ref, "adam_update", param, grads, states, dtype,
             lr=0.01, beta1=betas[0], beta2=betas[1], eps=eps, weight_decay=wd)


@settings(max_examples=50, deadline=None)
@given(shape=shapes, dtype=dtypes, seed=st.integers(0, 2**31), momentum=st.sampled_from([0.0, 0.5]),
       wd=st.sampled_from([0.0, 0.02]), rho=st.sampled_from([0.9, 0.5]))
def test_rmsprop_matches_numpy(kernels, ref, shape, dtype, seed, momentum, wd, rho):
    param, grads = _start(shape, dtype, seed)
    states = {"ms": np.zeros(shape, dtype), "mom": np.zeros(shape, dtype) if momentum else None}
    _compare(kernels, ref, "rmsprop_update", param, grads, states, dtype,
             lr=0.01, rho=rho, momentum=momentum, eps=1e-7, weight_decay=wd)


@settings(max_examples=50, deadline=None)
@given(shape=shapes, dtype=dtypes, seed=st.integers(0, 2**31), wd=st.sampled_from([0.0, 0.05]),
       init=st.sampled_from([0.0, 0.1]))
def test_adagrad_matches_numpy(kernels, ref, shape, dtype, seed, wd, init):
    param, grads = _start(shape, dtype, seed)
    _compare(kernels, ref, "adagrad_update", param, grads, {"acc": np.full(shape, init, dtype)}, dtype,
             lr=0.05, eps=1e-7, weight_decay=wd)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_large_params_parallel(kernels, ref, dtype):
    # Above the parallel threshold, every optimizer, several steps.
    shape = (600, 500)
    param, grads = _start(shape, dtype, 7)
    z = lambda: np.zeros(shape, dtype)  # noqa: E731
    _compare(kernels, ref, "sgd_update", param, grads, {"velocity": z()}, dtype, lr=0.1, momentum=0.9, nesterov=True,
             weight_decay=0.01)
    _compare(kernels, ref, "adam_update", param, grads, {"m": z(), "v": z()}, dtype, lr=0.01, beta1=0.9, beta2=0.999,
             eps=1e-7, weight_decay=0.01)
    _compare(kernels, ref, "rmsprop_update", param, grads, {"ms": z(), "mom": z()}, dtype, lr=0.01, rho=0.9,
             momentum=0.5, eps=1e-7)
    _compare(kernels, ref, "adagrad_update", param, grads, {"acc": z()}, dtype, lr=0.01, eps=1e-7)


def test_non_contiguous_grad_is_fine(kernels, ref):
    p = np.linspace(-1, 1, 12).reshape(3, 4)
    g = np.arange(24, dtype=np.float64).reshape(4, 6)[:, ::2].T / 10  # (3, 4), non-contiguous
    a, b = p.copy(), p.copy()
    kernels.sgd_update(a, g, None, 0.1)
    ref.sgd_update(b, g, None, 0.1)
    np.testing.assert_allclose(a, b)
    gf = np.asfortranarray(g)
    a, b = p.copy(), p.copy()
    kernels.adagrad_update(a, gf, np.zeros_like(a), 0.1, 1e-7)
    ref.adagrad_update(b, gf, np.zeros_like(b), 0.1, 1e-7)
    np.testing.assert_allclose(a, b)


def _a(*shape, dtype=np.float64):
    return np.zeros(shape, dtype)


@pytest.mark.parametrize("call, match", [
    (lambda c: c.sgd_update(_a(2, 3), _a(3, 2), None, 0.1), r"grad shape \[3, 2\] differs from param shape \[2, 3\]"),
    (lambda c: c.sgd_update(_a(2, 3), _a(2, 3), None, 0.1, 0.9), r"velocity is None but momentum != 0"),
    (lambda c: c.sgd_update(_a(2, 3), _a(2, 3), _a(3), 0.1, 0.9), r"velocity shape \[3\] differs from param shape \[2, 3\]"),
    (lambda c: c.sgd_update(_a(4, 6)[:, ::2], _a(4, 3), None, 0.1), r"param must be C-contiguous"),
    (lambda c: c.sgd_update(_a(3, 2).T, _a(2, 3), None, 0.1), r"param must be C-contiguous"),
    (lambda c: c.sgd_update(_a(2, 3), _a(2, 3, dtype=np.float32), None, 0.1), r"grad must have dtype f64"),
    (lambda c: c.sgd_update(np.zeros(3, np.int64), _a(3), None, 0.1), r"float32 or float64"),
    (lambda c: c.adam_update(_a(3), _a(3), _a(3), _a(2), 0.1, 0.9, 0.999, 1e-7, 1), r"v shape \[2\] differs from param shape \[3\]"),
    (lambda c: c.adam_update(_a(3), _a(3), _a(3, dtype=np.float32), _a(3), 0.1, 0.9, 0.999, 1e-7, 1), r"m must have dtype"),
    (lambda c: c.adam_update(_a(3), _a(3), _a(3), _a(3), 0.1, 0.9, 0.999, 1e-7, 0), r"step counts from 1, got 0"),
    (lambda c: c.adam_update(_a(6)[::2], _a(3), _a(3), _a(3), 0.1, 0.9, 0.999, 1e-7, 1), r"param must be C-contiguous"),
    (lambda c: c.adam_update(_a(3), _a(3), _a(6)[::2], _a(3), 0.1, 0.9, 0.999, 1e-7, 1), r"m must be C-contiguous"),
    (lambda c: c.rmsprop_update(_a(3), _a(3), _a(3), None, 0.1, 0.9, 0.5, 1e-7), r"mom is None but momentum != 0"),
    (lambda c: c.rmsprop_update(_a(3), _a(3), _a(4), None, 0.1, 0.9, 0.0, 1e-7), r"ms shape \[4\] differs"),
    (lambda c: c.adagrad_update(_a(3), _a(3), _a(1, 3), 0.1, 1e-7), r"acc shape \[1, 3\] differs from param shape \[3\]"),
])
def test_bad_input_is_a_clear_error(core, call, match):
    with pytest.raises((ValueError, TypeError), match=match):
        call(core)


def test_read_only_and_aliased_arrays_are_errors(cpu):
    p = _a(3)
    p.flags.writeable = False
    with pytest.raises(ValueError, match=r"param: .*not writeable"):
        cpu.sgd_update(p, _a(3), None, 0.1)
    q = _a(3)
    with pytest.raises(ValueError, match=r"param and m share memory"):
        cpu.adam_update(q, _a(3), q, _a(3), 0.1, 0.9, 0.999, 1e-7, 1)
    with pytest.raises(ValueError, match=r"param and grad share memory"):
        cpu.sgd_update(q, q, None, 0.1)
    big = _a(8)
    with pytest.raises(ValueError, match=r"param and grad share memory"):  # overlapping views
        cpu.sgd_update(big[:5], big[3:][::-1], None, 0.1)
    cpu.sgd_update(big[:4], big[4:], None, 0.1)  # disjoint halves of one buffer are fine
