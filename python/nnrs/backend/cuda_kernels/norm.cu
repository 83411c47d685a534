// Batch normalization over the last (channel) axis, with the meaning and the float64 arithmetic
// of the numpy oracle (numpy_backend.batch_norm_forward / _backward). x and gy are viewed as
// (rows, c), channels-last and C-contiguous.
//
// The per-channel sums run in two steps so that a batch of many rows and few channels still
// spreads over many threads, in a fixed order whatever the grid (deterministic):
// batch_norm_stats_partial: part[k, ch] = sum over rows k*chunk .. (k+1)*chunk - 1 (clipped to
//   rows) of x (mean null) or of (x - mean[ch])^2 (mean given, double), in double. One (chunk,
//   channel) pair per thread: neighbouring threads read neighbouring channels of one row, so
//   the reads are coalesced on channels-last data. chunk = cuda_launch.BN_CHUNK_ROWS.
// batch_norm_combine: out[g, ch] = (sum over k in order of part[g, k, ch]) / denom in double
//   (and rounded to T in out_t unless null), for `groups` stacked (chunks, c) partial arrays:
//   the mean (denom = rows, then the variance from the squared deviations: the oracle's two
//   passes; rows = 0 gives NaN) or the gradient sums (denom 1). One output per thread.
// batch_norm_coeffs: per channel, from the (double) statistics: inv = 1 / sqrt(var + eps),
//   a = (T)(gamma * inv), shift = (T)(beta - mean * gamma * inv) (gamma / beta null: 1 / 0),
//   and the statistics rounded to T for the caller. One channel per thread.
// batch_norm_apply: y = x * a[ch] + shift[ch] in T (as the oracle). One element per thread.
// batch_norm_backward_partial: per (chunk, channel) as batch_norm_stats_partial, part[0, k, ch]
//   = sum(gy) (g_beta) and part[1, k, ch] = sum(gy * xhat) (g_gamma), xhat = (x - mean) * inv,
//   inv = 1 / sqrt(var + eps), in double; batch_norm_combine (groups 2, denom 1) adds the chunks.
// batch_norm_backward_gx: gx = gamma * inv / rows * (rows * gy - g_beta - xhat * g_gamma) in
//   double when `training` (and rows > 0), else gy * gamma * inv, with g_beta, g_gamma the
//   combined float64 sums (sums[0:c], sums[c:2c]); rounded to T. One element per thread.
// Launch: block 256 over (chunk, channel) pairs (the partial sums) or elements (apply, gx),
//   block 128 over channel outputs (combine, coeffs); 1-D grid-stride loops, no shared memory.
#include "nnrs_common.cuh"

template <typename T>
__device__ void batch_norm_stats_partial(const T* __restrict__ x, const double* __restrict__ mean, double* __restrict__ part, nn_index rows,
                                         nn_index c, nn_index chunk) {
    const nn_index chunks = (rows + chunk - 1) / chunk;
    const nn_index items = chunks * c;
    for (nn_index it = nn_first(); it < items; it += nn_stride()) {
        const nn_index ch = it % c;
        const nn_index k = it / c;
        const nn_index hi = (k + 1) * chunk < rows ? (k + 1) * chunk : rows;
        double s = 0.0;
        if (mean) {
            const double m = mean[ch];
            for (nn_index r = k * chunk; r < hi; ++r) {
                const double d = (double)x[r * c + ch] - m;
                s += d * d;
            }
        } else {
            for (nn_index r = k * chunk; r < hi; ++r) s += (double)x[r * c + ch];
        }
        part[it] = s;
    }
}

template <typename T>
__device__ void batch_norm_combine(const double* __restrict__ part, double* __restrict__ out, T* __restrict__ out_t, nn_index c,
                                   nn_index chunks, nn_index groups, double denom) {
    const nn_index items = groups * c;
    for (nn_index it = nn_first(); it < items; it += nn_stride()) {
        const nn_index ch = it % c;
        const double* p = part + (it / c) * chunks * c + ch;
        double s = 0.0;
        for (nn_index k = 0; k < chunks; ++k) s += p[k * c];
        const double v = s / denom;  // (0 / 0 = NaN: the statistics of an empty batch)
        out[it] = v;
        if (out_t) out_t[it] = (T)v;
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
__device__ void batch_norm_backward_partial(const T* __restrict__ gy, const T* __restrict__ x, const T* __restrict__ mean,
                                            const T* __restrict__ var, double* __restrict__ part, nn_index rows, nn_index c, nn_index chunk,
                                            double eps) {
    const nn_index chunks = (rows + chunk - 1) / chunk;
    const nn_index items = chunks * c;
    for (nn_index it = nn_first(); it < items; it += nn_stride()) {
        const nn_index ch = it % c;
        const nn_index k = it / c;
        const nn_index hi = (k + 1) * chunk < rows ? (k + 1) * chunk : rows;
        const double inv = 1.0 / sqrt((double)var[ch] + eps);
        const double m = (double)mean[ch];
        double sb = 0.0, sg = 0.0;
        for (nn_index r = k * chunk; r < hi; ++r) {
            const double g = (double)gy[r * c + ch];
            sb += g;
            sg += g * (((double)x[r * c + ch] - m) * inv);
        }
        part[it] = sb;
        part[items + it] = sg;
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

extern "C" __global__ void batch_norm_stats_partial_f32(const float* x, const double* mean, double* part, nn_index rows, nn_index c,
                                                        nn_index chunk) {
    batch_norm_stats_partial<float>(x, mean, part, rows, c, chunk);
}
extern "C" __global__ void batch_norm_stats_partial_f64(const double* x, const double* mean, double* part, nn_index rows, nn_index c,
                                                        nn_index chunk) {
    batch_norm_stats_partial<double>(x, mean, part, rows, c, chunk);
}
extern "C" __global__ void batch_norm_combine_f32(const double* part, double* out, float* out_t, nn_index c, nn_index chunks,
                                                  nn_index groups, double denom) {
    batch_norm_combine<float>(part, out, out_t, c, chunks, groups, denom);
}
extern "C" __global__ void batch_norm_combine_f64(const double* part, double* out, double* out_t, nn_index c, nn_index chunks,
                                                  nn_index groups, double denom) {
    batch_norm_combine<double>(part, out, out_t, c, chunks, groups, denom);
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
extern "C" __global__ void batch_norm_backward_partial_f32(const float* gy, const float* x, const float* mean, const float* var,
                                                           double* part, nn_index rows, nn_index c, nn_index chunk, double eps) {
    batch_norm_backward_partial<float>(gy, x, mean, var, part, rows, c, chunk, eps);
}
extern "C" __global__ void batch_norm_backward_partial_f64(const double* gy, const double* x, const double* mean, const double* var,
                                                           double* part, nn_index rows, nn_index c, nn_index chunk, double eps) {
    batch_norm_backward_partial<double>(gy, x, mean, var, part, rows, c, chunk, eps);
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
