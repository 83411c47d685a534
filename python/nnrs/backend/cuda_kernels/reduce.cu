// Reductions with the numpy oracle's meaning that CuPy's own reductions do not give:
//
// argmax_rows: out[r] = index (int64) of the first maximum of row r of `cols` elements; a NaN
//   counts as the maximum (the first NaN wins), as numpy's argmax. The backend moves the
//   reduced axis last and makes the array contiguous.
// sum_squares_chunks: part[c] = sum of x[i]^2 over chunk c (elements c*chunk .. (c+1)*chunk-1),
//   accumulated in double; the backend sums the partial sums of every array in float64.
// moments_rows: mean[r] and var[r] (population variance) of row r, both accumulated in double
//   in two passes (the mean, then the squared deviations from it), as numpy_backend.moments;
//   an empty row gives NaN for both. The backend moves the reduced axes last.
// moments_backward_rows: gx[r, j] = g_mean[r] / n + (g_var[r] + g_var[r]) / n * (x[r, j] - mean[r])
//   in T, n = cols, with the oracle's operation order (numpy_backend.moments_backward); one
//   element per thread (block 256), rows as in moments_rows.
// moving_average_update: in place, moving[i] = moving[i] * momentum + batch[i] * rest
//   (rest = 1 - momentum rounded to T by the host), batch norm's moving statistics; one
//   element per thread (block 256).
// Launch: one row (or chunk) per thread, block 128, grid-stride loop over rows; no shared
// memory. (A row is summed by one thread, so a reduction over few long rows is slow: correct,
// not tuned.)
#include "nnrs_common.cuh"

template <typename T> __device__ void argmax_rows(const T* __restrict__ x, long long* __restrict__ out, nn_index rows, nn_index cols) {
    for (nn_index r = nn_first(); r < rows; r += nn_stride()) {
        const T* row = x + r * cols;
        nn_index best = 0;
        if (cols > 0) {
            T m = row[0];
            if (m == m) {
                for (nn_index j = 1; j < cols; ++j) {
                    T v = row[j];
                    if (v != v) {  // NaN: numpy's argmax stops at the first one
                        best = j;
                        break;
                    }
                    if (v > m) {
                        m = v;
                        best = j;
                    }
                }
            }
        }
        out[r] = (long long)best;
    }
}

template <typename T>
__device__ void sum_squares_chunks(const T* __restrict__ x, double* __restrict__ part, nn_index n, nn_index chunk, nn_index chunks) {
    for (nn_index c = nn_first(); c < chunks; c += nn_stride()) {
        const nn_index lo = c * chunk;
        const nn_index hi = lo + chunk < n ? lo + chunk : n;
        double s = 0.0;
        for (nn_index i = lo; i < hi; ++i) {
            const double v = (double)x[i];
            s += v * v;
        }
        part[c] = s;
    }
}

template <typename T>
__device__ void moments_rows(const T* __restrict__ x, T* __restrict__ mean, T* __restrict__ var, nn_index rows, nn_index cols) {
    for (nn_index r = nn_first(); r < rows; r += nn_stride()) {
        const T* row = x + r * cols;
        double s = 0.0;
        for (nn_index j = 0; j < cols; ++j) s += (double)row[j];
        const double m = s / (double)cols;  // 0 / 0 = NaN for an empty row
        double q = 0.0;
        for (nn_index j = 0; j < cols; ++j) {
            const double d = (double)row[j] - m;
            q += d * d;
        }
        mean[r] = (T)m;
        var[r] = (T)(q / (double)cols);
    }
}

template <typename T>
__device__ void moments_backward_rows(const T* __restrict__ x, const T* __restrict__ mean, const T* __restrict__ g_mean,
                                      const T* __restrict__ g_var, T* __restrict__ gx, nn_index rows, nn_index cols) {
    const nn_index total = rows * cols;
    const T n = (T)cols;
    for (nn_index e = nn_first(); e < total; e += nn_stride()) {
        const nn_index r = e / cols;
        const T gv = g_var[r];
        gx[e] = g_mean[r] / n + (gv + gv) / n * (x[e] - mean[r]);
    }
}

extern "C" __global__ void moments_backward_rows_f32(const float* x, const float* mean, const float* g_mean, const float* g_var, float* gx,
                                                     nn_index rows, nn_index cols) {
    moments_backward_rows<float>(x, mean, g_mean, g_var, gx, rows, cols);
}
extern "C" __global__ void moments_backward_rows_f64(const double* x, const double* mean, const double* g_mean, const double* g_var,
                                                     double* gx, nn_index rows, nn_index cols) {
    moments_backward_rows<double>(x, mean, g_mean, g_var, gx, rows, cols);
}
template <typename T>
__device__ void moving_average_update(T* __restrict__ moving, const T* __restrict__ batch, nn_index n, T momentum, T rest) {
    for (nn_index i = nn_first(); i < n; i += nn_stride()) moving[i] = moving[i] * momentum + batch[i] * rest;
}

extern "C" __global__ void moving_average_update_f32(float* moving, const float* batch, nn_index n, float momentum, float rest) {
    moving_average_update<float>(moving, batch, n, momentum, rest);
}
extern "C" __global__ void moving_average_update_f64(double* moving, const double* batch, nn_index n, double momentum, double rest) {
    moving_average_update<double>(moving, batch, n, momentum, rest);
}
extern "C" __global__ void argmax_rows_f32(const float* x, long long* out, nn_index rows, nn_index cols) {
    argmax_rows<float>(x, out, rows, cols);
}
extern "C" __global__ void argmax_rows_f64(const double* x, long long* out, nn_index rows, nn_index cols) {
    argmax_rows<double>(x, out, rows, cols);
}
extern "C" __global__ void sum_squares_chunks_f32(const float* x, double* part, nn_index n, nn_index chunk, nn_index chunks) {
    sum_squares_chunks<float>(x, part, n, chunk, chunks);
}
extern "C" __global__ void sum_squares_chunks_f64(const double* x, double* part, nn_index n, nn_index chunk, nn_index chunks) {
    sum_squares_chunks<double>(x, part, n, chunk, chunks);
}
extern "C" __global__ void moments_rows_f32(const float* x, float* mean, float* var, nn_index rows, nn_index cols) {
    moments_rows<float>(x, mean, var, rows, cols);
}
extern "C" __global__ void moments_rows_f64(const double* x, double* mean, double* var, nn_index rows, nn_index cols) {
    moments_rows<double>(x, mean, var, rows, cols);
}
