// Elementwise activations, forward and backward, with the formulas of the numpy oracle
// (numpy_backend.activation_forward / activation_backward) and the Rust activation kernels.
//
// `act` is the activation's code: its index in cuda_launch.ELEMENTWISE_ACTIVATIONS
// (linear, sigmoid, tanh, relu, leaky_relu, elu, selu, gelu, swish, softplus), the
// order of the Rust Activation enum. `alpha` is leaky_relu's slope and elu's alpha.
// gelu is the exact erf form (Keras' gelu(approximate=False)), as the contract.
// softmax / log_softmax work on rows of the last axis (softmax_rows_forward / _backward,
// `log` = 1 for log_softmax): the row maximum is subtracted before exp, as the oracle.
// Launch: cuda_launch.launch_config("activation_forward", n) — 1-D, one element per thread
// and grid-stride loop; softmax_rows_*: one row per thread, grid-stride loop over rows.
#include "nnrs_activation.cuh"

// y[i] = act(x[i]) for i < n.
template <typename T> __device__ void activation_forward(int act, const T* __restrict__ x, T* __restrict__ y, nn_index n, T alpha) {
    for (nn_index i = nn_first(); i < n; i += nn_stride()) y[i] = act_forward(act, x[i], alpha);
}

// gx[i] = gy[i] * act'(x[i]) (written with y = act(x) where that is cheaper) for i < n.
template <typename T>
__device__ void activation_backward(int act, const T* __restrict__ gy, const T* __restrict__ x, const T* __restrict__ y,
                                    T* __restrict__ gx, nn_index n, T alpha) {
    for (nn_index i = nn_first(); i < n; i += nn_stride()) gx[i] = act_backward(act, gy[i], x[i], y[i], alpha);
}

// y[r] = softmax(x[r]) (log: log_softmax) for each of `rows` rows of `cols` elements.
template <typename T>
__device__ void softmax_rows_forward(int log, const T* __restrict__ x, T* __restrict__ y, nn_index rows, nn_index cols) {
    for (nn_index i = nn_first(); i < rows; i += nn_stride()) {
        const T* r = x + i * cols;
        T* o = y + i * cols;
        if (cols <= 0) continue;
        T m = r[0];
        for (nn_index j = 1; j < cols; ++j) m = r[j] > m ? r[j] : m;
        T s = (T)0;
        if (log) {
            for (nn_index j = 0; j < cols; ++j) s += nn_exp(r[j] - m);
            T ls = nn_log(s);
            for (nn_index j = 0; j < cols; ++j) o[j] = (r[j] - m) - ls;
        } else {
            for (nn_index j = 0; j < cols; ++j) {
                T e = nn_exp(r[j] - m);
                o[j] = e;
                s += e;
            }
            for (nn_index j = 0; j < cols; ++j) o[j] = o[j] / s;
        }
    }
}

// softmax: gx = y * (gy - sum(gy * y)); log_softmax: gx = gy - exp(y) * sum(gy), per row.
template <typename T>
__device__ void softmax_rows_backward(int log, const T* __restrict__ gy, const T* __restrict__ y, T* __restrict__ gx, nn_index rows,
                                      nn_index cols) {
    for (nn_index i = nn_first(); i < rows; i += nn_stride()) {
        const T* g = gy + i * cols;
        const T* yr = y + i * cols;
        T* o = gx + i * cols;
        T s = (T)0;
        if (log) {
            for (nn_index j = 0; j < cols; ++j) s += g[j];
            for (nn_index j = 0; j < cols; ++j) o[j] = g[j] - nn_exp(yr[j]) * s;
        } else {
            for (nn_index j = 0; j < cols; ++j) s += g[j] * yr[j];
            for (nn_index j = 0; j < cols; ++j) o[j] = yr[j] * (g[j] - s);
        }
    }
}

extern "C" __global__ void activation_forward_f32(int act, const float* x, float* y, nn_index n, float alpha) {
    activation_forward<float>(act, x, y, n, alpha);
}
extern "C" __global__ void activation_forward_f64(int act, const double* x, double* y, nn_index n, double alpha) {
    activation_forward<double>(act, x, y, n, alpha);
}
extern "C" __global__ void activation_backward_f32(int act, const float* gy, const float* x, const float* y, float* gx, nn_index n,
                                                   float alpha) {
    activation_backward<float>(act, gy, x, y, gx, n, alpha);
}
extern "C" __global__ void activation_backward_f64(int act, const double* gy, const double* x, const double* y, double* gx,
                                                   nn_index n, double alpha) {
    activation_backward<double>(act, gy, x, y, gx, n, alpha);
}
extern "C" __global__ void softmax_rows_forward_f32(int log, const float* x, float* y, nn_index rows, nn_index cols) {
    softmax_rows_forward<float>(log, x, y, rows, cols);
}
extern "C" __global__ void softmax_rows_forward_f64(int log, const double* x, double* y, nn_index rows, nn_index cols) {
    softmax_rows_forward<double>(log, x, y, rows, cols);
}
extern "C" __global__ void softmax_rows_backward_f32(int log, const float* gy, const float* y, float* gx, nn_index rows, nn_index cols) {
    softmax_rows_backward<float>(log, gy, y, gx, rows, cols);
}
extern "C" __global__ void softmax_rows_backward_f64(int log, const double* gy, const double* y, double* gx, nn_index rows,
                                                     nn_index cols) {
    softmax_rows_backward<double>(log, gy, y, gx, rows, cols);
}
