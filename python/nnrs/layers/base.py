"""Layer: the Keras 3 shape of a layer. ``__init__`` stores config, ``build`` creates
weights, ``call`` uses ops only, ``get_config`` round-trips.

Calling a layer on a symbolic ``KerasTensor`` (from ``nnrs.Input``) records the call for
a functional ``nnrs.Model`` instead of computing.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np

from .. import backend as _backend
from .. import config as _config
from .. import initializers, regularizers
from .._util import snake_case
from ..tensor import Tensor, Variable

_name_counts: dict = defaultdict(int)


def unique_name(base: str) -> str:
    n = _name_counts[base]
    _name_counts[base] += 1
    return base if n == 0 else f"{base}_{n}"


def shape_str(shape) -> str:
    return "(" + ", ".join("None" if d is None else str(d) for d in shape) + ("," if len(shape) == 1 else "") + ")"


class KerasTensor:
    """A symbolic tensor: a shape (batch dim None), a dtype, and the layer call that made it."""

    def __init__(self, shape, dtype="float32", layer=None, inputs=(), name=None):
        self.shape = tuple(shape)
        self.dtype = np.dtype(dtype)
        self.layer = layer
        self.inputs = tuple(inputs)
        self.name = name

    @property
    def ndim(self):
        return len(self.shape)

    def __repr__(self):
        return f"<KerasTensor shape={shape_str(self.shape)} dtype={self.dtype}>"


class Layer:
    """Base of every layer."""

    def __init__(self, name=None, trainable=True, dtype=None, input_shape=None, input_dim=None,
                 activity_regularizer=None, **kwargs):
        if kwargs:
            raise TypeError(f"{type(self).__name__}: unexpected keyword argument(s) {sorted(kwargs)}")
        self.name = name or unique_name(snake_case(type(self).__name__))
        self.trainable = trainable
        self.dtype = np.dtype(dtype or _config.floatx()).name
        self.activity_regularizer = regularizers.get(activity_regularizer)
        if input_dim is not None:
            input_shape = (input_dim,)
        self._input_shape_arg = None if input_shape is None else (None,) + tuple(input_shape)
        self.built = False
        self._weights: list = []
        self._layers: list = []  # sub-layers (blocks)
        self.losses: list = []
        self.input_shape = None
        self.output_shape = None
        self._spec_axes: dict = {}
        self._spec_ndim = None

    # ---- weights --------------------------------------------------------------------
    def add_weight(self, shape, initializer="glorot_uniform", name="kernel", trainable=True,
                   regularizer=None, dtype=None) -> Variable:
        init = initializers.get(initializer)
        dt = dtype or self.dtype
        value = init(tuple(shape), dtype=dt)
        v = Variable(np.asarray(value, dtype=dt), name=name, trainable=trainable and self.trainable,
                     regularizer=regularizers.get(regularizer))
        v.path = f"{self.name}/{name}"
        self._weights.append(v)
        return v

    def home_backend(self):
        """The backend this layer computes on: its weights' (the active one while it has none)."""
        ws = self.weights
        return ws[0].backend if ws else _backend.current()

    @property
    def weights(self):
        out = list(self._weights)
        for l in self._layers:
            out.extend(l.weights)
        return out

    @property
    def trainable_weights(self):
        return [w for w in self.weights if w.trainable] if self.trainable else []

    @property
    def non_trainable_weights(self):
        return [w for w in self.weights if not w.trainable] if self.trainable else list(self.weights)

    @property
    def trainable_variables(self):
        return self.trainable_weights

    @property
    def variables(self):
        return self.weights

    def get_weights(self):
        """The weights as numpy arrays, in Keras 3's order and shapes."""
        return [w.numpy().copy() for w in self.weights]

    def set_weights(self, weights):
        """Set the weights from numpy arrays (same order and shapes as ``get_weights``)."""
        ws = self.weights
        weights = list(weights)
        if len(weights) != len(ws):
            raise ValueError(f"{type(self).__name__} {self.name!r}: set_weights expected {len(ws)} arrays, got {len(weights)}")
        for v, a in zip(ws, weights):
            a = np.asarray(a)
            if tuple(a.shape) != v.shape:
                raise ValueError(f"{type(self).__name__} {self.name!r}: weight {v.name!r} expects shape "
                                 f"{v.shape}, got {tuple(a.shape)}")
            v.assign(a.astype(v.dtype, copy=False))

    def count_params(self) -> int:
        return int(sum(int(np.prod(w.shape)) for w in self.weights))

    # ---- building and calling -------------------------------------------------------
    def build(self, input_shape):
        self.built = True

    def call(self, x, training=False):  # pragma: no cover - documentation
        raise NotImplementedError

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def _set_spec(self, ndim=None, axes=None):
        """What ``__call__`` checks before calling: a minimum ndim and fixed axis sizes."""
        self._spec_ndim = ndim if ndim is not None or not axes else 0
        self._spec_axes = dict(axes or {})

    def _check_input(self, shape):
        if self._spec_ndim is None:
            return
        if len(shape) < self._spec_ndim:
            raise ValueError(f"{type(self).__name__} {self.name!r}: expected input with at least "
                             f"{self._spec_ndim} dimensions, got shape {shape_str(shape)}")
        for ax, size in self._spec_axes.items():
            if shape[ax] != size and shape[ax] is not None:
                exp = list(shape)
                exp[ax] = size
                exp[0] = None
                raise ValueError(f"{type(self).__name__} {self.name!r}: expected input shape {shape_str(exp)} "
                                 f"(axis {ax} of size {size}), got {shape_str(shape)}")

    def _maybe_build(self, shape):
        if not self.built:
            shape = tuple(shape)
            self.input_shape = (None,) + shape[1:]
            self.build(self.input_shape)
            self.built = True
            self.output_shape = self.compute_output_shape(self.input_shape)

    def __call__(self, x, training=False, **kwargs):
        if not isinstance(x, Tensor):
            if isinstance(x, KerasTensor):
                self._maybe_build(x.shape)
                self._check_input(x.shape)
                return KerasTensor(self.compute_output_shape(x.shape), x.dtype, layer=self, inputs=(x,))
            x = Tensor(x, backend=self.home_backend())
        if x.dtype.kind == "f" and x.dtype != self.dtype:
            from .. import ops  # floating inputs compute in the layer's dtype, as Keras casts them

            x = ops.cast(x, self.dtype)
        if not self.built:
            self._maybe_build(x.data.shape)
        if self._spec_ndim is not None:
            self._check_input(x.data.shape)
        y = self.call(x, training=training, **kwargs)
        if self.activity_regularizer is not None:
            from .. import ops

            self.losses = [ops.divide(self.activity_regularizer(y), float(max(x.data.shape[0], 1)))]
        return y

    def weight_losses(self):
        """Penalties of the weights' regularizers (scalar Tensors)."""
        return [w.regularizer(w) for w in self.weights if w.regularizer is not None]

    # ---- config ---------------------------------------------------------------------
    def get_config(self) -> dict:
        cfg = {"name": self.name, "trainable": self.trainable, "dtype": self.dtype}
        if self._input_shape_arg is not None:
            cfg["input_shape"] = self._input_shape_arg[1:]
        return cfg

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name}, built={self.built}>"
