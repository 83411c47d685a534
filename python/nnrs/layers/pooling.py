"""Pooling layers (Keras 3): MaxPooling1D/2D, AveragePooling1D/2D and the global poolings.

Channels-last only; ``data_format="channels_first"`` is an error naming it. Windowed
pooling runs the ``max_pool2d`` / ``avg_pool2d`` kernels (1-D as height 1); global pooling
is the ``reduce`` kernel (mean, or max whose gradient TensorFlow-style shares ties).
"""

from __future__ import annotations

from numbers import Integral

from .. import ops
from .base import Layer, shape_str
from .core import _from_keras_config, _keras_config


def _data_format(who, data_format):
    if data_format not in (None, "channels_last"):
        raise ValueError(f"{who}: data_format={data_format!r} is not supported by nnrs (only 'channels_last')")
    return "channels_last"


def _tuple(who, arg, v, n):
    t = (v,) * n if isinstance(v, Integral) and not isinstance(v, bool) else tuple(v) if isinstance(v, (tuple, list)) else None
    if t is None or len(t) != n or any(isinstance(i, bool) or not isinstance(i, Integral) or i < 1 for i in t):
        raise ValueError(f"{who}: {arg} must be a positive int or a tuple of {n} positive ints, got {v!r}")
    return tuple(int(i) for i in t)


