// The gate math of the recurrent layers (SimpleRNN, GRU with reset_after=True, LSTM), one
// time step per launch, with the formulas and the layouts of the numpy oracle
// (numpy_backend.rnn_forward / rnn_backward) and the Rust kernels (rnn.rs).
//
// The cuda backend computes the input projection of every step with one cuBLAS product
// xp = x (n*t, d) @ kernel (n*t, G) before the time loop (G = gates * u); each step is then
// one product hr = h (n, u) @ recurrent (n, G) and one launch of a kernel below, which adds
// the biases, applies the gates, the mask and writes:
//   *_step_forward:  the new h (and c) in place, the step's slot k of the packed output
//                    out (n, t + K, u) (K = 1, LSTM 2), and, when `hprev` is not null, the
//                    saved values of the step: h (and c) before it, at row tt of hprev /
//                    cprev (n, t, u), and the gate values at row tt of gates (n, t, S*u):
//                    the new h (SimpleRNN, S = 1), z, r, hh, h Uh + rh (GRU, S = 4) or
//                    i, f, g, o, tanh(c') (LSTM, S = 5).
//   *_step_backward: for one step, from the saved values, the pre-activation gradients of the
//                    gates at row tt of dgx (n, t, G) (input side) and of dgr (n, t, G, GRU:
//                    the recurrent side, whose h column is dhh * r), the recurrent side again
//                    in the contiguous dstep (n, G) for the product dstep @ recurrent^T, and
//                    the part of the gradient wrt the previous h that does not pass through
//                    that product (`rest`: GRU's dh' z, or the whole dh at a masked step);
//                    LSTM also carries dc in place.
// k is the processing step (0 .. t-1), tt the time index it reads (t-1-k with reverse). The
// mask (n, t) is unsigned char, nonzero = a real step, null = no mask; at a masked step the
// states are carried and the output is zero (zero_masked, or before the first step) or the
// previous step's output; the backward sends a carried output's gradient to the previous
// step through `carry` (n, u). The gradient wrt the states after step k is dh = dh_mm + rest,
// dh_mm the previous product (null at the first backward step, where `rest` holds g[:, t]).
// Launch: cuda_launch.launch_config("<kind>_step_forward" / "_backward", n * u) — 1-D, one
// (sample, unit) per thread, grid-stride loop; a thread reads and writes only the elements
// of its (sample, unit), so h, c, dc, carry and rest are updated in place.
#include "nnrs_common.cuh"

// Whether step tt of sample j is real.
__device__ __forceinline__ bool rnn_real(const unsigned char* mask, nn_index j, nn_index t, nn_index tt) {
    return mask == nullptr || mask[j * t + tt] != 0;
}

// Slot k of the packed output (row j, unit q, rows of tk * u): the new h at a real step, else
// zero or the previous slot's value.
template <typename T>
__device__ __forceinline__ void rnn_output(T* out, nn_index j, nn_index q, nn_index k, nn_index tk, nn_index u, bool m, T hn,
                                           int zero_masked) {
    T* o = out + j * tk * u + q;
    o[k * u] = m ? hn : ((zero_masked || k == 0) ? (T)0 : o[(k - 1) * u]);
}

// The input projection of gate column col for (sample j, time tt), with the input bias.
template <typename T>
__device__ __forceinline__ T rnn_xw(const T* xp, const T* b_in, nn_index row, nn_index G, nn_index col) {
    T v = xp[row * G + col];
    return b_in ? v + b_in[col] : v;
}

