"""Image augmentation layers (Keras 3 names, arguments and configs), channels-last.

Active in training only: ``fit`` / ``train_on_batch`` and a direct call (whose
``training`` defaults to True, as Keras' image preprocessing layers do) augment;
``predict``, ``evaluate`` and ``training=False`` pass the images through unchanged
(GaussianNoise, a regularization layer, defaults to ``training=False`` as in Keras).
Images are ``(batch, height, width, channels)`` or one image ``(height, width,
channels)``. Random parameters are drawn on the host from the layer's own generator
when ``seed`` is given, else from nnrs' generator (``nnrs.random.seed``), so runs are
reproducible. The warps (RandomTranslation, RandomRotation) are the ``affine_transform``
kernel, with its gradient wrt the images: a layer placed after other layers passes
gradients back through the warp; flips pass the flipped gradient, GaussianNoise the
gradient unchanged, RandomCrop the gradient into the cropped window.
"""

from __future__ import annotations

import math

import numpy as np

from .. import functions as F
from .. import ops
from .. import random as _random
from .base import Layer, shape_str
from .core import _from_keras_config, _keras_config

_FILL_MODES = ("reflect", "wrap", "constant", "nearest")
_INTERPOLATIONS = ("nearest", "bilinear")


class _ImageLayer(Layer):
    """What the image layers share: channels_last only, rank 3 or 4, the seeded generator."""

    def __init__(self, seed=None, data_format=None, **kwargs):
        super().__init__(**kwargs)
        if data_format not in (None, "channels_last"):
            raise ValueError(f"{type(self).__name__} {self.name!r}: data_format={data_format!r} is not supported by nnrs; "
                             "images are channels_last (batch, height, width, channels)")
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer))):
            raise ValueError(f"{type(self).__name__} {self.name!r}: seed must be an int or None, got {seed!r}")
        self.seed = None if seed is None else int(seed)
        self.data_format = "channels_last"
        self._rng = np.random.default_rng(self.seed) if self.seed is not None else None

    def _gen(self):
        return self._rng if self._rng is not None else _random.generator()

    def _check_rank(self, shape):
        if len(shape) not in (3, 4):
            raise ValueError(f"{type(self).__name__} {self.name!r}: expected images of shape (batch, height, width, "
                             f"channels) or (height, width, channels), got {shape_str(shape)}")

    def build(self, input_shape):
        self._set_spec(ndim=3)  # so that __call__ checks every input (with its real shape) first
        self.built = True

    def _check_input(self, shape):
        self._check_rank(shape)

    def compute_output_shape(self, input_shape):
        self._check_rank(input_shape)
        return tuple(input_shape)

    def call(self, x, training=True):
        self._check_rank(x.data.shape)
        if not training:
            return x
        single = x.data.ndim == 3
        if single:
            x = ops.expand_dims(x, 0)
        y = self._augment(x)
        return ops.squeeze(y, 0) if single else y

    def _augment(self, x):  # pragma: no cover - documentation
        raise NotImplementedError


def _factor_pair(who, name, factor, lo=-1.0, hi=1.0):
    """Keras' factor: a number f gives (-|f|, |f|), a pair is sorted; all within [lo, hi]."""
    if isinstance(factor, (tuple, list)):
        if len(factor) != 2 or not all(isinstance(f, (int, float, np.integer, np.floating)) for f in factor):
            raise ValueError(f"{who}: {name} must be a number or a pair of numbers, got {factor!r}")
        lower, upper = sorted(float(f) for f in factor)
    elif isinstance(factor, (int, float, np.integer, np.floating)) and not isinstance(factor, bool):
        lower, upper = -abs(float(factor)), abs(float(factor))
    else:
        raise ValueError(f"{who}: {name} must be a number or a pair of numbers, got {factor!r}")
    if lower < lo or upper > hi:
        raise ValueError(f"{who}: {name} must lie in [{lo}, {hi}], got {factor!r}")
    return lower, upper


def _rotation_factor(who, factor):
    """Keras' rotation factor: a number f in [-1, 1] gives (-|f|, |f|); a pair is sorted
    and refused only when it lies wholly outside [-1, 1] (so more than a turn is allowed)."""
    if isinstance(factor, (tuple, list)):
        if len(factor) != 2 or not all(isinstance(f, (int, float, np.integer, np.floating)) for f in factor):
            raise ValueError(f"{who}: factor must be a number or a pair of numbers, got {factor!r}")
        if factor[0] > 1 or factor[1] < -1:
            raise ValueError(f"{who}: factor must overlap [-1, 1], got {factor!r}")
        lower, upper = sorted(float(f) for f in factor)
        return lower, upper
    return _factor_pair(who, "factor", factor)


