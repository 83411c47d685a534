"""Thread settings: NNRS_NUM_THREADS at import, set_num_threads at run time."""

import os
import subprocess
import sys

import nnrs
import numpy as np


def test_env_var_sets_the_thread_count():
    env = dict(os.environ, NNRS_NUM_THREADS="1")
    out = subprocess.run([sys.executable, "-c", "import nnrs; print(nnrs.get_num_threads())"],
                         env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "1"


def test_set_num_threads_and_results_do_not_depend_on_it():
    prev = nnrs.get_num_threads()
    a = np.random.default_rng(0).standard_normal((300, 400)).astype(np.float32)
    cpu = nnrs.backend.get("cpu")
    try:
        nnrs.set_num_threads(1)
        assert nnrs.get_num_threads() == 1
        one = (cpu.reduce("sum", a, (0,)), cpu.activation_forward("tanh", a), cpu.unary("exp", a))
        nnrs.set_num_threads(2)
        assert nnrs.get_num_threads() == 2
        two = (cpu.reduce("sum", a, (0,)), cpu.activation_forward("tanh", a), cpu.unary("exp", a))
    finally:
        nnrs.set_num_threads(prev)
    for x, y in zip(one, two):
        np.testing.assert_array_equal(x, y)


def test_env_var_selects_the_backend():
    env = dict(os.environ, NNRS_BACKEND="numpy")
    code = "import nnrs; print(nnrs.backend.current().name)"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "numpy"


def test_set_backend_and_context_manager():
    before = nnrs.backend.current()
    with nnrs.backend.use("numpy") as b:
        assert nnrs.backend.current() is b and b.name == "numpy"
    assert nnrs.backend.current() is before
    try:
        assert nnrs.set_backend("numpy").name == "numpy"
    finally:
        nnrs.set_backend(before)
    import pytest

    with pytest.raises(ValueError, match="unknown backend 'gpu'"):
        nnrs.set_backend("gpu")
