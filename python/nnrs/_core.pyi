"""Type stubs of the nnrs._core extension (Rust kernels; one section per kernel family)."""


from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

# ---- activation ---------------------------------------------------------------------
def activation_forward(name: str, x: NDArray[np.floating], alpha: float = 0.0) -> NDArray[np.floating]: ...
def activation_backward(
    name: str, gy: NDArray[np.floating], x: NDArray[np.floating], y: NDArray[np.floating], alpha: float = 0.0
) -> NDArray[np.floating]: ...

# ---- loss ---------------------------------------------------------------------------
def loss_forward(
    name: str,
    pred: NDArray[np.floating],
    target: NDArray[np.floating] | NDArray[np.int64],
    weight: NDArray[np.floating] | None = None,
    delta: float = 1.0,
) -> NDArray[np.floating]: ...  # 0-d, pred's dtype
def loss_backward(
    name: str,
    pred: NDArray[np.floating],
    target: NDArray[np.floating] | NDArray[np.int64],
    weight: NDArray[np.floating] | None = None,
    grad: float | NDArray[np.floating] = 1.0,  # a float or a 0-d array
    delta: float = 1.0,
) -> NDArray[np.floating]: ...

# ---- optim (in place) ---------------------------------------------------------------
def sgd_update(
    param: NDArray[np.floating],
    grad: NDArray[np.floating],
    velocity: NDArray[np.floating] | None,
    lr: float,
    momentum: float = 0.0,
    nesterov: bool = False,
    weight_decay: float = 0.0,
) -> None: ...
def adam_update(
    param: NDArray[np.floating],
    grad: NDArray[np.floating],
    m: NDArray[np.floating],
    v: NDArray[np.floating],
    lr: float,
    beta1: float,
    beta2: float,
    eps: float,
    step: int,
    weight_decay: float = 0.0,
) -> None: ...
def rmsprop_update(
    param: NDArray[np.floating],
    grad: NDArray[np.floating],
    ms: NDArray[np.floating],
    mom: NDArray[np.floating] | None,
    lr: float,
    rho: float,
    momentum: float,
    eps: float,
    weight_decay: float = 0.0,
) -> None: ...
def adagrad_update(
    param: NDArray[np.floating],
    grad: NDArray[np.floating],
    acc: NDArray[np.floating],
    lr: float,
    eps: float,
    weight_decay: float = 0.0,
) -> None: ...

# ---- elementwise --------------------------------------------------------------------
def unary(op: str, x: NDArray[np.floating]) -> NDArray[np.floating]: ...
def argsort(x: NDArray[np.floating]) -> NDArray[np.int64]: ...
def binary(op: str, a: NDArray[np.floating], b: NDArray[np.floating]) -> NDArray[np.floating]: ...
def binary_scalar(op: str, a: NDArray[np.floating], s: float, reverse: bool = False) -> NDArray[np.floating]: ...
def clip(x: NDArray[np.floating], lo: float, hi: float) -> NDArray[np.floating]: ...

# ---- reduce -------------------------------------------------------------------------
def reduce(
    op: str, x: NDArray[np.floating], axes: int | tuple[int, ...] | list[int] | None = None, keepdims: bool = False
) -> NDArray[np.floating]: ...
def argmax(x: NDArray[np.floating], axis: int = -1) -> NDArray[np.int64]: ...
def sum_squares(arrays: list[NDArray[np.floating]] | tuple[NDArray[np.floating], ...]) -> NDArray[np.float64]: ...  # 0-d

# ---- random -------------------------------------------------------------------------
def dropout_forward(x: NDArray[np.floating], rate: float, seed: int) -> tuple[NDArray[np.floating], NDArray[np.floating]]: ...

# ---- gemm ---------------------------------------------------------------------------
# op(a) @ op(b) for a (..., m, k), b (..., k, n); the batch dimensions broadcast as in numpy
def matmul(a: NDArray[np.floating], b: NDArray[np.floating], trans_a: bool = False, trans_b: bool = False) -> NDArray[np.floating]: ...
def linear_forward(
    x: NDArray[np.floating],
    w: NDArray[np.floating],
    b: NDArray[np.floating] | None = None,
    activation: str = "linear",
    alpha: float = 0.0,
) -> NDArray[np.floating]: ...
def linear_backward(
    x: NDArray[np.floating], w: NDArray[np.floating], gy: NDArray[np.floating], need_gx: bool = True, need_gb: bool = True
) -> tuple[NDArray[np.floating] | None, NDArray[np.floating], NDArray[np.floating] | None]: ...

# ---- parallel -----------------------------------------------------------------------
__version__: str

def set_num_threads(n: int) -> None: ...
def get_num_threads() -> int: ...
def simd_level() -> str: ...

