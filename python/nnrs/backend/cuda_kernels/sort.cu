// Stable argsort along the last axis with numpy's order (numpy_backend.argsort: kind="stable"):
// ascending, ties in index order, every NaN after every number (NaNs among themselves in index
// order), -0.0 and 0.0 equal.
//
// argsort_rows: out[r, :] = the indices that sort row r of x (rows, cols), by a bottom-up merge
//   sort of the indices, runs of 1, 2, 4, ... merged between out and scratch (rows, cols) (the
//   merge takes from the left run unless the right element comes strictly before: stable); the
//   result ends in out. One row per thread: deterministic, O(cols log cols) per row; a few
//   very long rows run on few threads (correct, not tuned).
// Launch: block 128, 1-D grid-stride loop over rows; no shared memory.
#include "nnrs_common.cuh"

// a strictly before b in numpy's order (NaN last).
template <typename T> __device__ __forceinline__ bool sort_before(T a, T b) { return a < b || (a == a && b != b); }

template <typename T>
__device__ void argsort_rows(const T* __restrict__ x, long long* __restrict__ out, long long* __restrict__ scratch, nn_index rows,
                             nn_index cols) {
    for (nn_index r = nn_first(); r < rows; r += nn_stride()) {
        const T* v = x + r * cols;
        long long* src = out + r * cols;
        long long* dst = scratch + r * cols;
        for (nn_index j = 0; j < cols; ++j) src[j] = (long long)j;
        for (nn_index width = 1; width < cols; width *= 2) {
            for (nn_index lo = 0; lo < cols; lo += 2 * width) {
                const nn_index mid = lo + width < cols ? lo + width : cols;
                const nn_index hi = lo + 2 * width < cols ? lo + 2 * width : cols;
                nn_index i = lo, j = mid, k = lo;
                while (i < mid && j < hi) dst[k++] = sort_before(v[src[j]], v[src[i]]) ? src[j++] : src[i++];
                while (i < mid) dst[k++] = src[i++];
                while (j < hi) dst[k++] = src[j++];
            }
            long long* t = src;
            src = dst;
            dst = t;
        }
        if (src != out + r * cols)
            for (nn_index j = 0; j < cols; ++j) out[r * cols + j] = src[j];
    }
}

extern "C" __global__ void argsort_rows_f32(const float* x, long long* out, long long* scratch, nn_index rows, nn_index cols) {
    argsort_rows<float>(x, out, scratch, rows, cols);
}
extern "C" __global__ void argsort_rows_f64(const double* x, long long* out, long long* scratch, nn_index rows, nn_index cols) {
    argsort_rows<double>(x, out, scratch, rows, cols);
}
