"""DynamicConv2D (involution) on MNIST (two conv + 7x7 involution stages, dense 128; Adam 1e-3, batch 64).

Layers: conv 16 3x3, DynamicConv2D 7x7 (4 groups), max pool, conv 32 3x3, DynamicConv2D 7x7
(4 groups), max pool, dense 128, dropout 0.5, dense 10.

    python -m nnrs.examples.mnist_dynamic [--data DIR] [--epochs 10] [--plot dynamic.svg]

Each DynamicConv2D generates its own 7x7 kernel at every pixel from the features there
(two 1x1 convolutions with reduction ratio 4) and applies it to that pixel's neighbourhood.
"""

import nnrs
from nnrs import layers as L

from ._mnist_images import run


def build():
    inp = nnrs.Input((28, 28, 1), name="image")
    x = L.Conv2D(16, 3, padding="same", activation="relu")(inp)
    x = L.DynamicConv2D(kernel_size=7, groups=4, reduction_ratio=4)(x)
    x = L.Activation("relu")(x)
    x = L.MaxPooling2D(2)(x)
    x = L.Conv2D(32, 3, padding="same", activation="relu")(x)
    x = L.DynamicConv2D(kernel_size=7, groups=4, reduction_ratio=4)(x)
    x = L.Activation("relu")(x)
    x = L.MaxPooling2D(2)(x)
    x = L.Flatten()(x)
    x = L.Dense(128, activation="relu")(x)
    x = L.Dropout(0.5)(x)
    return nnrs.Model(inp, L.Dense(10, activation="softmax")(x), name="dynamic_conv")


def main(argv=None):
    return run(__doc__, build, argv)


if __name__ == "__main__":
    main()
