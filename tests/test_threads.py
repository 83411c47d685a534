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


# ---- two threads using the library at once ---------------------------------------------
def _mlp(seed):
    nnrs.random.seed(seed)
    m = nnrs.Sequential([nnrs.Input((20,)), nnrs.layers.Dense(64, activation="relu"),
                         nnrs.layers.Dense(64, activation="tanh"), nnrs.layers.Dense(3)])
    m.compile(optimizer="adam", loss=nnrs.losses.SparseCategoricalCrossentropy(from_logits=True))
    return m


def _data(seed, n=1600):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 20)).astype(np.float32)
    return x, (x[:, :3].argmax(axis=1)).astype(np.int64)


def test_inference_in_one_thread_while_another_trains():
    import threading

    m = _mlp(0)
    x, y = _data(0)
    errors, stop, done = [], threading.Event(), []

    def infer():
        try:
            while not stop.is_set():
                out = m.predict_on_batch(x[:32])
                assert out.shape == (32, 3)
                m.predict(x[:100], batch_size=50, verbose=0)
                done.append(1)
        except BaseException as e:  # noqa: BLE001 - any exception (PanicException too) fails the test
            errors.append(e)

    th = threading.Thread(target=infer)
    th.start()
    try:
        m.fit(x, y, batch_size=8, epochs=1, verbose=0)  # 200 batches, each updating the weights in place
    finally:
        stop.set()
        th.join()
    assert not errors, errors
    assert done, "the inference thread never ran"


def test_two_models_in_two_threads_equal_sequential_training():
    import threading

    data = [_data(1), _data(2)]

    def train(m, d):
        m.fit(d[0], d[1], batch_size=16, epochs=2, shuffle=False, verbose=0)
        return [w.copy() for w in m.get_weights()]

    seq = [train(_mlp(10 + i), data[i]) for i in range(2)]
    models = [_mlp(10 + i) for i in range(2)]  # same initial weights as above
    par = [None, None]
    ths = [threading.Thread(target=lambda i=i: par.__setitem__(i, train(models[i], data[i]))) for i in range(2)]
    for t in ths:
        t.start()
    for t in ths:
        t.join()
    for s, p in zip(seq, par):
        for a, b in zip(s, p):
            np.testing.assert_array_equal(a, b)
