"""Weight initializers with Keras 3 names, defaults and semantics.

An initializer is called as ``init(shape, dtype="float32")`` and returns a numpy
array (the layer moves it to the backend), so the same seed gives the same initial
weights on every backend.

Randomness: without ``seed``, draws come from ``nnrs.random.generator()``, so
``nnrs.random.seed(s)`` makes a model's initial weights reproducible. With an
integer ``seed``, the initializer uses its own generator created from that seed
at each call, so every call returns the same values (as Keras 3 does with an
integer seed); a ``numpy.random.Generator`` passed as ``seed`` is drawn from
(advancing) instead.
"""

from __future__ import annotations

import math

import numpy as np

from . import random as _random

__all__ = [
    "Initializer", "Constant", "Zeros", "Ones", "Identity", "RandomNormal", "RandomUniform",
    "TruncatedNormal", "VarianceScaling", "GlorotUniform", "GlorotNormal", "HeUniform", "HeNormal",
    "LecunUniform", "LecunNormal", "Orthogonal", "compute_fans", "get", "serialize", "deserialize",
]

# stddev of a unit normal truncated to [-2, 2]
_TRUNC_STD = 0.87962566103423978


def compute_fans(shape):
    """``(fan_in, fan_out)`` of a weight of ``shape``: a vector ``(n,)`` counts ``n`` both
    ways, a matrix is ``(in, out)``, and a conv kernel ``(*window, in, out)`` multiplies
    both by the window's size (every input position feeds that many weights)."""
    dims = [int(d) for d in shape]
    if len(dims) < 2:
        n = dims[0] if dims else 1
        return n, n
    window = math.prod(dims[:-2])
    return dims[-2] * window, dims[-1] * window


def _dtype(dtype):
    dt = np.dtype(dtype or "float32")
    if dt.kind != "f":
        raise ValueError(f"Expected a float dtype for an initializer, got {dt}")
    return dt


def _shape(shape):
    if isinstance(shape, (int, np.integer)):
        return (int(shape),)
    return tuple(int(d) for d in shape)


class Initializer:
    """Base class: ``__call__(shape, dtype="float32") -> numpy array``; ``get_config``."""

    def __call__(self, shape, dtype="float32"):
        raise NotImplementedError(f"{type(self).__name__}: an initializer subclass defines __call__(shape, dtype)")

    def get_config(self):
        return {}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def clone(self):
        return self.__class__.from_config(self.get_config())

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


class RandomInitializer(Initializer):
    """An initializer that draws random numbers (see the module docstring for ``seed``)."""

    def __init__(self, seed=None):
        if seed is not None and not isinstance(seed, (int, np.integer, np.random.Generator)):
            raise ValueError(f"{type(self).__name__}: seed is an int, a numpy Generator or None, got {seed!r}")
        self.seed = seed

    def _rng(self):
        s = self.seed
        if s is None:
            return _random.generator()
        if isinstance(s, np.random.Generator):
            return s
        return np.random.default_rng(int(s))

    def get_config(self):
        return {"seed": self.seed if not isinstance(self.seed, np.random.Generator) else None}


def _truncated_normal(rng, shape, mean, stddev):
    """Normal(mean, stddev) resampled until within two standard deviations."""
    out = rng.standard_normal(shape)
    bad = np.abs(out) > 2.0
    while bad.any():
        out[bad] = rng.standard_normal(int(bad.sum()))
        bad = np.abs(out) > 2.0
    return out * stddev + mean


class Constant(Initializer):
    """Every element equal to ``value``."""

    def __init__(self, value=0.0):
        self.value = value

    def __call__(self, shape, dtype="float32"):
        return np.full(_shape(shape), self.value, dtype=_dtype(dtype))

    def get_config(self):
        v = self.value
        return {"value": v.tolist() if isinstance(v, np.ndarray) else v}


class Zeros(Initializer):
    """All zeros."""

    def __call__(self, shape, dtype="float32"):
        return np.zeros(_shape(shape), dtype=_dtype(dtype))


class Ones(Initializer):
    """All ones."""

    def __call__(self, shape, dtype="float32"):
        return np.ones(_shape(shape), dtype=_dtype(dtype))


class Identity(Initializer):
    """``gain`` times the identity matrix (2-D shapes only)."""

    def __init__(self, gain=1.0):
        self.gain = gain

    def __call__(self, shape, dtype="float32"):
        shape = _shape(shape)
        if len(shape) != 2:
            raise ValueError(f"Identity: an identity needs a 2-D shape, got {shape}")
        return (self.gain * np.eye(*shape)).astype(_dtype(dtype))

    def get_config(self):
        return {"gain": self.gain}


