"""The backend contract: the kernel names every backend implements, with one meaning.

A backend works on its own array type (numpy arrays for ``numpy`` and ``cpu``, cupy
arrays for ``cuda``) and exposes ``xp``, the array module for layout work (reshape,
transpose, concatenate, slicing, creation). Everything that does arithmetic over data
is one of the kernels below. Kernels never modify their inputs, except the optimizer
updates (``*_update``), which update ``param`` and their state arrays in place.

Dtypes: every float array argument is float32 or float64, and all float arrays of one
call share a dtype (``ops`` promotes mixed operands before calling). Integer targets are
int64. Results have the dtype of the inputs. Scalar results are 0-d arrays of the
backend, never Python floats, so nothing waits for the device unless a user asks.

The arguments of every kernel are checked once, in ``contract.py``, in front of every
backend: the oracle is exactly as strict as the Rust and CUDA paths.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

#: Activations of ``activation_forward`` / ``activation_backward``. ``softmax`` and
#: ``log_softmax`` work along the last axis.
ACTIVATIONS = (
    "linear", "sigmoid", "tanh", "relu", "leaky_relu", "elu", "selu", "gelu", "swish",
    "softplus", "softmax", "log_softmax",
)
#: Ops of ``unary``.
UNARY_OPS = ("neg", "exp", "log", "sqrt", "square", "abs", "sign", "reciprocal",
             "sin", "cos", "tan", "arcsin", "arccos", "arctan", "sinh", "cosh", "arcsinh", "arccosh", "arctanh",
             "log1p", "expm1", "log2", "log10", "floor", "ceil", "round", "trunc")
#: Ops of ``binary`` and ``binary_scalar`` (numpy broadcasting in ``binary``).
BINARY_OPS = ("add", "sub", "mul", "div", "pow", "maximum", "minimum")
#: Ops of ``reduce``.
REDUCE_OPS = ("sum", "mean", "max", "min")
#: Losses of ``loss_forward`` / ``loss_backward``.
LOSSES = ("mse", "mae", "huber", "binary_crossentropy_logits", "softmax_crossentropy")


class Backend:
    """Documentation of the contract; backends implement every method below."""

    name: str = "base"
    xp: Any = None  # the array module: numpy or cupy

    # ---- arrays ---------------------------------------------------------------------
    def asarray(self, x, dtype=None):
        """``x`` as this backend's array (no copy when it already is one of that dtype)."""
        raise NotImplementedError

    def to_numpy(self, a):
        """A numpy array with the values of ``a``."""
        raise NotImplementedError

    # ---- gemm -----------------------------------------------------------------------
    def matmul(self, a, b, trans_a: bool = False, trans_b: bool = False):
        """``op(a) @ op(b)`` for a (..., m, k) and b (..., k, n), each at least 2-D; ``op``
        swaps the last two dimensions when its flag is set. The batch dimensions (all but
        the last two) broadcast as in numpy, e.g. (B, m, k) @ (k, n) -> (B, m, n) and
        (B, 1, m, k) @ (C, k, n) -> (B, C, m, n). Both arrays float32 or both float64
        (else TypeError); fewer than 2 dimensions, differing inner dimensions or batch
        dimensions that do not broadcast are a ValueError naming the shapes."""
        raise NotImplementedError

    def linear_forward(self, x, w, b=None, activation: str = "linear", alpha: float = 0.0):
        """``activation(x @ w + b)`` for x (n, in), w (in, out), b (out,) or None: a dense
        layer's forward in one kernel (``activation`` as in ``activation_forward``)."""
        raise NotImplementedError

    def linear_backward(self, x, w, gy, need_gx: bool = True, need_gb: bool = True) -> tuple[Any, Any, Any]:
        """``(gy @ w.T or None, x.T @ gy, gy.sum(0) or None)``."""
        raise NotImplementedError

    # ---- elementwise ----------------------------------------------------------------
    def unary(self, op: str, x):
        """Elementwise op of ``UNARY_OPS`` with numpy's meaning (``arcsin`` ... are numpy's
        names; ``sign(0) = 0``; ``round`` takes halves to the even neighbour)."""
        raise NotImplementedError

    def argsort(self, x):
        """int64 indices of x's shape that sort x along its last axis (a 0-d x is one row
        of one): ascending, stable (ties keep index order), NaN after every number, as
        numpy's ``argsort(kind="stable")``."""
        raise NotImplementedError

    def binary(self, op: str, a, b):
        """Elementwise op of ``BINARY_OPS`` with numpy broadcasting of a and b."""
        raise NotImplementedError

    def binary_scalar(self, op: str, a, s: float, reverse: bool = False):
        """``op(a, s)``, or ``op(s, a)`` with ``reverse``; s is a Python float."""
        raise NotImplementedError

    def clip(self, x, lo: float, hi: float):
        """``min(max(x, lo), hi)`` elementwise."""
        raise NotImplementedError

    # ---- reductions -----------------------------------------------------------------
    def reduce(self, op: str, x, axes: Sequence[int] | None = None, keepdims: bool = False):
        """Reduction of ``REDUCE_OPS`` over ``axes`` (all axes when None; axes may be negative)."""
        raise NotImplementedError

    def argmax(self, x, axis: int = -1):
        """Index (int64) of the first maximum along ``axis``."""
        raise NotImplementedError

    def sum_squares(self, arrays: Sequence[Any]):
        """Sum of the squares of every element of every array (for global-norm clipping),
        accumulated in float64, as a 0-d float64 array."""
        raise NotImplementedError

    # ---- activations ----------------------------------------------------------------
    def activation_forward(self, name: str, x, alpha: float = 0.0):
        """``y = f(x)``; ``alpha`` is leaky_relu's slope and elu's alpha."""
        raise NotImplementedError

    def activation_backward(self, name: str, gy, x, y, alpha: float = 0.0):
        """Gradient wrt x given gy, the input x and the output y of ``activation_forward``."""
        raise NotImplementedError

    # ---- losses ---------------------------------------------------------------------
    def loss_forward(self, name: str, pred, target, weight=None, delta: float = 1.0):
        """Mean over the batch of ``weight[i] * loss_i`` (sum of weighted losses / batch size),
        as a 0-d array of pred's dtype (the value stays on the backend).

        ``loss_i`` is the mean over the non-batch elements of sample i for mse, mae,
        huber (``delta``) and binary_crossentropy_logits (pred are logits, target in [0,1]).
        For softmax_crossentropy, pred are logits (n, k) and target is either int64
        class indices (n,) or float probabilities / one-hot (n, k); loss_i = -sum t log softmax.
        ``weight`` is None or a (n,) array of the pred dtype.
        """
        raise NotImplementedError

    def loss_backward(self, name: str, pred, target, weight=None, grad=1.0, delta: float = 1.0):
        """Gradient of ``grad * loss_forward(...)`` wrt pred (mae uses sign, with sign(0)=0);
        ``grad`` is a float or a 0-d array (the incoming gradient of the loss)."""
        raise NotImplementedError

    # ---- dropout --------------------------------------------------------------------
    def dropout_forward(self, x, rate: float, seed: int) -> tuple[Any, Any]:
        """``(x * mask, mask)``; mask is ``1/(1-rate)`` where ``uniform(seed, i) >= rate`` else 0.

        ``uniform(seed, i)`` for the flat C-order index i is splitmix64 of
        ``seed + (i + 1) * 0x9E3779B97F4A7C15`` (wrapping u64), top 53 bits times 2**-53,
        so every backend draws the same mask for the same seed.
        """
        raise NotImplementedError

    # ---- optimizer updates (in place) ----------------------------------------------
    def sgd_update(self, param, grad, velocity, lr: float, momentum: float = 0.0,
                   nesterov: bool = False, weight_decay: float = 0.0) -> None:
        """Keras SGD: ``param -= lr*wd*param``; then with momentum ``v = m*v - lr*g`` and
        ``param += v`` (nesterov: ``param += m*v - lr*g``); without, ``param -= lr*g``.
        ``velocity`` is None when momentum is 0."""
        raise NotImplementedError

    def adam_update(self, param, grad, m, v, lr: float, beta1: float, beta2: float, eps: float,
                    step: int, weight_decay: float = 0.0) -> None:
        """Keras Adam/AdamW (step counts from 1): ``param -= lr*wd*param``;
        ``m += (g-m)(1-b1)``; ``v += (g*g-v)(1-b2)``;
        ``param -= lr*sqrt(1-b2**step)/(1-b1**step) * m / (sqrt(v) + eps)``."""
        raise NotImplementedError

    def rmsprop_update(self, param, grad, ms, mom, lr: float, rho: float, momentum: float, eps: float,
                       weight_decay: float = 0.0) -> None:
        """Keras RMSprop: ``param -= lr*wd*param``; ``ms = rho*ms + (1-rho)*g*g``;
        ``inc = lr*g/sqrt(ms + eps)``; with momentum ``mom = momentum*mom + inc; param -= mom``
        else ``param -= inc`` (``mom`` is None when momentum is 0)."""
        raise NotImplementedError

    def adagrad_update(self, param, grad, acc, lr: float, eps: float, weight_decay: float = 0.0) -> None:
        """Keras Adagrad: ``param -= lr*wd*param``; ``acc += g*g``; ``param -= lr*g/sqrt(acc + eps)``."""
        raise NotImplementedError

    # ---- index & logic --------------------------------------------------------------
    def compare(self, op: str, a, b):
        """``op(a, b)`` elementwise as a ``bool`` array, op of ``COMPARE_OPS``, with numpy
        broadcasting; a and b float arrays of one dtype. NaN compares as in numpy (unequal
        to everything, so only ``not_equal`` is true)."""
        raise NotImplementedError

    def where(self, cond, a, b):
        """``a`` where ``cond`` else ``b``: cond a ``bool`` array, a and b float arrays of one
        dtype, the three broadcast together (numpy); the result has a's dtype."""
        raise NotImplementedError

    def cast(self, x, dtype):
        """``x`` converted to ``dtype`` (a numpy dtype, type or name of ``CAST_DTYPES``; x of
        one of them too). A new array even when the dtype is unchanged. Rules:

        * float -> integer truncates toward zero and *saturates*: values beyond the
          integer type's range give its min / max, NaN gives 0 (Rust's ``as``; numpy's
          astype agrees wherever numpy defines the result);
        * integer -> narrower integer wraps modulo 2**bits (two's complement), as numpy;
        * -> float rounds to nearest (float64 -> float32 overflows to +-inf);
        * -> bool is ``x != 0`` (NaN is True); bool -> number is 0 / 1.
        """
        raise NotImplementedError

    def take(self, x, indices, axis: int):
        """Gather along ``axis`` (negative counts from the end): x a float array, indices an
        int32/int64 array of any shape; the result has shape
        ``x.shape[:axis] + indices.shape + x.shape[axis+1:]`` (numpy's ``take``). Negative
        indices count from the end; the first index (C order) outside ``[-n, n)``, n =
        ``x.shape[axis]``, raises ``ValueError(INDEX_ERROR.format(kernel="take", ...))``
        with the index as given and the non-negative axis (checked by the kernel, which
        reads the indices anyway)."""
        raise NotImplementedError

    def scatter_add(self, updates, indices, axis: int, dim_size: int):
        """The adjoint of ``take``: zeros of shape ``updates.shape[:axis] + (dim_size,) +
        updates.shape[axis + indices.ndim:]`` with ``updates`` (which has ``indices.shape``
        at axes ``axis .. axis + indices.ndim``) added at each index; repeated indices
        accumulate, in index order (the same result with any number of threads). ``axis``
        is an axis of the output (negative counts from its end). Bad indices raise as in
        ``take`` with ``kernel="scatter_add"`` and ``size=dim_size``."""
        raise NotImplementedError

    def one_hot(self, indices, num_classes: int, dtype="float32"):
        """``indices.shape + (num_classes,)`` array of dtype float32 (the default; also for
        None) or float64: 1 at ``[..., indices[...]]``, 0 elsewhere. indices int32/int64;
        an index outside ``[0, num_classes)`` (negative ones included) gives a row of zeros,
        as Keras / TensorFlow do."""
        raise NotImplementedError

    # ---- gradients of elementwise ops -------------------------------------------------
    def binary_backward(self, op: str, a, b, g) -> tuple[Any, Any]:
        """``(ga, gb)``: the gradients wrt a and b of ``binary(op, a, b)`` given ``g`` (of the
        broadcast shape of a and b), each summed over the broadcast axes back to its
        operand's shape. One dtype for a, b and g. Per element, for op in ``BINARY_OPS``:
        add ``(g, g)``; sub ``(g, -g)``; mul ``(g*b, g*a)``; div ``(g/b, -(g/b)*(a/b))``;
        maximum / minimum: all of g to the operand the op returns (a on ties and where a
        is NaN), 0 to the other; pow: ``ga = g*b*a**(b-1)`` (0 where b == 0, a**0 being
        constant), ``gb = g*a**b*ln(a)`` where a > 0 and 0 where a <= 0 (at a == 0 the
        true derivative for b > 0; for a < 0 the power exists only at integer b, so it
        has no derivative in b and 0 keeps the gradient finite); a NaN base gives NaN."""
        raise NotImplementedError

    # ---- softmax along any axis -----------------------------------------------------
    def softmax_forward(self, x, axis: int, log: bool = False):
        """softmax of x along ``axis`` (negative counts from the end; x has at least one
        dimension), or log_softmax with ``log``; stable (the maximum along the axis is
        subtracted first)."""
        raise NotImplementedError

    def softmax_backward(self, gy, y, axis: int, log: bool = False):
        """Gradient wrt x of ``softmax_forward(x, axis, log)`` given gy and its output y:
        ``y * (gy - sum(gy * y))``, or ``gy - exp(y) * sum(gy)`` with ``log``, the sums
        along ``axis``."""
        raise NotImplementedError

    # ---- mean and variance (batch norm statistics) ------------------------------------
    def moments(self, x, axes: Sequence[int] | None = None, keepdims: bool = False) -> tuple[Any, Any]:
        """``(mean, variance)`` of x over ``axes`` (all when None; negative allowed), the
        population variance (divided by the count, as batch norm uses). Accumulated in
        float64 whatever x's dtype (two passes: the mean, then the squared deviations
        from it), so a large offset costs no accuracy; results have x's dtype and do not
        depend on the thread count. Both are NaN for an empty reduction."""
        raise NotImplementedError

    def moments_backward(self, x, mean, g_mean, g_var, axes: Sequence[int] | None = None):
        """Gradient wrt x of ``moments(x, axes)`` given its ``mean`` and the gradients of
        its two outputs (mean, g_mean and g_var of moments' output shape, with or without
        keepdims): ``g_mean/n + 2*g_var*(x - mean)/n``, n the count reduced per output."""
        raise NotImplementedError

    # ---- norm family: batch normalization, image warps, gaussian noise --------------
    def batch_norm_forward(self, x, gamma=None, beta=None, mean=None, var=None, epsilon: float = 1e-3,
                           training: bool = True) -> tuple[Any, Any, Any]:
        """``(y, mean, var)`` with ``y = (x - mean) / sqrt(var + epsilon) * gamma + beta`` per
        channel (x's last axis; gamma, beta, mean, var of shape (channels,); gamma / beta
        None mean 1 / 0). With ``training`` mean and var are the batch mean and biased
        variance over every other axis (accumulated in float64, NaN for an empty batch)
        and the given mean / var are ignored; otherwise the given mean / var (the moving
        statistics) are used and returned."""
        raise NotImplementedError
    # ---- convolution family -----------------------------------------------------------
    # Images are channels-last x (n, h, w, c); kernels w (kh, kw, c / groups, oc) (Keras'
    # layout); ``padding`` is explicit (top, bottom, left, right) zeros; ``strides`` and
    # ``dilation`` are (height, width) pairs. Output size per axis:
    # (in + pad_before + pad_after - (k - 1) * dilation - 1) // stride + 1. Channel group g
    # reads input channels g*c/groups.. and writes output channels g*oc/groups.. .
    def conv2d_forward(self, x, w, b=None, strides=(1, 1), padding=(0, 0, 0, 0), dilation=(1, 1), groups=1,
                       activation: str = "linear", alpha: float = 0.0):
        """``activation(conv(x, w) + b)`` -> y (n, oh, ow, oc): one kernel for a conv layer's
        forward (``activation`` as in ``activation_forward``, except softmax/log_softmax,
        which are not fused). A kernel larger than the padded input, channels not divisible
        by ``groups`` or w's input channels times groups differing from x's are ValueErrors."""
        raise NotImplementedError

    def conv2d_backward_input(self, gy, w, x_shape, strides=(1, 1), padding=(0, 0, 0, 0), dilation=(1, 1), groups=1):
        """Gradient wrt x (of shape ``x_shape``) of ``conv2d_forward`` without activation,
        given gy (n, oh, ow, oc). Also the forward of a transposed convolution."""
        raise NotImplementedError

    def conv2d_backward_weight(self, x, gy, kernel_size, strides=(1, 1), padding=(0, 0, 0, 0), dilation=(1, 1), groups=1,
                               need_gb: bool = True) -> tuple[Any, Any]:
        """``(gw, gb)``: gradients wrt the kernel (kh, kw, c / groups, oc) and the bias (oc,)
        (None unless ``need_gb``) of ``conv2d_forward`` without activation."""
        raise NotImplementedError

    def im2col(self, x, kernel_size, strides=(1, 1), padding=(0, 0, 0, 0), dilation=(1, 1)):
        """The patches of x (n, h, w, c): col (n, oh, ow, kh*kw*c), each patch ordered
        (ky, kx, c), zeros where it reaches into the padding."""
        raise NotImplementedError

    def col2im(self, col, x_shape, kernel_size, strides=(1, 1), padding=(0, 0, 0, 0), dilation=(1, 1)):
        """The adjoint of ``im2col``: an array of ``x_shape`` where every patch of col is added
        back where it was taken from (overlaps add up, the padding is dropped)."""
        raise NotImplementedError


    def batch_norm_backward(self, gy, x, gamma, mean, var, epsilon: float = 1e-3,
                            training: bool = True) -> tuple[Any, Any, Any]:
        """``(gx, g_gamma, g_beta)`` of ``batch_norm_forward`` given gy, x, gamma (None: 1)
        and the mean / var the forward used. ``xhat = (x - mean) * inv``,
        ``inv = 1/sqrt(var + epsilon)``; ``g_beta = sum(gy)``, ``g_gamma = sum(gy * xhat)``
        over all axes but the last (float64 sums); ``gx = gamma*inv/n * (n*gy - g_beta -
        xhat*g_gamma)`` with ``training`` (through the batch statistics, n the rows),
        ``gx = gy*gamma*inv`` otherwise."""
        raise NotImplementedError

    def batch_norm_update(self, moving_mean, moving_var, mean, var, momentum: float) -> None:
        """In place: ``moving = moving*momentum + batch*(1 - momentum)`` for (moving_mean,
        mean) and (moving_var, var), all (channels,); momentum in [0, 1]."""
        raise NotImplementedError

    def affine_transform(self, images, transforms, interpolation: str = "bilinear", fill_mode: str = "constant",
                         fill_value: float = 0.0):
        """Images (batch, height, width, channels) warped by one transform each ((batch, 8),
        ``[a0, a1, a2, b0, b1, b2, c0, c1]``): output (column x, row y) reads the input at
        column ``(a0 x + a1 y + a2)/k``, row ``(b0 x + b1 y + b2)/k``, ``k = c0 x + c1 y + 1``
        (coordinates in float64). ``interpolation`` in INTERPOLATIONS (nearest rounds half
        to even), ``fill_mode`` in FILL_MODES as Keras 3 defines them (reflect: d c b a |
        a b c d | d c b a; mirror: d c b | a b c d | c b a; wrap; nearest; constant: a
        tap outside reads ``fill_value``). A non-finite coordinate gives ``fill_value``."""
        raise NotImplementedError

    def affine_transform_backward(self, gy, transforms, interpolation: str = "bilinear", fill_mode: str = "constant"):
        """Gradient wrt the images of ``affine_transform`` (transforms held fixed): each
        output pixel's gradient goes to the input pixels it read, times their weights."""
        raise NotImplementedError

    def gaussian_noise_forward(self, x, stddev: float, seed: int):
        """``x + dtype(stddev * normal(seed, i))`` elementwise, ``normal(seed, i) =
        sqrt(-2 ln(1 - u(2i))) cos(2 pi u(2i+1))`` from the uniforms of ``dropout_forward``'s
        hash (float64), so every backend draws the same noise."""
    # ---- dynamic convolution (involution) ---------------------------------------------
    def dynamic_conv2d_forward(self, x, k, kernel_size, strides=(1, 1), padding=(0, 0, 0, 0), dilation=(1, 1)):
        """Involution (Li et al., CVPR 2021) of x ``(N, H, W, C)`` with per-position kernels
        k ``(N, OH, OW, kh*kw, G)``, G dividing C (channels ``c`` of group ``g(c) = c // (C//G)``
        share one kernel): ``y[n,i,j,c] = sum_{u,v} k[n,i,j,u*kw+v,g(c)] *
        x[n, i*sh + u*dh - top, j*sw + v*dw - left, c]``, zero outside the image; y is
        ``(N, OH, OW, C)`` with ``OH = (H + top + bottom - (kh-1)*dh - 1) // sh + 1`` (OW
        likewise). ``kernel_size``, ``strides``, ``dilation`` are (h, w) pairs, ``padding``
        is (top, bottom, left, right). One dtype for x and k."""
        raise NotImplementedError

    def dynamic_conv2d_backward(self, gy, x, k, kernel_size, strides=(1, 1), padding=(0, 0, 0, 0), dilation=(1, 1)):
        """``(gx, gk)``: the gradients of ``dynamic_conv2d_forward`` wrt x and k given gy
        ``(N, OH, OW, C)``: ``gk[n,i,j,t,g] = sum_{c in g} gy[n,i,j,c] * x[at tap t]`` and
        ``gx`` the sum over every (output position, tap) reading a pixel of ``k * gy``.
        Deterministic (the same bits for any thread count)."""
        raise NotImplementedError

    # ---- pooling (max / average, 2-D and 1-D) ----------------------------------------
    # Images are channels-last (batch, height, width, channels); 1-D pooling is height 1.
    # ``pool_size`` and ``strides`` are (h, w) pairs of positive ints and ``padding`` is
    # (top, bottom, left, right), each side smaller than the pool on its axis (so every
    # window holds a real element); ``functions.pool.pool_padding`` turns Keras' "valid" /
    # "same" into it. Output size per axis: ``(n + before + after - pool) // stride + 1``;
    # the padded input must be at least the pool, height and width at least 1.
    def max_pool2d_forward(self, x, pool_size, strides, padding):
        """The maximum of every window of x; padded positions never win (a NaN does: it
        propagates)."""
        raise NotImplementedError

    def max_pool2d_backward(self, x, gy, pool_size, strides, padding):
        """Gradient wrt x of ``max_pool2d_forward`` given gy (of its output shape): each
        output's gradient goes to the first maximum of its window in row-major order (the
        first NaN if any), as TensorFlow and PyTorch do; overlapping windows add up."""
        raise NotImplementedError

    def avg_pool2d_forward(self, x, pool_size, strides, padding):
        """The mean of every window of x over its real elements only (padded positions are
        not counted: TensorFlow's and Keras' "same" average)."""
        raise NotImplementedError

    def avg_pool2d_backward(self, gy, input_shape, pool_size, strides, padding):
        """Gradient wrt x (of 4-D ``input_shape``) of ``avg_pool2d_forward`` given gy: each
        output's gradient shared equally by the real elements of its window."""
        raise NotImplementedError

    # ---- recurrent family (SimpleRNN / GRU / LSTM over a whole sequence) ----------------------------
    def rnn_forward(self, kind, x, kernel, recurrent, bias, states, mask=None, reverse=False, activation="tanh",
                    zero_masked=False, save=True):
        """One recurrent layer over a whole sequence, in Keras 3's weight layouts; returns
        ``(packed, saved)``.

        ``kind`` "simple_rnn" (kernel (d, u), recurrent (u, u), bias (u,), ``h' = act(x W + b + h U)``
        with ``activation`` "tanh" or "relu"), "gru" (``reset_after=True``: kernel (d, 3u),
        recurrent (u, 3u), bias (2, 3u) = input row, recurrent row; columns z, r, h;
        ``z = σ(x Wz + bz + h Uz + rz)``, ``r`` likewise, ``hh = tanh(x Wh + bh + r ⊙ (h Uh + rh))``,
        ``h' = z ⊙ h + (1 - z) ⊙ hh``) or "lstm" (kernel (d, 4u), recurrent (u, 4u), bias (4u,);
        columns i, f, c, o; ``c' = σ(f) ⊙ c + σ(i) ⊙ tanh(g)``, ``h' = σ(o) ⊙ tanh(c')``).
        x (n, t, d); bias None or as above; ``states`` the tuple ``(h0,)`` or ``(h0, c0)``, each
        (n, u). ``mask`` None or a bool/uint8 (n, t) array (true = real step): at a masked step
        the states are carried and the output is zero with ``zero_masked``, else the previous
        step's output (zero before the first real step), as Keras 3. ``reverse`` (go_backwards)
        runs the steps t-1 .. 0 and stores the outputs in processing order.

        ``packed`` (n, t + k, u): ``[:, :t]`` the outputs, ``[:, t]`` the final h, ``[:, t + 1]`` the
        final c (LSTM; k = 1 or 2). ``saved`` (flat, x's dtype; None unless ``save``): h before
        each step (n, t, u), c before each step (n, t, u; LSTM), then the gate values per step
        (n, t, s*u): the new h (SimpleRNN, s=1), z, r, hh, h Uh + rh (GRU, s=4) or i, f, g, o, tanh(c')
        (LSTM, s=5), rows indexed by the input's time index. Every backend saves the same."""
        raise NotImplementedError


    def rnn_backward(self, kind, g, saved, x, kernel, recurrent, mask=None, reverse=False, activation="tanh",
                     zero_masked=False, has_bias=True):
        """Backward through time of ``rnn_forward``: g is the gradient of the packed output,
        ``saved`` the forward's, the other arguments those of the forward. Returns ``(gx,
        gkernel, grecurrent, gbias, gstates)``: gbias None unless ``has_bias`` (shape of the bias),
        ``gstates`` the tuple of the initial states' gradients. Gradients through a masked
        step: the states' pass through unchanged, a carried output's goes to the previous one."""
        raise NotImplementedError


#: Ops of ``compare``.
COMPARE_OPS = ("equal", "not_equal", "less", "less_equal", "greater", "greater_equal")
#: Dtypes ``cast`` converts between.
CAST_DTYPES = ("float32", "float64", "int32", "int64", "uint8", "bool")
#: The ValueError message of an out-of-range index in ``take`` / ``scatter_add`` (the
#: first bad index in C order, as given; the non-negative axis; the axis' size).
INDEX_ERROR = "{kernel}: index {index} is out of bounds for axis {axis} with size {size}"
#: Interpolations and fill modes of ``affine_transform`` (norm family).
INTERPOLATIONS = ("nearest", "bilinear")
FILL_MODES = ("constant", "nearest", "wrap", "mirror", "reflect")