# ---- output memory kept for reuse (buffers.rs) ----------------------------------------
class Buffer: ...  # the base of a large output array; its memory returns to the cache
def cached_output_bytes() -> int: ...
def release_cached_outputs() -> None: ...

# ---- index & logic ------------------------------------------------------------------
def compare(op: str, a: NDArray[np.floating], b: NDArray[np.floating]) -> NDArray[np.bool_]: ...
def where(cond: NDArray[np.bool_], a: NDArray[np.floating], b: NDArray[np.floating]) -> NDArray[np.floating]: ...
def cast(x: NDArray[np.generic], dtype: np.dtype | str | type) -> NDArray[np.generic]: ...
def take(x: NDArray[np.floating], indices: NDArray[np.integer], axis: int) -> NDArray[np.floating]: ...
def scatter_add(updates: NDArray[np.floating], indices: NDArray[np.integer], axis: int, dim_size: int) -> NDArray[np.floating]: ...
def one_hot(indices: NDArray[np.integer], num_classes: int, dtype: np.dtype | str | type | None = "float32") -> NDArray[np.floating]: ...
# ---- gradients of elementwise ops -----------------------------------------------------
def binary_backward(
    op: str, a: NDArray[np.floating], b: NDArray[np.floating], g: NDArray[np.floating]
) -> tuple[NDArray[np.floating], NDArray[np.floating]]: ...

# ---- softmax along any axis -----------------------------------------------------------
def softmax_forward(x: NDArray[np.floating], axis: int, log: bool = False) -> NDArray[np.floating]: ...
def softmax_backward(gy: NDArray[np.floating], y: NDArray[np.floating], axis: int, log: bool = False) -> NDArray[np.floating]: ...

# ---- mean and variance (batch norm statistics) ------------------------------------------
def moments(
    x: NDArray[np.floating], axes: int | tuple[int, ...] | list[int] | None = None, keepdims: bool = False
) -> tuple[NDArray[np.floating], NDArray[np.floating]]: ...
def moments_backward(
    x: NDArray[np.floating],
    mean: NDArray[np.floating],
    g_mean: NDArray[np.floating],
    g_var: NDArray[np.floating],
    axes: int | tuple[int, ...] | list[int] | None = None,
) -> NDArray[np.floating]: ...

