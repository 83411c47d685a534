"""nnrs.check_parity: the same model from the same weights on two backends, compared layer by layer.

numpy vs cpu on an MLP, a small convnet and an LSTM model (float64: tiny differences; float32:
within 1e-4 relative after 10 training steps); a deliberately broken cpu kernel is reported at
exactly its layer; cpu vs cuda on a Dense model passes (real CuPy where a GPU is present, else
the fake CuPy of tests/cuda) and a model using a kernel the cuda backend lacks is a clear error."""

from __future__ import annotations

import os

import nnrs
import numpy as np
import pytest
from nnrs import backend as B
from nnrs import layers


@pytest.fixture
def floatx():
    def use(dtype):
        nnrs.config.set_floatx(dtype)

    yield use
    nnrs.config.set_floatx("float32")


def _mlp():
    return nnrs.Sequential([layers.Input((6,)), layers.Dense(10, activation="tanh"), layers.Dense(8, activation="relu"),
                            layers.Dense(3)])


def _convnet():
    return nnrs.Sequential([layers.Input((8, 8, 2)), layers.Conv2D(4, 3, padding="same", activation="relu"),
                            layers.BatchNormalization(), layers.MaxPooling2D(2), layers.Flatten(), layers.Dense(3)])


def _lstm():  # functional, to cover that path too
    inp = nnrs.Input((7, 4))
    h = layers.LSTM(6, return_sequences=True)(inp)
    h = layers.LSTM(5)(h)
    out = layers.Dense(3)(h)
    return nnrs.Model(inp, out)


MODELS = {"mlp": (_mlp, (6,)), "convnet": (_convnet, (8, 8, 2)), "lstm": (_lstm, (7, 4))}


def _compiled(kind, dtype, optimizer="adam"):
    nnrs.random.seed(5)
    build, shape = MODELS[kind]
    m = build()
    m.compile(optimizer=nnrs.optimizers.get(optimizer),
              loss=nnrs.losses.SparseCategoricalCrossentropy(from_logits=True))
    rng = np.random.default_rng(2)
    x = rng.standard_normal((12,) + shape).astype(dtype)
    y = rng.integers(0, 3, size=12).astype(np.int64)
    return m, x, y


@pytest.mark.parametrize("kind", sorted(MODELS))
def test_float64_numpy_vs_cpu_is_tiny(kind, floatx):
    floatx("float64")
    m, x, y = _compiled(kind, np.float64)
    before = [w.copy() for w in m.get_weights()]
    r = nnrs.check_parity(m, x, y, backends=("numpy", "cpu"))
    assert r.ok, str(r)
    assert r.dtype == "float64" and r.backends == ("numpy", "cpu")
    assert r.max_rel() < 1e-9, str(r)
    assert max(row.max_abs for row in r.rows) < 1e-10, str(r)
    # every layer reports its output and, for the trained ones, each weight's gradient
    names = {row.layer for row in r.rows}
    assert {l.name for l in m.layers if l.trainable_weights} <= names
    for l in m.layers:
        grads = [row.what for row in r.rows if row.layer == l.name and row.what.startswith("grad ") and row.what != "grad output"]
        assert len(grads) == len(set(grads)) == len(l.trainable_weights), (l.name, grads)
        assert all(g.endswith("/" + w.name) or g == f"grad {w.name}" for g, w in zip(grads, l.trainable_weights))
    assert any(row.what == "grad output" for row in r.rows)
    for a, b in zip(m.get_weights(), before):  # the model itself is untouched
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("kind", sorted(MODELS))
def test_float32_after_ten_steps_within_1e4(kind):
    m, x, y = _compiled(kind, np.float32)
    r = nnrs.check_parity(m, x, y, backends=("numpy", "cpu"), steps=10)
    assert r.steps == 10
    assert r.ok, str(r)
    assert r.first_divergence is None
    assert r.max_rel("output") < 1e-4, str(r)
    assert "all within tolerance" in str(r)


