"""The examples end to end: quickstart on built-in data, the MNIST MLP acceptance run."""

import nnrs
import numpy as np
from nnrs.examples import mnist_mlp, quickstart


def test_quickstart_learns_the_spirals(capsys):
    acc = quickstart.main(["--epochs", "10", "--verbose", "0"])
    assert acc > 0.9
    assert "test accuracy" in capsys.readouterr().out


def test_mnist_mlp_reaches_96_percent(mnist_dir):
    """MLP 784-256-128-10, relu, dropout 0.2, Adam 1e-3, batch 64, seed 0, 10 epochs,
    first 8,000 t10k images for training, last 2,000 for testing: >= 96.0%."""
    with nnrs.backend.use("cpu"):
        acc = mnist_mlp.main(["--data", str(mnist_dir), "--verbose", "0"])
    assert acc >= 0.96


def test_fit_shows_a_progress_bar(capsys):
    x = np.random.default_rng(0).normal(size=(64, 3)).astype(np.float32)
    m = nnrs.Sequential([nnrs.Input((3,)), nnrs.layers.Dense(1)])
    m.compile(optimizer="sgd", loss="mse", metrics=["mae"])
    m.fit(x, x[:, :1], epochs=2, batch_size=16, verbose=1)
    out = capsys.readouterr().out
    assert "Epoch 2/2" in out and "loss=" in out and "mae=" in out and "4/4" in out
