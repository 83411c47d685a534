// The convolution family of the cuda backend (the matrix products are cuBLAS, cupy.matmul):
//
// Images are channels-last x (n, h, w, c); a kernel of (kh, kw) taps, strides (sh, sw),
// dilation (dh, dw) and padding top pt / left pl (the bottom and right padding only set the
// output size oh, ow, which the host computes). Tap (ky, kx) of output pixel (oy, ox) reads
// input row oy*sh + ky*dh - pt, column ox*sw + kx*dw - pl (zero outside the image).
//
// im2col_forward: col = the patches of x in group-major order (groups, n, oh, ow, kh, kw,
//   c / groups): group g's block is the (n*oh*ow, kh*kw*c/groups) matrix that multiplies
//   that group's kernel. With groups = 1 this is the contract's im2col layout (n, oh, ow,
//   kh*kw*c), each patch ordered (ky, kx, c). One col element per thread.
// col2im_forward: the adjoint, as a gather (no atomics, deterministic): one thread per
//   element of x sums the col entries that read it, taps in (ky, kx) order (the order in
//   which numpy_backend.col2im adds them); col in the layout im2col_forward writes.
// conv_bias_act_forward: y (rows, groups*ocg) = act(z + b) where z is the group-major
//   product (groups, rows, ocg) and b (groups*ocg,) or null; act as in activation.cu
//   (nnrs_activation.cuh). One element of y per thread.
// dynamic_conv2d_forward: involution, y[n,i,j,c] = sum over taps t = u*kw + v of
//   k[n,i,j,t,g(c)] * x[n, i*sh + u*dh - pt, j*sw + v*dw - pl, c], g(c) = c / (c_total/groups).
//   One output element per thread.
// dynamic_conv2d_backward_kernel: gk[n,i,j,t,g] = sum over c of group g of gy[n,i,j,c] * x at
//   tap t. One gk element per thread.
// dynamic_conv2d_backward_input: gx as a gather: one thread per element of x sums
//   k[n,i,j,t,g(c)] * gy[n,i,j,c] over every (output pixel, tap) that reads it, taps in order
//   (deterministic, no atomics).
// Launch: cuda_launch.launch_config(kernel, items) — 1-D, one item (element) per thread,
// block 256, grid-stride loop; no shared memory.
#include "nnrs_activation.cuh"

// Output pixel and tap that read input coordinate `in` on one axis, or -1: in + pad - k*dil
// must be a non-negative multiple of the stride whose quotient is below the output size.
__device__ __forceinline__ nn_index conv_out_index(nn_index in, nn_index pad, nn_index k, nn_index dil, nn_index stride,
                                                   nn_index out) {
    nn_index t = in + pad - k * dil;
    if (t < 0 || t % stride != 0) return -1;
    t /= stride;
    return t < out ? t : -1;
}

template <typename T>
__device__ void im2col_forward(const T* __restrict__ x, T* __restrict__ col, nn_index n, nn_index h, nn_index w, nn_index c,
                               nn_index oh, nn_index ow, nn_index kh, nn_index kw, nn_index sh, nn_index sw, nn_index pt,
                               nn_index pl, nn_index dh, nn_index dw, nn_index groups, nn_index total) {
    const nn_index cg = c / groups;
    for (nn_index e = nn_first(); e < total; e += nn_stride()) {
        nn_index r = e;
        const nn_index cc = r % cg;
        r /= cg;
        const nn_index kx = r % kw;
        r /= kw;
        const nn_index ky = r % kh;
        r /= kh;
        const nn_index ox = r % ow;
        r /= ow;
        const nn_index oy = r % oh;
        r /= oh;
        const nn_index b = r % n;
        const nn_index g = r / n;
        const nn_index iy = oy * sh + ky * dh - pt;
        const nn_index ix = ox * sw + kx * dw - pl;
        col[e] = (iy >= 0 && iy < h && ix >= 0 && ix < w) ? x[((b * h + iy) * w + ix) * c + g * cg + cc] : (T)0;
    }
}