// ---- LSTM (gate columns i, f, c, o) -----------------------------------------------------------
template <typename T>
__device__ void lstm_step_forward(const T* __restrict__ xp, const T* __restrict__ b_in, const T* __restrict__ hr, T* __restrict__ h,
                                  T* __restrict__ c, const unsigned char* __restrict__ mask, T* __restrict__ out,
                                  T* __restrict__ hprev, T* __restrict__ cprev, T* __restrict__ gates, nn_index n, nn_index t,
                                  nn_index u, nn_index k, nn_index tt, int zero_masked) {
    const nn_index G = 4 * u;
    for (nn_index e = nn_first(); e < n * u; e += nn_stride()) {
        const nn_index j = e / u, q = e - j * u, row = j * t + tt;
        const T* hrow = hr + j * G;
        const T ig = nn_sigmoid(rnn_xw(xp, b_in, row, G, q) + hrow[q]);
        const T fg = nn_sigmoid(rnn_xw(xp, b_in, row, G, u + q) + hrow[u + q]);
        const T gg = nn_tanh(rnn_xw(xp, b_in, row, G, 2 * u + q) + hrow[2 * u + q]);
        const T og = nn_sigmoid(rnn_xw(xp, b_in, row, G, 3 * u + q) + hrow[3 * u + q]);
        const T hold = h[e], cold = c[e];
        const T cn = fg * cold + ig * gg;
        const T tc = nn_tanh(cn);
        const T hn = og * tc;
        if (hprev) {
            hprev[row * u + q] = hold;
            cprev[row * u + q] = cold;
            T* s = gates + row * 5 * u + q;
            s[0] = ig;
            s[u] = fg;
            s[2 * u] = gg;
            s[3 * u] = og;
            s[4 * u] = tc;
        }
        const bool m = rnn_real(mask, j, t, tt);
        if (m) {
            h[e] = hn;
            c[e] = cn;
        }
        rnn_output(out, j, q, k, t + 2, u, m, hn, zero_masked);
    }
}

template <typename T>
__device__ void lstm_step_backward(const T* __restrict__ g, const T* __restrict__ dh_mm, T* __restrict__ rest, T* __restrict__ dc,
                                   T* __restrict__ carry, const T* __restrict__ cprev, const T* __restrict__ gates,
                                   const unsigned char* __restrict__ mask, T* __restrict__ dgx, T* __restrict__ dstep, nn_index n,
                                   nn_index t, nn_index u, nn_index k, nn_index tt, int zero_masked) {
    const nn_index G = 4 * u;
    const T one = (T)1, zero = (T)0;
    for (nn_index e = nn_first(); e < n * u; e += nn_stride()) {
        const nn_index j = e / u, q = e - j * u, row = j * t + tt;
        const bool m = rnn_real(mask, j, t, tt);
        const T dh = dh_mm ? dh_mm[e] + rest[e] : rest[e];
        const T go = g[(j * (t + 2) + k) * u + q] + carry[e];
        carry[e] = (m || zero_masked) ? zero : go;
        T* dx = dgx + row * G + q;
        T* ds = dstep + j * G + q;
        if (m) {
            const T dhn = dh + go;
            const T* s = gates + row * 5 * u + q;
            const T ig = s[0], fg = s[u], gg = s[2 * u], og = s[3 * u], tc = s[4 * u];
            const T dcn = dc[e] + dhn * og * (one - tc * tc);
            const T di = dcn * gg * ig * (one - ig);
            const T df = dcn * cprev[row * u + q] * fg * (one - fg);
            const T dg = dcn * ig * (one - gg * gg);
            const T dout = dhn * tc * og * (one - og);
            dx[0] = ds[0] = di;
            dx[u] = ds[u] = df;
            dx[2 * u] = ds[2 * u] = dg;
            dx[3 * u] = ds[3 * u] = dout;
            dc[e] = dcn * fg;
            rest[e] = zero;
        } else {
            dx[0] = dx[u] = dx[2 * u] = dx[3 * u] = zero;
            ds[0] = ds[u] = ds[2 * u] = ds[3 * u] = zero;
            rest[e] = dh;  // the states were carried: dh and dc pass through
        }
    }
}

