"""A small DenseNet-BC on MNIST (dense blocks 4-4-4, growth rate 12, compression 0.5; Adam 1e-3, batch 64).

    python -m nnrs.examples.mnist_densenet [--data DIR] [--epochs 10] [--plot densenet.svg]
"""

from nnrs import applications

from ._mnist_images import run


def main(argv=None):
    return run(__doc__, lambda: applications.DenseNet((4, 4, 4), growth_rate=12, input_shape=(28, 28, 1), classes=10), argv)


if __name__ == "__main__":
    main()
