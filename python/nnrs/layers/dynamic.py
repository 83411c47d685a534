"""Dynamic convolution: ``DynamicConv2D``, the involution of Li et al. (CVPR 2021)."""

from __future__ import annotations

import numpy as np

from .. import activations, ops
from ..functions import dynamic as _dyn
from .base import Layer, shape_str
from .core import Dense, _activation_config, _from_keras_config, _keras_config


class DynamicConv2D(Layer):
    r"""Involution (Li et al., "Involution: Inverting the Inherence of Convolution for Visual
    Recognition", CVPR 2021): a 2-D convolution whose kernel is generated from the input at
    every output position and shared across the channels of a group.

    **The maths.** Input ``x`` is ``(N, H, W, C)`` (channels-last), ``K = kernel_size``
    (kh, kw), ``s = strides``, ``d = dilation_rate``, ``G = groups`` (G divides C; channel
    ``c`` belongs to group ``g(c) = c // (C/G)``), ``R = max(1, C // reduction_ratio)``.

    1. *Kernel source* ``z`` ``(N, OH, OW, C)``: the input pixel under the centre of the
       kernel at each output position, ``x[n, i*s - pad_top + ((kh-1)*d)//2, ...]``; when
       ``s > 1`` (as in the paper) the mean of the ``s x s`` block of input pixels around
       that centre (in-image pixels only), so ``z`` has the output's spatial size.
    2. *Kernel generation* (two 1x1 convolutions with a ReLU between, the paper's
       ``W1``, ``W0``; the paper's optional batch norm is left out):
       ``kernel = relu(z @ W0 + b0) @ W1 + b1``, ``W0`` ``(C, R)``, ``W1`` ``(R, kh*kw*G)``,
       reshaped to ``(N, OH, OW, kh*kw, G)`` (channel ``t*G + g`` of the second
       convolution is tap ``t = u*kw + v`` of group ``g``).
    3. *Involution* (one fused Rust kernel, ``ops.dynamic_conv2d``)::

           y[n,i,j,c] = sum_{u<kh, v<kw} kernel[n,i,j,u*kw+v,g(c)] * x[n, i*s+u*d-pad_top, j*s+v*d-pad_left, c]

       (zero outside the image), ``y`` ``(N, OH, OW, C)``; ``OH = ceil(H/s)`` for
       ``padding="same"``, ``(H - (kh-1)*d - 1)//s + 1`` for ``"valid"`` (OW likewise).
    4. If ``filters`` is given and differs from C, a 1x1 projection ``y @ Wp + bp``
       (``Wp`` ``(C, filters)``) maps to ``filters`` channels (involution itself keeps the
       channel count); then ``activation``.

    **Relation to convolution.** A convolution's kernel ``(kh, kw, C_in, C_out)`` is
    *spatial-agnostic* (the same at every position) and *channel-specific* (a different
    filter per output channel). Involution inverts both: its kernel is *spatial-specific*
    (generated anew at every position from that position's content) and
    *channel-agnostic* (shared by the C/G channels of a group). It has no weight of size
    ``kh*kw*C*C_out``; its parameters are those of the generating 1x1 convolutions,
    ``C*R + R*kh*kw*G`` (plus biases).

    **Weights** (Keras 3 order, sub-layer by sub-layer): the 1x1 convolutions are ``Dense``
    sub-layers on the channel axis (a stride-1 1x1 convolution is exactly a Dense on the
    last axis): ``reduce`` (kernel ``(C, R)``, bias ``(R,)``; fused ReLU), ``span``
    (kernel ``(R, kh*kw*G)``, bias ``(kh*kw*G,)``) and, when present, ``projection``
    (kernel ``(C, filters)``, bias ``(filters,)``). The equivalent ``Conv2D`` kernels are
    these reshaped to ``(1, 1, in, out)``. ``use_bias``, the initializers, regularizers
    and constraints apply to all of them.

    An nnrs layer: it saves and loads with nnrs' ``.keras`` files, which Keras itself
    cannot read (Keras has no such layer). ``data_format`` must be channels-last.
    """

    nnrs_only = True  # Keras has no such layer: files name it nnrs>DynamicConv2D

    def __init__(self, filters=None, kernel_size=3, strides=1, groups=1, reduction_ratio=4, padding="same",
                 data_format=None, dilation_rate=1, activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        who = f"DynamicConv2D {self.name!r}"
        if filters is not None and (isinstance(filters, bool) or not isinstance(filters, (int, np.integer)) or filters <= 0):
            raise ValueError(f"{who}: filters must be None or a positive integer, got {filters!r}")
        for arg, v in (("groups", groups), ("reduction_ratio", reduction_ratio)):
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v <= 0:
                raise ValueError(f"{who}: {arg} must be a positive integer, got {v!r}")
        if data_format not in (None, "channels_last"):
            raise ValueError(f"{who}: data_format={data_format!r} is not supported; nnrs images are channels_last "
                             "(batch, height, width, channels)")
        if not isinstance(padding, str) or padding.lower() not in ("valid", "same"):
            raise ValueError(f"{who}: padding must be 'valid' or 'same', got {padding!r}")
        self.filters = None if filters is None else int(filters)
        self.kernel_size = _dyn.pair(_ints(kernel_size), f"{who}: kernel_size")
        self.strides = _dyn.pair(_ints(strides), f"{who}: strides")
        self.dilation_rate = _dyn.pair(_ints(dilation_rate), f"{who}: dilation_rate")
        self.groups, self.reduction_ratio = int(groups), int(reduction_ratio)
        self.padding = padding.lower()
        self.data_format = "channels_last"
        self.activation = activation
        self._act, self._alpha, self._act_fn, self._act_name = activations.resolve(activation, f"{who}: activation")
        self.use_bias = bool(use_bias)
        self.kernel_initializer, self.bias_initializer = kernel_initializer, bias_initializer
        self.kernel_regularizer, self.bias_regularizer = kernel_regularizer, bias_regularizer
        self.kernel_constraint, self.bias_constraint = kernel_constraint, bias_constraint
        self.reduce = self.span = self.projection = None

    def _dense(self, units, suffix, activation=None):
        return Dense(units, activation=activation, use_bias=self.use_bias, kernel_initializer=self.kernel_initializer,
                     bias_initializer=self.bias_initializer, kernel_regularizer=self.kernel_regularizer,
                     bias_regularizer=self.bias_regularizer, kernel_constraint=self.kernel_constraint,
                     bias_constraint=self.bias_constraint, dtype=self.dtype, name=f"{self.name}_{suffix}")

    def _check_shape(self, input_shape):
        shape = tuple(input_shape)
        who = f"DynamicConv2D {self.name!r}"
        if len(shape) != 4 or shape[-1] is None:
            raise ValueError(f"{who}: expected input shape (batch, height, width, channels) with known channels, "
                             f"got {shape_str(shape)}")
        c = int(shape[-1])
        if c % self.groups:
            raise ValueError(f"{who}: the {c} channels of input shape {shape_str(shape)} must be divisible by "
                             f"groups={self.groups}")
        for a, n in enumerate(shape[1:3]):
            eff = (self.kernel_size[a] - 1) * self.dilation_rate[a] + 1
            if n is not None and self.padding == "valid" and n < eff:
                raise ValueError(f"{who}: with padding='valid' the input {shape_str(shape)} is smaller than the "
                                 f"dilated kernel {eff} along axis {a + 1}")
        return c

    def build(self, input_shape):
        c = self._check_shape(input_shape)
        kh, kw = self.kernel_size
        reduced = max(1, c // self.reduction_ratio)
        self.reduce = self._dense(reduced, "reduce", activation="relu")
        self.reduce.build((None, c))
        self.span = self._dense(kh * kw * self.groups, "span")
        self.span.build((None, reduced))
        if self.filters is not None and self.filters != c:
            self.projection = self._dense(self.filters, "projection")
            self.projection.build((None, c))
        self._set_spec(ndim=4, axes={-1: c})

    def _geometry(self, h, w):
        pad = _dyn.explicit_padding(self.padding, (h, w), self.kernel_size, self.strides, self.dilation_rate)
        return pad, _dyn.output_size((h, w), self.kernel_size, self.strides, pad, self.dilation_rate)

    def compute_output_shape(self, input_shape):
        shape = tuple(input_shape)
        c = self._check_shape(shape)
        out = []
        for a, n in enumerate(shape[1:3]):
            if n is None:
                out.append(None)
                continue
            k, s, d = self.kernel_size[a], self.strides[a], self.dilation_rate[a]
            out.append(-(-n // s) if self.padding == "same" else (n - (k - 1) * d - 1) // s + 1)
        return (shape[0], *out, self.filters or c)

    def _kernel_source(self, x, pad, out):
        """``z`` (N, OH, OW, C): the input at each kernel centre, averaged over the
        ``s x s`` block around it when the stride is larger than 1 (see the docstring)."""
        n, h, w, _ = x.shape
        starts = [-pad[2 * a] + ((self.kernel_size[a] - 1) * self.dilation_rate[a]) // 2 - (self.strides[a] - 1) // 2
                  for a in range(2)]
        if self.strides == (1, 1):  # the centres themselves: a slice of x
            return x[:, starts[0]:starts[0] + out[0], starts[1]:starts[1] + out[1], :]
        lo = [max(starts[a], 0) for a in range(2)]
        hi = [min(starts[a] + out[a] * self.strides[a], (h, w)[a]) for a in range(2)]
        # the blocks are an s x s dynamic convolution of stride s with weights 1/count (a constant)
        counts = []
        for a in range(2):
            first = starts[a] + self.strides[a] * np.arange(out[a])
            counts.append(np.minimum(first + self.strides[a], (h, w)[a]) - np.maximum(first, 0))
        inv = 1.0 / (counts[0][:, None] * counts[1][None, :])
        weights = np.ascontiguousarray(np.broadcast_to(inv[None, :, :, None, None],
                                                       (n, out[0], out[1], self.strides[0] * self.strides[1], 1)),
                                       dtype=x.dtype)
        block_pad = (lo[0] - starts[0], starts[0] + out[0] * self.strides[0] - hi[0],
                     lo[1] - starts[1], starts[1] + out[1] * self.strides[1] - hi[1])
        return ops.dynamic_conv2d(x[:, lo[0]:hi[0], lo[1]:hi[1], :], weights, self.strides, self.strides, block_pad, 1)

    def call(self, x, training=False):
        n, h, w, c = x.shape
        kh, kw = self.kernel_size
        pad, out = self._geometry(h, w)
        z = self._kernel_source(x, pad, out)
        kernel = ops.reshape(self.span(self.reduce(z)), (n, out[0], out[1], kh * kw, self.groups))
        y = ops.dynamic_conv2d(x, kernel, self.kernel_size, self.strides, pad, self.dilation_rate)
        if self.projection is not None:
            y = self.projection(y)
        if self._act_fn is not None:
            return self._act_fn(y)
        return y if self._act == "linear" else ops.activation(y, self._act, self._alpha)

    def get_config(self):
        from .. import constraints, initializers, regularizers
        from ..saving import keras_record

        def init(i):
            return keras_record("keras.initializers", initializers.serialize(initializers.get(i)))

        def reg(r):
            return keras_record("keras.regularizers", regularizers.serialize(regularizers.get(r)))

        return _keras_config(
            self, filters=self.filters, kernel_size=list(self.kernel_size), strides=list(self.strides), groups=self.groups,
            reduction_ratio=self.reduction_ratio, padding=self.padding, data_format=self.data_format,
            dilation_rate=list(self.dilation_rate), activation=_activation_config(self), use_bias=self.use_bias,
            kernel_initializer=init(self.kernel_initializer), bias_initializer=init(self.bias_initializer),
            kernel_regularizer=reg(self.kernel_regularizer), bias_regularizer=reg(self.bias_regularizer),
            kernel_constraint=constraints.serialize(constraints.get(self.kernel_constraint)),
            bias_constraint=constraints.serialize(constraints.get(self.bias_constraint)))

    from_config = classmethod(_from_keras_config)


def _ints(v):
    """A JSON list (from a config) or tuple of numpy/python ints as python ints; anything else as it is."""
    if isinstance(v, (list, tuple)) and all(isinstance(e, (int, np.integer)) and not isinstance(e, bool) for e in v):
        return tuple(int(e) for e in v)
    if isinstance(v, np.integer):
        return int(v)
    return v
