"""Building blocks of residual and densely connected convnets (channels-last).

``ResidualBlock`` (He et al., 2016): two 3x3 convolutions (basic) or 1x1-3x3-1x1
(bottleneck, 4x wider output), each followed by batch normalization, added to the block's
input, then ReLU. When the block changes the spatial size (``strides``) or the channel
count, the shortcut is a 1x1 convolution with the same stride, plus batch normalization
(the "projection shortcut"); otherwise it is the input itself.

``DenseBlock`` (Huang et al., 2017): ``num_layers`` composite layers, each
BN-ReLU-Conv(1x1, 4*growth_rate) (the bottleneck, optional) then BN-ReLU-Conv(3x3,
growth_rate); every layer reads the concatenation of the block's input and all earlier
layers' outputs, and the block returns that concatenation: ``C + num_layers*growth_rate``
channels.

``TransitionLayer``: BN-ReLU-Conv(1x1, floor(compression*C)) then 2x2 average pooling
with stride 2; it sits between dense blocks to shrink both the maps and the channels.

``momentum`` is that of their batch normalizations (Keras' default 0.99). The blocks are
ordinary layers that own layers, so ``summary()``, ``fit``, freezing and
``.keras`` saving see their weights; they exist in nnrs only (their records in a saved
file are ``nnrs>ResidualBlock`` ..., which Keras cannot open).
"""

from __future__ import annotations

from .. import ops
from .base import Layer
from .conv import Conv2D
from .core import Activation
from .normalization import BatchNormalization
from .pooling import AveragePooling2D


def _conv(filters, size, strides=1, name=None):
    """The blocks' convolution: 'same' padding, no bias (batch norm follows), He init."""
    return Conv2D(filters, size, strides=strides, padding="same", use_bias=False, kernel_initializer="he_normal", name=name)