class _Pooling(Layer):
    """Windowed pooling over ``rank`` spatial axes of channels-last inputs."""

    rank = 2
    _op = staticmethod(ops.max_pool)

    def __init__(self, pool_size, strides=None, padding="valid", data_format=None, name=None, **kwargs):
        super().__init__(name=name, **kwargs)
        who = f"{type(self).__name__} {self.name!r}"
        self.pool_size = _tuple(who, "pool_size", pool_size, self.rank)
        self.strides = self.pool_size if strides is None else _tuple(who, "strides", strides, self.rank)
        mode = padding.lower() if isinstance(padding, str) else padding
        if mode not in ("valid", "same"):
            raise ValueError(f"{who}: padding must be 'valid' or 'same', got {padding!r}")
        self.padding = mode
        self.data_format = _data_format(who, data_format)

    def _expected(self):
        return "(batch, steps, channels)" if self.rank == 1 else "(batch, height, width, channels)"

    def compute_output_shape(self, input_shape):
        who = f"{type(self).__name__} {self.name!r}"
        shape = tuple(input_shape)
        if len(shape) != self.rank + 2:
            raise ValueError(f"{who}: expected input shape {self._expected()}, got {shape_str(shape)}")
        out = []
        for n, p, s in zip(shape[1:-1], self.pool_size, self.strides):
            if n is None:
                out.append(None)
            elif self.padding == "same":
                out.append(-(-n // s))
            elif n < p:
                want = (None,) + self.pool_size + (shape[-1],)
                raise ValueError(f"{who}: pool_size {self.pool_size} is larger than the input (padding='valid'); expected "
                                 f"an input shape of at least {shape_str(want)}, got {shape_str(shape)}")
            else:
                out.append((n - p) // s + 1)
        return (shape[0],) + tuple(out) + (shape[-1],)

    def build(self, input_shape):
        self.compute_output_shape(input_shape)
        self.built = True

    def call(self, x, training=False):
        self.compute_output_shape(x.shape)  # a layer-named error for a wrong rank or a too small input
        return type(self)._op(x, self.pool_size, self.strides, self.padding)

    def get_config(self):
        return _keras_config(self, pool_size=self.pool_size, padding=self.padding, strides=self.strides,
                             data_format=self.data_format)

    from_config = classmethod(_from_keras_config)


class MaxPooling1D(_Pooling):
    """Max over windows of ``pool_size`` steps, every ``strides`` steps, of (batch, steps, channels)."""

    rank = 1

    def __init__(self, pool_size=2, strides=None, padding="valid", data_format=None, name=None, **kwargs):
        super().__init__(pool_size, strides, padding, data_format, name, **kwargs)


class MaxPooling2D(_Pooling):
    """Max over ``pool_size`` windows, every ``strides`` pixels, of (batch, height, width, channels)."""

    def __init__(self, pool_size=(2, 2), strides=None, padding="valid", data_format=None, name=None, **kwargs):
        super().__init__(pool_size, strides, padding, data_format, name, **kwargs)


class AveragePooling1D(_Pooling):
    """Mean over windows of (batch, steps, channels); with "same" over the real elements only."""

    rank = 1
    _op = staticmethod(ops.average_pool)


class AveragePooling2D(_Pooling):
    """Mean over windows of (batch, height, width, channels); with "same" over the real
    elements only (as Keras / TensorFlow)."""

    _op = staticmethod(ops.average_pool)


class _GlobalPooling(Layer):
    """Mean or max over the spatial axes of channels-last inputs."""

    rank = 2
    _reduce = staticmethod(ops.mean)

    def __init__(self, data_format=None, keepdims=False, **kwargs):
        super().__init__(**kwargs)
        self.data_format = _data_format(f"{type(self).__name__} {self.name!r}", data_format)
        self.keepdims = bool(keepdims)

    def _check(self, shape):
        if len(shape) != self.rank + 2:
            want = "(batch, steps, channels)" if self.rank == 1 else "(batch, height, width, channels)"
            raise ValueError(f"{type(self).__name__} {self.name!r}: expected input shape {want}, got {shape_str(shape)}")

    def compute_output_shape(self, input_shape):
        shape = tuple(input_shape)
        self._check(shape)
        if self.keepdims:
            return (shape[0],) + (1,) * self.rank + (shape[-1],)
        return (shape[0], shape[-1])

    def build(self, input_shape):
        self._check(tuple(input_shape))
        self.built = True

    def call(self, x, training=False):
        self._check(x.shape)
        return type(self)._reduce(x, axis=tuple(range(1, self.rank + 1)), keepdims=self.keepdims)

    def get_config(self):
        return _keras_config(self, data_format=self.data_format, keepdims=self.keepdims)

    from_config = classmethod(_from_keras_config)


class GlobalAveragePooling1D(_GlobalPooling):
    """Mean over the steps of (batch, steps, channels); with a mask (batch, steps), the mean
    over the unmasked steps only (as in Keras). The output has no mask."""

    rank = 1
    supports_masking = True

    def call(self, x, training=False, mask=None):
        if mask is None:
            return super().call(x, training=training)
        self._check(x.shape)
        if tuple(mask.shape) != tuple(x.shape[:2]):
            raise ValueError(f"GlobalAveragePooling1D {self.name!r}: the mask must have shape (batch, steps) = "
                             f"{tuple(x.shape[:2])}, got {tuple(mask.shape)}")
        fm = ops.expand_dims(ops.cast(mask, x.dtype), -1)
        axis = 1
        return ops.divide(ops.sum(ops.multiply(x, fm), axis=axis, keepdims=self.keepdims),
                          ops.sum(fm, axis=axis, keepdims=self.keepdims))

    def compute_mask(self, inputs, mask=None):
        return None


class GlobalAveragePooling2D(_GlobalPooling):
    """Mean over height and width of (batch, height, width, channels)."""


class GlobalMaxPooling1D(_GlobalPooling):
    """Max over the steps of (batch, steps, channels); tied maxima share the gradient."""

    rank = 1
    _reduce = staticmethod(ops.max)


class GlobalMaxPooling2D(_GlobalPooling):
    """Max over height and width of (batch, height, width, channels); tied maxima share the
    gradient (as TensorFlow's and PyTorch's max reductions)."""

    _reduce = staticmethod(ops.max)


# Keras' short aliases.
MaxPool1D, MaxPool2D, AvgPool1D, AvgPool2D = MaxPooling1D, MaxPooling2D, AveragePooling1D, AveragePooling2D
GlobalAvgPool1D, GlobalAvgPool2D = GlobalAveragePooling1D, GlobalAveragePooling2D
GlobalMaxPool1D, GlobalMaxPool2D = GlobalMaxPooling1D, GlobalMaxPooling2D

__all__ = [
    "AvgPool1D", "AvgPool2D", "GlobalAvgPool1D", "GlobalAvgPool2D", "GlobalMaxPool1D", "GlobalMaxPool2D", "MaxPool1D",
    "MaxPool2D", "AveragePooling1D", "AveragePooling2D", "GlobalAveragePooling1D", "GlobalAveragePooling2D", "GlobalMaxPooling1D",
    "GlobalMaxPooling2D", "MaxPooling1D", "MaxPooling2D",
]
