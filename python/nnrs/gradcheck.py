"""``nnrs.gradcheck``: compare autograd gradients with float64 finite differences.

Usable on any function of Tensors, a user's own layer included::

    layer = MyLayer(); layer.build((None, 3))
    nnrs.gradcheck(lambda x: layer(x), np.random.rand(4, 3))
"""

from __future__ import annotations

import numpy as np

from . import backend as _backend
from .tensor import Tensor, enable_grad


class GradcheckError(AssertionError):
    """Raised when an analytical gradient disagrees with the numerical one."""


def gradcheck(fn, *inputs, eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3,
              wrt=None, seed: int = 0, raise_exception: bool = True) -> bool:
    """Check the gradients of ``fn(*inputs)`` by central differences in float64.

    ``inputs`` are arrays or Tensors (converted to float64 leaf Tensors). ``wrt`` adds
    more Tensors/Variables to check (e.g. a layer's weights; they must be float64).
    The output is reduced to a scalar with a fixed random projection, so every output
    element is checked. Returns True, or raises ``GradcheckError`` naming the input,
    the worst element and both values.
    """
    # the backend of the first Tensor given (inputs or wrt), else the active one
    b = next((t.backend for t in (*inputs, *(wrt or [])) if isinstance(t, Tensor)), None) or _backend.current()
    leaves = []
    for x in inputs:
        arr = x.data if isinstance(x, Tensor) else b.asarray(np.asarray(x, dtype=np.float64))
        if arr.dtype != np.float64:
            arr = b.asarray(b.to_numpy(arr).astype(np.float64))
        leaves.append(Tensor(arr, requires_grad=True, backend=b))
    extra = list(wrt or [])
    for v in extra:
        if v.dtype != np.float64:
            raise GradcheckError(f"gradcheck: {getattr(v, 'name', 'tensor')} has dtype {v.dtype}; it must be float64")
    targets = leaves + extra
    names = [f"input {i}" for i in range(len(leaves))] + [f"{getattr(v, 'name', 'tensor')}" for v in extra]

    with enable_grad():
        out = fn(*leaves)
    proj = b.asarray(np.random.default_rng(seed).standard_normal(out.shape))

    def scalar(o):
        return float(np.sum(b.to_numpy(o.data) * b.to_numpy(proj)))

    for t in targets:
        t.grad = None
    out.backward(proj)
    analytic = [b.to_numpy(t.grad) if t.grad is not None else np.zeros(t.shape) for t in targets]

    for t, name, ga in zip(targets, names, analytic):
        host = b.to_numpy(t.data).copy()
        num = np.zeros_like(host)
        flat = host.reshape(-1)
        for i in range(flat.size):
            orig = flat[i]
            flat[i] = orig + eps
            t.data[...] = b.asarray(host)
            fp = scalar(fn(*leaves))
            flat[i] = orig - eps
            t.data[...] = b.asarray(host)
            fm = scalar(fn(*leaves))
            flat[i] = orig
            num.reshape(-1)[i] = (fp - fm) / (2 * eps)
        t.data[...] = b.asarray(host)
        err = np.abs(ga - num) - (atol + rtol * np.abs(num))
        if err.size and err.max() > 0:
            k = int(np.argmax(err))
            idx = np.unravel_index(k, num.shape)
            msg = (f"gradcheck: gradient of {name} (shape {num.shape}) differs at {tuple(int(j) for j in idx)}: "
                   f"analytical {ga.reshape(-1)[k]:.8g} vs numerical {num.reshape(-1)[k]:.8g}")
            if raise_exception:
                raise GradcheckError(msg)
            return False
    return True


__all__ = ["gradcheck", "GradcheckError"]
