"""Reshaping layers (Keras 3): ZeroPadding2D, Cropping2D, UpSampling2D (images), RepeatVector.

Padding and cropping are layout (a padded copy / a slice; their gradients a slice / a
zero-padded copy). Nearest upsampling repeats pixels and its gradient sums each block
with the ``reduce`` kernel. Bilinear upsampling is separable: one ``matmul`` with a
constant interpolation matrix per spatial axis (its gradient comes from the matmul's).
Channels-last only.
"""

from __future__ import annotations

from numbers import Integral

import numpy as np

from .. import functions as F
from .. import ops
from ..tensor import Tensor
from .base import Layer, shape_str
from .core import _from_keras_config, _keras_config
from .pooling import _data_format, _tuple


def _is_int(v):
    return isinstance(v, Integral) and not isinstance(v, bool)


def _pairs(who, arg, v):
    """Keras' 2-D padding / cropping argument as ((top, bottom), (left, right)): an int for
    all four sides, a pair (height, width) of ints for both sides of each axis, or a pair of
    pairs; every value a non-negative int."""
    bad = ValueError(f"{who}: {arg} must be an int, a tuple of 2 ints or a tuple of 2 tuples of 2 ints, "
                     f"all non-negative, got {v!r}")
    if _is_int(v):
        out = ((v, v), (v, v))
    elif isinstance(v, (tuple, list)) and len(v) == 2 and all(_is_int(i) for i in v):
        out = ((v[0], v[0]), (v[1], v[1]))
    elif (isinstance(v, (tuple, list)) and len(v) == 2
          and all(isinstance(p, (tuple, list)) and len(p) == 2 and all(_is_int(i) for i in p) for p in v)):
        out = (tuple(v[0]), tuple(v[1]))
    else:
        raise bad
    if any(i < 0 for p in out for i in p):
        raise bad
    return tuple(tuple(int(i) for i in p) for p in out)


class _Image2D(Layer):
    """A layer of 4-D channels-last inputs whose output shape follows from the input's."""

    def _check(self, shape):
        if len(shape) != 4:
            raise ValueError(f"{type(self).__name__} {self.name!r}: expected input shape (batch, height, width, channels), "
                             f"got {shape_str(shape)}")

    def build(self, input_shape):
        self.compute_output_shape(tuple(input_shape))
        self.built = True


class ZeroPadding2D(_Image2D):
    """Adds rows and columns of zeros around each image: ``padding`` an int, (height, width)
    or ((top, bottom), (left, right))."""

    def __init__(self, padding=(1, 1), data_format=None, **kwargs):
        super().__init__(**kwargs)
        who = f"ZeroPadding2D {self.name!r}"
        self.padding = _pairs(who, "padding", padding)
        self.data_format = _data_format(who, data_format)

    def compute_output_shape(self, input_shape):
        shape = tuple(input_shape)
        self._check(shape)
        (t, b), (left, r) = self.padding
        grow = (None if shape[1] is None else shape[1] + t + b, None if shape[2] is None else shape[2] + left + r)
        return (shape[0],) + grow + (shape[3],)

    def call(self, x, training=False):
        self._check(x.shape)
        return ops.pad(x, ((0, 0),) + self.padding + ((0, 0),))

    def get_config(self):
        return _keras_config(self, padding=self.padding, data_format=self.data_format)

    from_config = classmethod(_from_keras_config)


class Cropping2D(_Image2D):
    """Removes rows and columns at the edges of each image: ``cropping`` an int,
    (height, width) or ((top, bottom), (left, right))."""

    def __init__(self, cropping=((0, 0), (0, 0)), data_format=None, **kwargs):
        super().__init__(**kwargs)
        who = f"Cropping2D {self.name!r}"
        self.cropping = _pairs(who, "cropping", cropping)
        self.data_format = _data_format(who, data_format)

    def compute_output_shape(self, input_shape):
        shape = tuple(input_shape)
        self._check(shape)
        out = []
        for n, (lo, hi) in zip(shape[1:3], self.cropping):
            if n is not None and lo + hi >= n:
                least = (None, self.cropping[0][0] + self.cropping[0][1] + 1, self.cropping[1][0] + self.cropping[1][1] + 1,
                         shape[3])
                raise ValueError(f"Cropping2D {self.name!r}: cropping {self.cropping} leaves nothing of the input; expected "
                                 f"an input shape of at least {shape_str(least)}, got {shape_str(shape)}")
            out.append(None if n is None else n - lo - hi)
        return (shape[0],) + tuple(out) + (shape[3],)

    def call(self, x, training=False):
        self.compute_output_shape(x.shape)
        (t, b), (left, r) = self.cropping
        h, w = x.shape[1:3]
        return ops.getitem(x, (slice(None), slice(t, h - b), slice(left, w - r)))

    def get_config(self):
        return _keras_config(self, cropping=self.cropping, data_format=self.data_format)

    from_config = classmethod(_from_keras_config)


