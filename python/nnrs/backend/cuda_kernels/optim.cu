// One fused, in-place update kernel per optimizer, with the update order and epsilon
// placement of the Rust optim.rs and the numpy oracle (Keras' formulas). The scalars are
// rounded to T on the host (cuda_launch.sgd_scalars / adam_scalars / rmsprop_scalars /
// adagrad_scalars), as the Rust kernels' T::of_f64. `wdc` = lr * weight_decay (0: none);
// the decay comes first: param -= wdc * param. AdamW is adam_update with weight_decay.
// Launch: cuda_launch.launch_config("<optimizer>_update", n) — 1-D, grid-stride loop.
#include "nnrs_common.cuh"

// SGD: without momentum param -= lr*g; with it v = v*m - lr*g, param += v
// (nesterov: param += m*v - lr*g). `velocity` is unused (may be null) when use_momentum is 0.
template <typename T>
__device__ void sgd_update(T* __restrict__ param, const T* __restrict__ grad, T* __restrict__ velocity, nn_index n, T lr, T momentum,
                           int use_momentum, int nesterov, T wdc) {
    for (nn_index i = nn_first(); i < n; i += nn_stride()) {
        T y = param[i];
        T g = grad[i];
        if (wdc != (T)0) y = y - wdc * y;
        if (use_momentum) {
            T nv = velocity[i] * momentum - lr * g;
            velocity[i] = nv;
            param[i] = nesterov ? y + (momentum * nv - lr * g) : y + nv;
        } else {
            param[i] = y - lr * g;
        }
    }
}

// Adam: m += (g - m)*c1; v += (g*g - v)*c2; param -= lr_t * m / (sqrt(v) + eps),
// c1 = 1 - beta1, c2 = 1 - beta2, lr_t = lr * sqrt(1 - beta2^step) / (1 - beta1^step).
template <typename T>
__device__ void adam_update(T* __restrict__ param, const T* __restrict__ grad, T* __restrict__ m, T* __restrict__ v, nn_index n, T c1,
                            T c2, T lr_t, T eps, T wdc) {
    for (nn_index i = nn_first(); i < n; i += nn_stride()) {
        T y = param[i];
        T g = grad[i];
        if (wdc != (T)0) y = y - wdc * y;
        T nm = m[i] + (g - m[i]) * c1;
        T nv = v[i] + (g * g - v[i]) * c2;
        m[i] = nm;
        v[i] = nv;
        param[i] = y - lr_t * nm / (nn_sqrt(nv) + eps);
    }
}

// RMSprop: ms = ms*rho + c*g*g (c = 1 - rho); inc = lr*g / sqrt(ms + eps);
// with momentum mom = mom*mm + inc, param -= mom; without, param -= inc (mom may be null).
template <typename T>
__device__ void rmsprop_update(T* __restrict__ param, const T* __restrict__ grad, T* __restrict__ ms, T* __restrict__ mom, nn_index n,
                               T rho, T c, T lr, T eps, T mm, int use_momentum, T wdc) {
    for (nn_index i = nn_first(); i < n; i += nn_stride()) {
        T y = param[i];
        T g = grad[i];
        if (wdc != (T)0) y = y - wdc * y;
        T s = ms[i] * rho + c * g * g;
        ms[i] = s;
        T inc = lr * g / nn_sqrt(s + eps);
        if (use_momentum) {
            T nm = mom[i] * mm + inc;
            mom[i] = nm;
            param[i] = y - nm;
        } else {
            param[i] = y - inc;
        }
    }
}

// Adagrad: acc += g*g; param -= lr*g / sqrt(acc + eps).
template <typename T>
__device__ void adagrad_update(T* __restrict__ param, const T* __restrict__ grad, T* __restrict__ acc, nn_index n, T lr, T eps, T wdc) {
    for (nn_index i = nn_first(); i < n; i += nn_stride()) {
        T y = param[i];
        T g = grad[i];
        if (wdc != (T)0) y = y - wdc * y;
        T na = acc[i] + g * g;
        acc[i] = na;
        param[i] = y - lr * g / nn_sqrt(na + eps);
    }
}

extern "C" __global__ void sgd_update_f32(float* param, const float* grad, float* velocity, nn_index n, float lr, float momentum,
                                          int use_momentum, int nesterov, float wdc) {
    sgd_update<float>(param, grad, velocity, n, lr, momentum, use_momentum, nesterov, wdc);
}
extern "C" __global__ void sgd_update_f64(double* param, const double* grad, double* velocity, nn_index n, double lr, double momentum,
                                          int use_momentum, int nesterov, double wdc) {
    sgd_update<double>(param, grad, velocity, n, lr, momentum, use_momentum, nesterov, wdc);
}
extern "C" __global__ void adam_update_f32(float* param, const float* grad, float* m, float* v, nn_index n, float c1, float c2,
                                           float lr_t, float eps, float wdc) {
    adam_update<float>(param, grad, m, v, n, c1, c2, lr_t, eps, wdc);
}
extern "C" __global__ void adam_update_f64(double* param, const double* grad, double* m, double* v, nn_index n, double c1, double c2,
                                           double lr_t, double eps, double wdc) {
    adam_update<double>(param, grad, m, v, n, c1, c2, lr_t, eps, wdc);
}
extern "C" __global__ void rmsprop_update_f32(float* param, const float* grad, float* ms, float* mom, nn_index n, float rho, float c,
                                              float lr, float eps, float mm, int use_momentum, float wdc) {
    rmsprop_update<float>(param, grad, ms, mom, n, rho, c, lr, eps, mm, use_momentum, wdc);
}
extern "C" __global__ void rmsprop_update_f64(double* param, const double* grad, double* ms, double* mom, nn_index n, double rho,
                                              double c, double lr, double eps, double mm, int use_momentum, double wdc) {
    rmsprop_update<double>(param, grad, ms, mom, n, rho, c, lr, eps, mm, use_momentum, wdc);
}
extern "C" __global__ void adagrad_update_f32(float* param, const float* grad, float* acc, nn_index n, float lr, float eps, float wdc) {
    adagrad_update<float>(param, grad, acc, n, lr, eps, wdc);
}
extern "C" __global__ void adagrad_update_f64(double* param, const double* grad, double* acc, nn_index n, double lr, double eps,
                                              double wdc) {
    adagrad_update<double>(param, grad, acc, n, lr, eps, wdc);
}
