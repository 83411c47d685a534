// Dropout with the counter-based generator of the Rust kernels (random.rs) and the numpy
// oracle (splitmix_uniform): element i is kept when
//     splitmix64(seed + (i + 1) * 0x9E3779B97F4A7C15) >> 11  >=  threshold,
// threshold = ceil(rate * 2^53) (cuda_launch.dropout_threshold), which is exactly
// `uniform(seed, i) >= rate`. So every backend draws the same mask for the same seed.
// gaussian_noise_forward draws from the same hash: y[i] = x[i] + (T)(stddev * z_i),
// z_i = sqrt(-2 ln(1 - u(2i))) cos(2 pi u(2i+1)) in double (numpy_backend.gaussian_noise_forward).
// Launch: cuda_launch.launch_config("dropout_*" / "gaussian_noise_forward", n) — 1-D, grid-stride loop.
#include "nnrs_common.cuh"

#define NN_GOLDEN 0x9E3779B97F4A7C15ULL

__device__ __forceinline__ nn_u64 nn_mix64(nn_u64 z) {
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

// mask[i] = scale if kept else 0; y[i] = x[i] * mask[i].
template <typename T>
__device__ void dropout_forward(const T* __restrict__ x, T* __restrict__ y, T* __restrict__ mask, nn_index n, nn_u64 seed,
                                nn_u64 threshold, T scale) {
    for (nn_index i = nn_first(); i < n; i += nn_stride()) {
        nn_u64 bits = nn_mix64(seed + ((nn_u64)i + 1ULL) * NN_GOLDEN) >> 11;
        T m = bits >= threshold ? scale : (T)0;
        mask[i] = m;
        y[i] = x[i] * m;
    }
}

// gx[i] = gy[i] * mask[i].
template <typename T> __device__ void dropout_backward(const T* __restrict__ gy, const T* __restrict__ mask, T* __restrict__ gx, nn_index n) {
    for (nn_index i = nn_first(); i < n; i += nn_stride()) gx[i] = gy[i] * mask[i];
}

extern "C" __global__ void dropout_forward_f32(const float* x, float* y, float* mask, nn_index n, nn_u64 seed, nn_u64 threshold,
                                               float scale) {
    dropout_forward<float>(x, y, mask, n, seed, threshold, scale);
}
extern "C" __global__ void dropout_forward_f64(const double* x, double* y, double* mask, nn_index n, nn_u64 seed, nn_u64 threshold,
                                               double scale) {
    dropout_forward<double>(x, y, mask, n, seed, threshold, scale);
}
extern "C" __global__ void dropout_backward_f32(const float* gy, const float* mask, float* gx, nn_index n) {
    dropout_backward<float>(gy, mask, gx, n);
}
extern "C" __global__ void dropout_backward_f64(const double* gy, const double* mask, double* gx, nn_index n) {
    dropout_backward<double>(gy, mask, gx, n);
}

#define NN_TWO_PI 6.283185307179586476925286766559

// y[i] = x[i] + (T)(stddev * normal(seed, i)), the Box-Muller pair of uniforms 2i and 2i+1.
template <typename T>
__device__ void gaussian_noise_forward(const T* __restrict__ x, T* __restrict__ y, nn_index n, nn_u64 seed, double stddev) {
    for (nn_index i = nn_first(); i < n; i += nn_stride()) {
        const nn_u64 k = 2ULL * (nn_u64)i;
        const double u0 = (double)(nn_mix64(seed + (k + 1ULL) * NN_GOLDEN) >> 11) * 1.1102230246251565404236316680908203125e-16;
        const double u1 = (double)(nn_mix64(seed + (k + 2ULL) * NN_GOLDEN) >> 11) * 1.1102230246251565404236316680908203125e-16;
        const double z = sqrt(-2.0 * log(1.0 - u0)) * cos(NN_TWO_PI * u1);
        y[i] = x[i] + (T)(stddev * z);
    }
}

extern "C" __global__ void gaussian_noise_forward_f32(const float* x, float* y, nn_index n, nn_u64 seed, double stddev) {
    gaussian_noise_forward<float>(x, y, n, seed, stddev);
}
extern "C" __global__ void gaussian_noise_forward_f64(const double* x, double* y, nn_index n, nn_u64 seed, double stddev) {
    gaussian_noise_forward<double>(x, y, n, seed, stddev);
}
