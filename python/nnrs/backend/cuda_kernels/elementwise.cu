// Elementwise math of the contract's `unary` (numpy's meaning, as numpy_backend.unary) and the
// elementwise losses of loss_forward / loss_backward (mse, mae, huber, binary_crossentropy_logits;
// softmax_crossentropy is loss.cu), with the formulas of the numpy oracle.
//
// `op` is the unary op's code: its index in cuda_launch.UNARY_OPS (= base.UNARY_OPS).
// sign(0) = 0 and sign(NaN) = NaN; round takes halves to the even neighbour (rint).
// `loss` is the code of cuda_launch.ELEMENTWISE_LOSSES (mse, mae, huber, binary_crossentropy_logits).
// binary_backward_elems: per element of the broadcast shape, the gradients of binary op `op`
//   (its index in cuda_launch.BINARY_OPS: add, sub, mul, div, pow, maximum, minimum) wrt a and b
//   given g, with the oracle's formulas (numpy_backend.binary_backward); the backend broadcasts
//   a and b to g's shape before and sums the results back to the operands' shapes after.
// clip_forward: y = minimum(maximum(x, lo), hi) with numpy's NaN rule (a NaN operand gives NaN).
// Launch: unary_forward / clip_forward / loss_elementwise_backward over elements (block 256),
// loss_elementwise_forward over rows (block 128, one row of `cols` elements per thread);
// 1-D grid-stride loops, any grid is correct.
#include "nnrs_common.cuh"

// float / double versions of the library functions this file needs.
#define NN_MATH1(nm, ff, df)                                                  \
    __device__ __forceinline__ float nm(float x) { return ff(x); }            \
    __device__ __forceinline__ double nm(double x) { return df(x); }
NN_MATH1(nn_sin, sinf, sin)
NN_MATH1(nn_cos, cosf, cos)
NN_MATH1(nn_tan, tanf, tan)
NN_MATH1(nn_asin, asinf, asin)
NN_MATH1(nn_acos, acosf, acos)
NN_MATH1(nn_atan, atanf, atan)
NN_MATH1(nn_sinh, sinhf, sinh)
NN_MATH1(nn_cosh, coshf, cosh)
NN_MATH1(nn_asinh, asinhf, asinh)
NN_MATH1(nn_acosh, acoshf, acosh)
NN_MATH1(nn_atanh, atanhf, atanh)
NN_MATH1(nn_log2, log2f, log2)
NN_MATH1(nn_log10, log10f, log10)
NN_MATH1(nn_floor, floorf, floor)
NN_MATH1(nn_ceil, ceilf, ceil)
NN_MATH1(nn_rint, rintf, rint)
NN_MATH1(nn_trunc, truncf, trunc)

template <typename T> __device__ __forceinline__ T unary_op(int op, T x) {
    const T zero = (T)0, one = (T)1;
    switch (op) {
        case 0: return -x;
        case 1: return nn_exp(x);
        case 2: return nn_log(x);
        case 3: return nn_sqrt(x);
        case 4: return x * x;
        case 5: return nn_abs(x);
        case 6: return x > zero ? one : (x < zero ? -one : (x == zero ? zero : x));  // NaN stays NaN
        case 7: return one / x;
        case 8: return nn_sin(x);
        case 9: return nn_cos(x);
        case 10: return nn_tan(x);
        case 11: return nn_asin(x);
        case 12: return nn_acos(x);
        case 13: return nn_atan(x);
        case 14: return nn_sinh(x);
        case 15: return nn_cosh(x);
        case 16: return nn_asinh(x);
        case 17: return nn_acosh(x);
        case 18: return nn_atanh(x);
        case 19: return nn_log1p(x);
        case 20: return nn_expm1(x);
        case 21: return nn_log2(x);
        case 22: return nn_log10(x);
        case 23: return nn_floor(x);
        case 24: return nn_ceil(x);
        case 25: return nn_rint(x);
        case 26: return nn_trunc(x);
        default: return nn_nan<T>();  // an unknown code (the backend checks the name first)
    }
}

// y[i] = op(x[i]) for i < n.
template <typename T> __device__ void unary_forward(int op, const T* __restrict__ x, T* __restrict__ y, nn_index n) {
    for (nn_index i = nn_first(); i < n; i += nn_stride()) y[i] = unary_op(op, x[i]);
}

__device__ __forceinline__ float nn_pow(float x, float y) { return powf(x, y); }
__device__ __forceinline__ double nn_pow(double x, double y) { return pow(x, y); }

template <typename T>
__device__ void binary_backward_elems(int op, const T* __restrict__ a, const T* __restrict__ b, const T* __restrict__ g, T* __restrict__ ga,
                                      T* __restrict__ gb, nn_index n) {
    const T zero = (T)0, one = (T)1;
    for (nn_index i = nn_first(); i < n; i += nn_stride()) {
        const T x = a[i], y = b[i], gi = g[i];
        T u, v;
        switch (op) {
            case 0: u = gi; v = gi; break;
            case 1: u = gi; v = -gi; break;
            case 2: u = gi * y; v = gi * x; break;
            case 3: u = gi / y; v = -(u * (x / y)); break;
            case 4:
                u = y == zero ? zero : gi * y * nn_pow(x, y - one);
                v = x <= zero ? zero : gi * nn_pow(x, y) * nn_log(x);
                break;
            case 5:
            case 6: {
                const bool to_a = (op == 5 ? x >= y : x <= y) || x != x;
                u = to_a ? gi : zero;
                v = to_a ? zero : gi;
                break;
            }
            default: u = nn_nan<T>(); v = nn_nan<T>();
        }
        ga[i] = u;
        gb[i] = v;
    }
}

