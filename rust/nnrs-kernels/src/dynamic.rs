//! Dynamic convolution (involution, Li et al., CVPR 2021), forward and backward, channels-last.
//!
//! The input `x` is `(N, H, W, C)`; the per-position kernels `k` are `(N, OH, OW, KH*KW, G)`:
//! at every output position `(n, i, j)` one `KH x KW` kernel per group of `C / G`
//! channels. With `g(c) = c / (C / G)`:
//!
//! ```text
//! y[n, i, j, c] = sum_{u, v} k[n, i, j, u*KW + v, g(c)] * x[n, i*sh + u*dh - pad_top, j*sw + v*dw - pad_left, c]
//! ```
//!
//! (zero outside the image). The unfold-multiply-sum is done in one pass; nothing of size
//! `N*OH*OW*KH*KW*C` is ever materialised. The backward is two gathers, each parallel over
//! rows and free of races: `gk` over output rows (a dot product over each group's
//! channels), `gx` over input rows (for every input pixel, the output positions and taps
//! that read it, visited in a fixed order), so the results do not depend on the thread count.

use crate::fastmath::Real;
use crate::parallel::{for_item_chunks, work_ns};
use crate::{multiversion, KernelError};

/// The geometry of a dynamic convolution: sizes of x and k, and the stride, dilation,
/// explicit paddings and groups. Built (and checked) by [`DynamicConv2dParams::new`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DynamicConv2dParams {
    pub n: usize,
    pub h: usize,
    pub w: usize,
    pub c: usize,
    pub oh: usize,
    pub ow: usize,
    /// Kernel size (KH, KW).
    pub kernel: [usize; 2],
    /// Strides (sh, sw).
    pub stride: [usize; 2],
    /// Dilation (dh, dw).
    pub dilation: [usize; 2],
    /// Zero padding (top, bottom, left, right).
    pub padding: [usize; 4],
    pub groups: usize,
}

/// A shape as Python writes a tuple: (2, 3), (4,), ().
pub fn tuple(s: &[usize]) -> String {
    match s {
        [x] => format!("({x},)"),
        _ => format!("({})", s.iter().map(|d| d.to_string()).collect::<Vec<_>>().join(", ")),
    }
}

impl DynamicConv2dParams {
    /// Checks x's and k's shapes against the kernel size, strides, paddings and dilation;
    /// every error names `kernel` and the expected and actual shapes (the same wording as
    /// the Python contract check).
    pub fn new(
        kernel: &str,
        x: &[usize],
        k: &[usize],
        kernel_size: [usize; 2],
        stride: [usize; 2],
        padding: [usize; 4],
        dilation: [usize; 2],
    ) -> Result<Self, KernelError> {
        let err = |m: String| Err(KernelError(format!("{kernel}: {m}")));
        if x.len() != 4 {
            return err(format!("x must be 4-D (batch, height, width, channels), got shape {}", tuple(x)));
        }
        if k.len() != 5 {
            return err(format!("k must be 5-D (batch, out_height, out_width, kernel_h*kernel_w, groups), got shape {}", tuple(k)));
        }
        if kernel_size.contains(&0) || stride.contains(&0) || dilation.contains(&0) {
            return err(format!(
                "kernel_size, strides and dilation must be positive, got kernel_size {}, strides {}, dilation {}",
                tuple(&kernel_size),
                tuple(&stride),
                tuple(&dilation)
            ));
        }
        let (n, h, w, c) = (x[0], x[1], x[2], x[3]);
        let ph = h + padding[0] + padding[1];
        let pw = w + padding[2] + padding[3];
        let eh = (kernel_size[0] - 1) * dilation[0] + 1;
        let ew = (kernel_size[1] - 1) * dilation[1] + 1;
        if eh > ph || ew > pw {
            return err(format!(
                "the dilated kernel {} is larger than the padded input {} of x {} with padding {}",
                tuple(&[eh, ew]),
                tuple(&[ph, pw]),
                tuple(x),
                tuple(&padding)
            ));
        }
        let (oh, ow) = ((ph - eh) / stride[0] + 1, (pw - ew) / stride[1] + 1);
        let kk = kernel_size[0] * kernel_size[1];
        if k[..4] != [n, oh, ow, kk] {
            return err(format!("k must have shape ({n}, {oh}, {ow}, {kk}, groups) for x {}, got {}", tuple(x), tuple(k)));
        }
        let groups = k[4];
        if groups == 0 || c % groups != 0 {
            return err(format!(
                "groups (the last axis of k {}) must be a positive divisor of the {c} channels of x {}, got {groups}",
                tuple(k),
                tuple(x)
            ));
        }
        Ok(Self { n, h, w, c, oh, ow, kernel: kernel_size, stride, dilation, padding, groups })
    }

