"""Core layers: Input, Dense, Activation, Dropout, Flatten, Reshape."""

from __future__ import annotations

import numpy as np

from .. import activations, constraints, initializers, ops, regularizers
from .. import functions as F
from .. import random as _random
from ..tensor import Tensor, _grad
from .base import KerasTensor, Layer, shape_str


def _keras_config(layer, **fields):
    """A layer's config as Keras 3 writes it: name, trainable, dtype policy, then ``fields``."""
    from ..saving import dtype_policy, keras_record

    cfg = {"name": layer.name, "trainable": layer.trainable, "dtype": dtype_policy(layer.dtype)}
    if layer.activity_regularizer is not None:
        cfg["activity_regularizer"] = keras_record("keras.regularizers", regularizers.serialize(layer.activity_regularizer))
    cfg.update(fields)
    return cfg


def _activation_config(layer):
    """A named activation by its Keras name; any other function as Keras' function record."""
    if layer._act_fn is None:
        return layer._act_name
    from ..saving import function_record

    return function_record(layer._act_fn)


def _from_keras_config(cls, config):
    """The layer of a config from ``get_config`` (nnrs' or Keras 3's)."""
    from ..saving import plain_config

    return cls(**plain_config(config))


def Input(shape=None, batch_size=None, dtype=None, sparse=None, batch_shape=None, name=None, tensor=None, optional=False):
    """A symbolic input of per-sample ``shape`` (the batch dimension left out), or of the
    full ``batch_shape``, as Keras 3's ``keras.Input``; ``dtype`` defaults to floatx. The
    tensor remembers its ``InputLayer``, which a functional model lists first in ``layers``."""
    for arg, val in (("sparse", sparse), ("tensor", tensor)):
        if val:
            raise ValueError(f"Input: {arg}={val!r} is not supported by nnrs")
    if optional:
        raise ValueError("Input: optional=True is not supported by nnrs")
    if (shape is None) == (batch_shape is None):
        raise ValueError(f"Input: give exactly one of shape and batch_shape, got shape={shape!r}, batch_shape={batch_shape!r}")
    full = tuple(batch_shape) if batch_shape is not None else (batch_size,) + tuple(shape)
    layer = InputLayer(batch_shape=full, dtype=dtype, name=name)
    t = KerasTensor(full, layer.dtype, name=layer.name)
    t.input_layer = layer
    return t


class InputLayer(Layer):
    """Declares the input shape of a Sequential model (what ``nnrs.Input`` does in a list)."""

    def __init__(self, shape=None, batch_size=None, dtype=None, name=None, input_shape=None, batch_shape=None, **kwargs):
        super().__init__(name=name, dtype=dtype, **kwargs)
        shape = shape if shape is not None else input_shape
        if batch_shape is not None:
            self.shape = tuple(batch_shape)
        elif shape is not None:
            self.shape = (batch_size,) + tuple(shape)
        else:
            raise ValueError("InputLayer: shape (or batch_shape) is required")
        self.built = True
        self.input_shape = self.output_shape = self.shape

    def call(self, x, training=False):
        return x

    def get_config(self):
        return {"batch_shape": list(self.shape), "dtype": self.dtype, "sparse": False, "ragged": False,
                "name": self.name, "optional": False}

    @classmethod
    def from_config(cls, config):
        from ..saving import plain_config

        config = plain_config(config)
        for flag in ("sparse", "ragged", "optional"):
            if config.pop(flag, False):
                raise ValueError(f"InputLayer {config.get('name')!r}: {flag}=True inputs are not supported by nnrs")
        batch_shape = config.pop("batch_shape", None) or config.pop("batch_input_shape", None)
        if batch_shape is not None:
            config["shape"], config["batch_size"] = tuple(batch_shape[1:]), batch_shape[0]
        return cls(**config)


