// 2-D max and average pooling of channels-last images, with the meaning of the numpy oracle
// (numpy_backend.max_pool2d_* / avg_pool2d_*). x is (n, h, w, c), y / gy (n, oh, ow, c);
// window (oy, ox) covers input rows oy*sh - pt .. + ph - 1 and columns ox*sw - pl .. + pw - 1;
// positions outside the image are padding.
//
// max_pool2d_forward: y = the window's first maximum (padding never wins; the first NaN if the
//   window holds one, so a NaN propagates). One output element per thread.
// max_pool2d_backward: gx[input] = sum over the windows containing it, in window-offset order
//   (di, dj) row-major, of gy[window] * (1 if this element is the window's FIRST maximum in
//   row-major order, the first NaN if there is one, else 0): the oracle's additions in its
//   order, so the result is bit-equal. A gather: one input element per thread, no atomics,
//   deterministic.
// avg_pool2d_forward: y = (sum of the window's elements, padding adding 0, in row-major order)
//   / (count of real elements). One output element per thread.
// avg_pool2d_backward: gx[input] = sum over the windows containing it, in (di, dj) order, of
//   gy[window] / count(window) (as the oracle). A gather: one input element per thread.
// Launch: block 256, 1-D grid-stride loop over the output (forward) or input (backward)
//   elements; no shared memory.
#include "nnrs_common.cuh"

// The geometry every pooling kernel takes.
struct PoolGeom {
    nn_index n, h, w, c, oh, ow, ph, pw, sh, sw, pt, pl;
};

__device__ __forceinline__ PoolGeom pool_geom(nn_index n, nn_index h, nn_index w, nn_index c, nn_index oh, nn_index ow, nn_index ph,
                                              nn_index pw, nn_index sh, nn_index sw, nn_index pt, nn_index pl) {
    PoolGeom g = {n, h, w, c, oh, ow, ph, pw, sh, sw, pt, pl};
    return g;
}

// Row-major offset (di * pw + dj) in window (b, oy, ox) of channel ch of its first maximum
// (the first NaN if any). Every window holds a real element (the contract's padding rule).
template <typename T>
__device__ nn_index window_first_max(const T* __restrict__ x, const PoolGeom& g, nn_index b, nn_index oy, nn_index ox, nn_index ch) {
    nn_index best = -1;
    T m = (T)0;
    for (nn_index di = 0; di < g.ph; ++di) {
        const nn_index iy = oy * g.sh + di - g.pt;
        if (iy < 0 || iy >= g.h) continue;
        for (nn_index dj = 0; dj < g.pw; ++dj) {
            const nn_index ix = ox * g.sw + dj - g.pl;
            if (ix < 0 || ix >= g.w) continue;
            const T v = x[((b * g.h + iy) * g.w + ix) * g.c + ch];
            if (v != v) return di * g.pw + dj;
            if (best < 0 || v > m) {
                m = v;
                best = di * g.pw + dj;
            }
        }
    }
    return best;
}

template <typename T> __device__ void max_pool2d_forward(const T* __restrict__ x, T* __restrict__ y, PoolGeom g) {
    const nn_index total = g.n * g.oh * g.ow * g.c;
    for (nn_index e = nn_first(); e < total; e += nn_stride()) {
        const Pixel o = pixel_of(e, g.oh, g.ow, g.c);
        const nn_index at = window_first_max(x, g, o.b, o.y, o.x, o.ch);
        const nn_index iy = o.y * g.sh + at / g.pw - g.pt, ix = o.x * g.sw + at % g.pw - g.pl;
        y[e] = x[((o.b * g.h + iy) * g.w + ix) * g.c + o.ch];
    }
}

// The windows containing input row i along one axis: offsets d with (i + pad - d) a multiple
// of the stride and the window index o = (i + pad - d) / stride in [0, outs).
__device__ __forceinline__ bool pool_window(nn_index i, nn_index pad, nn_index d, nn_index stride, nn_index outs, nn_index* o) {
    const nn_index p = i + pad - d;
    if (p < 0 || p % stride != 0) return false;
    *o = p / stride;
    return *o < outs;
}

// The gradient of input element p: the sum, over the windows (oy, ox) holding it in window-offset
// order (di, dj) (the oracle's order of additions), of share(oy, ox, di * pw + dj), the part of
// gy[b, oy, ox, ch] that reaches p.
template <typename T, typename Share> __device__ T pool_gather(const PoolGeom& g, const Pixel& p, Share share) {
    T acc = (T)0;
    for (nn_index di = 0; di < g.ph; ++di) {
        nn_index oy;
        if (!pool_window(p.y, g.pt, di, g.sh, g.oh, &oy)) continue;
        for (nn_index dj = 0; dj < g.pw; ++dj) {
            nn_index ox;
            if (!pool_window(p.x, g.pl, dj, g.sw, g.ow, &ox)) continue;
            acc = acc + share(oy, ox, di * g.pw + dj);
        }
    }
    return acc;
}

template <typename T> __device__ void max_pool2d_backward(const T* __restrict__ x, const T* __restrict__ gy, T* __restrict__ gx, PoolGeom g) {
    const nn_index total = g.n * g.h * g.w * g.c;
    for (nn_index e = nn_first(); e < total; e += nn_stride()) {
        const Pixel p = pixel_of(e, g.h, g.w, g.c);
        gx[e] = pool_gather<T>(g, p, [&](nn_index oy, nn_index ox, nn_index at) {
            const T chosen = window_first_max(x, g, p.b, oy, ox, p.ch) == at ? (T)1 : (T)0;
            return gy[((p.b * g.oh + oy) * g.ow + ox) * g.c + p.ch] * chosen;
        });
    }
}

