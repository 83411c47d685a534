"""Type stubs of the nnrs._core extension (Rust kernels; one section per kernel family)."""

from typing import Optional

import numpy as np
from numpy.typing import NDArray

# ---- activation ---------------------------------------------------------------------
def activation_forward(name: str, x: NDArray[np.floating], alpha: float = 0.0) -> NDArray[np.floating]: ...
def activation_backward(
    name: str, gy: NDArray[np.floating], x: NDArray[np.floating], y: NDArray[np.floating], alpha: float = 0.0
) -> NDArray[np.floating]: ...

# ---- loss ---------------------------------------------------------------------------
def loss_forward(
    name: str,
    pred: NDArray[np.floating],
    target: NDArray[np.floating] | NDArray[np.int64],
    weight: Optional[NDArray[np.floating]] = None,
    delta: float = 1.0,
) -> float: ...
def loss_backward(
    name: str,
    pred: NDArray[np.floating],
    target: NDArray[np.floating] | NDArray[np.int64],
    weight: Optional[NDArray[np.floating]] = None,
    grad: float = 1.0,
    delta: float = 1.0,
) -> NDArray[np.floating]: ...

# ---- elementwise --------------------------------------------------------------------
def unary(op: str, x: NDArray[np.floating]) -> NDArray[np.floating]: ...
def binary(op: str, a: NDArray[np.floating], b: NDArray[np.floating]) -> NDArray[np.floating]: ...
def binary_scalar(op: str, a: NDArray[np.floating], s: float, reverse: bool = False) -> NDArray[np.floating]: ...
def clip(x: NDArray[np.floating], lo: float, hi: float) -> NDArray[np.floating]: ...