class Dense(Layer):
    """``activation(x @ kernel + bias)``; kernel (in, units), bias (units,) as in Keras 3.

    A named activation runs fused with the product in one autograd node; softmax and
    sigmoid outputs remember their logits so cross-entropy losses use the stable fused
    kernel (as Keras does).
    """

    supports_masking = True  # the input's mask passes through (Keras)

    def __init__(self, units, activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, kernel_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        if not isinstance(units, (int, np.integer)) or units <= 0:
            raise ValueError(f"Dense {self.name!r}: units must be a positive integer, got {units!r}")
        self.units = int(units)
        self.activation = activation
        self._act, self._alpha, self._act_fn, self._act_name = activations.resolve(activation, f"Dense {self.name!r}: activation")
        self.use_bias = use_bias
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        self.kernel = self.bias = None

    def build(self, input_shape):
        if len(input_shape) < 2 or input_shape[-1] is None:
            raise ValueError(f"Dense {self.name!r}: expected input shape (batch, ..., features), got {shape_str(input_shape)}")
        fan_in = int(input_shape[-1])
        self.kernel = self.add_weight((fan_in, self.units), self.kernel_initializer, name="kernel",
                                      regularizer=self.kernel_regularizer)
        self.kernel.constraint = self.kernel_constraint
        if self.use_bias:
            self.bias = self.add_weight((self.units,), self.bias_initializer, name="bias", regularizer=self.bias_regularizer)
            self.bias.constraint = self.bias_constraint
        self._set_spec(ndim=2, axes={-1: fan_in})
        self.built = True

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.units,)

    def call(self, x, training=False):
        lead = None
        if x.data.ndim != 2:
            lead = x.data.shape[:-1]
            x = ops.reshape(x, (-1, x.data.shape[-1]))
        if self._act in ("softmax", "sigmoid"):
            z = ops.dense(x, self.kernel, self.bias)
            y = ops.activation(z, self._act)
            y._keras_logits = (self._act, z)
        elif self._act_fn is not None:
            y = self._act_fn(ops.dense(x, self.kernel, self.bias))
        elif not _grad.enabled and x.backend is self.kernel.backend:
            # inference: the fused kernel alone, without an autograd node
            be, b = x.backend, self.bias
            y = Tensor.wrap(be.linear_forward(x.data, self.kernel.data, None if b is None else b.data, self._act, self._alpha), be)
        else:
            y = F.Dense.apply(x, self.kernel, self.bias, self._act, self._alpha)
        if lead is not None:
            logits = y._keras_logits
            y = ops.reshape(y, lead + (self.units,))
            if logits is not None:
                y._keras_logits = (logits[0], ops.reshape(logits[1], lead + (self.units,)))
        return y

    def get_config(self):
        from ..saving import keras_record

        def init(i):
            return keras_record("keras.initializers", initializers.serialize(i))

        def reg(r):
            return keras_record("keras.regularizers", regularizers.serialize(r))

        return _keras_config(self, units=self.units, activation=_activation_config(self), use_bias=self.use_bias,
                             kernel_initializer=init(self.kernel_initializer), bias_initializer=init(self.bias_initializer),
                             kernel_regularizer=reg(self.kernel_regularizer), bias_regularizer=reg(self.bias_regularizer),
                             kernel_constraint=constraints.serialize(self.kernel_constraint),
                             bias_constraint=constraints.serialize(self.bias_constraint), quantization_config=None)

    from_config = classmethod(_from_keras_config)


class Activation(Layer):
    """Applies an activation (a Keras name or a callable on Tensors)."""

    supports_masking = True  # the input's mask passes through (Keras)

    def __init__(self, activation, **kwargs):
        super().__init__(**kwargs)
        self.activation = activation
        self._act, self._alpha, self._act_fn, self._act_name = activations.resolve(activation, f"Activation {self.name!r}: activation")

    def call(self, x, training=False):
        if self._act_fn is not None:
            return self._act_fn(x)
        y = ops.activation(x, self._act, self._alpha)
        if self._act in ("softmax", "sigmoid"):
            y._keras_logits = (self._act, x)
        return y

    def get_config(self):
        return _keras_config(self, activation=_activation_config(self))

    from_config = classmethod(_from_keras_config)


