"""Launch configurations and host-side scalars of the CUDA kernels in ``cuda_kernels/*.cu``.

One place that says how each kernel is launched, used by the cuda backend and by the CPU
emulation tests (``tests/cuda``), so the tests run the kernels with the grids the GPU gets.

Every kernel is 1-D with a grid-stride loop over its *items* (elements, or rows for the
softmax cross-entropy kernels), so any grid is correct; the grid only sets how much of the
work runs at once:

==============================  =============  ======  ======================================
kernel (``<name>_f32/_f64``)     item           block   grid
==============================  =============  ======  ======================================
activation_forward / _backward   element        256     min(ceil(n / 256), 4096), at least 1
softmax_rows_forward / _backward row            128     min(ceil(rows / 128), 4096), at least 1
dropout_forward / _backward      element        256     min(ceil(n / 256), 4096), at least 1
sgd/adam/rmsprop/adagrad_update  element        256     min(ceil(n / 256), 4096), at least 1
softmax_xent_* (4 kernels)       row            128     min(ceil(rows / 128), 4096), at least 1
unary_forward, clip_forward,     element        256     min(ceil(n / 256), 4096), at least 1
binary_backward_elems            element        256     min(ceil(n / 256), 4096), at least 1
loss_elementwise_forward         row            128     min(ceil(rows / 128), 4096), at least 1
loss_elementwise_backward        element        256     min(ceil(n / 256), 4096), at least 1
compare/where_forward, cast_to_*  element        256     min(ceil(n / 256), 4096), at least 1
take_forward                     out element    256     min(ceil(n / 256), 4096), at least 1
scatter_add_forward              out column     256     min(ceil(cols / 256), 4096), at least 1
gaussian_noise_forward           element        256     min(ceil(n / 256), 4096), at least 1
argmax_rows / moments_rows       row            128     min(ceil(rows / 128), 4096), at least 1
sum_squares_chunks               4096-chunk     128     min(ceil(chunks / 128), 4096), at least 1
moments_backward_rows, one_hot,  element        256     min(ceil(n / 256), 4096), at least 1
moving_average_update            element        256     min(ceil(n / 256), 4096), at least 1
im2col_forward                   col element    256     min(ceil(n / 256), 4096), at least 1
col2im_forward                   x element      256     min(ceil(n / 256), 4096), at least 1
conv_bias_act_forward            y element      256     min(ceil(n / 256), 4096), at least 1
dynamic_conv2d_forward           y element      256     min(ceil(n / 256), 4096), at least 1
dynamic_conv2d_backward_kernel   gk element     256     min(ceil(n / 256), 4096), at least 1
dynamic_conv2d_backward_input    gx element     256     min(ceil(n / 256), 4096), at least 1
max/avg_pool2d_forward           out element    256     min(ceil(n / 256), 4096), at least 1
max/avg_pool2d_backward          in element     256     min(ceil(n / 256), 4096), at least 1
batch_norm_stats_partial,        (chunk, chan)  256     min(ceil(chunks * c / 256), 4096), at least 1
batch_norm_backward_partial      (chunk, chan)  256     min(ceil(chunks * c / 256), 4096), at least 1
batch_norm_combine / _coeffs     channel out    128     min(ceil(outs / 128), 4096), at least 1
batch_norm_apply / _backward_gx  element        256     min(ceil(n / 256), 4096), at least 1
argsort_rows                     row            128     min(ceil(rows / 128), 4096), at least 1
affine_transform_forward         out element    256     min(ceil(n / 256), 4096), at least 1
affine_transform_backward        gy element     256     min(ceil(n / 256), 4096), at least 1
<kind>_step_forward, _backward   element        256     min(ceil(n*u / 256), 4096), at least 1
==============================  =============  ======  ======================================

The recurrent kernels of rnn.cu (<kind> = lstm, gru, simple_rnn) run once per time step, one
(sample, unit) element per thread over the n * u elements of the batch's state.

4096 blocks of 256 threads are about eight times the resident threads of a 132-SM card, so
larger arrays are walked by the stride loop instead of by more blocks. No kernel uses shared
memory or ``__syncthreads``. The launch with no items still gets one block (a grid of 0 is
a CUDA error); its threads find nothing to do.

Scalar arguments must reach a kernel with its parameter's exact type (CuPy passes a Python
float as a double, which a ``float`` parameter of an ``_f32`` kernel would misread):
``scalar_args(name, args)`` converts them from the kernel's signature in its .cu file
(``float`` -> np.float32, ``double`` -> np.float64, ``int`` -> np.int32, ``nn_index`` ->
np.int64, ``nn_u64`` -> np.uint64); arrays pass unchanged and None (a null pointer) becomes
``NULL``, a 64-bit zero (CuPy would pass None as an invalid address).
"""

