"""nnrs.datasets.spirals: shapes, determinism, balance, and that it is learnable by a small
MLP but not by a linear model."""

import nnrs.random
import numpy as np
import pytest
from nnrs.datasets import spirals


def _mlp_accuracy(x, y, xt, yt, n_classes, hidden=32, steps=300, seed=0):
    """Full-batch Adam on a 2-hidden-layer ReLU MLP (hidden=0: softmax regression); test accuracy."""
    rng = np.random.default_rng(seed)
    x, xt = x.astype(np.float64), xt.astype(np.float64)
    sizes = [2, hidden, hidden, n_classes] if hidden else [2, n_classes]
    params = []
    for a, b in zip(sizes[:-1], sizes[1:]):
        params += [rng.normal(0, np.sqrt(2 / a), (a, b)), np.zeros(b)]
    m = [np.zeros_like(p) for p in params]
    v = [np.zeros_like(p) for p in params]
    onehot = np.eye(n_classes)[y]

    def forward(inp):
        acts = [inp]
        for i in range(0, len(params), 2):
            z = acts[-1] @ params[i] + params[i + 1]
            acts.append(np.maximum(z, 0) if i + 2 < len(params) else z)
        return acts

    for t in range(1, steps + 1):
        acts = forward(x)
        z = acts[-1] - acts[-1].max(1, keepdims=True)
        p = np.exp(z)
        p /= p.sum(1, keepdims=True)
        g = (p - onehot) / len(x)
        grads = [None] * len(params)
        for i in range(len(params) - 2, -1, -2):
            grads[i], grads[i + 1] = acts[i // 2].T @ g, g.sum(0)
            if i:
                g = (g @ params[i].T) * (acts[i // 2] > 0)
        for i, gr in enumerate(grads):
            m[i] = 0.9 * m[i] + 0.1 * gr
            v[i] = 0.999 * v[i] + 0.001 * gr * gr
            params[i] -= 0.01 * (m[i] / (1 - 0.9**t)) / (np.sqrt(v[i] / (1 - 0.999**t)) + 1e-8)
    return float((forward(xt)[-1].argmax(1) == yt).mean())


def test_shapes_and_dtypes():
    (x, y), (xt, yt) = spirals.load_data()
    assert x.shape == (2400, 2) and xt.shape == (600, 2)
    assert y.shape == (2400,) and yt.shape == (600,)
    assert x.dtype == xt.dtype == np.float32
    assert y.dtype == yt.dtype == np.int64
    assert set(np.unique(np.concatenate([y, yt]))) == {0, 1, 2}
    assert np.all(np.isfinite(x)) and np.abs(x).max() <= 1.0 + 1e-6  # radius at most 1


def test_balanced_classes_and_split():
    (x, y), (xt, yt) = spirals.load_data(n_samples=1001, n_classes=4, test_split=0.25)
    assert np.bincount(np.concatenate([y, yt])).tolist() == [251, 250, 250, 250]
    assert len(xt) == 250 and len(x) == 751
    (x, y), (xt, yt) = spirals.load_data(n_samples=90, test_split=0.0)
    assert len(x) == 90 and len(xt) == 0 and xt.shape == (0, 2)


def test_deterministic_for_a_seed():
    a = spirals.load_data(seed=7)
    b = spirals.load_data(seed=7)
    c = spirals.load_data(seed=8)
    for u, w in zip(a[0] + a[1], b[0] + b[1]):
        np.testing.assert_array_equal(u, w)
    assert not np.array_equal(a[0][0], c[0][0])


def test_seed_none_uses_nnrs_generator():
    nnrs.random.seed(3)
    a = spirals.load_data(seed=None)
    nnrs.random.seed(3)
    b = spirals.load_data(seed=None)
    np.testing.assert_array_equal(a[0][0], b[0][0])
    c = spirals.load_data(seed=None)  # the generator moved on
    assert not np.array_equal(a[0][0], c[0][0])


def test_noise_zero_lies_on_the_arms():
    (x, y), _ = spirals.load_data(n_samples=300, noise=0.0, test_split=0.0)
    r = np.hypot(x[:, 0], x[:, 1])
    theta = np.arctan2(x[:, 0], x[:, 1])
    expected = 2 * np.pi * y / 3 + spirals.TURN * r
    diff = np.angle(np.exp(1j * (theta - expected)))  # wrapped to (-pi, pi]
    mask = r > 1e-3
    assert np.abs(diff[mask]).max() < 1e-4


def test_small_mlp_learns_it_but_a_linear_model_does_not():
    (x, y), (xt, yt) = spirals.load_data()
    assert _mlp_accuracy(x, y, xt, yt, 3) > 0.9
    assert _mlp_accuracy(x, y, xt, yt, 3, hidden=0) < 0.75


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(n_classes=1), "n_classes must be an integer >= 2"),
        (dict(n_classes=2.5), "n_classes must be an integer >= 2"),
        (dict(n_samples=2, n_classes=3), r"n_samples must be an integer >= n_classes \(3\)"),
        (dict(noise=-0.1), "noise must be a finite number >= 0"),
        (dict(noise=float("nan")), "noise must be a finite number >= 0"),
        (dict(test_split=1.0), r"test_split must be in \[0, 1\)"),
        (dict(test_split=-0.1), r"test_split must be in \[0, 1\)"),
    ],
)
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        spirals.load_data(**kwargs)
