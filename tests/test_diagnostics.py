"""nnrs.diagnostics (gradient norms per time step and per weight) and the adding problem."""

import nnrs
import numpy as np
import pytest
from nnrs.datasets import adding


def test_adding_problem_data():
    x, y = adding.make(500, timesteps=30, seed=3)
    assert x.shape == (500, 30, 2) and y.shape == (500, 1) and x.dtype == np.float32
    marks = x[..., 1]
    assert np.all(marks.sum(axis=1) == 2)
    assert np.all(marks[:, :15].sum(axis=1) == 1) and np.all(marks[:, 15:].sum(axis=1) == 1)
    np.testing.assert_allclose(y[:, 0], (x[..., 0] * marks).sum(axis=1), rtol=1e-6)
    assert np.all((x[..., 0] >= 0) & (x[..., 0] < 1))
    x2, y2 = adding.make(500, timesteps=30, seed=3)
    assert np.array_equal(x, x2) and np.array_equal(y, y2)
    (a, _), (b, _) = adding.load_data(10, 10, 30, seed=0)
    assert not np.array_equal(a, b)  # the test set is drawn apart from the training set
    # the mean predictor's error is the target's variance, 1/6
    _, yl = adding.make(20000, timesteps=10, seed=0)
    assert abs(float(np.mean((yl - 1.0) ** 2)) - adding.BASELINE_MSE) < 0.01
    with pytest.raises(ValueError, match="timesteps"):
        adding.make(3, timesteps=1)


def _simple_rnn_model(t, d, u, seed=0):
    nnrs.random.seed(seed)
    m = nnrs.Sequential([nnrs.Input((t, d)), nnrs.layers.SimpleRNN(u, name="rnn"), nnrs.layers.Dense(1, name="out")])
    m.compile(optimizer="adam", loss="mse")
    return m


def test_time_step_norms_equal_manual_backprop_through_time():
    t, d, u, n = 7, 3, 5, 4
    m = _simple_rnn_model(t, d, u)
    rng = np.random.default_rng(1)
    x = rng.standard_normal((n, t, d)).astype(np.float32)
    y = rng.standard_normal((n, 1)).astype(np.float32)
    got = nnrs.diagnostics.gradient_norms(m, x, y)
    # the same by hand, in float64: h_t = tanh(x_t W + h_{t-1} U + b), loss = mean((h_T v + c - y)^2)
    rnn, out = m.get_layer("rnn"), m.get_layer("out")
    W, U, b = (np.asarray(w.numpy(), np.float64) for w in rnn.weights)
    v, c = (np.asarray(w.numpy(), np.float64) for w in out.weights)
    hs, h = [], np.zeros((n, u))
    for s in range(t):
        h = np.tanh(x[:, s] @ W + h @ U + b)
        hs.append(h)
    pred = h @ v + c
    g = 2 * (pred - y) / n @ v.T  # dLoss/dh_T
    want = [None] * t
    for s in reversed(range(t)):
        want[s] = np.linalg.norm(g)
        g = (g * (1 - hs[s] ** 2)) @ U.T
    np.testing.assert_allclose(got["time_steps"]["rnn"], want, rtol=1e-4)
    # weight gradients: the output layer's by hand
    gv = hs[-1].T @ (2 * (pred - y) / n)
    assert got["weights"][out.weights[0].path] == pytest.approx(np.linalg.norm(gv), rel=1e-4)
    assert set(got["weights"]) == {w.path for w in m.trainable_weights}


def test_gradient_norms_leave_the_model_alone():
    m = _simple_rnn_model(5, 2, 3)
    x, y = adding.make(8, timesteps=5)
    before = [w.numpy().copy() for w in m.weights]
    nnrs.diagnostics.gradient_norms(m, x, y)
    assert all(np.array_equal(a, w.numpy()) for a, w in zip(before, m.weights))
    assert all(w.grad is None for w in m.trainable_weights)
    assert not nnrs.diagnostics.probing()
    # an ordinary step afterwards still trains (the layer is back on its fast path)
    loss0 = m.evaluate(x, y, verbose=0)
    for _ in range(20):
        m.train_on_batch(x, y)
    assert m.evaluate(x, y, verbose=0) < loss0


def test_gradient_norms_need_a_compiled_model():
    m = nnrs.Sequential([nnrs.Input((4, 2)), nnrs.layers.LSTM(3)])
    with pytest.raises(ValueError, match="compile"):
        nnrs.diagnostics.gradient_norms(m, np.zeros((1, 4, 2), np.float32), np.zeros((1, 3), np.float32))


@pytest.mark.parametrize("kind", ["LSTM", "GRU"])
def test_gated_layers_report_every_step(kind):
    nnrs.random.seed(0)
    m = nnrs.Sequential([nnrs.Input((6, 2)), getattr(nnrs.layers, kind)(4, name="r"), nnrs.layers.Dense(1)])
    m.compile(optimizer="adam", loss="mse")
    x, y = adding.make(16, timesteps=6)
    norms = nnrs.diagnostics.gradient_norms(m, x, y)["time_steps"]["r"]
    assert norms.shape == (6,) and np.all(np.isfinite(norms)) and np.all(norms > 0)


def test_plot_gradient_norms(tmp_path):
    path = tmp_path / "g.svg"
    nnrs.diagnostics.plot_gradient_norms({"a": [1.0, 0.1, 0.01], "b <&>": [1.0, 1.0, 0.0]}, path, title="T & co")
    svg = path.read_text()
    assert svg.count("<polyline") == 2 and "b &lt;&amp;&gt;" in svg and "T &amp; co" in svg
    with pytest.raises(ValueError, match="no norms"):
        nnrs.diagnostics.plot_gradient_norms({"a": []}, tmp_path / "h.svg")


def test_adding_problem_example_runs(tmp_path):
    from nnrs.examples import adding_problem

    plot = tmp_path / "g.svg"
    results = adding_problem.main(["--epochs", "1", "--train", "256", "--timesteps", "12", "--kinds", "SimpleRNN,LSTM",
                                   "--plot", str(plot)])
    assert set(results) == {"SimpleRNN", "LSTM"} and all(np.isfinite(v) for v in results.values())
    assert plot.read_text().count("<polyline") == 4  # before and after training, per layer