# ---- norm family: batch normalization, image warps, gaussian noise ------------------------
def batch_norm_forward(
    x: NDArray[np.floating],
    gamma: NDArray[np.floating] | None = None,
    beta: NDArray[np.floating] | None = None,
    mean: NDArray[np.floating] | None = None,
    var: NDArray[np.floating] | None = None,
    epsilon: float = 1e-3,
    training: bool = True,
) -> tuple[NDArray[np.floating], NDArray[np.floating], NDArray[np.floating]]: ...
def batch_norm_backward(
    gy: NDArray[np.floating],
    x: NDArray[np.floating],
    gamma: NDArray[np.floating] | None,
    mean: NDArray[np.floating],
    var: NDArray[np.floating],
    epsilon: float = 1e-3,
    training: bool = True,
) -> tuple[NDArray[np.floating], NDArray[np.floating], NDArray[np.floating]]: ...
def batch_norm_update(
    moving_mean: NDArray[np.floating],
    moving_var: NDArray[np.floating],
    mean: NDArray[np.floating],
    var: NDArray[np.floating],
    momentum: float,
) -> None: ...
def affine_transform(
    images: NDArray[np.floating],
    transforms: NDArray[np.floating],
    interpolation: str = "bilinear",
    fill_mode: str = "constant",
    fill_value: float = 0.0,
) -> NDArray[np.floating]: ...
def affine_transform_backward(
    gy: NDArray[np.floating], transforms: NDArray[np.floating], interpolation: str = "bilinear", fill_mode: str = "constant"
) -> NDArray[np.floating]: ...
def gaussian_noise_forward(x: NDArray[np.floating], stddev: float, seed: int) -> NDArray[np.floating]: ...
# ---- dynamic convolution (involution) ---------------------------------------------------
def dynamic_conv2d_forward(
    x: NDArray[np.floating],
    k: NDArray[np.floating],
    kernel_size: tuple[int, ...] | list[int],
    strides: tuple[int, ...] | list[int] = (1, 1),
    padding: tuple[int, ...] | list[int] = (0, 0, 0, 0),
    dilation: tuple[int, ...] | list[int] = (1, 1),
) -> NDArray[np.floating]: ...
def dynamic_conv2d_backward(
    gy: NDArray[np.floating],
    x: NDArray[np.floating],
    k: NDArray[np.floating],
    kernel_size: tuple[int, ...] | list[int],
    strides: tuple[int, ...] | list[int] = (1, 1),
    padding: tuple[int, ...] | list[int] = (0, 0, 0, 0),
    dilation: tuple[int, ...] | list[int] = (1, 1),
) -> tuple[NDArray[np.floating], NDArray[np.floating]]: ...
# ---- pooling (max / average, 2-D and 1-D) -----------------------------------------------
# x (batch, height, width, channels); pool_size / strides (h, w); padding (top, bottom, left, right)
def max_pool2d_forward(
    x: NDArray[np.floating], pool_size: tuple[int, int], strides: tuple[int, int], padding: tuple[int, int, int, int]
) -> NDArray[np.floating]: ...
def max_pool2d_backward(
    x: NDArray[np.floating],
    gy: NDArray[np.floating],
    pool_size: tuple[int, int],
    strides: tuple[int, int],
    padding: tuple[int, int, int, int],
) -> NDArray[np.floating]: ...
def avg_pool2d_forward(
    x: NDArray[np.floating], pool_size: tuple[int, int], strides: tuple[int, int], padding: tuple[int, int, int, int]
) -> NDArray[np.floating]: ...
def avg_pool2d_backward(
    gy: NDArray[np.floating],
    input_shape: tuple[int, int, int, int],
    pool_size: tuple[int, int],
    strides: tuple[int, int],
    padding: tuple[int, int, int, int],
) -> NDArray[np.floating]: ...
# ---- convolution family (channels-last x (n, h, w, c), w (kh, kw, c/groups, oc), padding (top, bottom, left, right)) ----
def conv2d_forward(
    x: NDArray[np.floating],
    w: NDArray[np.floating],
    b: NDArray[np.floating] | None = None,
    strides: tuple[int, int] = (1, 1),
    padding: tuple[int, int, int, int] = (0, 0, 0, 0),
    dilation: tuple[int, int] = (1, 1),
    groups: int = 1,
    activation: str = "linear",
    alpha: float = 0.0,
) -> NDArray[np.floating]: ...
def conv2d_backward_input(
    gy: NDArray[np.floating],
    w: NDArray[np.floating],
    x_shape: Sequence[int],
    strides: tuple[int, int] = (1, 1),
    padding: tuple[int, int, int, int] = (0, 0, 0, 0),
    dilation: tuple[int, int] = (1, 1),
    groups: int = 1,
) -> NDArray[np.floating]: ...
def conv2d_backward_weight(
    x: NDArray[np.floating],
    gy: NDArray[np.floating],
    kernel_size: tuple[int, int],
    strides: tuple[int, int] = (1, 1),
    padding: tuple[int, int, int, int] = (0, 0, 0, 0),
    dilation: tuple[int, int] = (1, 1),
    groups: int = 1,
    need_gb: bool = True,
) -> tuple[NDArray[np.floating], NDArray[np.floating] | None]: ...
def im2col(
    x: NDArray[np.floating],
    kernel_size: tuple[int, int],
    strides: tuple[int, int] = (1, 1),
    padding: tuple[int, int, int, int] = (0, 0, 0, 0),
    dilation: tuple[int, int] = (1, 1),
) -> NDArray[np.floating]: ...
def col2im(
    col: NDArray[np.floating],
    x_shape: Sequence[int],
    kernel_size: tuple[int, int],
    strides: tuple[int, int] = (1, 1),
    padding: tuple[int, int, int, int] = (0, 0, 0, 0),
    dilation: tuple[int, int] = (1, 1),
) -> NDArray[np.floating]: ...

# ---- recurrent family (SimpleRNN / GRU / LSTM over a whole sequence) ----
def rnn_forward(
    kind: str,
    x: NDArray[np.floating],
    kernel: NDArray[np.floating],
    recurrent: NDArray[np.floating],
    bias: NDArray[np.floating] | None,
    states: tuple[NDArray[np.floating], ...],
    mask: NDArray[np.bool_] | NDArray[np.uint8] | None = None,
    reverse: bool = False,
    activation: str = "tanh",
    zero_masked: bool = False,
    save: bool = True,
) -> tuple[NDArray[np.floating], NDArray[np.floating] | None]: ...
def rnn_backward(
    kind: str,
    g: NDArray[np.floating],
    saved: NDArray[np.floating],
    x: NDArray[np.floating],
    kernel: NDArray[np.floating],
    recurrent: NDArray[np.floating],
    mask: NDArray[np.bool_] | NDArray[np.uint8] | None = None,
    reverse: bool = False,
    activation: str = "tanh",
    zero_masked: bool = False,
    has_bias: bool = True,
) -> tuple[
    NDArray[np.floating],
    NDArray[np.floating],
    NDArray[np.floating],
    NDArray[np.floating] | None,
    tuple[NDArray[np.floating], ...],
]: ...