// numpy's maximum / minimum: NaN when either operand is NaN.
template <typename T> __device__ __forceinline__ T nan_max(T a, T b) { return (a != a || b != b) ? nn_nan<T>() : (a > b ? a : b); }
template <typename T> __device__ __forceinline__ T nan_min(T a, T b) { return (a != a || b != b) ? nn_nan<T>() : (a < b ? a : b); }

// y[i] = minimum(maximum(x[i], lo), hi) for i < n.
template <typename T> __device__ void clip_forward(const T* __restrict__ x, T* __restrict__ y, nn_index n, T lo, T hi) {
    for (nn_index i = nn_first(); i < n; i += nn_stride()) y[i] = nan_min(nan_max(x[i], lo), hi);
}

// The per-element loss of pred z and target t (numpy_backend._per_sample before the row mean).
template <typename T> __device__ __forceinline__ T loss_elem(int loss, T z, T t, T delta) {
    const T d = z - t;
    switch (loss) {
        case 0: return d * d;
        case 1: return nn_abs(d);
        case 2: {
            T a = nn_abs(d);
            return a <= delta ? (T)0.5 * d * d : delta * (a - (T)0.5 * delta);
        }
        case 3: return (z > (T)0 ? z : (T)0) - z * t + nn_log1p(nn_exp(-nn_abs(z)));
        default: return nn_nan<T>();
    }
}

// per[r] = mean over the `cols` elements of row r of loss_elem(pred, target), for r < rows.
template <typename T>
__device__ void loss_elementwise_forward(int loss, const T* __restrict__ pred, const T* __restrict__ target, T* __restrict__ per,
                                         nn_index rows, nn_index cols, T delta) {
    for (nn_index r = nn_first(); r < rows; r += nn_stride()) {
        const T* z = pred + r * cols;
        const T* t = target + r * cols;
        T s = (T)0;
        for (nn_index j = 0; j < cols; ++j) s += loss_elem(loss, z[j], t[j], delta);
        per[r] = cols > 0 ? s / (T)cols : nn_nan<T>();
    }
}

// g[i] = dloss/dpred(pred[i], target[i]) * scale * (weight[i / cols] when weight is not null), i < n.
template <typename T>
__device__ void loss_elementwise_backward(int loss, const T* __restrict__ pred, const T* __restrict__ target, const T* __restrict__ weight,
                                          T* __restrict__ g, nn_index n, nn_index cols, T scale, T delta) {
    for (nn_index i = nn_first(); i < n; i += nn_stride()) {
        const T z = pred[i], t = target[i], d = z - t;
        T v;
        switch (loss) {
            case 0: v = (T)2 * d; break;
            case 1: v = d > (T)0 ? (T)1 : (d < (T)0 ? (T)-1 : (d == (T)0 ? (T)0 : d)); break;
            case 2: v = d < -delta ? -delta : (d > delta ? delta : d); break;
            case 3: v = nn_sigmoid(z) - t; break;
            default: v = nn_nan<T>();
        }
        T s = scale;
        if (weight) s = s * weight[i / cols];
        g[i] = v * s;
    }
}

extern "C" __global__ void unary_forward_f32(int op, const float* x, float* y, nn_index n) { unary_forward<float>(op, x, y, n); }
extern "C" __global__ void unary_forward_f64(int op, const double* x, double* y, nn_index n) { unary_forward<double>(op, x, y, n); }
extern "C" __global__ void binary_backward_elems_f32(int op, const float* a, const float* b, const float* g, float* ga, float* gb,
                                                     nn_index n) {
    binary_backward_elems<float>(op, a, b, g, ga, gb, n);
}
extern "C" __global__ void binary_backward_elems_f64(int op, const double* a, const double* b, const double* g, double* ga, double* gb,
                                                     nn_index n) {
    binary_backward_elems<double>(op, a, b, g, ga, gb, n);
}
extern "C" __global__ void clip_forward_f32(const float* x, float* y, nn_index n, float lo, float hi) { clip_forward<float>(x, y, n, lo, hi); }
extern "C" __global__ void clip_forward_f64(const double* x, double* y, nn_index n, double lo, double hi) {
    clip_forward<double>(x, y, n, lo, hi);
}
extern "C" __global__ void loss_elementwise_forward_f32(int loss, const float* pred, const float* target, float* per, nn_index rows,
                                                        nn_index cols, float delta) {
    loss_elementwise_forward<float>(loss, pred, target, per, rows, cols, delta);
}
extern "C" __global__ void loss_elementwise_forward_f64(int loss, const double* pred, const double* target, double* per, nn_index rows,
                                                        nn_index cols, double delta) {
    loss_elementwise_forward<double>(loss, pred, target, per, rows, cols, delta);
}
extern "C" __global__ void loss_elementwise_backward_f32(int loss, const float* pred, const float* target, const float* weight, float* g,
                                                         nn_index n, nn_index cols, float scale, float delta) {
    loss_elementwise_backward<float>(loss, pred, target, weight, g, n, cols, scale, delta);
}
extern "C" __global__ void loss_elementwise_backward_f64(int loss, const double* pred, const double* target, const double* weight,
                                                         double* g, nn_index n, nn_index cols, double scale, double delta) {
    loss_elementwise_backward<double>(loss, pred, target, weight, g, n, cols, scale, delta);
}