    /// Shape of y (and gy): (N, OH, OW, C).
    pub fn y_shape(&self) -> [usize; 4] {
        [self.n, self.oh, self.ow, self.c]
    }

    fn kk(&self) -> usize {
        self.kernel[0] * self.kernel[1]
    }

    fn check(&self, lens: &[(&str, usize)]) -> Result<(), KernelError> {
        let want = |name: &str| match name {
            "x" | "gx" => self.n * self.h * self.w * self.c,
            "k" | "gk" => self.n * self.oh * self.ow * self.kk() * self.groups,
            _ => self.n * self.oh * self.ow * self.c,
        };
        for &(name, len) in lens {
            if len != want(name) {
                return Err(KernelError(format!("{name} has {len} elements, expected {}", want(name))));
            }
        }
        Ok(())
    }

    /// Rough single-thread cost, for the parallel split.
    fn work(&self) -> usize {
        work_ns(self.n * self.oh * self.ow * self.kk() * self.c.max(self.groups), 4)
    }

    /// Input row (or column) of output index `o` at tap `t` along axis `a` (0: rows,
    /// 1: columns); None outside the image.
    #[inline(always)]
    fn src(&self, a: usize, o: usize, t: usize) -> Option<usize> {
        let pos = (o * self.stride[a] + t * self.dilation[a]).checked_sub(self.padding[2 * a])?;
        (pos < [self.h, self.w][a]).then_some(pos)
    }

    /// Output index that reads input index `p` at tap `t` along axis `a`; None when no
    /// output position does.
    #[inline(always)]
    fn dst(&self, a: usize, p: usize, t: usize) -> Option<usize> {
        let q = (p + self.padding[2 * a]).checked_sub(t * self.dilation[a])?;
        let s = self.stride[a];
        (q % s == 0 && q / s < [self.oh, self.ow][a]).then_some(q / s)
    }
}

multiversion! {
    /// One output row `(n, i)` of the forward: `yr` is `(OW, C)`.
    fn forward_row<T: Real>(x: &[T], k: &[T], yr: &mut [T], n: usize, i: usize, p: &DynamicConv2dParams) {
        let (c, g, kw, kk) = (p.c, p.groups, p.kernel[1], p.kk());
        let cg = c / g;
        yr.fill(T::zero());
        for (j, yo) in yr.chunks_exact_mut(c).enumerate() {
            let kb = ((n * p.oh + i) * p.ow + j) * kk * g;
            for u in 0..p.kernel[0] {
                let Some(hi) = p.src(0, i, u) else { continue };
                for v in 0..kw {
                    let Some(wi) = p.src(1, j, v) else { continue };
                    let xo = &x[((n * p.h + hi) * p.w + wi) * c..][..c];
                    let kr = &k[kb + (u * kw + v) * g..][..g];
                    for ((yg, xg), &kv) in yo.chunks_exact_mut(cg).zip(xo.chunks_exact(cg)).zip(kr) {
                        for (o, &xv) in yg.iter_mut().zip(xg) {
                            *o = *o + kv * xv;
                        }
                    }
                }
            }
        }
    }
}

/// `sum a[i] * b[i]` with 8 partial sums (so the loop vectorizes), combined in a fixed order.
#[inline(always)]
fn dot<T: Real>(a: &[T], b: &[T]) -> T {
    let mut acc = [T::zero(); 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let mut tail = T::zero();
    for (&p, &q) in ca.remainder().iter().zip(cb.remainder()) {
        tail = tail + p * q;
    }
    for (pa, pb) in ca.zip(cb) {
        for ((s, &p), &q) in acc.iter_mut().zip(pa).zip(pb) {
            *s = *s + p * q;
        }
    }
    ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7])) + tail
}

multiversion! {
    /// One output row `(n, i)` of gk: `gkr` is `(OW, KH*KW, G)`.
    fn grad_k_row<T: Real>(x: &[T], gy: &[T], gkr: &mut [T], n: usize, i: usize, p: &DynamicConv2dParams) {
        let (c, g, kw, kk) = (p.c, p.groups, p.kernel[1], p.kk());
        let cg = c / g;
        gkr.fill(T::zero());
        for (j, gko) in gkr.chunks_exact_mut(kk * g).enumerate() {
            let gyo = &gy[((n * p.oh + i) * p.ow + j) * c..][..c];
            for u in 0..p.kernel[0] {
                let Some(hi) = p.src(0, i, u) else { continue };
                for v in 0..kw {
                    let Some(wi) = p.src(1, j, v) else { continue };
                    let xo = &x[((n * p.h + hi) * p.w + wi) * c..][..c];
                    let gkt = &mut gko[(u * kw + v) * g..][..g];
                    for ((o, xg), gg) in gkt.iter_mut().zip(xo.chunks_exact(cg)).zip(gyo.chunks_exact(cg)) {
                        *o = dot(xg, gg);
                    }
                }
            }
        }
    }
}