extern "C" __global__ void lstm_step_forward_f32(const float* xp, const float* b_in, const float* hr, float* h, float* c,
                                                 const unsigned char* mask, float* out, float* hprev, float* cprev, float* gates,
                                                 nn_index n, nn_index t, nn_index u, nn_index k, nn_index tt, int zero_masked) {
    lstm_step_forward<float>(xp, b_in, hr, h, c, mask, out, hprev, cprev, gates, n, t, u, k, tt, zero_masked);
}
extern "C" __global__ void lstm_step_forward_f64(const double* xp, const double* b_in, const double* hr, double* h, double* c,
                                                 const unsigned char* mask, double* out, double* hprev, double* cprev, double* gates,
                                                 nn_index n, nn_index t, nn_index u, nn_index k, nn_index tt, int zero_masked) {
    lstm_step_forward<double>(xp, b_in, hr, h, c, mask, out, hprev, cprev, gates, n, t, u, k, tt, zero_masked);
}
extern "C" __global__ void lstm_step_backward_f32(const float* g, const float* dh_mm, float* rest, float* dc, float* carry,
                                                  const float* cprev, const float* gates, const unsigned char* mask, float* dgx,
                                                  float* dstep, nn_index n, nn_index t, nn_index u, nn_index k, nn_index tt,
                                                  int zero_masked) {
    lstm_step_backward<float>(g, dh_mm, rest, dc, carry, cprev, gates, mask, dgx, dstep, n, t, u, k, tt, zero_masked);
}
extern "C" __global__ void lstm_step_backward_f64(const double* g, const double* dh_mm, double* rest, double* dc, double* carry,
                                                  const double* cprev, const double* gates, const unsigned char* mask, double* dgx,
                                                  double* dstep, nn_index n, nn_index t, nn_index u, nn_index k, nn_index tt,
                                                  int zero_masked) {
    lstm_step_backward<double>(g, dh_mm, rest, dc, carry, cprev, gates, mask, dgx, dstep, n, t, u, k, tt, zero_masked);
}

// ---- GRU, reset_after=True (gate columns z, r, h; bias rows: input, recurrent) -----------------
template <typename T>
__device__ void gru_step_forward(const T* __restrict__ xp, const T* __restrict__ b_in, const T* __restrict__ hr,
                                 const T* __restrict__ b_rec, T* __restrict__ h, const unsigned char* __restrict__ mask,
                                 T* __restrict__ out, T* __restrict__ hprev, T* __restrict__ gates, nn_index n, nn_index t, nn_index u,
                                 nn_index k, nn_index tt, int zero_masked) {
    const nn_index G = 3 * u;
    const T one = (T)1;
    for (nn_index e = nn_first(); e < n * u; e += nn_stride()) {
        const nn_index j = e / u, q = e - j * u, row = j * t + tt;
        const T* hrow = hr + j * G;
        const T hz = b_rec ? hrow[q] + b_rec[q] : hrow[q];
        const T hrg = b_rec ? hrow[u + q] + b_rec[u + q] : hrow[u + q];
        const T hh = b_rec ? hrow[2 * u + q] + b_rec[2 * u + q] : hrow[2 * u + q];
        const T z = nn_sigmoid(rnn_xw(xp, b_in, row, G, q) + hz);
        const T r = nn_sigmoid(rnn_xw(xp, b_in, row, G, u + q) + hrg);
        const T cand = nn_tanh(rnn_xw(xp, b_in, row, G, 2 * u + q) + r * hh);
        const T hold = h[e];
        const T hn = z * hold + (one - z) * cand;
        if (hprev) {
            hprev[row * u + q] = hold;
            T* s = gates + row * 4 * u + q;
            s[0] = z;
            s[u] = r;
            s[2 * u] = cand;
            s[3 * u] = hh;
        }
        const bool m = rnn_real(mask, j, t, tt);
        if (m) h[e] = hn;
        rnn_output(out, j, q, k, t + 1, u, m, hn, zero_masked);
    }
}