// Real (non-padding) elements of window (oy, ox).
__device__ __forceinline__ nn_index pool_count(const PoolGeom& g, nn_index oy, nn_index ox) {
    const nn_index y0 = oy * g.sh - g.pt, x0 = ox * g.sw - g.pl;
    const nn_index y1 = y0 + g.ph < g.h ? y0 + g.ph : g.h, x1 = x0 + g.pw < g.w ? x0 + g.pw : g.w;
    return ((y1 - (y0 > 0 ? y0 : 0)) * (x1 - (x0 > 0 ? x0 : 0)));
}

template <typename T> __device__ void avg_pool2d_forward(const T* __restrict__ x, T* __restrict__ y, PoolGeom g) {
    const nn_index total = g.n * g.oh * g.ow * g.c;
    for (nn_index e = nn_first(); e < total; e += nn_stride()) {
        const Pixel o = pixel_of(e, g.oh, g.ow, g.c);
        T s = (T)0;
        for (nn_index di = 0; di < g.ph; ++di) {
            const nn_index iy = o.y * g.sh + di - g.pt;
            for (nn_index dj = 0; dj < g.pw; ++dj) {
                const nn_index ix = o.x * g.sw + dj - g.pl;
                const bool real = iy >= 0 && iy < g.h && ix >= 0 && ix < g.w;
                s = s + (real ? x[((o.b * g.h + iy) * g.w + ix) * g.c + o.ch] : (T)0);
            }
        }
        y[e] = s / (T)pool_count(g, o.y, o.x);
    }
}

template <typename T> __device__ void avg_pool2d_backward(const T* __restrict__ gy, T* __restrict__ gx, PoolGeom g) {
    const nn_index total = g.n * g.h * g.w * g.c;
    for (nn_index e = nn_first(); e < total; e += nn_stride()) {
        const Pixel p = pixel_of(e, g.h, g.w, g.c);
        gx[e] = pool_gather<T>(g, p, [&](nn_index oy, nn_index ox, nn_index) {
            return gy[((p.b * g.oh + oy) * g.ow + ox) * g.c + p.ch] / (T)pool_count(g, oy, ox);
        });
    }
}

#define NN_POOL_GEOM pool_geom(n, h, w, c, oh, ow, ph, pw, sh, sw, pt, pl)

extern "C" __global__ void max_pool2d_forward_f32(const float* x, float* y, nn_index n, nn_index h, nn_index w, nn_index c, nn_index oh,
                                                  nn_index ow, nn_index ph, nn_index pw, nn_index sh, nn_index sw, nn_index pt,
                                                  nn_index pl) {
    max_pool2d_forward<float>(x, y, NN_POOL_GEOM);
}
extern "C" __global__ void max_pool2d_forward_f64(const double* x, double* y, nn_index n, nn_index h, nn_index w, nn_index c, nn_index oh,
                                                  nn_index ow, nn_index ph, nn_index pw, nn_index sh, nn_index sw, nn_index pt,
                                                  nn_index pl) {
    max_pool2d_forward<double>(x, y, NN_POOL_GEOM);
}
extern "C" __global__ void max_pool2d_backward_f32(const float* x, const float* gy, float* gx, nn_index n, nn_index h, nn_index w,
                                                   nn_index c, nn_index oh, nn_index ow, nn_index ph, nn_index pw, nn_index sh,
                                                   nn_index sw, nn_index pt, nn_index pl) {
    max_pool2d_backward<float>(x, gy, gx, NN_POOL_GEOM);
}
extern "C" __global__ void max_pool2d_backward_f64(const double* x, const double* gy, double* gx, nn_index n, nn_index h, nn_index w,
                                                   nn_index c, nn_index oh, nn_index ow, nn_index ph, nn_index pw, nn_index sh,
                                                   nn_index sw, nn_index pt, nn_index pl) {
    max_pool2d_backward<double>(x, gy, gx, NN_POOL_GEOM);
}
extern "C" __global__ void avg_pool2d_forward_f32(const float* x, float* y, nn_index n, nn_index h, nn_index w, nn_index c, nn_index oh,
                                                  nn_index ow, nn_index ph, nn_index pw, nn_index sh, nn_index sw, nn_index pt,
                                                  nn_index pl) {
    avg_pool2d_forward<float>(x, y, NN_POOL_GEOM);
}
extern "C" __global__ void avg_pool2d_forward_f64(const double* x, double* y, nn_index n, nn_index h, nn_index w, nn_index c, nn_index oh,
                                                  nn_index ow, nn_index ph, nn_index pw, nn_index sh, nn_index sw, nn_index pt,
                                                  nn_index pl) {
    avg_pool2d_forward<double>(x, y, NN_POOL_GEOM);
}
extern "C" __global__ void avg_pool2d_backward_f32(const float* gy, float* gx, nn_index n, nn_index h, nn_index w, nn_index c, nn_index oh,
                                                   nn_index ow, nn_index ph, nn_index pw, nn_index sh, nn_index sw, nn_index pt,
                                                   nn_index pl) {
    avg_pool2d_backward<float>(gy, gx, NN_POOL_GEOM);
}
extern "C" __global__ void avg_pool2d_backward_f64(const double* gy, double* gx, nn_index n, nn_index h, nn_index w, nn_index c,
                                                   nn_index oh, nn_index ow, nn_index ph, nn_index pw, nn_index sh, nn_index sw,
                                                   nn_index pt, nn_index pl) {
    avg_pool2d_backward<double>(gy, gx, NN_POOL_GEOM);
}
