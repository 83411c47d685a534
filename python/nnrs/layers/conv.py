"""Convolution layers (Keras 3 names, arguments, weights and configs; channels-last only):
Conv1D, Conv2D, DepthwiseConv2D, SeparableConv2D, Conv2DTranspose.

Every layer runs one autograd node per convolution (``functions.Conv2D``, bias and a named
activation fused into it where possible); 1-D convolutions are 2-D ones of height 1.
"""

from __future__ import annotations

import numpy as np

from .. import activations, constraints, initializers, ops, regularizers
from .. import functions as F
from ..functions.conv import resolve_padding, same_padding, transpose_geometry
from .base import Layer, shape_str
from .core import _activation_config, _from_keras_config, _keras_config


def _tuple(value, n, what, who, minimum=1):
    t = (value,) * n if isinstance(value, (int, np.integer)) else tuple(value)
    if len(t) != n or any(isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < minimum for v in t):
        raise ValueError(f"{who}: {what} must be an int or a tuple of {n} ints >= {minimum}, got {value!r}")
    return tuple(int(v) for v in t)


def _init_config(i):
    from ..saving import keras_record

    return keras_record("keras.initializers", initializers.serialize(i))


def _reg_config(r):
    from ..saving import keras_record

    return keras_record("keras.regularizers", regularizers.serialize(r))


def _weights_config(layer, *prefixes):
    """Keras' config fields of the weights named by ``prefixes`` (``"kernel"``, ``"bias"``,
    ...): every ``<prefix>_initializer``, then every ``<prefix>_regularizer`` and the
    activity regularizer, then every ``<prefix>_constraint``, in Keras' order."""
    out = {f"{p}_initializer": _init_config(getattr(layer, f"{p}_initializer")) for p in prefixes}
    out.update({f"{p}_regularizer": _reg_config(getattr(layer, f"{p}_regularizer")) for p in prefixes})
    out["activity_regularizer"] = _reg_config(layer.activity_regularizer)
    out.update({f"{p}_constraint": constraints.serialize(getattr(layer, f"{p}_constraint")) for p in prefixes})
    return out