def _bilinear_matrix(n, scale, dtype):
    """(n * scale, n) weights of bilinear resizing of one axis by an integer ``scale`` with
    half-pixel centres (TensorFlow's ``resize(..., "bilinear")``, PyTorch's
    ``align_corners=False``): output i samples input ``(i + 0.5) / scale - 0.5``, clamped to
    the first and last input."""
    out = np.arange(n * scale)
    src = np.maximum((out + 0.5) / scale - 0.5, 0.0)
    lo = np.minimum(np.floor(src).astype(np.int64), n - 1)
    hi = np.minimum(lo + 1, n - 1)
    frac = src - lo
    a = np.zeros((n * scale, n))
    np.add.at(a, (out, lo), 1.0 - frac)
    np.add.at(a, (out, hi), frac)
    return a.astype(dtype)


def _resize_axis(x, axis, scale):
    """x (4-D) resized bilinearly by ``scale`` along ``axis`` (1 or 2): the axis moved first,
    the rest flattened, one matmul with the interpolation matrix, and back."""
    order = (axis,) + tuple(i for i in range(4) if i != axis)
    t = ops.transpose(x, order)
    moved = t.shape
    t = ops.reshape(t, (moved[0], -1))
    a = Tensor(x.backend.asarray(_bilinear_matrix(moved[0], scale, x.dtype)), backend=x.backend)
    t = ops.reshape(ops.matmul(a, t), (moved[0] * scale,) + tuple(moved[1:]))
    return ops.transpose(t, tuple(int(i) for i in np.argsort(order)))


class UpSampling2D(_Image2D):
    """Repeats every pixel into a ``size`` (rows, columns) block (``"nearest"``), or resizes
    by ``size`` with bilinear interpolation (``"bilinear"``, half-pixel centres as Keras /
    TensorFlow)."""

    def __init__(self, size=(2, 2), data_format=None, interpolation="nearest", **kwargs):
        super().__init__(**kwargs)
        who = f"UpSampling2D {self.name!r}"
        self.size = _tuple(who, "size", size, 2)
        self.data_format = _data_format(who, data_format)
        if interpolation not in ("nearest", "bilinear"):
            raise ValueError(f"{who}: interpolation={interpolation!r} is not supported by nnrs (only 'nearest' and "
                             "'bilinear')")
        self.interpolation = interpolation

    def compute_output_shape(self, input_shape):
        shape = tuple(input_shape)
        self._check(shape)
        grow = tuple(None if n is None else n * s for n, s in zip(shape[1:3], self.size))
        return (shape[0],) + grow + (shape[3],)

    def call(self, x, training=False):
        self._check(x.shape)
        if self.interpolation == "bilinear":
            for axis, scale in ((1, self.size[0]), (2, self.size[1])):
                if scale != 1:
                    x = _resize_axis(x, axis, scale)
            return x
        return F.UpSample2D.apply(x, self.size)

    def get_config(self):
        return _keras_config(self, size=self.size, data_format=self.data_format, interpolation=self.interpolation)

    from_config = classmethod(_from_keras_config)


__all__ = ["Cropping2D", "UpSampling2D", "ZeroPadding2D"]


class RepeatVector(Layer):
    """Repeats (batch, features) ``n`` times along a new time axis: (batch, n, features)."""

    def __init__(self, n, **kwargs):
        super().__init__(**kwargs)
        if not _is_int(n):
            raise TypeError(f"RepeatVector {self.name!r}: n must be an integer, got {n!r}")
        if n <= 0:
            raise ValueError(f"RepeatVector {self.name!r}: n must be positive, got {n}")
        self.n = int(n)

    def _check(self, shape):
        if len(shape) != 2:
            raise ValueError(f"RepeatVector {self.name!r}: expected input shape (batch, features), got {shape_str(shape)}")

    def build(self, input_shape):
        self._check(tuple(input_shape))
        self.built = True

    def compute_output_shape(self, input_shape):
        shape = tuple(input_shape)
        self._check(shape)
        return (shape[0], self.n, shape[1])

    def call(self, inputs):
        self._check(inputs.shape)
        return ops.repeat(ops.expand_dims(inputs, 1), self.n, axis=1)

    def get_config(self):
        return _keras_config(self, n=self.n)

    from_config = classmethod(_from_keras_config)
