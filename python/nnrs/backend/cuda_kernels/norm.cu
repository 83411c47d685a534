// Batch normalization over the last (channel) axis, with the meaning and the float64 arithmetic
// of the numpy oracle (numpy_backend.batch_norm_forward / _backward). x and gy are viewed as
// (rows, c), channels-last and C-contiguous.
//
// batch_norm_stats: per channel, mean = sum(x) / rows, then var = sum((x - mean)^2) / rows,
//   both in double, rows added in order (as numpy's reduction over axis 0); rows = 0 gives NaN.
//   One channel per thread: the threads of a warp read neighbouring channels of one row, so
//   every read is coalesced on channels-last data.
// batch_norm_coeffs: per channel, from the (double) statistics: inv = 1 / sqrt(var + eps),
//   a = (T)(gamma * inv), shift = (T)(beta - mean * gamma * inv) (gamma / beta null: 1 / 0),
//   and the statistics rounded to T for the caller. One channel per thread.
// batch_norm_apply: y = x * a[ch] + shift[ch] in T (as the oracle). One element per thread.
// batch_norm_backward_sums: per channel, g_beta = sum(gy), g_gamma = sum(gy * xhat) in double
//   (xhat = (x - mean) * inv), rows in order, kept in double for batch_norm_backward_gx and
//   rounded to T for the caller. One channel per thread.
// batch_norm_backward_gx: gx = gamma * inv / rows * (rows * gy - g_beta - xhat * g_gamma) in
//   double when `training` (and rows > 0), else gy * gamma * inv; rounded to T. One element per
//   thread.
// Launch: block 128 over channels (stats, coeffs, sums) or 256 over elements (apply, gx), 1-D
//   grid-stride loops, no shared memory. (A channel is summed by one thread: a batch of many
//   rows and few channels runs on few threads: correct, not tuned.)
#include "nnrs_common.cuh"

template <typename T>
__device__ void batch_norm_stats(const T* __restrict__ x, double* __restrict__ mean, double* __restrict__ var, nn_index rows, nn_index c) {
    for (nn_index ch = nn_first(); ch < c; ch += nn_stride()) {
        double s = 0.0;
        for (nn_index r = 0; r < rows; ++r) s += (double)x[r * c + ch];
        const double m = s / (double)rows;  // 0 / 0 = NaN for an empty batch
        double q = 0.0;
        for (nn_index r = 0; r < rows; ++r) {
            const double d = (double)x[r * c + ch] - m;
            q += d * d;
        }
        mean[ch] = m;
        var[ch] = q / (double)rows;
    }
}

template <typename T>
__device__ void batch_norm_coeffs(const double* __restrict__ mean, const double* __restrict__ var, const T* __restrict__ gamma,
                                  const T* __restrict__ beta, T* __restrict__ a, T* __restrict__ shift, T* __restrict__ mean_out,
                                  T* __restrict__ var_out, nn_index c, double eps) {
    for (nn_index ch = nn_first(); ch < c; ch += nn_stride()) {
        const double m = mean[ch], v = var[ch];
        const double g = gamma ? (double)gamma[ch] : 1.0;
        const double b = beta ? (double)beta[ch] : 0.0;
        const double inv = 1.0 / sqrt(v + eps);
        a[ch] = (T)(g * inv);
        shift[ch] = (T)(b - m * g * inv);
        mean_out[ch] = (T)m;
        var_out[ch] = (T)v;
    }
}

template <typename T>
__device__ void batch_norm_apply(const T* __restrict__ x, const T* __restrict__ a, const T* __restrict__ shift, T* __restrict__ y,
                                 nn_index n, nn_index c) {
    for (nn_index e = nn_first(); e < n; e += nn_stride()) {
        const nn_index ch = e % c;
        y[e] = x[e] * a[ch] + shift[ch];
    }
}

template <typename T>
__device__ void batch_norm_backward_sums(const T* __restrict__ gy, const T* __restrict__ x, const T* __restrict__ mean,
                                         const T* __restrict__ var, double* __restrict__ sums, T* __restrict__ g_gamma,
                                         T* __restrict__ g_beta, nn_index rows, nn_index c, double eps) {
    for (nn_index ch = nn_first(); ch < c; ch += nn_stride()) {
        const double inv = 1.0 / sqrt((double)var[ch] + eps);
        const double m = (double)mean[ch];
        double sb = 0.0, sg = 0.0;
        for (nn_index r = 0; r < rows; ++r) {
            const double g = (double)gy[r * c + ch];
            sb += g;
            sg += g * (((double)x[r * c + ch] - m) * inv);
        }
        sums[ch] = sb;
        sums[c + ch] = sg;
        g_beta[ch] = (T)sb;
        g_gamma[ch] = (T)sg;
    }
}

