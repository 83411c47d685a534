// Shared helpers of the nnrs CUDA kernels (included by every .cu file of this folder).
//
// The kernels are templates on the element type T (float or double) with explicit
// extern "C" wrappers named <kernel>_f32 / <kernel>_f64, so cupy.RawModule finds them
// by a plain name. Every kernel walks its elements with a grid-stride loop, so any grid
// size is correct; python/nnrs/backend/cuda_launch.py chooses the grid and the block.
// No kernel uses shared memory or __syncthreads: the threads of a block are independent.
#pragma once

typedef long long nn_index;
typedef unsigned long long nn_u64;

// First element of this thread and the stride of the grid-stride loop.
__device__ __forceinline__ nn_index nn_first() { return (nn_index)blockIdx.x * (nn_index)blockDim.x + (nn_index)threadIdx.x; }
__device__ __forceinline__ nn_index nn_stride() { return (nn_index)gridDim.x * (nn_index)blockDim.x; }

// Element [b, y, x, ch] of a channels-last (n, h, w, c) array: its flat index e split into coordinates.
struct Pixel {
    nn_index b, y, x, ch;
};

__device__ __forceinline__ Pixel pixel_of(nn_index e, nn_index h, nn_index w, nn_index c) {
    Pixel p = {e / (c * w * h), (e / (c * w)) % h, (e / c) % w, e % c};
    return p;
}

// Math by element type (the single- and double-precision library functions).
__device__ __forceinline__ float nn_exp(float x) { return expf(x); }
__device__ __forceinline__ double nn_exp(double x) { return exp(x); }
__device__ __forceinline__ float nn_expm1(float x) { return expm1f(x); }
__device__ __forceinline__ double nn_expm1(double x) { return expm1(x); }
__device__ __forceinline__ float nn_log(float x) { return logf(x); }
__device__ __forceinline__ double nn_log(double x) { return log(x); }
__device__ __forceinline__ float nn_log1p(float x) { return log1pf(x); }
__device__ __forceinline__ double nn_log1p(double x) { return log1p(x); }
__device__ __forceinline__ float nn_tanh(float x) { return tanhf(x); }
__device__ __forceinline__ double nn_tanh(double x) { return tanh(x); }
__device__ __forceinline__ float nn_sqrt(float x) { return sqrtf(x); }
__device__ __forceinline__ double nn_sqrt(double x) { return sqrt(x); }
__device__ __forceinline__ float nn_erf(float x) { return erff(x); }
__device__ __forceinline__ double nn_erf(double x) { return erf(x); }
__device__ __forceinline__ float nn_abs(float x) { return fabsf(x); }
__device__ __forceinline__ double nn_abs(double x) { return fabs(x); }

// A quiet NaN of type T (for inputs the contract should have rejected, e.g. a bad label).
template <typename T> __device__ __forceinline__ T nn_nan();
template <> __device__ __forceinline__ float nn_nan<float>() { return nanf(""); }
template <> __device__ __forceinline__ double nn_nan<double>() { return nan(""); }

// Numerically stable logistic sigmoid: exp(-|x|) never overflows (as the Rust kernels).
template <typename T> __device__ __forceinline__ T nn_sigmoid(T x) {
    T e = nn_exp(-nn_abs(x));
    T r = (T)1 / ((T)1 + e);
    return x >= (T)0 ? r : e * r;
}
