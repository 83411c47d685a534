"""``TimeDistributed``: applies one layer to every time step of a sequence.

Input (batch, time, ...) is reshaped to (batch * time, ...), the wrapped layer runs once on
all steps together (one kernel call, weights shared across steps), and its output is
reshaped back to (batch, time, ...). A mask (batch, time) passes through unchanged, and
reaches the wrapped layer's ``call`` (reshaped to (batch * time, ...)) where it takes one,
as in Keras 3. Configs nest the wrapped layer's record as Keras does, so ``.keras`` files
move between nnrs and Keras.
"""

from __future__ import annotations

from .. import ops
from .base import KerasTensor, Layer, _call_spec, shape_str
from .core import _keras_config


class TimeDistributed(Layer):
    """Applies ``layer`` to each step of (batch, time, ...) inputs."""

    supports_masking = True

    def __init__(self, layer, **kwargs):
        if not isinstance(layer, Layer):
            raise TypeError(f"TimeDistributed: layer must be an nnrs layer, got {type(layer).__name__}")
        super().__init__(**kwargs)
        self.layer = layer

    def _child_shape(self, input_shape):
        shape = tuple(input_shape)
        if len(shape) < 3:
            raise ValueError(f"TimeDistributed {self.name!r}: expected input with at least 3 dimensions "
                             f"(batch, time, ...), got shape {shape_str(shape)}")
        return (None,) + shape[2:]

    def build(self, input_shape):
        child = self._child_shape(input_shape)
        self.layer._maybe_build(child)
        self.layer._build_sublayers(child)
        self.built = True

    def compute_output_shape(self, input_shape):
        shape = tuple(input_shape)
        out = tuple(self.layer.compute_output_shape(self._child_shape(shape)))
        return (shape[0], shape[1]) + out[1:]

    def call(self, inputs, training=None, mask=None):
        shape = tuple(inputs.shape)
        self._child_shape(shape)
        n, t = shape[0], shape[1]
        kwargs = {}
        takes_training, _, takes_mask = _call_spec(self.layer)
        if takes_training and training is not None:
            kwargs["training"] = training
        if mask is not None:
            if tuple(mask.shape[:2]) != (n, t):
                raise ValueError(f"TimeDistributed {self.name!r}: the mask must start with (batch, time) = {(n, t)}, "
                                 f"got shape {tuple(mask.shape)}")
            if takes_mask:
                kwargs["mask"] = ops.reshape(mask, (n * t,) + tuple(mask.shape[2:]))
        y = self.layer(ops.reshape(inputs, (n * t,) + shape[2:]), **kwargs)
        return ops.reshape(y, (n, t) + tuple(y.shape[1:]))

    def __call__(self, x, *args, **kwargs):
        if isinstance(x, KerasTensor):
            self._child_shape(x.shape)
        return super().__call__(x, *args, **kwargs)

    def get_config(self):
        from ..saving import serialize_keras_object

        return {**_keras_config(self), "layer": serialize_keras_object(self.layer)}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        from ..saving import deserialize_keras_object, plain_config

        config = dict(config)
        record = config.pop("layer")
        return cls(deserialize_keras_object(record, custom_objects=custom_objects), **plain_config(config))