def _warp_options(who, fill_mode, interpolation):
    if fill_mode not in _FILL_MODES:
        raise ValueError(f"{who}: unknown fill_mode {fill_mode!r}; expected one of {', '.join(_FILL_MODES)}")
    if interpolation not in _INTERPOLATIONS:
        raise ValueError(f"{who}: unknown interpolation {interpolation!r}; expected one of {', '.join(_INTERPOLATIONS)}")


def _warp(x, transforms, interpolation, fill_mode, fill_value):
    t = x.backend.asarray(np.ascontiguousarray(transforms, dtype=x.dtype))
    return F.AffineTransform.apply(x, t, interpolation, fill_mode, float(fill_value))


class RandomFlip(_ImageLayer):
    """Flips each image, with probability 1/2 drawn once per image as Keras 3 does:
    left-right (``horizontal``), up-down (``vertical``), or both at once
    (``horizontal_and_vertical``: an image is either kept or turned by 180 degrees)."""

    _MODES = ("horizontal", "vertical", "horizontal_and_vertical")

    def __init__(self, mode="horizontal_and_vertical", seed=None, data_format=None, **kwargs):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        if mode not in self._MODES:
            raise ValueError(f"RandomFlip {self.name!r}: unknown mode {mode!r}; expected one of {', '.join(self._MODES)}")
        self.mode = mode

    def _augment(self, x):
        n, h, w = x.data.shape[:3]
        flip = self._gen().random(n) <= 0.5
        rows, cols = np.tile(np.arange(h), (n, 1)), np.tile(np.arange(w), (n, 1))
        if self.mode != "vertical":
            cols[flip] = cols[flip, ::-1]
        if self.mode != "horizontal":
            rows[flip] = rows[flip, ::-1]
        return F.Flip.apply(x, rows, cols)

    def get_config(self):
        return _keras_config(self, data_format=self.data_format, seed=self.seed, mode=self.mode)

    from_config = classmethod(_from_keras_config)


class RandomTranslation(_ImageLayer):
    """Shifts each image by a random fraction of its height (``height_factor``) and width
    (``width_factor``): a number f draws from [-f, f], a pair (lo, hi) from [lo, hi]."""

    def __init__(self, height_factor, width_factor, fill_mode="reflect", interpolation="bilinear", seed=None,
                 fill_value=0.0, data_format=None, **kwargs):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        who = f"RandomTranslation {self.name!r}"
        self.height_factor, self.width_factor = height_factor, width_factor
        self.height_lower, self.height_upper = _factor_pair(who, "height_factor", height_factor)
        self.width_lower, self.width_upper = _factor_pair(who, "width_factor", width_factor)
        _warp_options(who, fill_mode, interpolation)
        self.fill_mode, self.interpolation, self.fill_value = fill_mode, interpolation, float(fill_value)

    def transforms(self, n, h, w):
        """(n, 8) translation transforms drawn as ``_augment`` draws them (heights first)."""
        g = self._gen()
        ty = g.uniform(self.height_lower, self.height_upper, n) * h
        tx = g.uniform(self.width_lower, self.width_upper, n) * w
        return translation_transforms(tx, ty)

    def _augment(self, x):
        n, h, w = x.data.shape[:3]
        return _warp(x, self.transforms(n, h, w), self.interpolation, self.fill_mode, self.fill_value)

    def get_config(self):
        return _keras_config(self, data_format=self.data_format, height_factor=self.height_factor,
                             width_factor=self.width_factor, fill_mode=self.fill_mode, interpolation=self.interpolation,
                             seed=self.seed, fill_value=self.fill_value)

    from_config = classmethod(_from_keras_config)


def translation_transforms(tx, ty):
    """(n, 8) transforms shifting the images by ``tx`` pixels right and ``ty`` pixels down."""
    tx, ty = np.asarray(tx, dtype=np.float64), np.asarray(ty, dtype=np.float64)
    t = np.zeros((tx.shape[0], 8))
    t[:, 0] = t[:, 4] = 1.0
    t[:, 2], t[:, 5] = -tx, -ty
    return t


def rotation_transforms(angles_deg, h, w):
    """(n, 8) transforms rotating by ``angles_deg`` (degrees, counter-clockwise on screen
    for positive angles as Keras) about the image centre ((w-1)/2, (h-1)/2)."""
    a = np.asarray(angles_deg, dtype=np.float64) * (math.pi / 180.0)
    c, s = np.cos(a), np.sin(a)
    cx, cy = 0.5 * (w - 1), 0.5 * (h - 1)
    t = np.zeros((a.shape[0], 8))
    t[:, 0], t[:, 1], t[:, 2] = c, -s, cx - cx * c + cy * s
    t[:, 3], t[:, 4], t[:, 5] = s, c, cy - cx * s - cy * c
    return t


