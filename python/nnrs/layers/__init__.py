"""nnrs.layers: Keras 3 layer names."""

from .base import KerasTensor, Layer
from .core import Activation, Dense, Dropout, Flatten, Input, InputLayer, Reshape
from .merge import (
    Add,
    Average,
    Concatenate,
    Dot,
    Maximum,
    Minimum,
    Multiply,
    Subtract,
    add,
    average,
    concatenate,
    dot,
    maximum,
    minimum,
    multiply,
    subtract,
)

__all__ = [
    "Activation", "Add", "Average", "Concatenate", "Dense", "Dot", "Dropout", "Flatten", "Input", "InputLayer",
    "KerasTensor", "Layer", "Maximum", "Minimum", "Multiply", "Reshape", "Subtract", "add", "average", "concatenate",
    "dot", "maximum", "minimum", "multiply", "subtract",
]
# convolution family
from .conv import Conv1D, Conv2D, Conv2DTranspose, DepthwiseConv2D, SeparableConv2D  # noqa: E402

__all__ += ["Conv1D", "Conv2D", "Conv2DTranspose", "DepthwiseConv2D", "SeparableConv2D"]
