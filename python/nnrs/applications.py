"""Model builders for small images (MNIST- and CIFAR-sized), channels-last.

Each returns an uncompiled functional ``nnrs.Model`` ending in a softmax over ``classes``:

* ``LeNet5``: conv 16 5x5 same - max pool - conv 32 5x5 same - max pool - dense 128 -
  dropout - dense ``classes`` (LeCun et al., 1998, with ReLU and max pooling).
* ``ResNet(depth)``: the CIFAR ResNet of He et al. (2016): a 3x3 stem, three stages of
  residual blocks at widths ``base_filters`` x (1, 2, 4), the last two starting with a
  stride-2 block, then global average pooling. ``depth = 6n + 2`` uses n basic blocks per
  stage (ResNet-20: n = 3); ``bottleneck=True`` takes ``depth = 9n + 2``.
* ``DenseNet(blocks, growth_rate)``: a 3x3 stem of ``2*growth_rate`` filters, dense blocks
  of the given sizes with a compressing transition layer between them (DenseNet-BC), then
  BN-ReLU and global average pooling.

The batch normalizations of ResNet and DenseNet use ``bn_momentum=0.9`` (PyTorch's
default; Keras' is 0.99): these models train for about a thousand steps on small data,
and with 0.99 the moving statistics that inference uses lag far behind the weights
(on MNIST 8k/2k, a DenseNet's test accuracy then swings between 70% and 98% from epoch to
epoch while its training accuracy is above 99%).
"""

from __future__ import annotations

from . import layers as L
from .models import Model


def _input(input_shape, who):
    shape = tuple(input_shape)
    if len(shape) != 3:
        raise ValueError(f"{who}: input_shape must be (height, width, channels), got {shape}")
    return L.Input(shape, name="image")


def _head(x, classes, dropout=0.0):
    if dropout:
        x = L.Dropout(dropout)(x)
    return L.Dense(classes, activation="softmax", name="predictions")(x)


def LeNet5(input_shape=(28, 28, 1), classes=10, dropout=0.5, name="lenet5"):
    """LeNet-5 style convnet (about 0.2 M parameters on 28x28x1 input)."""
    inp = _input(input_shape, "LeNet5")
    x = L.Conv2D(16, 5, padding="same", activation="relu", name="conv1")(inp)
    x = L.MaxPooling2D(2, name="pool1")(x)
    x = L.Conv2D(32, 5, padding="same", activation="relu", name="conv2")(x)
    x = L.MaxPooling2D(2, name="pool2")(x)
    x = L.Flatten(name="flatten")(x)
    x = L.Dense(128, activation="relu", name="fc1")(x)
    return Model(inp, _head(x, classes, dropout), name=name)


def ResNet(depth=20, input_shape=(32, 32, 3), classes=10, base_filters=16, bottleneck=False, bn_momentum=0.9, name=None):
    """CIFAR-style residual network of ``depth`` layers (6n+2 basic, 9n+2 bottleneck)."""
    per_block = 3 if bottleneck else 2
    if depth < 3 * per_block + 2 or (depth - 2) % (3 * per_block):
        form = "9n+2" if bottleneck else "6n+2"
        raise ValueError(f"ResNet: depth must be {form} with n >= 1 (e.g. {3 * per_block + 2}), got {depth}")
    n = (depth - 2) // (3 * per_block)
    inp = _input(input_shape, "ResNet")
    x = L.Conv2D(base_filters, 3, padding="same", use_bias=False, kernel_initializer="he_normal", name="stem_conv")(inp)
    x = L.BatchNormalization(momentum=bn_momentum, name="stem_bn")(x)
    x = L.Activation("relu", name="stem_relu")(x)
    for stage in range(3):
        for i in range(n):
            strides = 2 if stage > 0 and i == 0 else 1
            x = L.ResidualBlock(base_filters * 2 ** stage, strides=strides, bottleneck=bottleneck, momentum=bn_momentum,
                                name=f"stage{stage + 1}_block{i + 1}")(x)
    x = L.GlobalAveragePooling2D(name="avg_pool")(x)
    return Model(inp, _head(x, classes), name=name or f"resnet{depth}")


def DenseNet(blocks=(6, 6, 6), growth_rate=12, input_shape=(32, 32, 3), classes=10, compression=0.5, bottleneck=True,
             dropout_rate=0.0, bn_momentum=0.9, name=None):
    """DenseNet-BC for small images: dense blocks of ``blocks`` layers, transitions between."""
    blocks = tuple(int(b) for b in blocks)
    if not blocks or min(blocks) <= 0:
        raise ValueError(f"DenseNet: blocks must be positive layer counts, got {blocks}")
    inp = _input(input_shape, "DenseNet")
    x = L.Conv2D(2 * growth_rate, 3, padding="same", use_bias=False, kernel_initializer="he_normal", name="stem_conv")(inp)
    for i, size in enumerate(blocks):
        x = L.DenseBlock(size, growth_rate=growth_rate, bottleneck=bottleneck, dropout_rate=dropout_rate, momentum=bn_momentum,
                         name=f"dense_block{i + 1}")(x)
        if i < len(blocks) - 1:
            x = L.TransitionLayer(compression, momentum=bn_momentum, name=f"transition{i + 1}")(x)
    x = L.BatchNormalization(momentum=bn_momentum, name="final_bn")(x)
    x = L.Activation("relu", name="final_relu")(x)
    x = L.GlobalAveragePooling2D(name="avg_pool")(x)
    return Model(inp, _head(x, classes), name=name or "densenet")


__all__ = ["DenseNet", "LeNet5", "ResNet"]