def test_steps_change_what_is_compared():
    m, x, y = _compiled("mlp", np.float32)
    r0 = nnrs.check_parity(m, x, y, backends=("numpy", "numpy"))
    assert r0.ok and r0.max_rel() == 0.0  # one backend against itself: identical
    r1 = nnrs.check_parity(m, x, y, backends=("numpy", "numpy"), steps=3)
    assert r1.ok and r1.max_rel() == 0.0
    loss0 = [row for row in r0.rows if row.what == "loss"]
    assert len(loss0) == 1


def test_broken_kernel_is_reported_at_its_layer(monkeypatch, floatx):
    floatx("float64")
    m, x, y = _compiled("convnet", np.float64)
    cpu = B.get("cpu")
    real = cpu.max_pool2d_forward

    def broken(*args, **kwargs):
        return real(*args, **kwargs) + 1e-3

    monkeypatch.setattr(cpu, "max_pool2d_forward", broken)
    r = nnrs.check_parity(m, x, y, backends=("numpy", "cpu"))
    assert not r.ok
    pool = next(l.name for l in m.layers if isinstance(l, layers.MaxPooling2D))
    first = r.first_divergence
    assert (first.layer, first.what) == (pool, "output"), str(r)
    assert abs(first.max_abs - 1e-3) < 1e-9
    # the layers before it agree
    before = [l.name for l in m.layers[: m.layers.index(m.get_layer(pool))]]
    for row in r.rows:
        if row.layer in before and row.what == "output":
            assert row.ok, str(r)
    assert r.diverging_layers[0] == pool
    assert "DIVERGES" in str(r) and f"first divergence: layer {pool!r}, output" in str(r)


def test_broken_backward_is_reported_at_its_weight(monkeypatch, floatx):
    floatx("float64")
    m, x, y = _compiled("mlp", np.float64)
    cpu = B.get("cpu")
    real = cpu.linear_backward

    def broken(x_, w, gy, *args, **kwargs):
        gx, gw, gb = real(x_, w, gy, *args, **kwargs)
        return gx, (gw * 1.01 if w.shape == (6, 10) else gw), gb

    monkeypatch.setattr(cpu, "linear_backward", broken)
    r = nnrs.check_parity(m, x, y, backends=("numpy", "cpu"))
    bad = [(row.layer, row.what) for row in r.rows if not row.ok]
    assert bad == [(m.layers[0].name, "grad kernel")], str(r)


def test_bad_arguments():
    m, x, y = _compiled("mlp", np.float32)
    with pytest.raises(ValueError, match="exactly two"):
        nnrs.check_parity(m, x, y, backends=("numpy",))
    with pytest.raises(ValueError, match="steps"):
        nnrs.check_parity(m, x, y, backends=("numpy", "cpu"), steps=-1)
    raw = _mlp()
    with pytest.raises(ValueError, match="compile the model"):
        nnrs.check_parity(raw, x, y, backends=("numpy", "cpu"))
    unbuilt = nnrs.Sequential([layers.Dense(3)])
    unbuilt.compile(optimizer="sgd", loss="mse")
    with pytest.raises(ValueError, match="build the model"):
        nnrs.check_parity(unbuilt, x, y, backends=("numpy", "cpu"))


def test_weights_inside_blocks_are_named_by_their_path():
    nnrs.random.seed(3)
    inp = nnrs.Input((6, 6, 4))
    h = layers.ResidualBlock(4, name="block")(inp)
    out = layers.Dense(2)(layers.GlobalAveragePooling2D()(h))
    m = nnrs.Model(inp, out)
    m.compile(optimizer="adam", loss=nnrs.losses.SparseCategoricalCrossentropy(from_logits=True))
    rng = np.random.default_rng(0)
    r = nnrs.check_parity(m, rng.standard_normal((4, 6, 6, 4)).astype(np.float32), np.array([0, 1, 1, 0]),
                          backends=("numpy", "cpu"), steps=2)
    assert r.ok, str(r)
    whats = [row.what for row in r.rows if row.layer == "block"]
    assert len(whats) == len(set(whats)) == 2 + len(m.get_layer("block").trainable_weights)
    assert any("/" in w for w in whats), whats


