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
# ---- norm family: batch normalization, image augmentations ----
from .norm import AffineTransform, BatchNorm, Flip, GaussianNoise  # noqa: E402

__all__ += ["AffineTransform", "BatchNorm", "Flip", "GaussianNoise"]
# dynamic convolution (involution)
from .dynamic import DynamicConv2D  # noqa: E402

__all__ += ["DynamicConv2D"]
# pooling (max / average, 2-D and 1-D) and nearest upsampling
from .pool import AvgPool2D, MaxPool2D, UpSample2D  # noqa: E402

__all__ += ["AvgPool2D", "MaxPool2D", "UpSample2D"]
# convolution family
from .conv import Col2Im, Conv2D, Conv2DTranspose, Im2Col  # noqa: E402

__all__ += ["Col2Im", "Conv2D", "Conv2DTranspose", "Im2Col"]
# recurrent family (SimpleRNN / GRU / LSTM over a whole sequence)
from .recurrent import RnnSequence, rnn_sequence  # noqa: E402

__all__ += ["RnnSequence", "rnn_sequence"]