class Dropout(Layer):
    """Zeroes a fraction ``rate`` of the inputs during training and scales the rest by
    1/(1-rate); the identity at inference."""

    supports_masking = True  # the input's mask passes through (Keras)

    def __init__(self, rate, noise_shape=None, seed=None, **kwargs):
        super().__init__(**kwargs)
        if not 0.0 <= float(rate) < 1.0:
            raise ValueError(f"Dropout {self.name!r}: rate must be in [0, 1), got {rate}")
        if noise_shape is not None:
            raise ValueError(f"Dropout {self.name!r}: noise_shape is not supported")
        self.rate = float(rate)
        self.seed = seed
        self._rng = np.random.default_rng(seed) if seed is not None else None

    def call(self, x, training=False):
        if not training or self.rate == 0.0:
            return x
        seed = int(self._rng.integers(0, 2**63 - 1)) if self._rng is not None else _random.next_seed()
        return ops.dropout(x, self.rate, seed)

    def get_config(self):
        return _keras_config(self, rate=self.rate, seed=self.seed, noise_shape=None)

    from_config = classmethod(_from_keras_config)


class Flatten(Layer):
    """(batch, d1, d2, ...) -> (batch, d1*d2*...)."""

    def __init__(self, data_format=None, **kwargs):
        super().__init__(**kwargs)
        if data_format not in (None, "channels_last"):
            raise ValueError(f"Flatten {self.name!r}: only data_format='channels_last' is supported, got {data_format!r}")

    def get_config(self):
        return _keras_config(self, data_format="channels_last")

    from_config = classmethod(_from_keras_config)

    def compute_output_shape(self, input_shape):
        rest = input_shape[1:]
        n = None if any(d is None for d in rest) else int(np.prod(rest)) if rest else 1
        return (input_shape[0], n)

    def call(self, x, training=False):
        return ops.reshape(x, (x.data.shape[0], -1))


class Reshape(Layer):
    """Reshapes each sample to ``target_shape`` (one entry may be -1)."""

    def __init__(self, target_shape, **kwargs):
        super().__init__(**kwargs)
        self.target_shape = tuple(int(d) for d in target_shape)
        if sum(d == -1 for d in self.target_shape) > 1:
            raise ValueError(f"Reshape {self.name!r}: at most one -1 in target_shape, got {self.target_shape}")

    def compute_output_shape(self, input_shape):
        rest = input_shape[1:]
        if -1 in self.target_shape and not any(d is None for d in rest):
            known = int(np.prod([d for d in self.target_shape if d != -1]))
            total = int(np.prod(rest))
            if known == 0 or total % known:
                raise ValueError(f"Reshape {self.name!r}: cannot reshape {shape_str(input_shape)} to {self.target_shape}")
            return (input_shape[0],) + tuple(total // known if d == -1 else d for d in self.target_shape)
        if not any(d is None for d in rest) and -1 not in self.target_shape and int(np.prod(rest)) != int(np.prod(self.target_shape)):
            raise ValueError(f"Reshape {self.name!r}: input {shape_str(input_shape)} has {int(np.prod(rest))} values per "
                             f"sample, target_shape {self.target_shape} needs {int(np.prod(self.target_shape))}")
        return (input_shape[0],) + self.target_shape

    def build(self, input_shape):
        self.compute_output_shape(input_shape)  # validates
        self.built = True

    def call(self, x, training=False):
        return ops.reshape(x, (x.data.shape[0],) + self.target_shape)

    def get_config(self):
        return _keras_config(self, target_shape=list(self.target_shape))

    from_config = classmethod(_from_keras_config)


__all__ = ["Input", "InputLayer", "Dense", "Activation", "Dropout", "Flatten", "Reshape", "Tensor"]