template <typename T>
__device__ void col2im_forward(const T* __restrict__ col, T* __restrict__ x, nn_index n, nn_index h, nn_index w, nn_index c,
                               nn_index oh, nn_index ow, nn_index kh, nn_index kw, nn_index sh, nn_index sw, nn_index pt,
                               nn_index pl, nn_index dh, nn_index dw, nn_index groups, nn_index total) {
    const nn_index cg = c / groups;
    for (nn_index e = nn_first(); e < total; e += nn_stride()) {
        const Pixel p = pixel_of(e, h, w, c);
        const nn_index b = p.b, iy = p.y, ix = p.x, g = p.ch / cg, cc = p.ch % cg;
        const T* base = col + g * n * oh * ow * kh * kw * cg;
        T s = (T)0;
        for (nn_index ky = 0; ky < kh; ++ky) {
            const nn_index oy = conv_out_index(iy, pt, ky, dh, sh, oh);
            if (oy < 0) continue;
            for (nn_index kx = 0; kx < kw; ++kx) {
                const nn_index ox = conv_out_index(ix, pl, kx, dw, sw, ow);
                if (ox < 0) continue;
                s += base[((((b * oh + oy) * ow + ox) * kh + ky) * kw + kx) * cg + cc];
            }
        }
        x[e] = s;
    }
}

template <typename T>
__device__ void conv_bias_act_forward(int act, const T* __restrict__ z, const T* __restrict__ bias, T* __restrict__ y, nn_index rows,
                                      nn_index groups, nn_index ocg, T alpha) {
    const nn_index oc = groups * ocg, total = rows * oc;
    for (nn_index e = nn_first(); e < total; e += nn_stride()) {
        const nn_index j = e % oc, r = e / oc;
        T v = z[((j / ocg) * rows + r) * ocg + j % ocg];
        if (bias) v = v + bias[j];
        y[e] = act_forward(act, v, alpha);
    }
}

template <typename T>
__device__ void dynamic_conv2d_forward(const T* __restrict__ x, const T* __restrict__ k, T* __restrict__ y, nn_index n, nn_index h,
                                       nn_index w, nn_index c, nn_index oh, nn_index ow, nn_index kh, nn_index kw, nn_index sh,
                                       nn_index sw, nn_index pt, nn_index pl, nn_index dh, nn_index dw, nn_index groups) {
    const nn_index cg = c / groups, taps = kh * kw, total = n * oh * ow * c;
    for (nn_index e = nn_first(); e < total; e += nn_stride()) {
        const Pixel o = pixel_of(e, oh, ow, c);
        const nn_index b = o.b, i = o.y, j = o.x, ci = o.ch;
        const T* kp = k + ((b * oh + i) * ow + j) * taps * groups + ci / cg;
        T s = (T)0;
        for (nn_index u = 0; u < kh; ++u) {
            const nn_index iy = i * sh + u * dh - pt;
            for (nn_index v = 0; v < kw; ++v) {
                const nn_index ix = j * sw + v * dw - pl;
                const T xv = (iy >= 0 && iy < h && ix >= 0 && ix < w) ? x[((b * h + iy) * w + ix) * c + ci] : (T)0;
                s += kp[(u * kw + v) * groups] * xv;
            }
        }
        y[e] = s;
    }
}

