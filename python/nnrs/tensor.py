"""Tensor and Variable: arrays of the active backend that remember how they were made.

Reverse-mode autograd in the micrograd style: each Tensor made by a differentiable op
keeps the ``Function`` node (``_ctx``) that made it; ``backward()`` orders the graph
topologically, seeds the output gradient with ones and walks it in reverse, each node
turning its output gradient into gradients of its inputs. Leaf tensors that require a
gradient accumulate it in ``.grad`` (as PyTorch does) until it is reset.
"""

from __future__ import annotations

import threading

import numpy as np

from . import backend as _backend
from . import config as _config


class _GradState(threading.local):
    enabled = True  # per thread, as in PyTorch: no_grad in one thread leaves the others alone


_grad = _GradState()


def is_grad_enabled() -> bool:
    return _grad.enabled


class _GradMode:
    """Context manager setting the calling thread's grad mode inside a block."""

    __slots__ = ("mode", "prev")

    def __init__(self, mode: bool):
        self.mode = mode

    def __enter__(self):
        self.prev, _grad.enabled = _grad.enabled, self.mode

    def __exit__(self, *exc):
        _grad.enabled = self.prev


def no_grad():
    """Within the block, ops record no graph (inference, weight updates)."""
    return _GradMode(False)


def enable_grad():
    """Within the block, ops record the graph again."""
    return _GradMode(True)


def _python_dtype(data):
    """The dtype of Python data (numbers, nested lists) under nnrs' rule, as Keras 3 does:
    floats become ``floatx()``, ints int32, bools bool."""
    a = np.asarray(data)
    if a.dtype.kind == "f" or a.dtype == object:
        return np.dtype(_config.floatx())
    if a.dtype.kind in "iu":
        return np.dtype(np.int32)
    if a.dtype.kind == "b":
        return np.dtype(np.bool_)
    raise TypeError(f"Tensor: cannot hold data of dtype {a.dtype}")


def _buffer(a):
    """The array that owns ``a``'s memory (``a`` itself when it owns it)."""
    base = getattr(a, "base", None)
    return a if base is None else base


class Tensor:
    """An array of one backend plus, when it takes part in autograd, its gradient.

    The tensor keeps its backend (``.backend``): ops on it run there whatever backend is
    active. Dtype rule: arrays (numpy, or the backend's) keep their dtype; Python numbers
    and lists get floatx() when they hold a float and int32 when they hold only ints;
    ``dtype=`` converts.
    """

    __slots__ = ("data", "grad", "requires_grad", "_ctx", "_keras_logits", "backend", "_version", "__weakref__")
    __array_priority__ = 1000  # numpy defers to Tensor's operators

    def __init__(self, data, requires_grad: bool = False, dtype=None, backend=None):
        if isinstance(data, Tensor):
            backend = backend or data.backend
            data = data.data
        b = backend if backend is not None else _backend.current()
        if dtype is None and not hasattr(data, "dtype"):
            dtype = _python_dtype(data)
        if dtype is not None or not isinstance(data, b.xp.ndarray):
            data = b.asarray(data, dtype=dtype)
        if requires_grad and data.dtype.kind != "f":
            raise TypeError(f"Tensor: only floating tensors can require a gradient, got dtype {data.dtype}")
        self.data = data
        self.grad = None
        self.requires_grad = requires_grad
        self._ctx = None
        self._keras_logits = None
        self.backend = b
        self._version = 0

    @classmethod
    def wrap(cls, data, backend) -> Tensor:
        """A Tensor of ``backend`` around one of its arrays, without any conversion (fast path)."""
        t = cls.__new__(cls)
        t.data = data
        t.grad = None
        t.requires_grad = False
        t._ctx = None
        t._keras_logits = None
        t.backend = backend
        t._version = 0
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
        return self.backend.to_numpy(self.data)

    def item(self) -> float:
        """The value of a one-element tensor as a Python number."""
        if self.size != 1:
            raise ValueError(f"item(): the tensor has {self.size} elements (shape {self.shape}); expected one")
        return self.numpy().reshape(-1)[0].item()

    def __float__(self):
        return float(self.item())

    def __array__(self, dtype=None, copy=None):
        a = self.numpy()
        return a.astype(dtype) if dtype is not None else a

    def __repr__(self):
        g = ", requires_grad=True" if self.requires_grad else ""
        return f"Tensor({self.numpy()!r}{g})"

    def detach(self) -> Tensor:
        return Tensor.wrap(self.data, self.backend)

    def to(self, backend) -> Tensor:
        """This tensor on ``backend`` (a name such as ``"numpy"``, ``"cpu"``, ``"cuda"``, a
        Backend, or another tensor whose backend to take).

        Already there: the same object. Otherwise a new tensor with the same values and
        dtype, copied through a host numpy array (as PyTorch's ``Tensor.to``, it never
        changes ``self``, a Variable included; ``model.to`` moves weights in place). The
        copy is differentiable: a gradient reaching it flows back to ``self`` on its own
        backend. An unknown name is a ``ValueError``; a backend that cannot run here (``cuda``
        without CuPy or a GPU) a ``nnrs.backend.BackendUnavailableError``."""
        b = _backend.resolve(backend)
        if b is self.backend:
            return self
        return _Move.apply(self, b)

    # ---- autograd -------------------------------------------------------------------
    def backward(self, grad=None, retain_graph: bool = False) -> None:
        """Gradients of this tensor wrt every leaf that requires one (seed: ones).

        Each node's saved arrays are released as soon as its backward has run (pass
        ``retain_graph=True`` to backward through the same graph again). A leaf's
        gradient accumulates in ``.grad`` and never shares memory with another leaf's.
        """
        if not self.requires_grad:
            raise RuntimeError("backward(): this tensor does not require grad (no input of it required one)")
        b = self.backend
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
            if tuple(g0.shape) != self.shape:
                raise ValueError(f"backward(): grad has shape {tuple(g0.shape)}, expected the tensor's shape {self.shape}")
        grads = {id(self): g0}
        given = set()  # buffers already handed to a leaf
        for t in reversed(topo):
            g = grads.pop(id(t), None)
            if g is None:
                continue
            ctx = t._ctx
            if ctx is None:  # a leaf
                if t.grad is None:
                    if id(_buffer(g)) in given:
                        g = g.copy()
                    given.add(id(_buffer(g)))
                    t.grad = g
                else:
                    t.grad = t.backend.binary("add", t.grad, g)
                continue
            ctx.check_versions()
            in_grads = ctx.backward(ctx, g)
            parents = ctx.parents
            if not retain_graph:
                ctx.release()
            for p, pg in zip(parents, in_grads):
                if pg is None or not p.requires_grad:
                    continue
                k = id(p)
                prev = grads.get(k)
                grads[k] = pg if prev is None else p.backend.binary("add", prev, pg)  # p's backend: .to() crosses

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


