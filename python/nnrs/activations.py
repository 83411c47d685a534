"""Activation lookup: a Keras name or one of nnrs.ops' activation functions -> a kernel name.

Layers apply named activations with one fused kernel; any other callable is applied
as it is (it must work on Tensors, e.g. be built from nnrs.ops).
"""

from __future__ import annotations

from . import ops

# Keras name -> (kernel name, alpha)
_KERNELS = {
    "linear": ("linear", 0.0), "sigmoid": ("sigmoid", 0.0), "tanh": ("tanh", 0.0), "relu": ("relu", 0.0),
    "leaky_relu": ("leaky_relu", 0.2), "elu": ("elu", 1.0), "selu": ("selu", 0.0), "gelu": ("gelu", 0.0),
    "swish": ("swish", 0.0), "silu": ("swish", 0.0), "softplus": ("softplus", 0.0),
    "softmax": ("softmax", 0.0), "log_softmax": ("log_softmax", 0.0),
}
_BY_FUNC = {
    ops.relu: "relu", ops.sigmoid: "sigmoid", ops.tanh: "tanh", ops.softmax: "softmax",
    ops.log_softmax: "log_softmax", ops.leaky_relu: "leaky_relu", ops.elu: "elu", ops.selu: "selu",
    ops.swish: "swish", ops.softplus: "softplus",  # not ops.gelu: it defaults to the tanh form, unlike "gelu"
}


def resolve(identifier, where: str = "activation"):
    """``(kernel_name, alpha, callable_or_None, keras_name)`` for an activation identifier."""
    if identifier is None:
        return "linear", 0.0, None, "linear"
    if isinstance(identifier, str):
        key = identifier.lower()
        if key not in _KERNELS:
            raise ValueError(f"{where}: unknown activation {identifier!r}; expected one of {sorted(_KERNELS)}")
        k, a = _KERNELS[key]
        return k, a, None, key
    if identifier in _BY_FUNC:
        name = _BY_FUNC[identifier]
        k, a = _KERNELS[name]
        return k, a, None, name
    if callable(identifier):
        return "linear", 0.0, identifier, getattr(identifier, "__name__", "custom")
    raise TypeError(f"{where}: cannot interpret {identifier!r} as an activation")


def get(identifier):
    """A callable applying the activation to a Tensor."""
    k, a, fn, _ = resolve(identifier)
    if fn is not None:
        return fn
    return lambda x: ops.activation(x, k, a)


def _named(name):
    k, a = _KERNELS[name]

    def f(x):
        return ops.activation(x, k, a)

    f.__name__ = name
    return f


relu, sigmoid, tanh, softmax, log_softmax = (_named(n) for n in ("relu", "sigmoid", "tanh", "softmax", "log_softmax"))
elu, selu, gelu, swish, silu, softplus, linear, leaky_relu = (
    _named(n) for n in ("elu", "selu", "gelu", "swish", "silu", "softplus", "linear", "leaky_relu"))
for _f in (relu, sigmoid, tanh, softmax, log_softmax, elu, selu, gelu, swish, silu, softplus, linear, leaky_relu):
    _BY_FUNC[_f] = _f.__name__
