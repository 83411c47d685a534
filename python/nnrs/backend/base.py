"""The backend contract: the kernel names every backend implements, with one meaning.

A backend works on its own array type (numpy arrays for ``numpy`` and ``cpu``, cupy
arrays for ``cuda``) and exposes ``xp``, the array module for layout work (reshape,
transpose, concatenate, slicing, creation). Everything that does arithmetic over data
is one of the kernels below. Kernels never modify their inputs, except the optimizer
updates (``*_update``), which update ``param`` and their state arrays in place.

Dtypes: every float array argument is float32 or float64, and all float arrays of one
call share a dtype. Integer targets are int64. Results have the dtype of the inputs.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

#: Activations of ``activation_forward`` / ``activation_backward``. ``softmax`` and
#: ``log_softmax`` work along the last axis.
ACTIVATIONS = (
    "linear", "sigmoid", "tanh", "relu", "leaky_relu", "elu", "selu", "gelu", "swish",
    "softplus", "softmax", "log_softmax",
)
#: Ops of ``unary``.
UNARY_OPS = ("neg", "exp", "log", "sqrt", "square", "abs", "sign", "reciprocal")
#: Ops of ``binary`` and ``binary_scalar`` (numpy broadcasting in ``binary``).
BINARY_OPS = ("add", "sub", "mul", "div", "pow", "maximum", "minimum")
#: Ops of ``reduce``.
REDUCE_OPS = ("sum", "mean", "max", "min")
#: Losses of ``loss_forward`` / ``loss_backward``.
LOSSES = ("mse", "mae", "huber", "binary_crossentropy_logits", "softmax_crossentropy")


class Backend:
    """Documentation of the contract; backends implement every method below."""

    name: str = "base"
    xp: Any = None  # the array module: numpy or cupy

    # ---- arrays ---------------------------------------------------------------------
    def asarray(self, x, dtype=None):
        """``x`` as this backend's array (no copy when it already is one of that dtype)."""
        raise NotImplementedError

    def to_numpy(self, a):
        """A numpy array with the values of ``a``."""
        raise NotImplementedError

    # ---- gemm -----------------------------------------------------------------------
    def matmul(self, a, b, trans_a: bool = False, trans_b: bool = False):
        """``op(a) @ op(b)`` for a (..., m, k) and b (..., k, n), each at least 2-D; ``op``
        swaps the last two dimensions when its flag is set. The batch dimensions (all but
        the last two) broadcast as in numpy, e.g. (B, m, k) @ (k, n) -> (B, m, n) and
        (B, 1, m, k) @ (C, k, n) -> (B, C, m, n). Both arrays float32 or both float64
        (else TypeError); fewer than 2 dimensions, differing inner dimensions or batch
        dimensions that do not broadcast are a ValueError naming the shapes."""
        raise NotImplementedError

    def linear_forward(self, x, w, b=None, activation: str = "linear", alpha: float = 0.0):
        """``activation(x @ w + b)`` for x (n, in), w (in, out), b (out,) or None: a dense
        layer's forward in one kernel (``activation`` as in ``activation_forward``)."""
        raise NotImplementedError

    def linear_backward(self, x, w, gy, need_gx: bool = True, need_gb: bool = True) -> tuple[Any, Any, Any]:
        """``(gy @ w.T or None, x.T @ gy, gy.sum(0) or None)``."""
        raise NotImplementedError

    # ---- elementwise ----------------------------------------------------------------
    def unary(self, op: str, x):
        """Elementwise op of ``UNARY_OPS``; ``sign(0) = 0``."""
        raise NotImplementedError

    def binary(self, op: str, a, b):
        """Elementwise op of ``BINARY_OPS`` with numpy broadcasting of a and b."""
        raise NotImplementedError

    def binary_scalar(self, op: str, a, s: float, reverse: bool = False):
        """``op(a, s)``, or ``op(s, a)`` with ``reverse``; s is a Python float."""
        raise NotImplementedError

    def clip(self, x, lo: float, hi: float):
        """``min(max(x, lo), hi)`` elementwise."""
        raise NotImplementedError

    # ---- reductions -----------------------------------------------------------------
    def reduce(self, op: str, x, axes: Sequence[int] | None = None, keepdims: bool = False):
        """Reduction of ``REDUCE_OPS`` over ``axes`` (all axes when None; axes may be negative)."""
        raise NotImplementedError

    def argmax(self, x, axis: int = -1):
        """Index (int64) of the first maximum along ``axis``."""
        raise NotImplementedError

    def sum_squares(self, arrays: Sequence[Any]) -> float:
        """Sum of the squares of every element of every array (for global-norm clipping)."""
        raise NotImplementedError

    # ---- activations ----------------------------------------------------------------
    def activation_forward(self, name: str, x, alpha: float = 0.0):
        """``y = f(x)``; ``alpha`` is leaky_relu's slope and elu's alpha."""
        raise NotImplementedError

    def activation_backward(self, name: str, gy, x, y, alpha: float = 0.0):
        """Gradient wrt x given gy, the input x and the output y of ``activation_forward``."""
        raise NotImplementedError

    # ---- losses ---------------------------------------------------------------------
    def loss_forward(self, name: str, pred, target, weight=None, delta: float = 1.0) -> float:
        """Mean over the batch of ``weight[i] * loss_i`` (sum of weighted losses / batch size).

        ``loss_i`` is the mean over the non-batch elements of sample i for mse, mae,
        huber (``delta``) and binary_crossentropy_logits (pred are logits, target in [0,1]).
        For softmax_crossentropy, pred are logits (n, k) and target is either int64
        class indices (n,) or float probabilities / one-hot (n, k); loss_i = -sum t log softmax.
        ``weight`` is None or a (n,) array of the pred dtype.
        """
        raise NotImplementedError

    def loss_backward(self, name: str, pred, target, weight=None, grad: float = 1.0, delta: float = 1.0):
        """Gradient of ``grad * loss_forward(...)`` wrt pred (mae uses sign, with sign(0)=0)."""
        raise NotImplementedError

    # ---- dropout --------------------------------------------------------------------
    def dropout_forward(self, x, rate: float, seed: int) -> tuple[Any, Any]:
        """``(x * mask, mask)``; mask is ``1/(1-rate)`` where ``uniform(seed, i) >= rate`` else 0.

        ``uniform(seed, i)`` for the flat C-order index i is splitmix64 of
        ``seed + (i + 1) * 0x9E3779B97F4A7C15`` (wrapping u64), top 53 bits times 2**-53,
        so every backend draws the same mask for the same seed.
        """
        raise NotImplementedError

    # ---- optimizer updates (in place) ----------------------------------------------
    def sgd_update(self, param, grad, velocity, lr: float, momentum: float = 0.0,
                   nesterov: bool = False, weight_decay: float = 0.0) -> None:
        """Keras SGD: ``param -= lr*wd*param``; then with momentum ``v = m*v - lr*g`` and
        ``param += v`` (nesterov: ``param += m*v - lr*g``); without, ``param -= lr*g``.
        ``velocity`` is None when momentum is 0."""
        raise NotImplementedError

    def adam_update(self, param, grad, m, v, lr: float, beta1: float, beta2: float, eps: float,
                    step: int, weight_decay: float = 0.0) -> None:
        """Keras Adam/AdamW (step counts from 1): ``param -= lr*wd*param``;
        ``m += (g-m)(1-b1)``; ``v += (g*g-v)(1-b2)``;
        ``param -= lr*sqrt(1-b2**step)/(1-b1**step) * m / (sqrt(v) + eps)``."""
        raise NotImplementedError

    def rmsprop_update(self, param, grad, ms, mom, lr: float, rho: float, momentum: float, eps: float,
                       weight_decay: float = 0.0) -> None:
        """Keras RMSprop: ``param -= lr*wd*param``; ``ms = rho*ms + (1-rho)*g*g``;
        ``inc = lr*g/sqrt(ms + eps)``; with momentum ``mom = momentum*mom + inc; param -= mom``
        else ``param -= inc`` (``mom`` is None when momentum is 0)."""
        raise NotImplementedError

    def adagrad_update(self, param, grad, acc, lr: float, eps: float, weight_decay: float = 0.0) -> None:
        """Keras Adagrad: ``param -= lr*wd*param``; ``acc += g*g``; ``param -= lr*g/sqrt(acc + eps)``."""
        raise NotImplementedError
