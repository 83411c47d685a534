"""Small helpers shared across modules (not public API)."""

from __future__ import annotations

import re

import numpy as np


def snake_case(name: str) -> str:
    """``"MeanSquaredError"`` -> ``"mean_squared_error"`` (acronyms kept together, as Keras):
    Keras 3's ``to_snake_case`` exactly, so ``"Conv2D"`` -> ``"conv2d"`` (a digit followed by
    a capital is not split)."""
    s = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", re.sub(r"\W+", "", name))
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", s).lower()


def to_host(x) -> np.ndarray:
    """``x`` (a numpy array, a Tensor, a cupy array or anything array-like) as numpy."""
    if isinstance(x, np.ndarray):
        return x
    if hasattr(x, "numpy") and callable(x.numpy):
        return np.asarray(x.numpy())
    if hasattr(x, "get") and hasattr(x, "shape") and hasattr(x, "dtype"):  # a device array (CuPy's .get copies to the host)
        return x.get()
    return np.asarray(x)
