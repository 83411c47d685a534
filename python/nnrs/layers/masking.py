"""``Masking``: marks the time steps whose features all equal ``mask_value`` as masked.

The output is the input with the masked steps set to zero; its mask (batch, time) is True
where any feature differs from ``mask_value``, so layers after it (a recurrent layer,
``TimeDistributed``, the loss and the mean metrics) skip those steps, as in Keras 3.
"""

from __future__ import annotations

from .. import ops
from .base import Layer, set_keras_mask
from .core import _from_keras_config, _keras_config


class Masking(Layer):
    """Masks the time steps of (batch, time, features) inputs whose features all equal ``mask_value``."""

    supports_masking = True

    def __init__(self, mask_value=0.0, **kwargs):
        super().__init__(**kwargs)
        if isinstance(mask_value, bool) or not isinstance(mask_value, (int, float)):
            raise TypeError(f"Masking {self.name!r}: mask_value must be a number, got {mask_value!r}")
        self.mask_value = mask_value

    def _step_mask(self, x, keepdims):
        if x.ndim < 2:
            raise ValueError(f"Masking {self.name!r}: expected input with at least 2 dimensions (batch, ..., features), "
                             f"got shape {tuple(x.shape)}")
        return ops.any(ops.not_equal(x, float(self.mask_value)), axis=-1, keepdims=keepdims)

    def call(self, inputs):
        keep = self._step_mask(inputs, keepdims=True)
        out = ops.multiply(inputs, ops.cast(keep, inputs.dtype))
        set_keras_mask(out, ops.squeeze(keep, axis=-1))  # the mask is computed once, with the output
        return out

    def compute_mask(self, inputs, mask=None):
        return self._step_mask(inputs, keepdims=False)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        return _keras_config(self, mask_value=self.mask_value)

    from_config = classmethod(_from_keras_config)
