// Affine / projective image warps with the meaning and the float64 coordinate arithmetic of the
// numpy oracle (numpy_backend.affine_transform / _backward and its helpers _sample_points,
// _taps, _fix). Images are (batch, h, w, c), channels-last; transforms (batch, 8) rows
// [a0, a1, a2, b0, b1, b2, c0, c1]: output (column x, row y) reads the input at column
// (a0 x + a1 y + a2) / k, row (b0 x + b1 y + b2) / k, k = c0 x + c1 y + 1, in double.
//
// The taps of an output pixel (warp_taps): a non-finite coordinate reads nothing (weight 0 taps
// at (0, 0)) and gets fill weight 1; coordinates are clipped to +-1e15; "nearest"
// (interp 0) is one tap at the coordinates rounded half to even (rint), "bilinear" (interp 1)
// four taps (r0, c0), (r0, c0+1), (r0+1, c0), (r0+1, c0+1) at the floors with weights
// (1-wr)(1-wc), (1-wr)wc, wr(1-wc), wr wc. Each tap's index is mapped into the image by the
// fill mode (mode: 0 constant, 1 nearest, 2 wrap, 3 mirror, 4 reflect, base.FILL_MODES' order);
// under "constant" a tap outside the image gets weight 0 and adds its weight to the fill weight.
//
// affine_transform_forward: y = (fill weight * fill_value + sum of tap weight * pixel, taps in
//   order) in double, rounded to T. One output element (b, y, x, ch) per thread.
// affine_transform_backward: gx64[b, tap row, tap col, ch] += tap weight * gy (double) for every
//   tap of every output element, by atomicAdd on a float64 buffer the backend zeroes first and
//   then rounds to T. A gather would have to invert a projective map, so this is a scatter with
//   atomics: the order of the additions varies from run to run and the result is NOT
//   bit-deterministic (the contract does not ask it to be). One gy element per thread.
// Launch: block 256, 1-D grid-stride loops over the elements; no shared memory.
#include "nnrs_common.cuh"

// Index inside [0, n) that index i reads under fill mode `mode`; *inside: whether it lies in the
// image (only "constant" cares).
__device__ __forceinline__ long long warp_fix(long long i, long long n, int mode, bool* inside) {
    *inside = mode != 0 || (i >= 0 && i < n);  // only "constant" has an outside
    if (mode == 0 || mode == 1) return i < 0 ? 0 : (i > n - 1 ? n - 1 : i);
    if (mode == 2) return ((i % n) + n) % n;
    if (mode == 4) {
        const long long j = ((i % (2 * n)) + 2 * n) % (2 * n);
        return j >= n ? 2 * n - 1 - j : j;
    }
    if (n == 1) return 0;  // mirror of a single row or column
    const long long p = 2 * (n - 1);
    const long long j = ((i % p) + p) % p;
    return j >= n ? p - j : j;
}

struct WarpTaps {
    long long off[4];  // pixel offsets (row * w + col) inside the image, channel 0
    double wt[4];
    double fill;
    int count;
};

