"""Differentiable ops (autograd Functions), one module per kernel family."""

from .activation import Activation, Softmax
from .dropout import Dropout
from .elementwise import Binary, BinaryScalar, Clip, Unary, sum_to_shape
from .gemm import Dense, Matmul
from .index import Cast, Take, Where
from .layout import Concatenate, GetItem, Reshape, Transpose
from .loss import Loss
from .reduce import Moments, Reduce

__all__ = [
    "Activation", "Binary", "BinaryScalar", "Clip", "Concatenate", "Dense", "Dropout", "GetItem",
    "Loss", "Matmul", "Reduce", "Reshape", "Transpose", "Unary", "sum_to_shape",
]
__all__ += ["Cast", "Take", "Where"]
__all__ += ["Moments", "Softmax"]
from .math import BroadcastTo, Math, Pad  # noqa: E402

__all__ += ["BroadcastTo", "Math", "Pad"]
# convolution family
from .conv import Col2Im, Conv2D, Conv2DTranspose, Im2Col  # noqa: E402

__all__ += ["Col2Im", "Conv2D", "Conv2DTranspose", "Im2Col"]
