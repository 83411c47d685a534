// Comparison, selection, saturating float -> integer casts, gather and scatter-add, with the
// meaning of the numpy oracle (numpy_backend.compare / where / cast / take / scatter_add).
//
// compare_forward: out[i] = op(a[i], b[i]), `op` the index in cuda_launch.COMPARE_OPS (equal,
//   not_equal, less, less_equal, greater, greater_equal); NaN is unequal to everything.
// where_forward: out[i] = cond[i] ? a[i] : b[i].
//   (The backend broadcasts the operands to the output shape before these two.)
// cast_to_int32 / cast_to_int64 / cast_to_uint8: truncate toward zero and saturate: at or past
//   2**bits-range the type's max, below its min the min, NaN 0 (Rust's `as`); no value reaches
//   an out-of-range C conversion.
// take_forward: x viewed as (outer, n, inner), idx (k indices, already checked to lie in
//   [-n, n) by the backend), out (outer, k, inner): out[o, j, i] = x[o, idx[j] mod n, i].
// scatter_add_forward: the adjoint of take: out (outer, n, inner) starts at zero and gets
//   upd[o, j, i] added at idx[j] for j = 0 .. k-1 in that order; one thread per output column
//   (o, i), so repeated indices accumulate in index order whatever the grid (no atomics).
// one_hot_forward: out[i, c] = (idx[i] == c) for c < classes (an index outside [0, classes) gives
//   a row of zeros, as the contract).
// Launch: elements of the output (one_hot_forward, take_forward, compare, where, casts: block 256) or output
// columns outer * inner (scatter_add_forward: block 256); 1-D grid-stride loops.
#include "nnrs_common.cuh"

template <typename T> __device__ __forceinline__ bool compare_op(int op, T a, T b) {
    switch (op) {
        case 0: return a == b;
        case 1: return a != b;
        case 2: return a < b;
        case 3: return a <= b;
        case 4: return a > b;
        case 5: return a >= b;
        default: return false;
    }
}

template <typename T>
__device__ void compare_forward(int op, const T* __restrict__ a, const T* __restrict__ b, bool* __restrict__ out, nn_index n) {
    for (nn_index i = nn_first(); i < n; i += nn_stride()) out[i] = compare_op(op, a[i], b[i]);
}

template <typename T>
__device__ void where_forward(const bool* __restrict__ cond, const T* __restrict__ a, const T* __restrict__ b, T* __restrict__ out,
                              nn_index n) {
    for (nn_index i = nn_first(); i < n; i += nn_stride()) out[i] = cond[i] ? a[i] : b[i];
}

__device__ __forceinline__ float nn_trunc_of(float x) { return truncf(x); }
__device__ __forceinline__ double nn_trunc_of(double x) { return trunc(x); }

// x truncated and saturated into [lo, hi]; `past` is hi + 1 (exact in float and double for
// every target type here: a power of two), so t >= past is the first value beyond hi.
template <typename T, typename I> __device__ __forceinline__ I saturate(T x, T lo, T past, I ilo, I ihi) {
    if (x != x) return (I)0;
    T t = nn_trunc_of(x);
    if (t >= past) return ihi;
    if (t < lo) return ilo;
    return (I)t;
}

template <typename T> __device__ void cast_to_int32(const T* __restrict__ x, int* __restrict__ out, nn_index n) {
    for (nn_index i = nn_first(); i < n; i += nn_stride())
        out[i] = saturate<T, int>(x[i], (T)-2147483648.0, (T)2147483648.0, (int)(-2147483647 - 1), 2147483647);
}

template <typename T> __device__ void cast_to_int64(const T* __restrict__ x, long long* __restrict__ out, nn_index n) {
    for (nn_index i = nn_first(); i < n; i += nn_stride())
        out[i] = saturate<T, long long>(x[i], (T)-9223372036854775808.0, (T)9223372036854775808.0, (long long)(-9223372036854775807LL - 1),
                                        9223372036854775807LL);
}

template <typename T> __device__ void cast_to_uint8(const T* __restrict__ x, unsigned char* __restrict__ out, nn_index n) {
    for (nn_index i = nn_first(); i < n; i += nn_stride()) out[i] = saturate<T, unsigned char>(x[i], (T)0, (T)256, 0, 255);
}

