"""Tensor and Variable: arrays of the active backend that remember how they were made.

Reverse-mode autograd in the micrograd style: each Tensor made by a differentiable op
keeps the ``Function`` node (``_ctx``) that made it; ``backward()`` orders the graph
topologically, seeds the output gradient with ones and walks it in reverse, each node
turning its output gradient into gradients of its inputs. Leaf tensors that require a
gradient accumulate it in ``.grad`` (as PyTorch does) until it is reset.
"""

from __future__ import annotations

import numpy as np

from . import backend as _backend

_grad_enabled = True


def is_grad_enabled() -> bool:
    return _grad_enabled


class _GradMode:
    """Context manager (and decorator-free switch) setting grad mode inside a block."""

    __slots__ = ("mode", "prev")

    def __init__(self, mode: bool):
        self.mode = mode

    def __enter__(self):
        global _grad_enabled
        self.prev, _grad_enabled = _grad_enabled, self.mode

    def __exit__(self, *exc):
        global _grad_enabled
        _grad_enabled = self.prev


def no_grad():
    """Within the block, ops record no graph (inference, weight updates)."""
    return _GradMode(False)


def enable_grad():
    """Within the block, ops record the graph again."""
    return _GradMode(True)


class Tensor:
    """An array of the active backend plus, when it takes part in autograd, its gradient."""

    __slots__ = ("data", "grad", "requires_grad", "_ctx", "_keras_logits", "__weakref__")
    __array_priority__ = 1000  # numpy defers to Tensor's operators

    def __init__(self, data, requires_grad: bool = False, dtype=None):
        if isinstance(data, Tensor):
            data = data.data
        b = _backend.current()
        if dtype is not None or not isinstance(data, b.xp.ndarray):
            if dtype is None:
                a = np.asarray(data)
                dtype = a.dtype if a.dtype.kind == "f" else np.float32
                data = a
            data = b.asarray(data, dtype=dtype)
        self.data = data
        self.grad = None
        self.requires_grad = requires_grad
        self._ctx = None
        self._keras_logits = None

    @classmethod
    def wrap(cls, data) -> Tensor:
        """A Tensor around a backend array, without any conversion (fast path)."""
        t = cls.__new__(cls)
        t.data = data
        t.grad = None
        t.requires_grad = False
        t._ctx = None
        t._keras_logits = None
        return t

    # ---- array-like -------------------------------------------------------------------
    @property
    def shape(self):
        return tuple(self.data.shape)

    @property
    def dtype(self):
        return self.data.dtype

    @property
    def ndim(self):
        return self.data.ndim

    @property
    def size(self):
        return int(self.data.size)

    def __len__(self):
        return self.data.shape[0]

    def numpy(self) -> np.ndarray:
        """The values as a numpy array (copied from the device on cuda)."""
        return _backend.current().to_numpy(self.data)

    def item(self) -> float:
        """The value of a one-element tensor as a Python float."""
        if self.size != 1:
            raise ValueError(f"item(): the tensor has {self.size} elements (shape {self.shape}); expected one")
        return float(self.numpy().reshape(-1)[0])

    def __array__(self, dtype=None, copy=None):
        a = self.numpy()
        return a.astype(dtype) if dtype is not None else a

    def __repr__(self):
        g = ", requires_grad=True" if self.requires_grad else ""
        return f"Tensor({self.numpy()!r}{g})"

    def detach(self) -> Tensor:
        return Tensor(self.data)

    # ---- autograd -------------------------------------------------------------------
    def backward(self, grad=None) -> None:
        """Gradients of this tensor wrt every leaf that requires one (seed: ones)."""
        if not self.requires_grad:
            raise RuntimeError("backward(): this tensor does not require grad (no input of it required one)")
        b = _backend.current()
        topo, seen = [], set()
        stack = [(self, False)]
        while stack:  # iterative DFS post-order: deep graphs (long sequences) cannot overflow
            t, done = stack.pop()
            if done:
                topo.append(t)
                continue
            if id(t) in seen:
                continue
            seen.add(id(t))
            stack.append((t, True))
            if t._ctx is not None:
                for p in t._ctx.parents:
                    if p.requires_grad and id(p) not in seen:
                        stack.append((p, False))
        if grad is None:
            g0 = b.xp.ones(self.data.shape, dtype=self.data.dtype)
        else:
            g0 = grad.data if isinstance(grad, Tensor) else b.asarray(grad, dtype=self.data.dtype)
        grads = {id(self): g0}
        for t in reversed(topo):
            g = grads.pop(id(t), None)
            if g is None:
                continue
            ctx = t._ctx
            if ctx is None:  # a leaf
                t.grad = g if t.grad is None else b.binary("add", t.grad, g)
                continue
            in_grads = ctx.backward(ctx, g)
            for p, pg in zip(ctx.parents, in_grads):
                if pg is None or not p.requires_grad:
                    continue
                k = id(p)
                prev = grads.get(k)
                grads[k] = pg if prev is None else b.binary("add", prev, pg)

    def zero_grad(self) -> None:
        self.grad = None

    # ---- operators (defined in ops) ------------------------------------------------
    def __add__(self, o):
        return _ops().add(self, o)

    def __radd__(self, o):
        return _ops().add(o, self)

    def __sub__(self, o):
        return _ops().subtract(self, o)

    def __rsub__(self, o):
        return _ops().subtract(o, self)

    def __mul__(self, o):
        return _ops().multiply(self, o)

    def __rmul__(self, o):
        return _ops().multiply(o, self)

    def __truediv__(self, o):
        return _ops().divide(self, o)

    def __rtruediv__(self, o):
        return _ops().divide(o, self)

    def __pow__(self, o):
        return _ops().power(self, o)

    def __rpow__(self, o):
        return _ops().power(o, self)

    def __neg__(self):
        return _ops().negative(self)

    def __matmul__(self, o):
        return _ops().matmul(self, o)

    def __getitem__(self, idx):
        return _ops().getitem(self, idx)

    def sum(self, axis=None, keepdims=False):
        return _ops().sum(self, axis, keepdims)

    def mean(self, axis=None, keepdims=False):
        return _ops().mean(self, axis, keepdims)

    def reshape(self, *shape):
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        return _ops().reshape(self, shape)

    @property
    def T(self):
        return _ops().transpose(self)


def _ops():
    from . import ops

    return ops


class Variable(Tensor):
    """A trainable weight: a leaf Tensor with a name, kept by a layer."""

    __slots__ = ("name", "trainable", "regularizer", "constraint", "path")

    def __init__(self, value, name: str = "variable", trainable: bool = True, dtype=None, regularizer=None):
        super().__init__(value, requires_grad=trainable, dtype=dtype)
        self.name = name
        self.path = name
        self.trainable = trainable
        self.regularizer = regularizer
        self.constraint = None

    def assign(self, value) -> None:
        """Copy ``value`` into this variable (in place; the shape must match)."""
        b = _backend.current()
        v = value.data if isinstance(value, Tensor) else b.asarray(value, dtype=self.data.dtype)
        if tuple(v.shape) != tuple(self.data.shape):
            raise ValueError(f"Variable {self.name!r}: cannot assign a value of shape {tuple(v.shape)}; expected {self.shape}")
        self.data[...] = v

    def __repr__(self):
        return f"<Variable {self.name!r} shape={self.shape} dtype={self.dtype}>"


def as_tensor(x, dtype=None) -> Tensor:
    """``x`` as a Tensor of the active backend (a Tensor is returned as it is)."""
    if isinstance(x, Tensor):
        return x
    return Tensor(x, dtype=dtype)
