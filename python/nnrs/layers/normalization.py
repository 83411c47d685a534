"""Normalization layers: BatchNormalization (Keras 3's arguments, weights and config)."""

from __future__ import annotations

import numpy as np

from .. import constraints, initializers, ops, regularizers
from .. import functions as F
from .base import Layer, shape_str
from .core import _from_keras_config, _keras_config


class BatchNormalization(Layer):
    """Normalizes each feature (the ``axis`` of the input, last by default) with the
    batch's mean and biased variance in training, and with the moving statistics at
    inference, then scales by ``gamma`` and shifts by ``beta``.

    As in Keras 3: weights gamma, beta (trainable), moving_mean, moving_variance (not),
    of shape (features,); a training call (``fit``, ``train_on_batch``, ``training=True``)
    updates ``moving = moving * momentum + batch * (1 - momentum)`` with the batch's
    biased variance (outside the autograd graph, one kernel); ``layer.trainable = False``
    runs the layer in inference mode even in training. One kernel each way on the cpu
    backend: the forward and the backward (through the batch statistics) are Rust kernels.
    """

    supports_masking = True  # the input's mask passes through (Keras)

    def __init__(self, axis=-1, momentum=0.99, epsilon=1e-3, center=True, scale=True, beta_initializer="zeros",
                 gamma_initializer="ones", moving_mean_initializer="zeros", moving_variance_initializer="ones",
                 beta_regularizer=None, gamma_regularizer=None, beta_constraint=None, gamma_constraint=None,
                 synchronized=False, renorm=False, renorm_clipping=None, renorm_momentum=0.99, **kwargs):
        super().__init__(**kwargs)
        who = f"BatchNormalization {self.name!r}"
        if isinstance(axis, (list, tuple)):
            if len(axis) != 1:
                raise ValueError(f"{who}: axis={list(axis)}: normalizing over several feature axes is not supported "
                                 "by nnrs; give one axis")
            axis = axis[0]
        if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)):
            raise ValueError(f"{who}: axis must be an int, got {axis!r}")
        if synchronized:
            raise ValueError(f"{who}: synchronized=True (cross-replica statistics) is not supported by nnrs")
        if renorm:
            raise ValueError(f"{who}: renorm=True (batch renormalization) is not supported by nnrs")
        if not 0.0 <= float(momentum) <= 1.0:
            raise ValueError(f"{who}: momentum must be in [0, 1], got {momentum}")
        if not float(epsilon) > 0.0:
            raise ValueError(f"{who}: epsilon must be positive, got {epsilon}")
        self.axis = int(axis)
        self.momentum = float(momentum)
        self.epsilon = float(epsilon)
        self.center, self.scale = bool(center), bool(scale)
        self.synchronized = False
        self.renorm, self.renorm_clipping, self.renorm_momentum = False, renorm_clipping, float(renorm_momentum)
        self.beta_initializer = initializers.get(beta_initializer)
        self.gamma_initializer = initializers.get(gamma_initializer)
        self.moving_mean_initializer = initializers.get(moving_mean_initializer)
        self.moving_variance_initializer = initializers.get(moving_variance_initializer)
        self.beta_regularizer = regularizers.get(beta_regularizer)
        self.gamma_regularizer = regularizers.get(gamma_regularizer)
        self.beta_constraint = constraints.get(beta_constraint)
        self.gamma_constraint = constraints.get(gamma_constraint)
        self.gamma = self.beta = self.moving_mean = self.moving_variance = None

    def build(self, input_shape):
        nd = len(input_shape)
        if not -nd <= self.axis < nd:
            raise ValueError(f"BatchNormalization {self.name!r}: axis {self.axis} is out of range for input shape "
                             f"{shape_str(input_shape)}")
        ax = self.axis % nd
        if ax == 0 or input_shape[ax] is None:
            raise ValueError(f"BatchNormalization {self.name!r}: axis {self.axis} of input shape {shape_str(input_shape)} "
                             "must be a feature axis of known size (not the batch axis)")
        c = int(input_shape[ax])
        if self.scale:
            self.gamma = self.add_weight((c,), self.gamma_initializer, name="gamma", regularizer=self.gamma_regularizer,
                                         constraint=self.gamma_constraint)
        if self.center:
            self.beta = self.add_weight((c,), self.beta_initializer, name="beta", regularizer=self.beta_regularizer,
                                        constraint=self.beta_constraint)
        self.moving_mean = self.add_weight((c,), self.moving_mean_initializer, name="moving_mean", trainable=False)
        self.moving_variance = self.add_weight((c,), self.moving_variance_initializer, name="moving_variance",
                                               trainable=False)
        self._set_spec(ndim=nd, axes={ax: c})
        self._spec_exact, self._built_shape = nd, tuple(input_shape)
        self.built = True

    def _check_input(self, shape):
        exact = getattr(self, "_spec_exact", None)
        if exact is not None and len(shape) != exact:
            raise ValueError(f"BatchNormalization {self.name!r}: expected input of rank {exact} (built for "
                             f"{shape_str(self._built_shape)}), got shape {shape_str(shape)}")
        super()._check_input(shape)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def call(self, x, training=False, mask=None):
        if mask is not None:
            raise ValueError(f"BatchNormalization {self.name!r}: masks are not supported by nnrs")
        nd = x.data.ndim
        ax = self.axis % nd
        moved = ax != nd - 1
        if moved:  # layout only: the feature axis goes last and back
            x = ops.moveaxis(x, ax, -1)
        use_batch = bool(training) and self.trainable
        if use_batch:
            stats = {}
            y = F.BatchNorm.apply(x, self.gamma, self.beta, None, None, self.epsilon, True, stats)
            be = self.moving_mean.backend
            be.batch_norm_update(self.moving_mean.data, self.moving_variance.data, stats["mean"], stats["var"], self.momentum)
            self.moving_mean._version += 1
            self.moving_variance._version += 1
        else:
            y = F.BatchNorm.apply(x, self.gamma, self.beta, self.moving_mean.data, self.moving_variance.data,
                                  self.epsilon, False)
        if moved:
            y = ops.moveaxis(y, -1, ax)
        return y

    def get_config(self):
        from ..saving import keras_record

        def init(i):
            return keras_record("keras.initializers", initializers.serialize(i))

        def reg(r):
            return keras_record("keras.regularizers", regularizers.serialize(r))

        return _keras_config(
            self, axis=self.axis, momentum=self.momentum, epsilon=self.epsilon, center=self.center, scale=self.scale,
            beta_initializer=init(self.beta_initializer), gamma_initializer=init(self.gamma_initializer),
            moving_mean_initializer=init(self.moving_mean_initializer),
            moving_variance_initializer=init(self.moving_variance_initializer),
            beta_regularizer=reg(self.beta_regularizer), gamma_regularizer=reg(self.gamma_regularizer),
            beta_constraint=constraints.serialize(self.beta_constraint),
            gamma_constraint=constraints.serialize(self.gamma_constraint), synchronized=False, renorm=False,
            renorm_clipping=self.renorm_clipping, renorm_momentum=self.renorm_momentum)

    from_config = classmethod(_from_keras_config)


__all__ = ["BatchNormalization"]
