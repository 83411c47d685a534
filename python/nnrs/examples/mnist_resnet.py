"""A small ResNet on MNIST (ResNet-8: 3x3 stem, one basic block per stage at 16/32/64 filters; Adam 1e-3, batch 64).

    python -m nnrs.examples.mnist_resnet [--data DIR] [--epochs 10] [--plot resnet.svg]
"""

from nnrs import applications

from ._mnist_images import run


def main(argv=None):
    return run(__doc__, lambda: applications.ResNet(8, input_shape=(28, 28, 1), classes=10), argv)


if __name__ == "__main__":
    main()
