"""Embedding: integer ids -> rows of a trainable table (Keras 3's ``layers.Embedding``).

``Embedding(input_dim, output_dim)`` maps ids in ``[0, input_dim)`` of any shape ``s`` to
vectors, giving shape ``s + (output_dim,)``. The forward is the ``take`` kernel (a row
gather along axis 0 of the table); its gradient is the ``scatter_add`` kernel, which adds
each output row's gradient into the table row it came from (repeated ids accumulate), so
no dense one-hot matrix of ``(ids, input_dim)`` is ever made.
"""

from __future__ import annotations

import warnings

import numpy as np

from .. import constraints, initializers, ops, regularizers
from ..tensor import Tensor
from .base import KerasTensor, Layer, shape_str
from .conv import _weights_config
from .core import _from_keras_config, _keras_config

_INT_KINDS = "iu"


class Embedding(Layer):
    """Turns non-negative integer ids into dense vectors of size ``output_dim``.

    Arguments, defaults and config keys are Keras 3's: ``input_dim`` (vocabulary size:
    the largest id plus one), ``output_dim``, ``embeddings_initializer="uniform"``
    (uniform in [-0.05, 0.05]), ``embeddings_regularizer``, ``embeddings_constraint``,
    ``mask_zero`` (id 0 is padding: ``compute_mask`` returns ``ids != 0``, and ``input_dim``
    should then count the padding id), ``weights`` (initial table, a list of one array of
    shape ``(input_dim, output_dim)``). The weight is named ``embeddings``.

    Inputs are integer ids of any rank (``(batch,)``, ``(batch, time)``, ...). Floating
    inputs (what ``fit`` passes for a single-input model) are cast to integers, as Keras
    does. An id outside ``[0, input_dim)``, negative ones included, is a ``ValueError``
    naming the layer, the id and ``input_dim``.
    """

    def __init__(self, input_dim, output_dim, embeddings_initializer="uniform", embeddings_regularizer=None,
                 embeddings_constraint=None, mask_zero=False, weights=None, lora_rank=None, lora_alpha=None,
                 quantization_config=None, **kwargs):
        if "input_length" in kwargs:  # Keras 3 accepts and ignores it (Keras 2's argument)
            kwargs.pop("input_length")
            warnings.warn("Embedding: input_length is ignored (a Keras 2 argument); the layer takes any input length",
                          stacklevel=2)
        super().__init__(**kwargs)
        who = f"Embedding {self.name!r}"
        for arg, val in (("input_dim", input_dim), ("output_dim", output_dim)):
            if isinstance(val, bool) or not isinstance(val, (int, np.integer)) or val <= 0:
                raise ValueError(f"{who}: {arg} must be a positive integer, got {val!r}")
        if lora_rank is not None or lora_alpha is not None:
            raise ValueError(f"{who}: LoRA (lora_rank={lora_rank!r}) is not supported by nnrs")
        if quantization_config is not None:
            raise ValueError(f"{who}: quantization_config is not supported by nnrs")
        self.input_dim = int(input_dim)
        self.output_dim = int(output_dim)
        self.embeddings_initializer = initializers.get(embeddings_initializer)
        self.embeddings_regularizer = regularizers.get(embeddings_regularizer)
        self.embeddings_constraint = constraints.get(embeddings_constraint)
        self.mask_zero = bool(mask_zero)
        self.supports_masking = self.mask_zero
        self.embeddings = None
        if weights is not None:
            self.build(None)
            self.set_weights(weights if isinstance(weights, (list, tuple)) else [weights])

    def _who(self):
        return f"Embedding {self.name!r}"

    def build(self, input_shape=None):
        self.embeddings = self.add_weight((self.input_dim, self.output_dim), self.embeddings_initializer, name="embeddings",
                                          regularizer=self.embeddings_regularizer)
        self.embeddings.constraint = self.embeddings_constraint
        self.built = True

    def compute_output_shape(self, input_shape):
        return tuple(input_shape) + (self.output_dim,)

    def __call__(self, x, *args, **kwargs):
        y = super().__call__(x, *args, **kwargs)
        if isinstance(y, KerasTensor):
            y.dtype = np.dtype(self.dtype)  # ids in, vectors of the layer's dtype out
        return y

    def _ids(self, x):
        """``x`` as an int32/int64 backend array of ids, checked against ``[0, input_dim)``."""
        be = self.embeddings.backend
        t = x if isinstance(x, Tensor) else Tensor(x, backend=be)
        if t.dtype.kind not in _INT_KINDS + "f":  # bool ids are refused, as anything else
            raise TypeError(f"{self._who()}: expected integer ids, got dtype {t.dtype}")
        if t.dtype.name not in ("int32", "int64"):
            t = ops.cast(t, "int64" if t.dtype.kind in _INT_KINDS else "int32")
        ids = t.data
        if ids.size:
            lo, hi = int(be.to_numpy(ids.min())), int(be.to_numpy(ids.max()))
            if lo < 0 or hi >= self.input_dim:
                bad = lo if lo < 0 else hi
                raise ValueError(f"{self._who()}: id {bad} is out of range: ids must be in [0, {self.input_dim}) "
                                 f"(input_dim={self.input_dim}) for input of shape {shape_str(ids.shape)}")
        return ids

    def call(self, inputs):
        return ops.take(self.embeddings, self._ids(inputs), axis=0)

    def compute_mask(self, inputs, mask=None):
        """``inputs != 0`` (a bool Tensor of the ids' shape) when ``mask_zero``, else None."""
        if not self.mask_zero:
            return None
        if isinstance(inputs, KerasTensor):
            return KerasTensor(inputs.shape, "bool")
        be = self.embeddings.backend if self.embeddings is not None else None
        t = inputs if isinstance(inputs, Tensor) else Tensor(np.asarray(inputs), backend=be)
        return ops.not_equal(t, 0)

    def get_config(self):
        cfg = _keras_config(self)
        cfg.pop("activity_regularizer", None)  # Keras lists it after embeddings_regularizer
        w = _weights_config(self, "embeddings")
        cfg.update(input_dim=self.input_dim, output_dim=self.output_dim, embeddings_initializer=w["embeddings_initializer"],
                   embeddings_regularizer=w["embeddings_regularizer"], activity_regularizer=w["activity_regularizer"],
                   embeddings_constraint=w["embeddings_constraint"], mask_zero=self.mask_zero, quantization_config=None)
        return cfg

    from_config = classmethod(_from_keras_config)