def test_unavailable_backend_is_a_clear_error():
    if "cuda" in B.available():
        pytest.skip("a CUDA device is present here")
    m, x, y = _compiled("mlp", np.float32)
    with pytest.raises(B.BackendUnavailableError):
        nnrs.check_parity(m, x, y, backends=("cpu", "cuda"))


# ---- cuda: the real one where a GPU is present, else the fake CuPy of tests/cuda ---------------

def _real_cuda():
    return os.environ.get("NNRS_TEST_REAL_CUDA") == "1" or "cuda" in B.available()


@pytest.fixture(scope="module")
def cuda():
    """The real cuda backend where CuPy and a device are present (or NNRS_TEST_REAL_CUDA=1 insists);
    elsewhere the fake CuPy of tests/cuda, installed for this module only and removed afterwards."""
    if _real_cuda():
        yield B.get("cuda")
        return
    from tests.cuda import fakecupy

    with fakecupy.installed() as be:
        yield be


def test_cpu_vs_cuda_on_a_dense_model(cuda):
    nnrs.random.seed(11)
    m = nnrs.Sequential([layers.Input((5,)), layers.Dense(8, activation="tanh"), layers.Dropout(0.25),
                         layers.Dense(6, activation="relu"), layers.Dense(3)])
    m.compile(optimizer=nnrs.optimizers.Adam(0.01), loss=nnrs.losses.SparseCategoricalCrossentropy(from_logits=True))
    rng = np.random.default_rng(3)
    x, y = rng.standard_normal((16, 5)).astype(np.float32), rng.integers(0, 3, size=16).astype(np.int64)
    r = nnrs.check_parity(m, x, y, backends=("cpu", "cuda"), steps=3)
    assert r.backends == ("cpu", "cuda")
    assert r.ok, str(r)
    assert r.max_rel("output") < 1e-4


def _without(monkeypatch, cuda, kernel):
    """The cuda backend as if it lacked ``kernel`` (the path a backend missing a kernel takes)."""
    def missing(*args, **kwargs):
        raise NotImplementedError(f"{kernel}: not on this backend")

    monkeypatch.setattr(cuda, kernel, missing)  # the instance's (checked) kernel


def test_cuda_missing_kernel_is_named(cuda, monkeypatch):
    _without(monkeypatch, cuda, "max_pool2d_forward")
    nnrs.random.seed(1)
    m = nnrs.Sequential([layers.Input((6, 6, 2)), layers.Conv2D(2, 3), layers.MaxPooling2D(2), layers.Flatten(), layers.Dense(2)])
    m.compile(optimizer="sgd", loss=nnrs.losses.SparseCategoricalCrossentropy(from_logits=True))
    x = np.ones((2, 6, 6, 2), np.float32)
    y = np.array([0, 1])
    with pytest.raises(NotImplementedError, match=r"check_parity: backend 'cuda' cannot run model .* \(in layer 'max_pooling2d.*'\): "
                                                  r"max_pool2d_forward"):
        nnrs.check_parity(m, x, y, backends=("cpu", "cuda"))