template <typename T>
__device__ void dynamic_conv2d_backward_kernel(const T* __restrict__ gy, const T* __restrict__ x, T* __restrict__ gk, nn_index n,
                                               nn_index h, nn_index w, nn_index c, nn_index oh, nn_index ow, nn_index kh,
                                               nn_index kw, nn_index sh, nn_index sw, nn_index pt, nn_index pl, nn_index dh,
                                               nn_index dw, nn_index groups) {
    const nn_index cg = c / groups, taps = kh * kw, total = n * oh * ow * taps * groups;
    for (nn_index e = nn_first(); e < total; e += nn_stride()) {
        nn_index r = e;
        const nn_index g = r % groups;
        r /= groups;
        const nn_index t = r % taps;
        r /= taps;
        const nn_index j = r % ow;
        r /= ow;
        const nn_index i = r % oh;
        const nn_index b = r / oh;
        const nn_index iy = i * sh + (t / kw) * dh - pt;
        const nn_index ix = j * sw + (t % kw) * dw - pl;
        T s = (T)0;
        if (iy >= 0 && iy < h && ix >= 0 && ix < w) {
            const T* xp = x + ((b * h + iy) * w + ix) * c + g * cg;
            const T* gp = gy + ((b * oh + i) * ow + j) * c + g * cg;
            for (nn_index cc = 0; cc < cg; ++cc) s += xp[cc] * gp[cc];
        }
        gk[e] = s;
    }
}

template <typename T>
__device__ void dynamic_conv2d_backward_input(const T* __restrict__ gy, const T* __restrict__ k, T* __restrict__ gx, nn_index n,
                                              nn_index h, nn_index w, nn_index c, nn_index oh, nn_index ow, nn_index kh, nn_index kw,
                                              nn_index sh, nn_index sw, nn_index pt, nn_index pl, nn_index dh, nn_index dw,
                                              nn_index groups) {
    const nn_index cg = c / groups, taps = kh * kw, total = n * h * w * c;
    for (nn_index e = nn_first(); e < total; e += nn_stride()) {
        const Pixel p = pixel_of(e, h, w, c);
        const nn_index b = p.b, iy = p.y, ix = p.x, ci = p.ch, g = ci / cg;
        T s = (T)0;
        for (nn_index u = 0; u < kh; ++u) {
            const nn_index i = conv_out_index(iy, pt, u, dh, sh, oh);
            if (i < 0) continue;
            for (nn_index v = 0; v < kw; ++v) {
                const nn_index j = conv_out_index(ix, pl, v, dw, sw, ow);
                if (j < 0) continue;
                const nn_index p = (b * oh + i) * ow + j;
                s += k[(p * taps + u * kw + v) * groups + g] * gy[p * c + ci];
            }
        }
        gx[e] = s;
    }
}

#define NN_CONV_ARGS n, h, w, c, oh, ow, kh, kw, sh, sw, pt, pl, dh, dw, groups

