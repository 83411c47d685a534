"""nnrs.layers: Keras 3 layer names."""

from .base import KerasTensor, Layer
from .core import Activation, Dense, Dropout, Flatten, Input, InputLayer, Reshape

__all__ = ["Activation", "Dense", "Dropout", "Flatten", "Input", "InputLayer", "KerasTensor", "Layer", "Reshape"]
