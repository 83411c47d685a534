"""The cpu backend: every kernel is a Rust function of ``nnrs._core`` (numpy arrays in
and out, GIL released). The class only names them; no compute happens in Python here."""

from __future__ import annotations

import numpy as np

from .. import _core
from .base import Backend


class CpuBackend(Backend):
    name = "cpu"
    xp = np

    def asarray(self, x, dtype=None):
        return np.asarray(x, dtype=dtype, order="C")  # ascontiguousarray would make 0-d arrays 1-d

    def to_numpy(self, a):
        return np.asarray(a)

    # Builtin functions do not bind as methods, so the _core kernels are the methods.
    # gemm
    matmul = _core.matmul
    linear_forward = _core.linear_forward
    linear_backward = _core.linear_backward
    # elementwise
    unary = _core.unary
    argsort = _core.argsort
    binary = _core.binary
    binary_scalar = _core.binary_scalar
    clip = _core.clip
    # reductions
    reduce = _core.reduce
    argmax = _core.argmax
    sum_squares = _core.sum_squares
    # dropout
    dropout_forward = _core.dropout_forward
    # activation
    activation_forward = _core.activation_forward
    activation_backward = _core.activation_backward
    # loss
    loss_forward = _core.loss_forward
    loss_backward = _core.loss_backward
    # optimizer updates (in place)
    sgd_update = _core.sgd_update
    adam_update = _core.adam_update
    rmsprop_update = _core.rmsprop_update
    adagrad_update = _core.adagrad_update
    # index & logic
    compare = _core.compare
    where = _core.where
    cast = _core.cast
    take = _core.take
    scatter_add = _core.scatter_add
    one_hot = _core.one_hot
    # gradients of elementwise ops
    binary_backward = _core.binary_backward
    # softmax along any axis
    softmax_forward = _core.softmax_forward
    softmax_backward = _core.softmax_backward
    # mean and variance (batch norm statistics)
    moments = _core.moments
    moments_backward = _core.moments_backward
    # ---- norm family: batch normalization, image warps, gaussian noise ----
    batch_norm_forward = _core.batch_norm_forward
    batch_norm_backward = _core.batch_norm_backward
    batch_norm_update = _core.batch_norm_update
    affine_transform = _core.affine_transform
    affine_transform_backward = _core.affine_transform_backward
    gaussian_noise_forward = _core.gaussian_noise_forward
    # dynamic convolution (involution)
    dynamic_conv2d_forward = _core.dynamic_conv2d_forward
    dynamic_conv2d_backward = _core.dynamic_conv2d_backward
    # pooling (max / average, 2-D and 1-D)
    max_pool2d_forward = _core.max_pool2d_forward
    max_pool2d_backward = _core.max_pool2d_backward
    avg_pool2d_forward = _core.avg_pool2d_forward
    avg_pool2d_backward = _core.avg_pool2d_backward
    # ---- convolution family ----
    conv2d_forward = _core.conv2d_forward
    conv2d_backward_input = _core.conv2d_backward_input
    conv2d_backward_weight = _core.conv2d_backward_weight
    im2col = _core.im2col
    col2im = _core.col2im
    # ---- recurrent family (SimpleRNN / GRU / LSTM over a whole sequence) ----
    rnn_forward = _core.rnn_forward
    rnn_backward = _core.rnn_backward