# ---- scripts/gpu_check.sh and its driver, on the CPU -------------------------------------------

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _driver():
    import importlib.util

    spec = importlib.util.spec_from_file_location("gpu_check", os.path.join(ROOT, "scripts", "gpu_check.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_gpu_check_script_parses():
    import subprocess

    subprocess.run(["bash", "-n", os.path.join(ROOT, "scripts", "gpu_check.sh")], check=True)


def test_gpu_check_driver_parity_numpy_vs_cpu(tmp_path):
    import json

    rc = _driver().main(["parity", "--out", str(tmp_path), "--backends", "numpy", "cpu", "--quick",
                         "--only", "mlp", "lenet", "gru"])
    assert rc == 0
    rep = json.loads((tmp_path / "parity.json").read_text())
    assert sorted(rep["models"]) == ["gru", "lenet", "mlp"]
    for rec in rep["models"].values():
        assert rec["status"] == "ok" and rec["max_rel"] < 1e-4 and rec["first_divergence"] is None
    assert "summary (numpy vs cpu, 10 steps" in (tmp_path / "parity.txt").read_text()


def test_gpu_check_driver_reports_a_divergence(tmp_path, monkeypatch):
    import json

    cpu = B.get("cpu")
    real = cpu.linear_forward
    monkeypatch.setattr(cpu, "linear_forward", lambda *a, **k: real(*a, **k) * 1.01)  # every Dense layer on cpu
    rc = _driver().main(["parity", "--out", str(tmp_path), "--backends", "numpy", "cpu", "--quick", "--only", "mlp"])
    rec = json.loads((tmp_path / "parity.json").read_text())["models"]["mlp"]
    assert rc == 1 and rec["status"] == "diverges", rec
    assert rec["first_divergence"]["layer"].startswith("dense") and rec["first_divergence"]["what"] == "output", rec
    assert rec["float64"]["ok"] is False  # the float64 recheck sees the wrong kernel too


def test_gpu_check_driver_names_missing_cuda_kernels(tmp_path, cuda, monkeypatch):
    import json

    _without(monkeypatch, cuda, "conv2d_forward")
    rc = _driver().main(["parity", "--out", str(tmp_path), "--backends", "cpu", "cuda", "--quick", "--only", "lenet"])
    rec = json.loads((tmp_path / "parity.json").read_text())["models"]["lenet"]
    assert rc == 0  # a model a backend cannot run is reported, not a failure
    assert rec == {"status": "unsupported", "missing_kernel": "conv2d_forward", "error": rec["error"]}
    assert "missing kernel conv2d_forward" in (tmp_path / "parity.txt").read_text()


def test_gpu_check_driver_cpu_vs_cuda_on_the_example_models(tmp_path, cuda):
    import json

    rc = _driver().main(["parity", "--out", str(tmp_path), "--backends", "cpu", "cuda", "--quick",
                         "--only", "mlp", "lenet", "lstm", "gru", "simple_rnn", "sentiment_textcnn"])
    models = json.loads((tmp_path / "parity.json").read_text())["models"]
    assert rc == 0 and {k: v["status"] for k, v in models.items()} == dict.fromkeys(models, "ok"), models
    assert len(models) == 6


def test_gpu_check_driver_bench_on_cpu(tmp_path):
    import json

    assert _driver().main(["bench", "--out", str(tmp_path), "--backend", "cpu", "--quick"]) == 0
    rep = json.loads((tmp_path / "bench.json").read_text())
    assert set(rep["cases"]) == {"lenet", "lstm"}
    for rec in rep["cases"].values():
        assert rec["nnrs_ms"] > 0


def test_gpu_check_dry_run(tmp_path):
    import subprocess
    import sys

    env = dict(os.environ, PYTHON=sys.executable)
    p = subprocess.run(["bash", os.path.join(ROOT, "scripts", "gpu_check.sh"), str(tmp_path / "out"), "--dry-run"],
                       env=env, capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stdout + p.stderr
    summary = (tmp_path / "out" / "summary.txt").read_text()
    for name in ("env", "parity", "bench"):
        assert f"{name:10s} ok" in summary, summary
    assert (tmp_path / "out" / "parity.json").exists() and (tmp_path / "out" / "bench.json").exists()


def test_gpu_check_without_a_wheel_says_so(tmp_path):
    import shutil
    import subprocess

    if os.path.isdir(os.path.join(ROOT, "dist")) and any(f.endswith(".whl") for f in os.listdir(os.path.join(ROOT, "dist"))):
        pytest.skip("a wheel is in dist/ here")
    if shutil.which("timeout") is None:
        pytest.skip("coreutils timeout is missing")
    p = subprocess.run(["bash", os.path.join(ROOT, "scripts", "gpu_check.sh"), str(tmp_path / "out")],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 1 and "no wheel" in p.stdout


def test_float64_model_checked_while_floatx_is_float32(floatx):
    floatx("float64")
    m, x, y = _compiled("convnet", np.float64)
    floatx("float32")  # the copies must still be float64 models, input cast included
    r = nnrs.check_parity(m, x, y, backends=("numpy", "cpu"), steps=3)
    assert r.dtype == "float64" and r.ok and r.max_rel() < 1e-9, str(r)