template <typename T>
__device__ void gru_step_backward(const T* __restrict__ g, const T* __restrict__ dh_mm, T* __restrict__ rest, T* __restrict__ carry,
                                  const T* __restrict__ hprev, const T* __restrict__ gates, const unsigned char* __restrict__ mask,
                                  T* __restrict__ dgx, T* __restrict__ dgr, T* __restrict__ dstep, nn_index n, nn_index t, nn_index u,
                                  nn_index k, nn_index tt, int zero_masked) {
    const nn_index G = 3 * u;
    const T one = (T)1, zero = (T)0;
    for (nn_index e = nn_first(); e < n * u; e += nn_stride()) {
        const nn_index j = e / u, q = e - j * u, row = j * t + tt;
        const bool m = rnn_real(mask, j, t, tt);
        const T dh = dh_mm ? dh_mm[e] + rest[e] : rest[e];
        const T go = g[(j * (t + 1) + k) * u + q] + carry[e];
        carry[e] = (m || zero_masked) ? zero : go;
        T* dx = dgx + row * G + q;
        T* dr = dgr + row * G + q;
        T* ds = dstep + j * G + q;
        if (m) {
            const T dhn = dh + go;
            const T* s = gates + row * 4 * u + q;
            const T z = s[0], r = s[u], cand = s[2 * u], hh = s[3 * u];
            const T d_hh = dhn * (one - z) * (one - cand * cand);
            const T d_z = dhn * (hprev[row * u + q] - cand) * z * (one - z);
            const T d_r = d_hh * hh * r * (one - r);
            const T d_hr = d_hh * r;
            dx[0] = dr[0] = ds[0] = d_z;
            dx[u] = dr[u] = ds[u] = d_r;
            dx[2 * u] = d_hh;
            dr[2 * u] = ds[2 * u] = d_hr;
            rest[e] = dhn * z;
        } else {
            dx[0] = dx[u] = dx[2 * u] = zero;
            dr[0] = dr[u] = dr[2 * u] = zero;
            ds[0] = ds[u] = ds[2 * u] = zero;
            rest[e] = dh;
        }
    }
}

extern "C" __global__ void gru_step_forward_f32(const float* xp, const float* b_in, const float* hr, const float* b_rec, float* h,
                                                const unsigned char* mask, float* out, float* hprev, float* gates, nn_index n,
                                                nn_index t, nn_index u, nn_index k, nn_index tt, int zero_masked) {
    gru_step_forward<float>(xp, b_in, hr, b_rec, h, mask, out, hprev, gates, n, t, u, k, tt, zero_masked);
}
extern "C" __global__ void gru_step_forward_f64(const double* xp, const double* b_in, const double* hr, const double* b_rec,
                                                double* h, const unsigned char* mask, double* out, double* hprev, double* gates,
                                                nn_index n, nn_index t, nn_index u, nn_index k, nn_index tt, int zero_masked) {
    gru_step_forward<double>(xp, b_in, hr, b_rec, h, mask, out, hprev, gates, n, t, u, k, tt, zero_masked);
}
extern "C" __global__ void gru_step_backward_f32(const float* g, const float* dh_mm, float* rest, float* carry, const float* hprev,
                                                 const float* gates, const unsigned char* mask, float* dgx, float* dgr, float* dstep,
                                                 nn_index n, nn_index t, nn_index u, nn_index k, nn_index tt, int zero_masked) {
    gru_step_backward<float>(g, dh_mm, rest, carry, hprev, gates, mask, dgx, dgr, dstep, n, t, u, k, tt, zero_masked);
}
extern "C" __global__ void gru_step_backward_f64(const double* g, const double* dh_mm, double* rest, double* carry,
                                                 const double* hprev, const double* gates, const unsigned char* mask, double* dgx,
                                                 double* dgr, double* dstep, nn_index n, nn_index t, nn_index u, nn_index k,
                                                 nn_index tt, int zero_masked) {
    gru_step_backward<double>(g, dh_mm, rest, carry, hprev, gates, mask, dgx, dgr, dstep, n, t, u, k, tt, zero_masked);
}

