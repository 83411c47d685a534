"""LeNet-5 style convnet on MNIST (Adam 1e-3, batch 64).

conv 16 5x5 same, max pool, conv 32 5x5 same, max pool, dense 128, dropout 0.5, dense 10.

    python -m nnrs.examples.mnist_lenet [--data DIR] [--epochs 10] [--plot lenet.svg]
"""

from nnrs import applications

from ._mnist_images import run


def main(argv=None):
    return run(__doc__, lambda: applications.LeNet5((28, 28, 1), 10), argv)


if __name__ == "__main__":
    main()