class RandomNormal(RandomInitializer):
    """Normal(mean, stddev)."""

    def __init__(self, mean=0.0, stddev=0.05, seed=None):
        self.mean = mean
        self.stddev = stddev
        super().__init__(seed)

    def __call__(self, shape, dtype="float32"):
        dt = _dtype(dtype)
        return (self._rng().standard_normal(_shape(shape)) * self.stddev + self.mean).astype(dt)

    def get_config(self):
        return {"mean": self.mean, "stddev": self.stddev, **super().get_config()}


class RandomUniform(RandomInitializer):
    """Uniform on ``[minval, maxval)``."""

    def __init__(self, minval=-0.05, maxval=0.05, seed=None):
        self.minval = minval
        self.maxval = maxval
        super().__init__(seed)

    def __call__(self, shape, dtype="float32"):
        dt = _dtype(dtype)
        return self._rng().uniform(self.minval, self.maxval, _shape(shape)).astype(dt)

    def get_config(self):
        return {"minval": self.minval, "maxval": self.maxval, **super().get_config()}


class TruncatedNormal(RandomInitializer):
    """Normal(mean, stddev) with values beyond two stddevs redrawn."""

    def __init__(self, mean=0.0, stddev=0.05, seed=None):
        self.mean = mean
        self.stddev = stddev
        super().__init__(seed)

    def __call__(self, shape, dtype="float32"):
        dt = _dtype(dtype)
        return _truncated_normal(self._rng(), _shape(shape), self.mean, self.stddev).astype(dt)

    def get_config(self):
        return {"mean": self.mean, "stddev": self.stddev, **super().get_config()}


class VarianceScaling(RandomInitializer):
    """Keras VarianceScaling: variance ``scale / n`` with n the fan_in, fan_out or their
    average; ``truncated_normal`` (stddev corrected by 0.8796...), ``untruncated_normal``
    or ``uniform`` (limit ``sqrt(3 * scale / n)``)."""

    _MODES = ("fan_in", "fan_out", "fan_avg")
    _DISTRIBUTIONS = ("uniform", "truncated_normal", "untruncated_normal")

    def __init__(self, scale=1.0, mode="fan_in", distribution="truncated_normal", seed=None):
        if scale <= 0.0:
            raise ValueError(f"VarianceScaling: scale has to be above 0, got {scale}")
        if mode not in self._MODES:
            raise ValueError(f"VarianceScaling: mode {mode!r} is not one of {', '.join(self._MODES)}")
        distribution = distribution.lower()
        if distribution == "normal":  # tf.keras alias
            distribution = "truncated_normal"
        if distribution not in self._DISTRIBUTIONS:
            raise ValueError(f"VarianceScaling: distribution {distribution!r} is not one of "
                             f"{', '.join(self._DISTRIBUTIONS)}")
        self.scale = scale
        self.mode = mode
        self.distribution = distribution
        super().__init__(seed)

    def __call__(self, shape, dtype="float32"):
        shape, dt = _shape(shape), _dtype(dtype)
        fan_in, fan_out = compute_fans(shape)
        fan = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2.0}[self.mode]
        variance = float(self.scale) / max(1.0, fan)  # the variance every weight should have
        rng = self._rng()
        if self.distribution == "uniform":  # U(-a, a) has variance a^2 / 3
            a = math.sqrt(3.0 * variance)
            out = rng.uniform(-a, a, shape)
        else:
            std = math.sqrt(variance)
            if self.distribution == "truncated_normal":  # widen so the truncated draw keeps the variance
                out = _truncated_normal(rng, shape, 0.0, std / _TRUNC_STD)
            else:
                out = rng.standard_normal(shape) * std
        return out.astype(dt)

    def get_config(self):
        return {"scale": self.scale, "mode": self.mode, "distribution": self.distribution,
                **super().get_config()}


class _Preset(VarianceScaling):
    """A VarianceScaling with fixed scale/mode/distribution; its config is just the seed."""

    _ARGS = (1.0, "fan_in", "truncated_normal")

    def __init__(self, seed=None):
        super().__init__(*self._ARGS, seed=seed)

    def get_config(self):
        return RandomInitializer.get_config(self)


