"""nnrs: deep learning with Rust CPU kernels and a Keras-like API."""

from ._core import __version__  # noqa: F401
from . import backend  # noqa: F401
from .backend import set_backend  # noqa: F401
