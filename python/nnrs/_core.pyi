"""Type stubs of the nnrs._core extension (Rust kernels; one section per kernel family)."""

from typing import Optional

import numpy as np
from numpy.typing import NDArray

# ---- activation ---------------------------------------------------------------------
def activation_forward(name: str, x: NDArray[np.floating], alpha: float = 0.0) -> NDArray[np.floating]: ...
def activation_backward(
    name: str, gy: NDArray[np.floating], x: NDArray[np.floating], y: NDArray[np.floating], alpha: float = 0.0
) -> NDArray[np.floating]: ...