// ---- SimpleRNN (act 0: tanh, 1: relu) ---------------------------------------------------------
template <typename T>
__device__ void simple_rnn_step_forward(const T* __restrict__ xp, const T* __restrict__ b_in, const T* __restrict__ hr,
                                        T* __restrict__ h, const unsigned char* __restrict__ mask, T* __restrict__ out,
                                        T* __restrict__ hprev, T* __restrict__ gates, nn_index n, nn_index t, nn_index u, nn_index k,
                                        nn_index tt, int zero_masked, int act) {
    for (nn_index e = nn_first(); e < n * u; e += nn_stride()) {
        const nn_index j = e / u, q = e - j * u, row = j * t + tt;
        const T pre = rnn_xw(xp, b_in, row, u, q) + hr[j * u + q];
        const T hn = act == 0 ? nn_tanh(pre) : (pre <= (T)0 ? (T)0 : pre);  // relu keeps a NaN, as numpy's maximum
        if (hprev) {
            hprev[row * u + q] = h[e];
            gates[row * u + q] = hn;
        }
        const bool m = rnn_real(mask, j, t, tt);
        if (m) h[e] = hn;
        rnn_output(out, j, q, k, t + 1, u, m, hn, zero_masked);
    }
}

template <typename T>
__device__ void simple_rnn_step_backward(const T* __restrict__ g, const T* __restrict__ dh_mm, T* __restrict__ rest,
                                         T* __restrict__ carry, const T* __restrict__ gates, const unsigned char* __restrict__ mask,
                                         T* __restrict__ dgx, T* __restrict__ dstep, nn_index n, nn_index t, nn_index u, nn_index k,
                                         nn_index tt, int zero_masked, int act) {
    const T one = (T)1, zero = (T)0;
    for (nn_index e = nn_first(); e < n * u; e += nn_stride()) {
        const nn_index j = e / u, q = e - j * u, row = j * t + tt;
        const bool m = rnn_real(mask, j, t, tt);
        const T dh = dh_mm ? dh_mm[e] + rest[e] : rest[e];
        const T go = g[(j * (t + 1) + k) * u + q] + carry[e];
        carry[e] = (m || zero_masked) ? zero : go;
        if (m) {
            const T dhn = dh + go;
            const T s = gates[row * u + q];
            const T d = act == 0 ? dhn * (one - s * s) : (s > zero ? dhn : zero);
            dgx[row * u + q] = dstep[e] = d;
            rest[e] = zero;
        } else {
            dgx[row * u + q] = dstep[e] = zero;
            rest[e] = dh;
        }
    }
}

extern "C" __global__ void simple_rnn_step_forward_f32(const float* xp, const float* b_in, const float* hr, float* h,
                                                       const unsigned char* mask, float* out, float* hprev, float* gates, nn_index n,
                                                       nn_index t, nn_index u, nn_index k, nn_index tt, int zero_masked, int act) {
    simple_rnn_step_forward<float>(xp, b_in, hr, h, mask, out, hprev, gates, n, t, u, k, tt, zero_masked, act);
}
extern "C" __global__ void simple_rnn_step_forward_f64(const double* xp, const double* b_in, const double* hr, double* h,
                                                       const unsigned char* mask, double* out, double* hprev, double* gates,
                                                       nn_index n, nn_index t, nn_index u, nn_index k, nn_index tt, int zero_masked,
                                                       int act) {
    simple_rnn_step_forward<double>(xp, b_in, hr, h, mask, out, hprev, gates, n, t, u, k, tt, zero_masked, act);
}
extern "C" __global__ void simple_rnn_step_backward_f32(const float* g, const float* dh_mm, float* rest, float* carry,
                                                        const float* gates, const unsigned char* mask, float* dgx, float* dstep,
                                                        nn_index n, nn_index t, nn_index u, nn_index k, nn_index tt, int zero_masked,
                                                        int act) {
    simple_rnn_step_backward<float>(g, dh_mm, rest, carry, gates, mask, dgx, dstep, n, t, u, k, tt, zero_masked, act);
}
extern "C" __global__ void simple_rnn_step_backward_f64(const double* g, const double* dh_mm, double* rest, double* carry,
                                                        const double* gates, const unsigned char* mask, double* dgx, double* dstep,
                                                        nn_index n, nn_index t, nn_index u, nn_index k, nn_index tt, int zero_masked,
                                                        int act) {
    simple_rnn_step_backward<double>(g, dh_mm, rest, carry, gates, mask, dgx, dstep, n, t, u, k, tt, zero_masked, act);
}