from __future__ import annotations

import functools
import math
import os
import re

import numpy as np

from .base import BINARY_OPS, COMPARE_OPS, UNARY_OPS

KERNEL_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "cuda_kernels")
KERNEL_FILES = ("activation.cu", "dropout.cu", "loss.cu", "optim.cu", "elementwise.cu", "index.cu", "reduce.cu", "conv.cu",
                "pool.cu", "norm.cu", "sort.cu", "warp.cu", "rnn.cu")

MAX_GRID = 4096
ELEMENT_BLOCK = 256
ROW_BLOCK = 128

# kernel (without dtype suffix) -> (the .cu file, block size, what one item is)
KERNELS = {
    "activation_forward": ("activation.cu", ELEMENT_BLOCK, "element"),
    "activation_backward": ("activation.cu", ELEMENT_BLOCK, "element"),
    "softmax_rows_forward": ("activation.cu", ROW_BLOCK, "row"),
    "softmax_rows_backward": ("activation.cu", ROW_BLOCK, "row"),
    "dropout_forward": ("dropout.cu", ELEMENT_BLOCK, "element"),
    "dropout_backward": ("dropout.cu", ELEMENT_BLOCK, "element"),
    "sgd_update": ("optim.cu", ELEMENT_BLOCK, "element"),
    "adam_update": ("optim.cu", ELEMENT_BLOCK, "element"),
    "rmsprop_update": ("optim.cu", ELEMENT_BLOCK, "element"),
    "adagrad_update": ("optim.cu", ELEMENT_BLOCK, "element"),
    "softmax_xent_forward_sparse": ("loss.cu", ROW_BLOCK, "row"),
    "softmax_xent_forward_onehot": ("loss.cu", ROW_BLOCK, "row"),
    "softmax_xent_backward_sparse": ("loss.cu", ROW_BLOCK, "row"),
    "softmax_xent_backward_onehot": ("loss.cu", ROW_BLOCK, "row"),
    "unary_forward": ("elementwise.cu", ELEMENT_BLOCK, "element"),
    "clip_forward": ("elementwise.cu", ELEMENT_BLOCK, "element"),
    "binary_backward_elems": ("elementwise.cu", ELEMENT_BLOCK, "element"),
    "loss_elementwise_forward": ("elementwise.cu", ROW_BLOCK, "row"),
    "loss_elementwise_backward": ("elementwise.cu", ELEMENT_BLOCK, "element"),
    "compare_forward": ("index.cu", ELEMENT_BLOCK, "element"),
    "where_forward": ("index.cu", ELEMENT_BLOCK, "element"),
    "cast_to_int32": ("index.cu", ELEMENT_BLOCK, "element"),
    "cast_to_int64": ("index.cu", ELEMENT_BLOCK, "element"),
    "cast_to_uint8": ("index.cu", ELEMENT_BLOCK, "element"),
    "take_forward": ("index.cu", ELEMENT_BLOCK, "element"),
    "scatter_add_forward": ("index.cu", ELEMENT_BLOCK, "column"),
    "gaussian_noise_forward": ("dropout.cu", ELEMENT_BLOCK, "element"),
    "argmax_rows": ("reduce.cu", ROW_BLOCK, "row"),
    "sum_squares_chunks": ("reduce.cu", ROW_BLOCK, "chunk"),
    "moments_rows": ("reduce.cu", ROW_BLOCK, "row"),
    "moments_backward_rows": ("reduce.cu", ELEMENT_BLOCK, "element"),
    "moving_average_update": ("reduce.cu", ELEMENT_BLOCK, "element"),
    "one_hot_forward": ("index.cu", ELEMENT_BLOCK, "element"),
    "im2col_forward": ("conv.cu", ELEMENT_BLOCK, "element"),
    "col2im_forward": ("conv.cu", ELEMENT_BLOCK, "element"),
    "conv_bias_act_forward": ("conv.cu", ELEMENT_BLOCK, "element"),
    "dynamic_conv2d_forward": ("conv.cu", ELEMENT_BLOCK, "element"),
    "dynamic_conv2d_backward_kernel": ("conv.cu", ELEMENT_BLOCK, "element"),
    "dynamic_conv2d_backward_input": ("conv.cu", ELEMENT_BLOCK, "element"),
    "max_pool2d_forward": ("pool.cu", ELEMENT_BLOCK, "element"),
    "max_pool2d_backward": ("pool.cu", ELEMENT_BLOCK, "element"),
    "avg_pool2d_forward": ("pool.cu", ELEMENT_BLOCK, "element"),
    "avg_pool2d_backward": ("pool.cu", ELEMENT_BLOCK, "element"),
    "batch_norm_stats_partial": ("norm.cu", ELEMENT_BLOCK, "chunk-channel"),
    "batch_norm_combine": ("norm.cu", ROW_BLOCK, "channel"),
    "batch_norm_coeffs": ("norm.cu", ROW_BLOCK, "channel"),
    "batch_norm_apply": ("norm.cu", ELEMENT_BLOCK, "element"),
    "batch_norm_backward_partial": ("norm.cu", ELEMENT_BLOCK, "chunk-channel"),
    "batch_norm_backward_gx": ("norm.cu", ELEMENT_BLOCK, "element"),
    "argsort_rows": ("sort.cu", ROW_BLOCK, "row"),
    "affine_transform_forward": ("warp.cu", ELEMENT_BLOCK, "element"),
    "affine_transform_backward": ("warp.cu", ELEMENT_BLOCK, "element"),
    "lstm_step_forward": ("rnn.cu", ELEMENT_BLOCK, "element"),
    "lstm_step_backward": ("rnn.cu", ELEMENT_BLOCK, "element"),
    "gru_step_forward": ("rnn.cu", ELEMENT_BLOCK, "element"),
    "gru_step_backward": ("rnn.cu", ELEMENT_BLOCK, "element"),
    "simple_rnn_step_forward": ("rnn.cu", ELEMENT_BLOCK, "element"),
    "simple_rnn_step_backward": ("rnn.cu", ELEMENT_BLOCK, "element"),
}

