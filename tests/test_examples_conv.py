"""The MNIST convnet examples run end to end on the real images (short runs; the full
10-epoch figures are in the README)."""

import nnrs
import numpy as np
from nnrs.examples import mnist_lenet
from nnrs.examples._mnist_images import load_images


def test_lenet_learns_mnist_in_two_epochs(mnist_dir, tmp_path):
    plot = tmp_path / "curves.svg"
    acc = mnist_lenet.main(["--data", str(mnist_dir), "--epochs", "2", "--verbose", "0", "--plot", str(plot)])
    # float32 rounding (thread count, kernel path) moves the 2,000-image test accuracy between
    # about 0.9695 and 0.9745 (measured at 1-3 threads, patch and direct conv kernels)
    assert acc >= 0.965
    text = plot.read_text()
    assert text.startswith("<svg") and text.count("<polyline") == 4  # loss and accuracy, each with its val_ curve


def test_mnist_images_are_channels_last_and_split_8000_2000(mnist_dir):
    (x_train, y_train), (x_test, y_test) = load_images(str(mnist_dir))
    assert x_train.shape == (8000, 28, 28, 1) and x_test.shape == (2000, 28, 28, 1)
    assert x_train.dtype == np.float32 and 0.0 <= x_train.min() and x_train.max() <= 1.0
    assert set(np.unique(y_test)) == set(range(10))


def test_plot_history_refuses_an_empty_history(tmp_path):
    import pytest

    with pytest.raises(ValueError, match="no values"):
        nnrs.utils.plot_history({"loss": []}, tmp_path / "x.svg")