template <typename T>
__device__ WarpTaps warp_taps(const T* __restrict__ t, nn_index h, nn_index w, nn_index y, nn_index x, int interp, int mode) {
    const double a0 = (double)t[0], a1 = (double)t[1], a2 = (double)t[2], b0 = (double)t[3], b1 = (double)t[4], b2 = (double)t[5];
    const double c0 = (double)t[6], c1 = (double)t[7];
    const double xd = (double)x, yd = (double)y;
    const double k = c0 * xd + c1 * yd + 1.0;
    double rows = (b0 * xd + b1 * yd + b2) / k;
    double cols = (a0 * xd + a1 * yd + a2) / k;
    const bool finite = (rows - rows) == 0.0 && (cols - cols) == 0.0;  // false for inf and NaN
    if (!finite) rows = cols = 0.0;
    rows = rows < -1e15 ? -1e15 : (rows > 1e15 ? 1e15 : rows);
    cols = cols < -1e15 ? -1e15 : (cols > 1e15 ? 1e15 : cols);
    double rr[4], cc[4], ww[4];
    int count;
    if (interp == 0) {
        rr[0] = rint(rows);
        cc[0] = rint(cols);
        ww[0] = 1.0;
        count = 1;
    } else {
        const double r0 = floor(rows), q0 = floor(cols);
        const double wr = rows - r0, wc = cols - q0;
        rr[0] = r0, cc[0] = q0, ww[0] = (1 - wr) * (1 - wc);
        rr[1] = r0, cc[1] = q0 + 1, ww[1] = (1 - wr) * wc;
        rr[2] = r0 + 1, cc[2] = q0, ww[2] = wr * (1 - wc);
        rr[3] = r0 + 1, cc[3] = q0 + 1, ww[3] = wr * wc;
        count = 4;
    }
    WarpTaps out;
    out.count = count;
    double fill = finite ? 0.0 : 1.0;
    for (int i = 0; i < count; ++i) {
        bool rin, cin;
        const long long ri = warp_fix((long long)rr[i], (long long)h, mode, &rin);
        const long long ci = warp_fix((long long)cc[i], (long long)w, mode, &cin);
        const bool ok = rin && cin && finite;
        out.off[i] = ri * (long long)w + ci;
        out.wt[i] = ok ? ww[i] : 0.0;
        fill = fill + ((ok || !finite) ? 0.0 : ww[i]);
    }
    out.fill = fill;
    return out;
}

template <typename T>
__device__ void affine_transform_forward(const T* __restrict__ img, const T* __restrict__ tr, T* __restrict__ y, nn_index n, nn_index h,
                                         nn_index w, nn_index c, int interp, int mode, double fill_value) {
    const nn_index total = n * h * w * c;
    for (nn_index e = nn_first(); e < total; e += nn_stride()) {
        const Pixel p = pixel_of(e, h, w, c);
        const nn_index b = p.b, ch = p.ch;
        const WarpTaps tp = warp_taps(tr + b * 8, h, w, p.y, p.x, interp, mode);
        const T* base = img + b * h * w * c + ch;
        double acc = tp.fill * fill_value;
        for (int i = 0; i < tp.count; ++i) acc = acc + tp.wt[i] * (double)base[tp.off[i] * c];
        y[e] = (T)acc;
    }
}

template <typename T>
__device__ void affine_transform_backward(const T* __restrict__ gy, const T* __restrict__ tr, double* __restrict__ gx, nn_index n,
                                          nn_index h, nn_index w, nn_index c, int interp, int mode) {
    const nn_index total = n * h * w * c;
    for (nn_index e = nn_first(); e < total; e += nn_stride()) {
        const Pixel p = pixel_of(e, h, w, c);
        const nn_index b = p.b, ch = p.ch;
        const WarpTaps tp = warp_taps(tr + b * 8, h, w, p.y, p.x, interp, mode);
        const double g = (double)gy[e];
        double* base = gx + b * h * w * c + ch;
        for (int i = 0; i < tp.count; ++i) atomicAdd(base + tp.off[i] * c, tp.wt[i] * g);
    }
}

extern "C" __global__ void affine_transform_forward_f32(const float* img, const float* tr, float* y, nn_index n, nn_index h, nn_index w,
                                                        nn_index c, int interp, int mode, double fill_value) {
    affine_transform_forward<float>(img, tr, y, n, h, w, c, interp, mode, fill_value);
}
extern "C" __global__ void affine_transform_forward_f64(const double* img, const double* tr, double* y, nn_index n, nn_index h, nn_index w,
                                                        nn_index c, int interp, int mode, double fill_value) {
    affine_transform_forward<double>(img, tr, y, n, h, w, c, interp, mode, fill_value);
}
extern "C" __global__ void affine_transform_backward_f32(const float* gy, const float* tr, double* gx, nn_index n, nn_index h, nn_index w,
                                                         nn_index c, int interp, int mode) {
    affine_transform_backward<float>(gy, tr, gx, n, h, w, c, interp, mode);
}
extern "C" __global__ void affine_transform_backward_f64(const double* gy, const double* tr, double* gx, nn_index n, nn_index h,
                                                         nn_index w, nn_index c, int interp, int mode) {
    affine_transform_backward<double>(gy, tr, gx, n, h, w, c, interp, mode);
}
