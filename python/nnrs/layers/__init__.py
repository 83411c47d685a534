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
# ---- norm family: batch normalization, image augmentation ----
from .augmentation import GaussianNoise, RandomCrop, RandomFlip, RandomRotation, RandomTranslation  # noqa: E402
from .normalization import BatchNormalization  # noqa: E402

__all__ += ["BatchNormalization", "GaussianNoise", "RandomCrop", "RandomFlip", "RandomRotation", "RandomTranslation"]

# ---- dynamic convolution (involution) ----
from .dynamic import DynamicConv2D  # noqa: E402

__all__ += ["DynamicConv2D"]