multiversion! {
    /// One input row `(n, hi)` of gx: `gxr` is `(W, C)`; each pixel gathers from every
    /// output position and tap that reads it, in a fixed order.
    fn grad_x_row<T: Real>(k: &[T], gy: &[T], gxr: &mut [T], n: usize, hi: usize, p: &DynamicConv2dParams) {
        let (c, g, kw, kk) = (p.c, p.groups, p.kernel[1], p.kk());
        let cg = c / g;
        gxr.fill(T::zero());
        for (wi, gxo) in gxr.chunks_exact_mut(c).enumerate() {
            for u in 0..p.kernel[0] {
                let Some(i) = p.dst(0, hi, u) else { continue };
                for v in 0..kw {
                    let Some(j) = p.dst(1, wi, v) else { continue };
                    let at = (n * p.oh + i) * p.ow + j;
                    let gyo = &gy[at * c..][..c];
                    let kr = &k[at * kk * g + (u * kw + v) * g..][..g];
                    for ((og, gg), &kv) in gxo.chunks_exact_mut(cg).zip(gyo.chunks_exact(cg)).zip(kr) {
                        for (o, &gv) in og.iter_mut().zip(gg) {
                            *o = *o + kv * gv;
                        }
                    }
                }
            }
        }
    }
}

/// `y = dynamic_conv2d(x, k)` (see the module docs); y is `(N, OH, OW, C)`.
pub fn dynamic_conv2d_forward<T: Real>(x: &[T], k: &[T], y: &mut [T], p: &DynamicConv2dParams) -> Result<(), KernelError> {
    p.check(&[("x", x.len()), ("k", k.len()), ("y", y.len())])?;
    let row = p.ow * p.c;
    for_item_chunks(y, row, p.work(), |first, chunk| {
        for (r, yr) in chunk.chunks_exact_mut(row).enumerate() {
            let (n, i) = ((first + r) / p.oh, (first + r) % p.oh);
            forward_row(x, k, yr, n, i, p);
        }
    });
    Ok(())
}