class GlorotUniform(_Preset):
    """Uniform with limit ``sqrt(6 / (fan_in + fan_out))``."""
    _ARGS = (1.0, "fan_avg", "uniform")


class GlorotNormal(_Preset):
    """Truncated normal with stddev ``sqrt(2 / (fan_in + fan_out))``."""
    _ARGS = (1.0, "fan_avg", "truncated_normal")


class HeUniform(_Preset):
    """Uniform with limit ``sqrt(6 / fan_in)``."""
    _ARGS = (2.0, "fan_in", "uniform")


class HeNormal(_Preset):
    """Truncated normal with stddev ``sqrt(2 / fan_in)``."""
    _ARGS = (2.0, "fan_in", "truncated_normal")


class LecunUniform(_Preset):
    """Uniform with limit ``sqrt(3 / fan_in)``."""
    _ARGS = (1.0, "fan_in", "uniform")


class LecunNormal(_Preset):
    """Truncated normal with stddev ``sqrt(1 / fan_in)``."""
    _ARGS = (1.0, "fan_in", "truncated_normal")


class Orthogonal(RandomInitializer):
    """A (semi-)orthogonal matrix from the QR decomposition of a normal draw, times
    ``gain``; shapes of rank > 2 are flattened to ``(prod(shape[:-1]), shape[-1])``."""

    def __init__(self, gain=1.0, seed=None):
        self.gain = gain
        super().__init__(seed)

    def __call__(self, shape, dtype="float32"):
        shape, dt = _shape(shape), _dtype(dtype)
        if len(shape) < 2:
            raise ValueError(f"Orthogonal: rows and columns need a shape of 2 or more dimensions, got {shape}")
        rows = 1
        for d in shape[:-1]:
            rows *= d
        cols = shape[-1]
        a = self._rng().standard_normal((max(rows, cols), min(rows, cols)))
        q, r = np.linalg.qr(a)
        d = np.sign(np.diag(r))
        d[d == 0] = 1.0
        q = q * d
        if rows < cols:
            q = q.T
        return (self.gain * q.reshape(shape)).astype(dt)

    def get_config(self):
        return {"gain": self.gain, **super().get_config()}


_CLASSES = {
    c.__name__: c for c in (
        Constant, Zeros, Ones, Identity, RandomNormal, RandomUniform, TruncatedNormal,
        VarianceScaling, GlorotUniform, GlorotNormal, HeUniform, HeNormal, LecunUniform,
        LecunNormal, Orthogonal,
    )
}

_NAMES = {
    "constant": Constant, "zeros": Zeros, "zero": Zeros, "ones": Ones, "one": Ones,
    "identity": Identity, "random_normal": RandomNormal, "normal": RandomNormal,
    "random_uniform": RandomUniform, "uniform": RandomUniform,
    "truncated_normal": TruncatedNormal, "variance_scaling": VarianceScaling,
    "glorot_uniform": GlorotUniform, "glorot_normal": GlorotNormal,
    "he_uniform": HeUniform, "he_normal": HeNormal,
    "lecun_uniform": LecunUniform, "lecun_normal": LecunNormal, "orthogonal": Orthogonal,
}


def _lookup(name):
    cls = _NAMES.get(name) or _CLASSES.get(name) or _NAMES.get(str(name).lower())
    if cls is None:
        raise ValueError(
            f"Unknown initializer {name!r}; known initializers: {', '.join(sorted(_NAMES))}"
        )
    return cls


def serialize(initializer):
    """``{"class_name": ..., "config": ...}`` of an initializer."""
    return {"class_name": type(initializer).__name__, "config": initializer.get_config()}


def deserialize(config):
    """An initializer from ``serialize``'s dict."""
    if "class_name" not in config:
        raise ValueError(f"initializers.deserialize: the config has no 'class_name': {config!r}")
    return _lookup(config["class_name"]).from_config(dict(config.get("config") or {}))


def get(identifier):
    """An initializer from a Keras name ('glorot_uniform', 'he_normal', 'zeros', ...),
    a class name ('GlorotUniform'), a config dict, an Initializer (returned as is) or
    any callable ``(shape, dtype) -> array``."""
    if identifier is None:
        return None
    if isinstance(identifier, Initializer):
        return identifier
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if isinstance(identifier, str):
        return _lookup(identifier)()
    if isinstance(identifier, type) and issubclass(identifier, Initializer):
        return identifier()
    if callable(identifier):
        return identifier
    raise ValueError(f"initializers.get: expected an initializer, its name, its config or a function, got {identifier!r}")