def _copy_to(a, src, dst):
    """Array ``a`` of backend ``src`` as a new array of backend ``dst``, through host numpy
    (``np.array`` copies, so the result never shares memory with ``a``)."""
    return dst.asarray(np.array(src.to_numpy(a), copy=True))


class _Move:
    """The autograd node of ``Tensor.to``: forward copies to the target backend, backward
    copies the gradient back to the source's."""

    __slots__ = ("parents", "versions", "needs_grad", "src", "dst")

    @classmethod
    def apply(cls, t, dst):
        out = Tensor.wrap(_copy_to(t.data, t.backend, dst), dst)
        if t.requires_grad and _grad.enabled:
            ctx = cls.__new__(cls)
            ctx.parents, ctx.versions, ctx.needs_grad = [t], [t._version], [True]
            ctx.src, ctx.dst = t.backend, dst
            out.requires_grad = True
            out._ctx = ctx
        return out

    def check_versions(self):
        if self.parents[0]._version != self.versions[0]:
            raise RuntimeError("Tensor.to: the source tensor was changed in place after it was copied, so its gradient "
                               "would be wrong; run the forward again")

    @staticmethod
    def backward(ctx, grad):
        return (_copy_to(grad, ctx.dst, ctx.src),)

    def release(self):
        pass


class Variable(Tensor):
    """A trainable weight: a leaf Tensor with a name, kept by a layer."""

    __slots__ = ("name", "trainable", "regularizer", "constraint", "path")

    def __init__(self, value, name: str = "variable", trainable: bool = True, dtype=None, regularizer=None, backend=None):
        super().__init__(value, requires_grad=trainable, dtype=dtype, backend=backend)
        if not self.data.flags.c_contiguous:  # optimizers update weights in place, in C order
            self.data = self.backend.xp.ascontiguousarray(self.data)
        self.name = name
        self.path = name
        self.trainable = trainable
        self.regularizer = regularizer
        self.constraint = None

    def assign(self, value) -> None:
        """Copy ``value`` into this variable (in place; the shape must match). Graphs
        recorded before the change can no longer be differentiated (see ``_version``)."""
        b = self.backend
        if isinstance(value, Tensor):
            if value.backend is not b:
                raise ValueError(f"Variable {self.name!r}: cannot assign a tensor of backend {value.backend.name!r} "
                                 f"to a variable of backend {b.name!r}")
            v = value.data
        else:
            v = b.asarray(value)
        if tuple(v.shape) != tuple(self.data.shape):
            raise ValueError(f"Variable {self.name!r}: cannot assign a value of shape {tuple(v.shape)}; expected {self.shape}")
        self.data[...] = v
        self._version += 1

    def __repr__(self):
        return f"<Variable {self.name!r} shape={self.shape} dtype={self.dtype}>"

    def move_to(self, backend) -> Variable:
        """Move this variable to ``backend`` in place and return it: the same object (so an
        optimizer's or a layer's reference stays valid) now holds a copy of its values on
        that backend; its gradient moves with it. Graphs recorded before the move can no
        longer be differentiated. ``layer.to`` / ``model.to`` call this for every weight."""
        b = _backend.resolve(backend)
        src = self.backend
        if b is src:
            return self
        data = _copy_to(self.data, src, b)
        if not data.flags.c_contiguous:
            data = b.xp.ascontiguousarray(data)
        grad = None if self.grad is None else _copy_to(self.grad, src, b)
        self.data, self.grad, self.backend = data, grad, b
        self._version += 1
        return self


def as_tensor(x, dtype=None, backend=None) -> Tensor:
    """``x`` as a Tensor: a Tensor is returned as it is (converted when ``dtype`` differs
    from its own, through the differentiable ``cast``); anything else becomes a Tensor
    of ``backend`` (default: the active one) under the dtype rule of ``Tensor``."""
    if isinstance(x, Tensor):
        if dtype is None or np.dtype(dtype) == x.dtype:
            return x
        from .ops import cast

        return cast(x, dtype)
    return Tensor(x, dtype=dtype, backend=backend)
