"""Merge layers: combine a list of tensors of one shape (or broadcastable shapes) into one.

``Add``, ``Subtract``, ``Multiply``, ``Average``, ``Maximum``, ``Minimum``, ``Concatenate``
and ``Dot``, with Keras 3's functional forms (``add([a, b])`` builds the layer and calls
it). Called on symbolic tensors they record a node with several inputs, which a functional
``Model`` follows; called on arrays or Tensors they compute through ``nnrs.ops``.
"""

from __future__ import annotations

from .. import ops
from ..tensor import Tensor
from .base import KerasTensor, Layer, _attach_masks, _masks_of, shape_str
from .core import _from_keras_config, _keras_config


def _broadcast_shapes(layer, shapes):
    """The elementwise result shape of per-sample ``shapes`` (batch axis first, may be None)."""
    nd = max(len(s) for s in shapes)
    out = []
    for i in range(nd):
        dims = {s[len(s) - nd + i] for s in shapes if len(s) - nd + i >= 0}
        known = {d for d in dims if d not in (None, 1)}
        if len(known) > 1:
            raise ValueError(f"{type(layer).__name__} {layer.name!r}: input shapes "
                             f"{', '.join(shape_str(s) for s in shapes)} cannot be combined elementwise")
        out.append(known.pop() if known else (None if None in dims else 1))
    return tuple(out)


class _Merge(Layer):
    """Base of the merge layers: a list of inputs in, one output."""

    min_inputs = 2
    max_inputs = None
    supports_masking = True

    def _check_count(self, n):
        if n < self.min_inputs or (self.max_inputs is not None and n > self.max_inputs):
            want = self.min_inputs if self.max_inputs == self.min_inputs else f"at least {self.min_inputs}"
            raise ValueError(f"{type(self).__name__} {self.name!r}: expected {want} inputs, got {n}")

    def __call__(self, inputs, training=False, **kwargs):
        if not isinstance(inputs, (list, tuple)):
            raise ValueError(f"{type(self).__name__} {self.name!r}: expects a list of inputs, got {type(inputs).__name__}")
        inputs = list(inputs)
        self._check_count(len(inputs))
        if any(isinstance(t, KerasTensor) for t in inputs):
            if not all(isinstance(t, KerasTensor) for t in inputs):
                raise ValueError(f"{type(self).__name__} {self.name!r}: mix of symbolic and concrete inputs")
            shapes = [t.shape for t in inputs]
            self.built = True
            self.input_shape = [tuple(s) for s in shapes]
            dtype = inputs[0].dtype
            return KerasTensor(self.compute_output_shape(shapes), dtype, layer=self, inputs=tuple(inputs))
        like = next((t for t in inputs if isinstance(t, Tensor)), None)
        backend = like.backend if like is not None else self.home_backend()
        masks = kwargs.get("mask")
        if masks is None:
            masks = _masks_of(inputs)
        tensors = [t if isinstance(t, Tensor) else Tensor(t, backend=backend) for t in inputs]
        self.built = True
        y = self.call(tensors)
        if masks is not None:
            _attach_masks(y, self.compute_mask(tensors, masks))
        return y

    def compute_mask(self, inputs, mask=None):
        """Keras' rule for elementwise merges: the OR of the inputs' masks when every input
        has one, else no mask."""
        if mask is None or any(m is None for m in mask):
            return None
        out = mask[0]
        for m in mask[1:]:
            out = ops.logical_or(out, m)
        return out

    def compute_output_shape(self, input_shapes):
        return _broadcast_shapes(self, [tuple(s) for s in input_shapes])

    def get_config(self):
        return _keras_config(self)

    @classmethod
    def from_config(cls, config):
        return _from_keras_config(cls, config)


class Add(_Merge):
    """Elementwise sum of the inputs."""

    def call(self, inputs):
        out = inputs[0]
        for t in inputs[1:]:
            out = ops.add(out, t)
        return out


class Subtract(_Merge):
    """``inputs[0] - inputs[1]`` (exactly two inputs)."""

    max_inputs = 2

    def call(self, inputs):
        return ops.subtract(inputs[0], inputs[1])


class Multiply(_Merge):
    """Elementwise product of the inputs."""

    def call(self, inputs):
        out = inputs[0]
        for t in inputs[1:]:
            out = ops.multiply(out, t)
        return out


class Average(_Merge):
    """Elementwise mean of the inputs."""

    def call(self, inputs):
        out = inputs[0]
        for t in inputs[1:]:
            out = ops.add(out, t)
        return ops.divide(out, float(len(inputs)))


class Maximum(_Merge):
    """Elementwise maximum of the inputs."""

    def call(self, inputs):
        out = inputs[0]
        for t in inputs[1:]:
            out = ops.maximum(out, t)
        return out


class Minimum(_Merge):
    """Elementwise minimum of the inputs."""

    def call(self, inputs):
        out = inputs[0]
        for t in inputs[1:]:
            out = ops.minimum(out, t)
        return out