/// Gradients of [`dynamic_conv2d_forward`] given gy `(N, OH, OW, C)`: gx (x's shape) and gk
/// (k's shape). Each is a gather over its own rows, so the result is deterministic.
pub fn dynamic_conv2d_backward<T: Real>(
    gy: &[T],
    x: &[T],
    k: &[T],
    gx: &mut [T],
    gk: &mut [T],
    p: &DynamicConv2dParams,
) -> Result<(), KernelError> {
    p.check(&[("gy", gy.len()), ("x", x.len()), ("k", k.len()), ("gx", gx.len()), ("gk", gk.len())])?;
    let krow = p.ow * p.kk() * p.groups;
    for_item_chunks(gk, krow, p.work(), |first, chunk| {
        for (r, gkr) in chunk.chunks_exact_mut(krow).enumerate() {
            let (n, i) = ((first + r) / p.oh, (first + r) % p.oh);
            grad_k_row(x, gy, gkr, n, i, p);
        }
    });
    let xrow = p.w * p.c;
    for_item_chunks(gx, xrow, p.work(), |first, chunk| {
        for (r, gxr) in chunk.chunks_exact_mut(xrow).enumerate() {
            let (n, hi) = ((first + r) / p.h, (first + r) % p.h);
            grad_x_row(k, gy, gxr, n, hi, p);
        }
    });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lcg(n: usize, seed: u64) -> Vec<f64> {
        let mut s = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (0..n)
            .map(|_| {
                s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                ((s >> 11) as f64 / (1u64 << 53) as f64) * 2.0 - 1.0
            })
            .collect()
    }

    /// The formula of the module docs, one output element at a time.
    fn naive(x: &[f64], k: &[f64], p: &DynamicConv2dParams) -> Vec<f64> {
        let [kh, kw] = p.kernel;
        let cg = p.c / p.groups;
        let mut y = vec![0.0; p.n * p.oh * p.ow * p.c];
        for n in 0..p.n {
            for i in 0..p.oh {
                for j in 0..p.ow {
                    for c in 0..p.c {
                        let mut acc = 0.0;
                        for u in 0..kh {
                            for v in 0..kw {
                                let hi = (i * p.stride[0] + u * p.dilation[0]) as isize - p.padding[0] as isize;
                                let wi = (j * p.stride[1] + v * p.dilation[1]) as isize - p.padding[2] as isize;
                                if hi < 0 || wi < 0 || hi >= p.h as isize || wi >= p.w as isize {
                                    continue;
                                }
                                let xv = x[((n * p.h + hi as usize) * p.w + wi as usize) * p.c + c];
                                acc += k[(((n * p.oh + i) * p.ow + j) * kh * kw + u * kw + v) * p.groups + c / cg] * xv;
                            }
                        }
                        y[((n * p.oh + i) * p.ow + j) * p.c + c] = acc;
                    }
                }
            }
        }
        y
    }

    fn cases() -> Vec<DynamicConv2dParams> {
        let mk = |x: [usize; 4], ks: [usize; 2], s: [usize; 2], pad: [usize; 4], d: [usize; 2], g: usize| {
            let ph = x[1] + pad[0] + pad[1];
            let pw = x[2] + pad[2] + pad[3];
            let oh = (ph - (ks[0] - 1) * d[0] - 1) / s[0] + 1;
            let ow = (pw - (ks[1] - 1) * d[1] - 1) / s[1] + 1;
            DynamicConv2dParams::new("t", &x, &[x[0], oh, ow, ks[0] * ks[1], g], ks, s, pad, d).unwrap()
        };
        vec![
            mk([2, 5, 6, 4], [3, 3], [1, 1], [1, 1, 1, 1], [1, 1], 2),
            mk([1, 7, 5, 6], [3, 2], [2, 3], [0, 2, 1, 0], [1, 2], 3),
            mk([3, 1, 1, 2], [1, 1], [1, 1], [0, 0, 0, 0], [1, 1], 1),
            mk([1, 9, 9, 3], [5, 5], [2, 2], [2, 2, 2, 2], [1, 1], 3),
            mk([2, 6, 4, 4], [2, 2], [3, 1], [1, 0, 0, 1], [2, 1], 4),
        ]
    }

    #[test]
    fn forward_matches_the_formula() {
        for p in cases() {
            let x = lcg(p.n * p.h * p.w * p.c, 1);
            let k = lcg(p.n * p.oh * p.ow * p.kk() * p.groups, 2);
            let mut y = vec![0.0; p.n * p.oh * p.ow * p.c];
            dynamic_conv2d_forward(&x, &k, &mut y, &p).unwrap();
            for (a, b) in y.iter().zip(naive(&x, &k, &p)) {
                assert!((a - b).abs() < 1e-12, "{p:?}: {a} vs {b}");
            }
        }
    }

    #[test]
    fn backward_is_the_adjoint() {
        // y is bilinear in (x, k): <gy, y> = <gx, x> = <gk, k>.
        for p in cases() {
            let x = lcg(p.n * p.h * p.w * p.c, 3);
            let k = lcg(p.n * p.oh * p.ow * p.kk() * p.groups, 4);
            let gy = lcg(p.n * p.oh * p.ow * p.c, 5);
            let mut y = vec![0.0; gy.len()];
            dynamic_conv2d_forward(&x, &k, &mut y, &p).unwrap();
            let (mut gx, mut gk) = (vec![9.0; x.len()], vec![9.0; k.len()]);
            dynamic_conv2d_backward(&gy, &x, &k, &mut gx, &mut gk, &p).unwrap();
            let dot = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(p, q)| p * q).sum::<f64>();
            let want = dot(&gy, &y);
            assert!((dot(&gx, &x) - want).abs() < 1e-9, "{p:?}");
            assert!((dot(&gk, &k) - want).abs() < 1e-9, "{p:?}");
        }
    }

    #[test]
    fn bad_shapes_are_errors() {
        let e = DynamicConv2dParams::new("dc", &[1, 4, 4, 3], &[1, 4, 4, 9, 2], [3, 3], [1, 1], [1, 1, 1, 1], [1, 1]).unwrap_err();
        assert!(e.0.contains("positive divisor of the 3 channels"), "{e}");
        let e = DynamicConv2dParams::new("dc", &[1, 4, 4, 3], &[1, 4, 4, 9, 1], [3, 3], [1, 1], [0, 0, 0, 0], [1, 1]).unwrap_err();
        assert!(e.0.contains("k must have shape (1, 2, 2, 9, groups)"), "{e}");
        let e = DynamicConv2dParams::new("dc", &[1, 2, 2, 3], &[1, 1, 1, 9, 1], [3, 3], [1, 1], [0, 0, 0, 0], [1, 1]).unwrap_err();
        assert!(e.0.contains("larger than the padded input"), "{e}");
        let p = DynamicConv2dParams::new("dc", &[1, 4, 4, 3], &[1, 4, 4, 9, 1], [3, 3], [1, 1], [1, 1, 1, 1], [1, 1]).unwrap();
        let mut y = vec![0.0f32; 47];
        assert!(dynamic_conv2d_forward(&[0.0f32; 48], &[0.0f32; 144], &mut y, &p).is_err());
    }
}
