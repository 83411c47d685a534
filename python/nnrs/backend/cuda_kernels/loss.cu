// Fused softmax cross-entropy over rows of `classes` logits: per-row loss (forward) and the
// gradient with respect to the logits (backward), for sparse integer labels and for
// one-hot (or any probability) targets. Formulas of numpy_backend._per_sample and
// loss_backward("softmax_crossentropy"): the row maximum is subtracted before exp.
//
// Labels are checked by the contract before a kernel runs; a label outside [0, classes)
// still cannot read out of bounds here: its row's loss and gradient are NaN.
// Launch: cuda_launch.launch_config("softmax_xent_*", rows) — one row per thread,
// grid-stride loop over rows.
#include "nnrs_common.cuh"

// Row maximum and sum of exp(x - max) over one row.
template <typename T> __device__ __forceinline__ void row_stats(const T* r, nn_index classes, T* max_out, T* sum_out) {
    T m = r[0];
    for (nn_index j = 1; j < classes; ++j) m = r[j] > m ? r[j] : m;
    T s = (T)0;
    for (nn_index j = 0; j < classes; ++j) s += nn_exp(r[j] - m);
    *max_out = m;
    *sum_out = s;
}

// loss[i] = -log softmax(logits[i])[labels[i]].
template <typename T>
__device__ void softmax_xent_forward_sparse(const T* __restrict__ logits, const long long* __restrict__ labels, T* __restrict__ loss,
                                            nn_index rows, nn_index classes) {
    for (nn_index i = nn_first(); i < rows; i += nn_stride()) {
        const T* r = logits + i * classes;
        long long l = labels[i];
        if (classes <= 0 || l < 0 || l >= classes) {
            loss[i] = nn_nan<T>();
            continue;
        }
        T m, s;
        row_stats(r, classes, &m, &s);
        loss[i] = -((r[l] - m) - nn_log(s));
    }
}

// loss[i] = -sum_j target[i, j] * log softmax(logits[i])[j].
template <typename T>
__device__ void softmax_xent_forward_onehot(const T* __restrict__ logits, const T* __restrict__ target, T* __restrict__ loss,
                                            nn_index rows, nn_index classes) {
    for (nn_index i = nn_first(); i < rows; i += nn_stride()) {
        const T* r = logits + i * classes;
        const T* t = target + i * classes;
        if (classes <= 0) {
            loss[i] = (T)0;
            continue;
        }
        T m, s;
        row_stats(r, classes, &m, &s);
        T ls = nn_log(s), acc = (T)0;
        for (nn_index j = 0; j < classes; ++j) acc += t[j] * ((r[j] - m) - ls);
        loss[i] = -acc;
    }
}

// g[i, j] = (softmax(logits[i])[j] - [j == labels[i]]) * scale * weight[i]  (weight may be null: 1).
template <typename T>
__device__ void softmax_xent_backward_sparse(const T* __restrict__ logits, const long long* __restrict__ labels,
                                             const T* __restrict__ weight, T* __restrict__ g, nn_index rows, nn_index classes, T scale) {
    for (nn_index i = nn_first(); i < rows; i += nn_stride()) {
        const T* r = logits + i * classes;
        T* o = g + i * classes;
        long long l = labels[i];
        if (l < 0 || l >= classes) {
            for (nn_index j = 0; j < classes; ++j) o[j] = nn_nan<T>();
            continue;
        }
        T m, s;
        row_stats(r, classes, &m, &s);
        T c = weight ? scale * weight[i] : scale;
        for (nn_index j = 0; j < classes; ++j) {
            T p = nn_exp(r[j] - m) / s;
            o[j] = (j == l ? p - (T)1 : p) * c;
        }
    }
}

// g[i, j] = (softmax(logits[i])[j] * sum_k target[i, k] - target[i, j]) * scale * weight[i].
template <typename T>
__device__ void softmax_xent_backward_onehot(const T* __restrict__ logits, const T* __restrict__ target, const T* __restrict__ weight,
                                             T* __restrict__ g, nn_index rows, nn_index classes, T scale) {
    for (nn_index i = nn_first(); i < rows; i += nn_stride()) {
        const T* r = logits + i * classes;
        const T* t = target + i * classes;
        T* o = g + i * classes;
        if (classes <= 0) continue;
        T m, s, ts = (T)0;
        row_stats(r, classes, &m, &s);
        for (nn_index j = 0; j < classes; ++j) ts += t[j];
        T c = weight ? scale * weight[i] : scale;
        for (nn_index j = 0; j < classes; ++j) o[j] = ((nn_exp(r[j] - m) / s) * ts - t[j]) * c;
    }
}

extern "C" __global__ void softmax_xent_forward_sparse_f32(const float* logits, const long long* labels, float* loss, nn_index rows,
                                                           nn_index classes) {
    softmax_xent_forward_sparse<float>(logits, labels, loss, rows, classes);
}
extern "C" __global__ void softmax_xent_forward_sparse_f64(const double* logits, const long long* labels, double* loss, nn_index rows,
                                                           nn_index classes) {
    softmax_xent_forward_sparse<double>(logits, labels, loss, rows, classes);
}
extern "C" __global__ void softmax_xent_forward_onehot_f32(const float* logits, const float* target, float* loss, nn_index rows,
                                                           nn_index classes) {
    softmax_xent_forward_onehot<float>(logits, target, loss, rows, classes);
}
extern "C" __global__ void softmax_xent_forward_onehot_f64(const double* logits, const double* target, double* loss, nn_index rows,
                                                           nn_index classes) {
    softmax_xent_forward_onehot<double>(logits, target, loss, rows, classes);
}
extern "C" __global__ void softmax_xent_backward_sparse_f32(const float* logits, const long long* labels, const float* weight, float* g,
                                                            nn_index rows, nn_index classes, float scale) {
    softmax_xent_backward_sparse<float>(logits, labels, weight, g, rows, classes, scale);
}
extern "C" __global__ void softmax_xent_backward_sparse_f64(const double* logits, const long long* labels, const double* weight, double* g,
                                                            nn_index rows, nn_index classes, double scale) {
    softmax_xent_backward_sparse<double>(logits, labels, weight, g, rows, classes, scale);
}
extern "C" __global__ void softmax_xent_backward_onehot_f32(const float* logits, const float* target, const float* weight, float* g,
                                                            nn_index rows, nn_index classes, float scale) {
    softmax_xent_backward_onehot<float>(logits, target, weight, g, rows, classes, scale);
}
extern "C" __global__ void softmax_xent_backward_onehot_f64(const double* logits, const double* target, const double* weight, double* g,
                                                            nn_index rows, nn_index classes, double scale) {
    softmax_xent_backward_onehot<double>(logits, target, weight, g, rows, classes, scale);
}