class RandomRotation(_ImageLayer):
    """Rotates each image by a random angle: ``factor`` is a fraction of a full turn, a
    number f drawing from [-f, f] * 360 degrees, a pair (lo, hi) from [lo, hi] * 360."""

    def __init__(self, factor, fill_mode="reflect", interpolation="bilinear", seed=None, fill_value=0.0,
                 data_format=None, **kwargs):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        who = f"RandomRotation {self.name!r}"
        self.factor = _rotation_factor(who, factor)
        _warp_options(who, fill_mode, interpolation)
        self.fill_mode, self.interpolation, self.fill_value = fill_mode, interpolation, float(fill_value)

    def transforms(self, n, h, w):
        """(n, 8) rotation transforms drawn as ``_augment`` draws them."""
        angles = self._gen().uniform(self.factor[0] * 360.0, self.factor[1] * 360.0, n)
        return rotation_transforms(angles, h, w)

    def _augment(self, x):
        n, h, w = x.data.shape[:3]
        return _warp(x, self.transforms(n, h, w), self.interpolation, self.fill_mode, self.fill_value)

    def get_config(self):
        return _keras_config(self, data_format=self.data_format, factor=list(self.factor), fill_mode=self.fill_mode,
                             fill_value=self.fill_value, interpolation=self.interpolation, seed=self.seed)

    from_config = classmethod(_from_keras_config)


class RandomCrop(_ImageLayer):
    """In training, crops every image of a batch at one random (top, left) to ``(height,
    width)``; at inference the images pass unchanged (Keras 3.15's behaviour: the output
    keeps the input's size). Images as large as the crop in one dimension and smaller in
    the other, which Keras center-crops and resizes, raise an error (nnrs has no resize)."""

    def __init__(self, height, width, seed=None, data_format=None, **kwargs):
        if seed is None:  # as Keras: a default seed drawn now and kept in the config
            seed = int(_random.generator().integers(0, 2**31 - 1))
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        for arg, v in (("height", height), ("width", width)):
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v <= 0:
                raise ValueError(f"RandomCrop {self.name!r}: {arg} must be a positive integer, got {v!r}")
        self.height, self.width = int(height), int(width)

    def compute_output_shape(self, input_shape):
        self._check_rank(input_shape)
        return tuple(input_shape[:-3]) + (self.height, self.width, input_shape[-1])

    def _augment(self, x):
        h, w = x.data.shape[1:3]
        if h > self.height and w > self.width:
            g = self._gen()
            top, left = int(g.integers(0, h - self.height + 1)), int(g.integers(0, w - self.width + 1))
        else:  # Keras: the centered crop of the target's aspect ratio, then a resize
            ch = max(min(h, int(float(w * self.height) / self.width)), 1)
            cw = max(min(w, int(float(h * self.width) / self.height)), 1)
            if (ch, cw) != (self.height, self.width):
                raise ValueError(f"RandomCrop {self.name!r}: images of size ({h}, {w}) are not larger than the crop "
                                 f"({self.height}, {self.width}); Keras center-crops ({ch}, {cw}) and resizes, which "
                                 "nnrs does not support")
            top, left = (h - ch) // 2, (w - cw) // 2
        return ops.getitem(x, (slice(None), slice(top, top + self.height), slice(left, left + self.width)))

    def get_config(self):
        return _keras_config(self, data_format=self.data_format, height=self.height, width=self.width, seed=self.seed)

    from_config = classmethod(_from_keras_config)


class GaussianNoise(Layer):
    """Adds zero-mean Gaussian noise of standard deviation ``stddev`` in training (the
    identity at inference); the gradient passes through unchanged. Any input shape."""

    supports_masking = True  # the input's mask passes through (Keras)

    def __init__(self, stddev, seed=None, **kwargs):
        super().__init__(**kwargs)
        if not (isinstance(stddev, (int, float, np.integer, np.floating)) and not isinstance(stddev, bool)
                and math.isfinite(stddev) and stddev >= 0):
            raise ValueError(f"GaussianNoise {self.name!r}: stddev must be a finite number >= 0, got {stddev!r}")
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer))):
            raise ValueError(f"GaussianNoise {self.name!r}: seed must be an int or None, got {seed!r}")
        self.stddev, self.seed = float(stddev), None if seed is None else int(seed)
        self._rng = np.random.default_rng(self.seed) if self.seed is not None else None

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def call(self, x, training=False):
        if not training or self.stddev == 0.0:
            return x
        s = int(self._rng.integers(0, 2**63 - 1)) if self._rng is not None else _random.next_seed()
        return F.GaussianNoise.apply(x, self.stddev, s)

    def get_config(self):
        return _keras_config(self, stddev=self.stddev, seed=self.seed)

    from_config = classmethod(_from_keras_config)


__all__ = ["GaussianNoise", "RandomCrop", "RandomFlip", "RandomRotation", "RandomTranslation"]
