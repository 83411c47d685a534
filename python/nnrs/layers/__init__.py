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

# pooling, padding, cropping and upsampling
from .pooling import (  # noqa: E402
    AveragePooling1D,
    AveragePooling2D,
    AvgPool1D,
    AvgPool2D,
    GlobalAveragePooling1D,
    GlobalAveragePooling2D,
    GlobalAvgPool1D,
    GlobalAvgPool2D,
    GlobalMaxPool1D,
    GlobalMaxPool2D,
    GlobalMaxPooling1D,
    GlobalMaxPooling2D,
    MaxPool1D,
    MaxPool2D,
    MaxPooling1D,
    MaxPooling2D,
)
from .reshaping import Cropping2D, UpSampling2D, ZeroPadding2D  # noqa: E402

__all__ += [
    "AveragePooling1D", "AveragePooling2D", "Cropping2D", "GlobalAveragePooling1D", "GlobalAveragePooling2D",
    "GlobalMaxPooling1D", "GlobalMaxPooling2D", "MaxPooling1D", "MaxPooling2D", "UpSampling2D", "ZeroPadding2D",
    "AvgPool1D", "AvgPool2D", "GlobalAvgPool1D", "GlobalAvgPool2D", "GlobalMaxPool1D", "GlobalMaxPool2D", "MaxPool1D",
    "MaxPool2D",
]
# convolution family
from .conv import Conv1D, Conv2D, Conv2DTranspose, DepthwiseConv2D, SeparableConv2D  # noqa: E402

__all__ += ["Conv1D", "Conv2D", "Conv2DTranspose", "DepthwiseConv2D", "SeparableConv2D"]

# blocks of residual and densely connected convnets (nnrs' own)
from .blocks import DenseBlock, ResidualBlock, TransitionLayer  # noqa: E402

__all__ += ["DenseBlock", "ResidualBlock", "TransitionLayer"]

# recurrent layers
from .recurrent import (  # noqa: E402
    GRU,
    LSTM,
    RNN,
    Bidirectional,
    GRUCell,
    LSTMCell,
    SimpleRNN,
    SimpleRNNCell,
    StackedRNNCells,
)

__all__ += ["Bidirectional", "GRU", "GRUCell", "LSTM", "LSTMCell", "RNN", "SimpleRNN", "SimpleRNNCell", "StackedRNNCells"]

# embedding (integer ids -> vectors)
from .embedding import Embedding  # noqa: E402

__all__ += ["Embedding"]

# masking, per-step wrapper, repeat
from .masking import Masking  # noqa: E402
from .reshaping import RepeatVector  # noqa: E402
from .time_distributed import TimeDistributed  # noqa: E402

__all__ += ["Masking", "RepeatVector", "TimeDistributed"]