#: Elements per partial sum of sum_squares_chunks.
SUM_SQUARES_CHUNK = 4096

#: Rows per partial sum of norm.cu's batch-norm statistics and gradient sums (a fixed size, so
#: the order of the float64 additions does not depend on the grid).
BN_CHUNK_ROWS = 64

# The elementwise activations of activation.cu (softmax and log_softmax are the row kernels);
# the code passed as `act` is the index (the Rust enum's order).
ELEMENTWISE_ACTIVATIONS = ("linear", "sigmoid", "tanh", "relu", "leaky_relu", "elu", "selu", "gelu", "swish", "softplus")

# The ops of elementwise.cu's unary_forward and binary_backward_elems and of index.cu's
# compare_forward are the contract's (base.UNARY_OPS, BINARY_OPS, COMPARE_OPS, imported above); the code
# passed as `op` is the index, so the switches of those .cu files follow the contract's order.

# The losses of elementwise.cu's loss_elementwise_forward / _backward; the code passed as `loss` is the index.
ELEMENTWISE_LOSSES = ("mse", "mae", "huber", "binary_crossentropy_logits")


_SUFFIX = {np.dtype(np.float32): "f32", np.dtype(np.float64): "f64"}


def nvrtc_options(arch: str | None = None) -> list[str]:
    """NVRTC options for every .cu file: C++17 and no fused multiply-add contraction, so results
    round like the CPU backends' step by step. ``arch`` (e.g. ``compute_80``) adds
    ``--gpu-architecture``; the backend leaves it out, as CuPy adds the device's own."""
    return ["-std=c++17", "--fmad=false"] + ([f"--gpu-architecture={arch}"] if arch else [])