class _BaseConv(Layer):
    """What every convolution layer shares: geometry arguments, activation, bias, the shape
    checks and the output-shape arithmetic. ``rank`` is 1 or 2 (spatial dimensions)."""

    rank = 2
    _paddings = ("valid", "same")

    def _init_geometry(self, kernel_size, strides, padding, data_format, dilation_rate, activation, use_bias, bias_initializer,
                       bias_regularizer, bias_constraint):
        who = self._who()
        if data_format not in (None, "channels_last"):
            raise ValueError(f"{who}: data_format={data_format!r} is not supported; nnrs convolutions are channels_last only")
        self.kernel_size = _tuple(kernel_size, self.rank, "kernel_size", who)
        self.strides = _tuple(strides, self.rank, "strides", who)
        self.dilation_rate = _tuple(dilation_rate, self.rank, "dilation_rate", who)
        if not isinstance(padding, str) or padding.lower() not in self._paddings:
            raise ValueError(f"{who}: padding must be one of {', '.join(map(repr, self._paddings))}, got {padding!r}")
        self.padding = padding.lower()
        self.data_format = "channels_last"
        self.activation = activation
        self._act, self._alpha, self._act_fn, self._act_name = activations.resolve(activation, f"{who}: activation")
        self.use_bias = bool(use_bias)
        self.bias_initializer = initializers.get(bias_initializer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.bias_constraint = constraints.get(bias_constraint)
        self.bias = None

    def _who(self):
        return f"{type(self).__name__} {self.name!r}"

    def _check_rank(self, shape):
        want = self.rank + 2
        if len(shape) != want:
            dims = "(batch, steps, channels)" if self.rank == 1 else "(batch, height, width, channels)"
            raise ValueError(f"{self._who()}: expected a {want}-D input {dims}, got shape {shape_str(shape)}")

    def _pads(self, spatial):
        """Explicit (top, bottom, left, right) padding for an input of ``spatial`` size
        (height 1 and no padding on it for 1-D layers)."""
        if self.rank == 1:
            if self.padding == "causal":
                return (0, 0, (self.kernel_size[0] - 1) * self.dilation_rate[0], 0)
            if self.padding == "same":
                return (0, 0) + same_padding(spatial[0], self.kernel_size[0], self.strides[0], self.dilation_rate[0])
            return (0, 0, 0, 0)
        return resolve_padding(self.padding, spatial, self.kernel_size, self.strides, self.dilation_rate, self._who())

    def _spatial_out(self, spatial):
        """Output sizes along the spatial axes (None where the input's is unknown); a
        ValueError naming the layer when the kernel is larger than the padded input."""
        out = []
        for i, size in enumerate(spatial):
            if size is None:
                out.append(None)
                continue
            k, s, d = self.kernel_size[i], self.strides[i], self.dilation_rate[i]
            ext = (k - 1) * d + 1
            if self.padding == "same":
                out.append(-(-size // s))
                continue
            padded = size + (ext - 1 if self.padding == "causal" else 0)
            if ext > padded:
                raise ValueError(f"{self._who()}: the kernel {self.kernel_size} (dilated extent {ext} along spatial axis {i}) "
                                 f"is larger than the input along that axis: input spatial shape {tuple(spatial)}")
            out.append((padded - ext) // s + 1)
        return out

    def _add_bias(self, n):
        if self.use_bias:
            self.bias = self.add_weight((n,), self.bias_initializer, name="bias", regularizer=self.bias_regularizer)
            self.bias.constraint = self.bias_constraint

    def _as_2d(self, x):
        """x as a 4-D tensor (1-D inputs get height 1)."""
        if self.rank == 1:
            return ops.reshape(x, (x.shape[0], 1) + tuple(x.shape[1:]))
        return x

    def _from_2d(self, y):
        return ops.reshape(y, (y.shape[0],) + tuple(y.shape[2:])) if self.rank == 1 else y

    def _geometry(self, x):
        """(strides, explicit padding, dilation) of the 4-D convolution for input x (rank+2-D)."""
        spatial = tuple(x.shape[1:-1])
        self._spatial_out(spatial)  # the kernel must fit
        one = (1,) if self.rank == 1 else ()
        return one + self.strides, self._pads(spatial), one + self.dilation_rate

    def _conv(self, x, kernel4, bias, groups, geometry=None):
        """activation(conv(x, kernel4) + bias) with the layer's activation (fused when named);
        ``geometry`` (strides, padding, dilation) defaults to the layer's."""
        x4 = self._as_2d(x)
        strides, pads, dil = geometry or self._geometry(x)
        if self._act_fn is not None or self._act in ("softmax", "log_softmax", "sigmoid"):
            z = F.Conv2D.apply(x4, kernel4, bias, strides, pads, dil, groups)
            z = self._from_2d(z)
            if self._act_fn is not None:
                return self._act_fn(z)
            y = ops.activation(z, self._act, self._alpha)
            if self._act in ("softmax", "sigmoid"):
                y._keras_logits = (self._act, z)
            return y
        y = F.Conv2D.apply(x4, kernel4, bias, strides, pads, dil, groups, self._act, self._alpha)
        return self._from_2d(y)

    def _base_config(self):
        return dict(kernel_size=list(self.kernel_size), strides=list(self.strides), padding=self.padding,
                    data_format=self.data_format, dilation_rate=list(self.dilation_rate))

    from_config = classmethod(_from_keras_config)


class _Conv(_BaseConv):
    """Conv1D / Conv2D: kernel (*kernel_size, channels / groups, filters), bias (filters,)."""

    def __init__(self, filters, kernel_size, strides=1, padding="valid", data_format=None, dilation_rate=1, groups=1,
                 activation=None, use_bias=True, kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None, kernel_constraint=None,
                 bias_constraint=None, lora_rank=None, lora_alpha=None, **kwargs):
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        who = self._who()
        if lora_rank is not None:
            raise ValueError(f"{who}: lora_rank is not supported by nnrs")
        if lora_alpha is not None:
            raise ValueError(f"{who}: lora_alpha is not supported by nnrs")
        if isinstance(filters, bool) or not isinstance(filters, (int, np.integer)) or filters <= 0:
            raise ValueError(f"{who}: filters must be a positive integer, got {filters!r}")
        if isinstance(groups, bool) or not isinstance(groups, (int, np.integer)) or groups <= 0:
            raise ValueError(f"{who}: groups must be a positive integer, got {groups!r}")
        if filters % groups:
            raise ValueError(f"{who}: filters ({filters}) must be divisible by groups ({groups})")
        self.filters, self.groups = int(filters), int(groups)
        self._init_geometry(kernel_size, strides, padding, data_format, dilation_rate, activation, use_bias, bias_initializer,
                            bias_regularizer, bias_constraint)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.kernel = None

    def build(self, input_shape):
        self._check_rank(input_shape)
        c = input_shape[-1]
        if c is None:
            raise ValueError(f"{self._who()}: the channel dimension of the input must be known, got {shape_str(input_shape)}")
        c = int(c)
        if c % self.groups:
            raise ValueError(f"{self._who()}: the input channels ({c}) must be divisible by groups ({self.groups}); "
                             f"input shape {shape_str(input_shape)}")
        self.kernel = self.add_weight(self.kernel_size + (c // self.groups, self.filters), self.kernel_initializer,
                                      name="kernel", regularizer=self.kernel_regularizer)
        self.kernel.constraint = self.kernel_constraint
        self._add_bias(self.filters)
        self._set_spec(ndim=self.rank + 2, axes={-1: c})
        self.built = True

    def compute_output_shape(self, input_shape):
        self._check_rank(input_shape)
        return (input_shape[0], *self._spatial_out(input_shape[1:-1]), self.filters)

    def call(self, x, training=False):
        self._check_rank(x.shape)
        k = self.kernel
        if self.rank == 1:
            k = ops.reshape(k, (1,) + tuple(k.shape))
        return self._conv(x, k, self.bias, self.groups)

    def get_config(self):
        return _keras_config(self, filters=self.filters, **self._base_config(), groups=self.groups,
                             activation=_activation_config(self), use_bias=self.use_bias,
                             **_weights_config(self, "kernel", "bias"))


class Conv1D(_Conv):
    """1-D convolution over (batch, steps, channels); padding "valid", "same" or "causal"
    (left padding of (kernel_size - 1) * dilation_rate, as Keras)."""

    rank = 1
    _paddings = ("valid", "same", "causal")


class Conv2D(_Conv):
    """2-D convolution over (batch, height, width, channels); kernel (kh, kw, channels / groups,
    filters) as Keras 3; "same" padding puts the odd pixel at the bottom/right (TensorFlow's rule)."""

    rank = 2

    def __init__(self, filters, kernel_size, strides=(1, 1), padding="valid", data_format=None, dilation_rate=(1, 1),
                 groups=1, activation=None, use_bias=True, kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None, kernel_constraint=None,
                 bias_constraint=None, **kwargs):
        super().__init__(filters, kernel_size, strides, padding, data_format, dilation_rate, groups, activation, use_bias,
                         kernel_initializer, bias_initializer, kernel_regularizer, bias_regularizer, activity_regularizer,
                         kernel_constraint, bias_constraint, **kwargs)


class DepthwiseConv2D(_BaseConv):
    """Each input channel convolved with its own ``depth_multiplier`` filters: kernel
    (kh, kw, channels, depth_multiplier), output channel c * depth_multiplier + m."""

    def __init__(self, kernel_size, strides=(1, 1), padding="valid", depth_multiplier=1, data_format=None,
                 dilation_rate=(1, 1), activation=None, use_bias=True, depthwise_initializer="glorot_uniform",
                 bias_initializer="zeros", depthwise_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 depthwise_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        if isinstance(depth_multiplier, bool) or not isinstance(depth_multiplier, (int, np.integer)) or depth_multiplier <= 0:
            raise ValueError(f"{self._who()}: depth_multiplier must be a positive integer, got {depth_multiplier!r}")
        self.depth_multiplier = int(depth_multiplier)
        self._init_geometry(kernel_size, strides, padding, data_format, dilation_rate, activation, use_bias, bias_initializer,
                            bias_regularizer, bias_constraint)
        self.depthwise_initializer = initializers.get(depthwise_initializer)
        self.depthwise_regularizer = regularizers.get(depthwise_regularizer)
        self.depthwise_constraint = constraints.get(depthwise_constraint)
        self.kernel = None

    def build(self, input_shape):
        self._check_rank(input_shape)
        if input_shape[-1] is None:
            raise ValueError(f"{self._who()}: the channel dimension of the input must be known, got {shape_str(input_shape)}")
        c = int(input_shape[-1])
        self.kernel = self.add_weight(self.kernel_size + (c, self.depth_multiplier), self.depthwise_initializer, name="kernel",
                                      regularizer=self.depthwise_regularizer)
        self.kernel.constraint = self.depthwise_constraint
        self._add_bias(c * self.depth_multiplier)
        self._set_spec(ndim=4, axes={-1: c})
        self.built = True

    def compute_output_shape(self, input_shape):
        self._check_rank(input_shape)
        c = input_shape[-1]
        return (input_shape[0], *self._spatial_out(input_shape[1:-1]), None if c is None else c * self.depth_multiplier)

    def call(self, x, training=False):
        self._check_rank(x.shape)
        kh, kw, c, m = self.kernel.shape
        return self._conv(x, ops.reshape(self.kernel, (kh, kw, 1, c * m)), self.bias, c)

    def get_config(self):
        return _keras_config(self, depth_multiplier=self.depth_multiplier, **self._base_config(),
                             activation=_activation_config(self), use_bias=self.use_bias,
                             **_weights_config(self, "depthwise", "bias"))


class SeparableConv2D(_BaseConv):
    """A depthwise convolution (depthwise_kernel (kh, kw, channels, depth_multiplier)) then a
    1x1 convolution (pointwise_kernel (1, 1, channels * depth_multiplier, filters)), bias and
    activation after the second."""

    def __init__(self, filters, kernel_size, strides=(1, 1), padding="valid", data_format=None, dilation_rate=(1, 1),
                 depth_multiplier=1, activation=None, use_bias=True, depthwise_initializer="glorot_uniform",
                 pointwise_initializer="glorot_uniform", bias_initializer="zeros", depthwise_regularizer=None,
                 pointwise_regularizer=None, bias_regularizer=None, activity_regularizer=None, depthwise_constraint=None,
                 pointwise_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        who = self._who()
        if isinstance(filters, bool) or not isinstance(filters, (int, np.integer)) or filters <= 0:
            raise ValueError(f"{who}: filters must be a positive integer, got {filters!r}")
        if isinstance(depth_multiplier, bool) or not isinstance(depth_multiplier, (int, np.integer)) or depth_multiplier <= 0:
            raise ValueError(f"{who}: depth_multiplier must be a positive integer, got {depth_multiplier!r}")
        self.filters, self.depth_multiplier = int(filters), int(depth_multiplier)
        self._init_geometry(kernel_size, strides, padding, data_format, dilation_rate, activation, use_bias, bias_initializer,
                            bias_regularizer, bias_constraint)
        self.depthwise_initializer = initializers.get(depthwise_initializer)
        self.pointwise_initializer = initializers.get(pointwise_initializer)
        self.depthwise_regularizer = regularizers.get(depthwise_regularizer)
        self.pointwise_regularizer = regularizers.get(pointwise_regularizer)
        self.depthwise_constraint = constraints.get(depthwise_constraint)
        self.pointwise_constraint = constraints.get(pointwise_constraint)
        self.depthwise_kernel = self.pointwise_kernel = None

    def build(self, input_shape):
        self._check_rank(input_shape)
        if input_shape[-1] is None:
            raise ValueError(f"{self._who()}: the channel dimension of the input must be known, got {shape_str(input_shape)}")
        c = int(input_shape[-1])
        m = self.depth_multiplier
        self.depthwise_kernel = self.add_weight(self.kernel_size + (c, m), self.depthwise_initializer, name="depthwise_kernel",
                                                regularizer=self.depthwise_regularizer)
        self.depthwise_kernel.constraint = self.depthwise_constraint
        self.pointwise_kernel = self.add_weight((1, 1, c * m, self.filters), self.pointwise_initializer,
                                                name="pointwise_kernel", regularizer=self.pointwise_regularizer)
        self.pointwise_kernel.constraint = self.pointwise_constraint
        self._add_bias(self.filters)
        self._set_spec(ndim=4, axes={-1: c})
        self.built = True

    def compute_output_shape(self, input_shape):
        self._check_rank(input_shape)
        return (input_shape[0], *self._spatial_out(input_shape[1:-1]), self.filters)

    def call(self, x, training=False):
        self._check_rank(x.shape)
        kh, kw, c, m = self.depthwise_kernel.shape
        strides, pads, dil = self._geometry(x)
        z = F.Conv2D.apply(x, ops.reshape(self.depthwise_kernel, (kh, kw, 1, c * m)), None, strides, pads, dil, c)
        # the pointwise step is a plain 1x1 convolution with the bias and activation
        return self._conv(z, self.pointwise_kernel, self.bias, 1, ((1, 1), (0, 0, 0, 0), (1, 1)))

    def get_config(self):
        return _keras_config(self, depth_multiplier=self.depth_multiplier, filters=self.filters, **self._base_config(),
                             activation=_activation_config(self), use_bias=self.use_bias,
                             **_weights_config(self, "depthwise", "pointwise", "bias"))


class Conv2DTranspose(_BaseConv):
    """Transposed 2-D convolution: kernel (kh, kw, filters, channels), bias (filters,);
    output size per axis as Keras (``in * stride`` for "same", ``in * stride + max(k - stride, 0)``
    for "valid", or ``(in - 1) * stride + k - 2 * pad + output_padding`` with output_padding)."""

    def __init__(self, filters, kernel_size, strides=(1, 1), padding="valid", output_padding=None, data_format=None,
                 dilation_rate=(1, 1), activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        who = self._who()
        if isinstance(filters, bool) or not isinstance(filters, (int, np.integer)) or filters <= 0:
            raise ValueError(f"{who}: filters must be a positive integer, got {filters!r}")
        self.filters = int(filters)
        self._init_geometry(kernel_size, strides, padding, data_format, dilation_rate, activation, use_bias, bias_initializer,
                            bias_regularizer, bias_constraint)
        self.output_padding = None if output_padding is None else _tuple(output_padding, 2, "output_padding", who, 0)
        if self.output_padding is not None:
            for op, s, d in zip(self.output_padding, self.strides, self.dilation_rate):
                if op >= s and op >= d:
                    raise ValueError(f"{who}: output_padding {self.output_padding} must be smaller than the strides "
                                     f"{self.strides} (or dilation_rate {self.dilation_rate})")
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.kernel = None

    def build(self, input_shape):
        self._check_rank(input_shape)
        if input_shape[-1] is None:
            raise ValueError(f"{self._who()}: the channel dimension of the input must be known, got {shape_str(input_shape)}")
        c = int(input_shape[-1])
        self.kernel = self.add_weight(self.kernel_size + (self.filters, c), self.kernel_initializer, name="kernel",
                                      regularizer=self.kernel_regularizer)
        self.kernel.constraint = self.kernel_constraint
        self._add_bias(self.filters)
        self._set_spec(ndim=4, axes={-1: c})
        self.built = True

    def _transpose_geometry(self, spatial):
        ops_pad = self.output_padding or (None, None)
        return [None if size is None else
                transpose_geometry(size, self.kernel_size[i], self.strides[i], self.dilation_rate[i], self.padding, ops_pad[i])
                for i, size in enumerate(spatial)]

    def compute_output_shape(self, input_shape):
        self._check_rank(input_shape)
        geo = self._transpose_geometry(input_shape[1:-1])
        return (input_shape[0], *(None if g is None else g[0] for g in geo), self.filters)

    def call(self, x, training=False):
        self._check_rank(x.shape)
        geo = self._transpose_geometry(x.shape[1:-1])
        out_shape = (x.shape[0], geo[0][0], geo[1][0], self.filters)
        pads = (geo[0][1], geo[0][2], geo[1][1], geo[1][2])
        z = F.Conv2DTranspose.apply(x, self.kernel, self.bias, out_shape, self.strides, pads, self.dilation_rate)
        if self._act_fn is not None:
            return self._act_fn(z)
        if self._act == "linear":
            return z
        y = ops.activation(z, self._act, self._alpha)
        if self._act in ("softmax", "sigmoid"):
            y._keras_logits = (self._act, z)
        return y

    def get_config(self):
        return _keras_config(self, filters=self.filters, kernel_size=list(self.kernel_size), strides=list(self.strides),
                             padding=self.padding,
                             output_padding=None if self.output_padding is None else list(self.output_padding),
                             data_format=self.data_format, dilation_rate=list(self.dilation_rate),
                             activation=_activation_config(self), use_bias=self.use_bias,
                             **_weights_config(self, "kernel", "bias"))