class ResidualBlock(Layer):
    """A residual block: ``relu(F(x) + shortcut(x))``.

    ``filters``: width of the 3x3 convolutions (the output has ``filters`` channels, or
    ``4*filters`` with ``bottleneck=True``). ``strides`` > 1 downsamples in the first 3x3
    (basic) or the 3x3 (bottleneck) convolution and in the projection shortcut."""

    nnrs_only = True

    def __init__(self, filters, strides=1, bottleneck=False, momentum=0.99, **kwargs):
        super().__init__(**kwargs)
        self.filters, self.strides, self.bottleneck = int(filters), int(strides), bool(bottleneck)
        self.momentum = float(momentum)
        if self.filters <= 0 or self.strides <= 0:
            raise ValueError(f"ResidualBlock {self.name!r}: filters and strides must be positive, got {filters}, {strides}")
        self.out_channels = 4 * self.filters if self.bottleneck else self.filters
        if self.bottleneck:
            self.convs = [_conv(self.filters, 1), _conv(self.filters, 3, self.strides), _conv(self.out_channels, 1)]
        else:
            self.convs = [_conv(self.filters, 3, self.strides), _conv(self.filters, 3)]
        self.norms = [BatchNormalization(momentum=self.momentum) for _ in self.convs]
        self.relu = Activation("relu")
        self.projection = None  # made in build() when the shape changes

    def build(self, input_shape):
        if len(input_shape) != 4:
            raise ValueError(f"ResidualBlock {self.name!r}: expected input of rank 4 (batch, height, width, channels), "
                             f"got shape {tuple(input_shape)}")
        if self.strides != 1 or input_shape[-1] != self.out_channels:
            self.projection = [_conv(self.out_channels, 1, self.strides), BatchNormalization(momentum=self.momentum)]

    def call(self, x, training=None):
        h = x
        last = len(self.convs) - 1
        for i, (conv, norm) in enumerate(zip(self.convs, self.norms)):
            h = norm(conv(h), training=training)
            if i < last:
                h = self.relu(h)
        short = x
        if self.projection is not None:
            short = self.projection[1](self.projection[0](x), training=training)
        return self.relu(ops.add(h, short))

    def compute_output_shape(self, input_shape):
        n, hgt, wid = input_shape[:3]
        s = self.strides
        return (n, None if hgt is None else -(-hgt // s), None if wid is None else -(-wid // s), self.out_channels)

    def get_config(self):
        return {**super().get_config(), "filters": self.filters, "strides": self.strides, "bottleneck": self.bottleneck,
                "momentum": self.momentum}


class DenseBlock(Layer):
    """A dense block of ``num_layers`` layers adding ``growth_rate`` channels each."""

    nnrs_only = True

    def __init__(self, num_layers, growth_rate=12, bottleneck=True, dropout_rate=0.0, momentum=0.99, **kwargs):
        super().__init__(**kwargs)
        self.momentum = float(momentum)
        self.num_layers, self.growth_rate = int(num_layers), int(growth_rate)
        self.bottleneck, self.dropout_rate = bool(bottleneck), float(dropout_rate)
        if self.num_layers <= 0 or self.growth_rate <= 0:
            raise ValueError(f"DenseBlock {self.name!r}: num_layers and growth_rate must be positive, "
                             f"got {num_layers}, {growth_rate}")
        if self.dropout_rate:
            from .core import Dropout

            self.dropout = Dropout(self.dropout_rate)
        self.relu = Activation("relu")
        # per layer, in order: [BN, 1x1 conv (bottleneck)], BN, 3x3 conv; flat lists, as Keras' file layout needs
        self.per_layer = 2 if self.bottleneck else 1
        self.norms, self.convs = [], []
        for _ in range(self.num_layers):
            if self.bottleneck:
                self.norms.append(BatchNormalization(momentum=self.momentum))
                self.convs.append(_conv(4 * self.growth_rate, 1))
            self.norms.append(BatchNormalization(momentum=self.momentum))
            self.convs.append(_conv(self.growth_rate, 3))

    def build(self, input_shape):
        if len(input_shape) != 4:
            raise ValueError(f"DenseBlock {self.name!r}: expected input of rank 4 (batch, height, width, channels), "
                             f"got shape {tuple(input_shape)}")

    def call(self, x, training=None):
        features = x
        k = self.per_layer
        for i in range(self.num_layers):
            h = features
            for norm, conv in zip(self.norms[i * k:(i + 1) * k], self.convs[i * k:(i + 1) * k]):
                h = conv(self.relu(norm(h, training=training)))
                if self.dropout_rate:
                    h = self.dropout(h, training=training)
            features = ops.concatenate([features, h], axis=-1)
        return features

    def compute_output_shape(self, input_shape):
        c = input_shape[-1]
        return tuple(input_shape[:-1]) + (None if c is None else c + self.num_layers * self.growth_rate,)

    def get_config(self):
        return {**super().get_config(), "num_layers": self.num_layers, "growth_rate": self.growth_rate,
                "bottleneck": self.bottleneck, "dropout_rate": self.dropout_rate, "momentum": self.momentum}


class TransitionLayer(Layer):
    """BN-ReLU-1x1 conv to ``floor(compression * channels)`` channels, then 2x2 average pooling."""

    nnrs_only = True

    def __init__(self, compression=0.5, momentum=0.99, **kwargs):
        super().__init__(**kwargs)
        self.compression, self.momentum = float(compression), float(momentum)
        if not 0.0 < self.compression <= 1.0:
            raise ValueError(f"TransitionLayer {self.name!r}: compression must be in (0, 1], got {compression}")
        self.norm = BatchNormalization(momentum=self.momentum)
        self.relu = Activation("relu")
        self.pool = AveragePooling2D(2, strides=2)
        self.conv = None  # its width depends on the input channels

    def _out_channels(self, channels):
        return max(1, int(channels * self.compression))

    def build(self, input_shape):
        if len(input_shape) != 4 or input_shape[-1] is None:
            raise ValueError(f"TransitionLayer {self.name!r}: expected input (batch, height, width, channels) with known "
                             f"channels, got shape {tuple(input_shape)}")
        self.conv = _conv(self._out_channels(input_shape[-1]), 1)

    def call(self, x, training=None):
        return self.pool(self.conv(self.relu(self.norm(x, training=training))))

    def compute_output_shape(self, input_shape):
        n, h, w, c = input_shape
        return (n, None if h is None else h // 2, None if w is None else w // 2, self._out_channels(c))

    def get_config(self):
        return {**super().get_config(), "compression": self.compression, "momentum": self.momentum}