template <typename T>
__device__ void batch_norm_backward_gx(const T* __restrict__ gy, const T* __restrict__ x, const T* __restrict__ gamma,
                                       const T* __restrict__ mean, const T* __restrict__ var, const double* __restrict__ sums,
                                       T* __restrict__ gx, nn_index rows, nn_index c, double eps, int training) {
    const nn_index n = rows * c;
    const double nr = (double)rows;
    for (nn_index e = nn_first(); e < n; e += nn_stride()) {
        const nn_index ch = e % c;
        const double inv = 1.0 / sqrt((double)var[ch] + eps);
        const double gam = gamma ? (double)gamma[ch] : 1.0;
        const double g = (double)gy[e];
        if (training) {
            const double xhat = ((double)x[e] - (double)mean[ch]) * inv;
            gx[e] = (T)(gam * inv / nr * (nr * g - sums[ch] - xhat * sums[c + ch]));
        } else {
            gx[e] = (T)(g * gam * inv);
        }
    }
}

extern "C" __global__ void batch_norm_stats_f32(const float* x, double* mean, double* var, nn_index rows, nn_index c) {
    batch_norm_stats<float>(x, mean, var, rows, c);
}
extern "C" __global__ void batch_norm_stats_f64(const double* x, double* mean, double* var, nn_index rows, nn_index c) {
    batch_norm_stats<double>(x, mean, var, rows, c);
}
extern "C" __global__ void batch_norm_coeffs_f32(const double* mean, const double* var, const float* gamma, const float* beta, float* a,
                                                 float* shift, float* mean_out, float* var_out, nn_index c, double eps) {
    batch_norm_coeffs<float>(mean, var, gamma, beta, a, shift, mean_out, var_out, c, eps);
}
extern "C" __global__ void batch_norm_coeffs_f64(const double* mean, const double* var, const double* gamma, const double* beta, double* a,
                                                 double* shift, double* mean_out, double* var_out, nn_index c, double eps) {
    batch_norm_coeffs<double>(mean, var, gamma, beta, a, shift, mean_out, var_out, c, eps);
}
extern "C" __global__ void batch_norm_apply_f32(const float* x, const float* a, const float* shift, float* y, nn_index n, nn_index c) {
    batch_norm_apply<float>(x, a, shift, y, n, c);
}
extern "C" __global__ void batch_norm_apply_f64(const double* x, const double* a, const double* shift, double* y, nn_index n, nn_index c) {
    batch_norm_apply<double>(x, a, shift, y, n, c);
}
extern "C" __global__ void batch_norm_backward_sums_f32(const float* gy, const float* x, const float* mean, const float* var, double* sums,
                                                        float* g_gamma, float* g_beta, nn_index rows, nn_index c, double eps) {
    batch_norm_backward_sums<float>(gy, x, mean, var, sums, g_gamma, g_beta, rows, c, eps);
}
extern "C" __global__ void batch_norm_backward_sums_f64(const double* gy, const double* x, const double* mean, const double* var,
                                                        double* sums, double* g_gamma, double* g_beta, nn_index rows, nn_index c,
                                                        double eps) {
    batch_norm_backward_sums<double>(gy, x, mean, var, sums, g_gamma, g_beta, rows, c, eps);
}
extern "C" __global__ void batch_norm_backward_gx_f32(const float* gy, const float* x, const float* gamma, const float* mean,
                                                      const float* var, const double* sums, float* gx, nn_index rows, nn_index c,
                                                      double eps, int training) {
    batch_norm_backward_gx<float>(gy, x, gamma, mean, var, sums, gx, rows, c, eps, training);
}
extern "C" __global__ void batch_norm_backward_gx_f64(const double* gy, const double* x, const double* gamma, const double* mean,
                                                      const double* var, const double* sums, double* gx, nn_index rows, nn_index c,
                                                      double eps, int training) {
    batch_norm_backward_gx<double>(gy, x, gamma, mean, var, sums, gx, rows, c, eps, training);
}