template <typename T>
__device__ void take_forward(const T* __restrict__ x, const long long* __restrict__ idx, T* __restrict__ out, nn_index outer, nn_index n,
                             nn_index inner, nn_index k) {
    const nn_index total = outer * k * inner;
    for (nn_index e = nn_first(); e < total; e += nn_stride()) {
        const nn_index i = e % inner;
        const nn_index j = (e / inner) % k;
        const nn_index o = e / (inner * k);
        nn_index s = idx[j];
        if (s < 0) s += n;
        out[e] = (s >= 0 && s < n) ? x[(o * n + s) * inner + i] : nn_nan<T>();  // (a bad index was rejected before)
    }
}

template <typename T>
__device__ void scatter_add_forward(const T* __restrict__ upd, const long long* __restrict__ idx, T* __restrict__ out, nn_index outer,
                                    nn_index n, nn_index inner, nn_index k) {
    const nn_index cols = outer * inner;
    for (nn_index c = nn_first(); c < cols; c += nn_stride()) {
        const nn_index i = c % inner;
        const nn_index o = c / inner;
        T* col = out + o * n * inner + i;
        for (nn_index s = 0; s < n; ++s) col[s * inner] = (T)0;
        for (nn_index j = 0; j < k; ++j) {
            nn_index s = idx[j];
            if (s < 0) s += n;
            if (s >= 0 && s < n) col[s * inner] += upd[(o * k + j) * inner + i];
        }
    }
}

template <typename T> __device__ void one_hot_forward(const long long* __restrict__ idx, T* __restrict__ out, nn_index n, nn_index classes) {
    for (nn_index e = nn_first(); e < n; e += nn_stride()) out[e] = idx[e / classes] == (long long)(e % classes) ? (T)1 : (T)0;
}

extern "C" __global__ void one_hot_forward_f32(const long long* idx, float* out, nn_index n, nn_index classes) {
    one_hot_forward<float>(idx, out, n, classes);
}
extern "C" __global__ void one_hot_forward_f64(const long long* idx, double* out, nn_index n, nn_index classes) {
    one_hot_forward<double>(idx, out, n, classes);
}
extern "C" __global__ void compare_forward_f32(int op, const float* a, const float* b, bool* out, nn_index n) {
    compare_forward<float>(op, a, b, out, n);
}
extern "C" __global__ void compare_forward_f64(int op, const double* a, const double* b, bool* out, nn_index n) {
    compare_forward<double>(op, a, b, out, n);
}
extern "C" __global__ void where_forward_f32(const bool* cond, const float* a, const float* b, float* out, nn_index n) {
    where_forward<float>(cond, a, b, out, n);
}
extern "C" __global__ void where_forward_f64(const bool* cond, const double* a, const double* b, double* out, nn_index n) {
    where_forward<double>(cond, a, b, out, n);
}
extern "C" __global__ void cast_to_int32_f32(const float* x, int* out, nn_index n) { cast_to_int32<float>(x, out, n); }
extern "C" __global__ void cast_to_int32_f64(const double* x, int* out, nn_index n) { cast_to_int32<double>(x, out, n); }
extern "C" __global__ void cast_to_int64_f32(const float* x, long long* out, nn_index n) { cast_to_int64<float>(x, out, n); }
extern "C" __global__ void cast_to_int64_f64(const double* x, long long* out, nn_index n) { cast_to_int64<double>(x, out, n); }
extern "C" __global__ void cast_to_uint8_f32(const float* x, unsigned char* out, nn_index n) { cast_to_uint8<float>(x, out, n); }
extern "C" __global__ void cast_to_uint8_f64(const double* x, unsigned char* out, nn_index n) { cast_to_uint8<double>(x, out, n); }
extern "C" __global__ void take_forward_f32(const float* x, const long long* idx, float* out, nn_index outer, nn_index n, nn_index inner,
                                            nn_index k) {
    take_forward<float>(x, idx, out, outer, n, inner, k);
}
extern "C" __global__ void take_forward_f64(const double* x, const long long* idx, double* out, nn_index outer, nn_index n,
                                            nn_index inner, nn_index k) {
    take_forward<double>(x, idx, out, outer, n, inner, k);
}
extern "C" __global__ void scatter_add_forward_f32(const float* upd, const long long* idx, float* out, nn_index outer, nn_index n,
                                                   nn_index inner, nn_index k) {
    scatter_add_forward<float>(upd, idx, out, outer, n, inner, k);
}
extern "C" __global__ void scatter_add_forward_f64(const double* upd, const long long* idx, double* out, nn_index outer, nn_index n,
                                                   nn_index inner, nn_index k) {
    scatter_add_forward<double>(upd, idx, out, outer, n, inner, k);
}