_INCLUDE = re.compile(r'^[ \t]*#[ \t]*include[ \t]+"([^"]+)"[ \t]*$', re.M)


def kernel_source(fname: str) -> str:
    """The source of ``cuda_kernels/<fname>`` with its local headers (``#include "x.cuh"``) pasted
    in, each once: what NVRTC compiles, with no include path, and what CuPy's kernel cache keys on,
    so a changed header gives a new cache entry."""
    seen: set[str] = set()

    def expand(name):
        if name in seen:
            return ""
        seen.add(name)
        with open(os.path.join(KERNEL_DIR, name)) as f:
            text = f.read()
        return _INCLUDE.sub(lambda m: expand(m.group(1)), text.replace("#pragma once\n", ""))

    return expand(fname)


def kernel_name(kernel: str, dtype) -> str:
    """``activation_forward`` + float32 -> ``activation_forward_f32``."""
    if kernel not in KERNELS:
        raise ValueError(f"unknown CUDA kernel {kernel!r}; known: {', '.join(KERNELS)}")
    dt = np.dtype(dtype)
    if dt not in _SUFFIX:
        raise ValueError(f"{kernel}: CUDA kernels take float32 or float64, got {dt}")
    return f"{kernel}_{_SUFFIX[dt]}"


def launch_config(kernel: str, items: int, max_grid: int = MAX_GRID) -> tuple[int, int]:
    """(grid, block) for ``kernel`` over ``items`` elements or rows (see the module table).
    ``max_grid`` lowers the grid cap (the tests use it to exercise the grid-stride loop)."""
    if kernel not in KERNELS:
        raise ValueError(f"unknown CUDA kernel {kernel!r}; known: {', '.join(KERNELS)}")
    if items < 0 or max_grid < 1:
        raise ValueError(f"{kernel}: items must be >= 0 and max_grid >= 1, got {items} and {max_grid}")
    block = KERNELS[kernel][1]
    return max(1, min(-(-items // block), max_grid)), block


def _code(where, kind, names, name):
    """The index of ``name`` in ``names``: the code a kernel's switch takes."""
    try:
        return names.index(name)
    except ValueError:
        raise ValueError(f"{where}: unknown {kind} {name!r}; accepted: {', '.join(names)}") from None


def activation_code(name: str) -> int:
    """The ``act`` argument of activation_forward/_backward for activation ``name``."""
    return _code("activation kernels", "activation", ELEMENTWISE_ACTIVATIONS, name)


def unary_code(op: str) -> int:
    """The ``op`` argument of unary_forward for unary op ``op``."""
    return _code("unary", "op", UNARY_OPS, op)


def binary_code(op: str) -> int:
    """The ``op`` argument of binary_backward_elems for binary op ``op``."""
    return _code("binary_backward", "op", BINARY_OPS, op)


def compare_code(op: str) -> int:
    """The ``op`` argument of compare_forward for comparison ``op``."""
    return _code("compare", "op", COMPARE_OPS, op)


def loss_code(name: str) -> int:
    """The ``loss`` argument of loss_elementwise_forward / _backward for loss ``name``."""
    return _code("elementwise loss kernels", "loss", ELEMENTWISE_LOSSES, name)


def loss_elementwise_scale(grad: float, rows: int, cols: int) -> float:
    """loss_elementwise_backward's ``scale``: the upstream gradient over (batch size * elements per sample)."""
    return float(grad) / (max(rows, 1) * cols)


def dropout_seed(seed: int) -> int:
    """The seed as the kernels' unsigned 64-bit counter base (as numpy's splitmix_uniform)."""
    return int(seed) & 0xFFFFFFFFFFFFFFFF


def dropout_threshold(rate: float) -> int:
    """``ceil(rate * 2**53)``: element i is kept when its 53 random bits are >= this, which is
    exactly ``uniform(seed, i) >= rate`` (both sides exact in float64)."""
    return int(math.ceil(rate * 9007199254740992.0))


def dropout_scale(rate: float) -> float:
    """The value of a kept mask element, ``1 / (1 - rate)`` (the kernel rounds it to T)."""
    return 1.0 / (1.0 - rate)


def softmax_xent_scale(grad: float, rows: int) -> float:
    """The backward kernels' ``scale``: the upstream gradient over the batch size."""
    return float(grad) / max(rows, 1)


def sgd_scalars(lr, momentum=0.0, nesterov=False, weight_decay=0.0):
    """(lr, momentum, use_momentum, nesterov, wdc) for sgd_update."""
    return (lr, momentum, int(momentum != 0.0), int(bool(nesterov)), lr * weight_decay)


def adam_scalars(lr, beta1, beta2, eps, step, weight_decay=0.0):
    """(c1, c2, lr_t, eps, wdc) for adam_update; ``step`` counts from 1."""
    if step < 1:
        raise ValueError(f"adam_update: step counts from 1, got {step}")
    lr_t = lr * math.sqrt(1.0 - beta2 ** step) / (1.0 - beta1 ** step)
    return (1.0 - beta1, 1.0 - beta2, lr_t, eps, lr * weight_decay)


def rmsprop_scalars(lr, rho, momentum, eps, weight_decay=0.0):
    """(rho, c, lr, eps, mm, use_momentum, wdc) for rmsprop_update."""
    return (rho, 1.0 - rho, lr, eps, momentum, int(momentum != 0.0), lr * weight_decay)


def adagrad_scalars(lr, eps, weight_decay=0.0):
    """(lr, eps, wdc) for adagrad_update."""
    return (lr, eps, lr * weight_decay)


_KERNEL_RE = re.compile(r'extern\s+"C"\s+__global__\s+void\s+(\w+)\s*\(([^)]*)\)')
SCALAR_TYPES = {"float": np.float32, "double": np.float64, "int": np.int32, "nn_index": np.int64, "long long": np.int64,
                "nn_u64": np.uint64}


def parse_kernels(src: str) -> list[tuple[str, list[tuple[str, str]]]]:
    """[(kernel name, [(C type, parameter name), ...])] of the extern "C" kernels in ``src``."""
    out = []
    for name, params in _KERNEL_RE.findall(src):
        args = []
        for p in params.split(","):
            m = re.match(r"(.*?)(\w+)$", " ".join(p.split()))
            args.append((m.group(1).strip(), m.group(2)))
        out.append((name, args))
    return out


@functools.cache
def signatures() -> dict:
    """{``<kernel>_f32``: [(C type, parameter name), ...]} of every kernel in KERNEL_FILES."""
    sigs = {}
    for fname in KERNEL_FILES:
        with open(os.path.join(KERNEL_DIR, fname)) as f:
            sigs.update(parse_kernels(f.read()))
    return sigs


#: A null pointer argument. CuPy turns ``None`` into an invalid non-zero address, not NULL
#: (cupy/cupy issue 9046), so an absent array goes to a kernel as a 64-bit zero.
NULL = np.uint64(0)


def scalar_args(name: str, args) -> tuple:
    """``args`` for kernel ``name`` (with suffix) with every scalar cast to its parameter's type
    and ``None`` for an array parameter made ``NULL``."""
    sig = signatures().get(name)
    if sig is None:
        raise ValueError(f"unknown CUDA kernel {name!r}")
    if len(args) != len(sig):
        raise TypeError(f"{name} takes {len(sig)} arguments ({', '.join(a for _, a in sig)}), got {len(args)}")
    return tuple((NULL if a is None else a) if t.endswith("*") else SCALAR_TYPES[t](a) for (t, _), a in zip(sig, args))
