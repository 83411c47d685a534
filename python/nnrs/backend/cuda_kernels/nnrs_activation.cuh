// The elementwise activations forward (act_forward) and backward (act_backward) by code, with
// the formulas of the numpy oracle (numpy_backend.activation_forward / activation_backward) and
// the Rust activation kernels; shared by activation.cu and the fused bias + activation of conv.cu.
// `act` is the index in cuda_launch.ELEMENTWISE_ACTIVATIONS (linear, sigmoid, tanh, relu,
// leaky_relu, elu, selu, gelu, swish, softplus); `alpha` is leaky_relu's slope and elu's alpha.
#pragma once

#include "nnrs_common.cuh"

#define NN_SELU_ALPHA 1.6732632423543772848170429916717
#define NN_SELU_SCALE 1.0507009873554804934193349852946
#define NN_SQRT1_2 0.70710678118654752440084436210485
#define NN_INV_SQRT_2PI 0.39894228040143267793994605993438

template <typename T> __device__ __forceinline__ T act_forward(int act, T x, T alpha) {
    const T zero = (T)0;
    switch (act) {
        case 1: return nn_sigmoid(x);
        case 2: return nn_tanh(x);
        case 3: return x > zero ? x : zero;
        case 4: return x > zero ? x : x * alpha;
        case 5: return x > zero ? x : alpha * nn_expm1(x < zero ? x : zero);
        case 6: return (T)NN_SELU_SCALE * (x > zero ? x : (T)NN_SELU_ALPHA * nn_expm1(x < zero ? x : zero));
        case 7: return (T)0.5 * x * ((T)1 + nn_erf(x * (T)NN_SQRT1_2));
        case 8: return x * nn_sigmoid(x);
        case 9: return (x > zero ? x : zero) + nn_log1p(nn_exp(-nn_abs(x)));
        default: return x;  // 0: linear
    }
}

template <typename T> __device__ __forceinline__ T act_backward(int act, T gy, T x, T y, T alpha) {
    const T zero = (T)0, one = (T)1;
    switch (act) {
        case 1: return gy * y * (one - y);
        case 2: return gy * (one - y * y);
        case 3: return x > zero ? gy : zero;
        case 4: return x > zero ? gy : gy * alpha;
        case 5: return x > zero ? gy : gy * (y + alpha);
        case 6: return x > zero ? gy * (T)NN_SELU_SCALE : gy * (y + (T)(NN_SELU_SCALE * NN_SELU_ALPHA));
        case 7: {
            T cdf = (T)0.5 * (one + nn_erf(x * (T)NN_SQRT1_2));
            T pdf = nn_exp((T)-0.5 * x * x) * (T)NN_INV_SQRT_2PI;
            return gy * (cdf + x * pdf);
        }
        case 8: {
            T s = nn_sigmoid(x);
            return gy * (s + x * s * (one - s));
        }
        case 9: return gy * nn_sigmoid(x);
        default: return gy;  // 0: linear
    }
}