extern "C" __global__ void im2col_forward_f32(const float* x, float* col, nn_index n, nn_index h, nn_index w, nn_index c, nn_index oh,
                                              nn_index ow, nn_index kh, nn_index kw, nn_index sh, nn_index sw, nn_index pt, nn_index pl,
                                              nn_index dh, nn_index dw, nn_index groups, nn_index total) {
    im2col_forward<float>(x, col, NN_CONV_ARGS, total);
}
extern "C" __global__ void im2col_forward_f64(const double* x, double* col, nn_index n, nn_index h, nn_index w, nn_index c,
                                              nn_index oh, nn_index ow, nn_index kh, nn_index kw, nn_index sh, nn_index sw, nn_index pt,
                                              nn_index pl, nn_index dh, nn_index dw, nn_index groups, nn_index total) {
    im2col_forward<double>(x, col, NN_CONV_ARGS, total);
}
extern "C" __global__ void col2im_forward_f32(const float* col, float* x, nn_index n, nn_index h, nn_index w, nn_index c, nn_index oh,
                                              nn_index ow, nn_index kh, nn_index kw, nn_index sh, nn_index sw, nn_index pt, nn_index pl,
                                              nn_index dh, nn_index dw, nn_index groups, nn_index total) {
    col2im_forward<float>(col, x, NN_CONV_ARGS, total);
}
extern "C" __global__ void col2im_forward_f64(const double* col, double* x, nn_index n, nn_index h, nn_index w, nn_index c,
                                              nn_index oh, nn_index ow, nn_index kh, nn_index kw, nn_index sh, nn_index sw, nn_index pt,
                                              nn_index pl, nn_index dh, nn_index dw, nn_index groups, nn_index total) {
    col2im_forward<double>(col, x, NN_CONV_ARGS, total);
}
extern "C" __global__ void conv_bias_act_forward_f32(int act, const float* z, const float* bias, float* y, nn_index rows,
                                                     nn_index groups, nn_index ocg, float alpha) {
    conv_bias_act_forward<float>(act, z, bias, y, rows, groups, ocg, alpha);
}
extern "C" __global__ void conv_bias_act_forward_f64(int act, const double* z, const double* bias, double* y, nn_index rows,
                                                     nn_index groups, nn_index ocg, double alpha) {
    conv_bias_act_forward<double>(act, z, bias, y, rows, groups, ocg, alpha);
}
extern "C" __global__ void dynamic_conv2d_forward_f32(const float* x, const float* k, float* y, nn_index n, nn_index h, nn_index w,
                                                      nn_index c, nn_index oh, nn_index ow, nn_index kh, nn_index kw, nn_index sh,
                                                      nn_index sw, nn_index pt, nn_index pl, nn_index dh, nn_index dw, nn_index groups) {
    dynamic_conv2d_forward<float>(x, k, y, NN_CONV_ARGS);
}
extern "C" __global__ void dynamic_conv2d_forward_f64(const double* x, const double* k, double* y, nn_index n, nn_index h, nn_index w,
                                                      nn_index c, nn_index oh, nn_index ow, nn_index kh, nn_index kw, nn_index sh,
                                                      nn_index sw, nn_index pt, nn_index pl, nn_index dh, nn_index dw, nn_index groups) {
    dynamic_conv2d_forward<double>(x, k, y, NN_CONV_ARGS);
}
extern "C" __global__ void dynamic_conv2d_backward_kernel_f32(const float* gy, const float* x, float* gk, nn_index n, nn_index h,
                                                              nn_index w, nn_index c, nn_index oh, nn_index ow, nn_index kh,
                                                              nn_index kw, nn_index sh, nn_index sw, nn_index pt, nn_index pl,
                                                              nn_index dh, nn_index dw, nn_index groups) {
    dynamic_conv2d_backward_kernel<float>(gy, x, gk, NN_CONV_ARGS);
}
extern "C" __global__ void dynamic_conv2d_backward_kernel_f64(const double* gy, const double* x, double* gk, nn_index n, nn_index h,
                                                              nn_index w, nn_index c, nn_index oh, nn_index ow, nn_index kh,
                                                              nn_index kw, nn_index sh, nn_index sw, nn_index pt, nn_index pl,
                                                              nn_index dh, nn_index dw, nn_index groups) {
    dynamic_conv2d_backward_kernel<double>(gy, x, gk, NN_CONV_ARGS);
}
extern "C" __global__ void dynamic_conv2d_backward_input_f32(const float* gy, const float* k, float* gx, nn_index n, nn_index h,
                                                             nn_index w, nn_index c, nn_index oh, nn_index ow, nn_index kh, nn_index kw,
                                                             nn_index sh, nn_index sw, nn_index pt, nn_index pl, nn_index dh,
                                                             nn_index dw, nn_index groups) {
    dynamic_conv2d_backward_input<float>(gy, k, gx, NN_CONV_ARGS);
}
extern "C" __global__ void dynamic_conv2d_backward_input_f64(const double* gy, const double* k, double* gx, nn_index n, nn_index h,
                                                             nn_index w, nn_index c, nn_index oh, nn_index ow, nn_index kh,
                                                             nn_index kw, nn_index sh, nn_index sw, nn_index pt, nn_index pl,
                                                             nn_index dh, nn_index dw, nn_index groups) {
    dynamic_conv2d_backward_input<double>(gy, k, gx, NN_CONV_ARGS);
}