class Concatenate(_Merge):
    """The inputs joined along ``axis`` (all other dimensions equal)."""

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        self.axis = int(axis)

    def compute_output_shape(self, input_shapes):
        shapes = [tuple(s) for s in input_shapes]
        nd = len(shapes[0])
        ax = self.axis % nd if -nd <= self.axis < nd else None
        if ax is None or ax == 0 or any(len(s) != nd for s in shapes):
            raise ValueError(f"Concatenate {self.name!r}: cannot join shapes {', '.join(shape_str(s) for s in shapes)} "
                             f"along axis {self.axis}")
        for i in range(1, nd):
            if i != ax and len({s[i] for s in shapes} - {None}) > 1:
                raise ValueError(f"Concatenate {self.name!r}: shapes {', '.join(shape_str(s) for s in shapes)} differ "
                                 f"outside axis {self.axis}")
        sizes = [s[ax] for s in shapes]
        out = list(shapes[0])
        out[ax] = None if None in sizes else sum(sizes)
        return tuple(out)

    def call(self, inputs):
        return ops.concatenate(inputs, axis=self.axis)

    def compute_mask(self, inputs, mask=None):
        """Keras' rule: each input's mask spread over its features (all True for an input
        without one), joined along ``axis``, then True where any feature of a step is."""
        if mask is None or all(m is None for m in mask):
            return None
        full = []
        for x, m in zip(inputs, mask):
            if m is None:
                full.append(ops.ones_like(x, dtype="bool"))
            elif m.ndim < x.ndim:
                full.append(ops.logical_or(ops.expand_dims(m, -1), ops.zeros_like(x, dtype="bool")))
            else:
                full.append(m)
        return ops.any(ops.concatenate(full, axis=self.axis), axis=-1)

    def get_config(self):
        return {**super().get_config(), "axis": self.axis}


class Dot(_Merge):
    """Dot products of two inputs over ``axes`` (an int, or one axis per input), sample by
    sample, as Keras' ``Dot``: (b, d)·(b, d) over axis 1 gives (b, 1); (b, n, d)·(b, m, d)
    over axes (2, 2) gives (b, n, m). ``normalize=True`` L2-normalizes along the axes first
    (cosine similarity)."""

    max_inputs = 2

    def __init__(self, axes, normalize=False, **kwargs):
        super().__init__(**kwargs)
        self.axes = axes
        self.normalize = bool(normalize)

    def _pair(self, ranks):
        axes = self.axes if isinstance(self.axes, (list, tuple)) else (self.axes, self.axes)
        if len(axes) != 2:
            raise ValueError(f"Dot {self.name!r}: axes must be an int or two ints, got {self.axes!r}")
        out = []
        for a, nd in zip(axes, ranks):
            if nd not in (2, 3):
                raise ValueError(f"Dot {self.name!r}: inputs of rank 2 or 3 are supported, got rank {nd}")
            if not -nd <= a < nd or a % nd == 0:
                raise ValueError(f"Dot {self.name!r}: axis {a} is not a feature axis of a rank-{nd} input")
            out.append(a % nd)
        return out

    def compute_output_shape(self, input_shapes):
        sa, sb = (tuple(s) for s in input_shapes)
        ax, bx = self._pair((len(sa), len(sb)))
        if sa[ax] is not None and sb[bx] is not None and sa[ax] != sb[bx]:
            raise ValueError(f"Dot {self.name!r}: axis {ax} of {shape_str(sa)} and axis {bx} of {shape_str(sb)} differ")
        rest = [d for i, d in enumerate(sa) if i not in (0, ax)] + [d for i, d in enumerate(sb) if i not in (0, bx)]
        return (sa[0], *rest) if rest else (sa[0], 1)

    def compute_mask(self, inputs, mask=None):
        """A dot product has no mask (as in Keras)."""
        return None

    def call(self, inputs):
        a, b = inputs
        ax, bx = self._pair((a.ndim, b.ndim))
        if self.normalize:
            a, b = _l2_normalize(a, ax), _l2_normalize(b, bx)
        # a with the contracted axis last, b with it second: then one batched matmul
        a3 = a if a.ndim == 3 else ops.reshape(a, (a.shape[0], 1, a.shape[1]))
        b3 = b if b.ndim == 3 else ops.reshape(b, (b.shape[0], b.shape[1], 1))
        if a.ndim == 3 and ax == 1:
            a3 = ops.transpose(a3, (0, 2, 1))
        if b.ndim == 3 and bx == 2:
            b3 = ops.transpose(b3, (0, 2, 1))
        out = ops.matmul(a3, b3)
        shape = self.compute_output_shape([a.shape, b.shape])
        return ops.reshape(out, (a.shape[0],) + tuple(shape[1:]))

    def get_config(self):
        return {**super().get_config(), "axes": self.axes, "normalize": self.normalize}


def _l2_normalize(x, axis):
    norm2 = ops.sum(ops.square(x), axis=axis, keepdims=True)
    return ops.divide(x, ops.sqrt(ops.maximum(norm2, 1e-12)))


def add(inputs, **kwargs):
    return Add(**kwargs)(inputs)


def subtract(inputs, **kwargs):
    return Subtract(**kwargs)(inputs)


def multiply(inputs, **kwargs):
    return Multiply(**kwargs)(inputs)


def average(inputs, **kwargs):
    return Average(**kwargs)(inputs)


def maximum(inputs, **kwargs):
    return Maximum(**kwargs)(inputs)


def minimum(inputs, **kwargs):
    return Minimum(**kwargs)(inputs)


def concatenate(inputs, axis=-1, **kwargs):
    return Concatenate(axis=axis, **kwargs)(inputs)


def dot(inputs, axes=-1, normalize=False, **kwargs):
    return Dot(axes=axes, normalize=normalize, **kwargs)(inputs)


__all__ = ["Add", "Average", "Concatenate", "Dot", "Maximum", "Minimum", "Multiply", "Subtract", "add", "average",
           "concatenate", "dot", "maximum", "minimum", "multiply", "subtract"]
