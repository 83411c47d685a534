"""``nnrs.config``: process-wide settings, with Keras 3's ``keras.config`` names.

``floatx()`` is the float dtype that new weights, layer computations and tensors made
from Python floats use (float32 unless ``set_floatx`` says otherwise).
"""

from __future__ import annotations

import numpy as np

_FLOATX = "float32"
_EPSILON = 1e-7
_FLOATS = ("float32", "float64")


def floatx() -> str:
    """The default float dtype, as a string ("float32" unless changed)."""
    return _FLOATX


def set_floatx(value) -> None:
    """Set the default float dtype: "float32" or "float64" (the dtypes the kernels compute in)."""
    global _FLOATX
    name = np.dtype(value).name if not isinstance(value, str) else value
    if name not in _FLOATS:
        raise ValueError(f"set_floatx: the dtype must be one of {', '.join(_FLOATS)}, got {value!r}")
    _FLOATX = name


def epsilon() -> float:
    """The fuzz factor of the losses and metrics (1e-7)."""
    return _EPSILON


def set_epsilon(value) -> None:
    global _EPSILON
    _EPSILON = float(value)


def image_data_format() -> str:
    """nnrs images are channels-last: (batch, height, width, channels)."""
    return "channels_last"


def set_image_data_format(value) -> None:
    if value != "channels_last":
        raise ValueError(f"set_image_data_format: nnrs supports only 'channels_last', got {value!r}")


def backend() -> str:
    """The name of the calling thread's active backend ("cpu", "numpy" or "cuda")."""
    from . import backend as _backend

    return _backend.current().name


__all__ = ["backend", "epsilon", "floatx", "image_data_format", "set_epsilon", "set_floatx", "set_image_data_format"]
