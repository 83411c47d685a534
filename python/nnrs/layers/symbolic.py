"""``nnrs.ops`` functions and arithmetic on symbolic tensors, for the functional API.

``y = ops.relu(inputs) * 2.0`` while a functional model is being defined records one graph
node per op: an ``OpNode`` layer that remembers the op and where its symbolic arguments go,
and calls the op again on real tensors when the model runs. The output shape comes from
running the op once on zeros of the inputs' shapes (batch size 1 standing for None).
"""

from __future__ import annotations

import functools

import numpy as np

from .base import KerasTensor, Layer


def _find(obj, found):
    """The KerasTensors inside ``obj`` (nested lists, tuples and dicts), in order."""
    if isinstance(obj, KerasTensor):
        found.append(obj)
    elif isinstance(obj, (list, tuple)):
        for o in obj:
            _find(o, found)
    elif isinstance(obj, dict):
        for o in obj.values():
            _find(o, found)
    return found


def _fill(obj, values):
    """``obj`` with each KerasTensor replaced by the next of ``values`` (an iterator)."""
    if isinstance(obj, KerasTensor):
        return next(values)
    if isinstance(obj, (list, tuple)):
        return type(obj)(_fill(o, values) for o in obj)
    if isinstance(obj, dict):
        return {k: _fill(o, values) for k, o in obj.items()}
    return obj


_MAYBE_SYMBOLIC = (KerasTensor, list, tuple, dict)


class OpNode(Layer):
    """A graph node that applies one ``nnrs.ops`` function (no weights)."""

    def __init__(self, fn, args, kwargs, **layer_kwargs):
        super().__init__(name=layer_kwargs.pop("name", None), **layer_kwargs)
        self.fn, self.args, self.kwargs = fn, args, kwargs
        self.op_name = getattr(fn, "__name__", "op")
        self.built = True

    def __call__(self, x, training=False, **kwargs):
        n = len(_find((self.args, self.kwargs), []))
        values = iter(x if n > 1 else [x])
        args, kw = _fill(self.args, values), _fill(self.kwargs, values)
        return self.fn(*args, **kw)

    def get_config(self):
        return {**super().get_config(), "op": self.op_name}


def _trace_shape(fn, args, kwargs, inputs):
    """Output shape and dtype of ``fn`` on zeros shaped like the symbolic ``inputs``."""
    from .. import no_grad

    zeros = iter([np.zeros(tuple(1 if d is None else d for d in t.shape), dtype=t.dtype) for t in inputs])
    with no_grad():
        out = fn(*_fill(args, zeros), **_fill(kwargs, iter(zeros)))
    shape = tuple(out.shape)
    if inputs and inputs[0].shape and inputs[0].shape[0] is None and shape and shape[0] == 1:
        shape = (None,) + shape[1:]
    return shape, out.dtype


def symbolic(fn):
    """Makes the op ``fn`` record a graph node when any argument is a KerasTensor."""

    @functools.wraps(fn)
    def op(*args, **kwargs):
        for a in args:  # fast exit for the common, concrete call
            if isinstance(a, _MAYBE_SYMBOLIC):
                break
        else:
            if not kwargs or not any(isinstance(v, _MAYBE_SYMBOLIC) for v in kwargs.values()):
                return fn(*args, **kwargs)
        inputs = _find((args, kwargs), [])
        if not inputs:
            return fn(*args, **kwargs)
        shape, dtype = _trace_shape(fn, args, kwargs, inputs)
        node = OpNode(fn, args, kwargs, name=None)
        return KerasTensor(shape, dtype, layer=node, inputs=tuple(inputs))

    op.symbolic_wrapped = fn
    return op


def install(namespace, names):
    """Wraps the functions ``names`` of a module namespace (``nnrs.ops``) with ``symbolic``."""
    for name in names:
        f = namespace.get(name)
        if callable(f) and not hasattr(f, "symbolic_wrapped") and not isinstance(f, type):
            namespace[name] = symbolic(f)


def _binary_operator(op_name, reverse=False):
    def method(self, other):
        from .. import ops

        f = getattr(ops, op_name)
        return f(other, self) if reverse else f(self, other)

    method.__name__ = op_name
    return method


# Python operators on symbolic tensors build op nodes too (x * 2 + 1, x @ w, -x, x[:, 0]).
for _name, _op, _rev in (("__add__", "add", False), ("__radd__", "add", True), ("__sub__", "subtract", False),
                         ("__rsub__", "subtract", True), ("__mul__", "multiply", False), ("__rmul__", "multiply", True),
                         ("__truediv__", "divide", False), ("__rtruediv__", "divide", True), ("__pow__", "power", False),
                         ("__rpow__", "power", True), ("__matmul__", "matmul", False), ("__rmatmul__", "matmul", True)):
    setattr(KerasTensor, _name, _binary_operator(_op, _rev))
KerasTensor.__neg__ = lambda self: __import__("nnrs").ops.negative(self)
KerasTensor.__getitem__ = lambda self, idx: __import__("nnrs").ops.getitem(self, idx)
