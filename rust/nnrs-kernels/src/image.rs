//! Image warps for augmentation: `affine_transform` of channels-last images
//! `(batch, height, width, channels)` by one projective transform per image, as Keras 3's
//! `ops.image.affine_transform` defines it.
//!
//! A transform is 8 numbers `[a0, a1, a2, b0, b1, b2, c0, c1]`; the output pixel at
//! column x, row y takes the input at column `(a0 x + a1 y + a2) / k` and row
//! `(b0 x + b1 y + b2) / k`, `k = c0 x + c1 y + 1` (k = 1 for an affine transform).
//! Coordinates are computed in f64. `nearest` rounds half to even; `bilinear` weighs the
//! four neighbours. A neighbour outside the image is read through the fill mode:
//! `reflect` (d c b a | a b c d | d c b a), `mirror` (d c b | a b c d | c b a), `wrap`
//! (a b c d | a b c d), `nearest` (a a a | a b c d | d d d), or `constant`: `fill_value`
//! takes its place (its weight included). A non-finite coordinate gives `fill_value`.

use crate::elementwise::Real;
use crate::parallel::{for_item_chunks, work_ns};
use crate::KernelError;

/// How a pixel between grid points is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Interpolation {
    Nearest,
    Bilinear,
}

impl Interpolation {
    pub const NAMES: [&'static str; 2] = ["nearest", "bilinear"];

    pub fn from_name(name: &str) -> Result<Self, KernelError> {
        match name {
            "nearest" => Ok(Self::Nearest),
            "bilinear" => Ok(Self::Bilinear),
            _ => Err(KernelError(format!("affine_transform: unknown interpolation '{name}'; accepted: nearest, bilinear"))),
        }
    }
}

/// How a point outside the image is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FillMode {
    Constant,
    Nearest,
    Wrap,
    Mirror,
    Reflect,
}

impl FillMode {
    pub fn from_name(name: &str) -> Result<Self, KernelError> {
        match name {
            "constant" => Ok(Self::Constant),
            "nearest" => Ok(Self::Nearest),
            "wrap" => Ok(Self::Wrap),
            "mirror" => Ok(Self::Mirror),
            "reflect" => Ok(Self::Reflect),
            _ => Err(KernelError(format!(
                "affine_transform: unknown fill_mode '{name}'; accepted: constant, nearest, wrap, mirror, reflect"
            ))),
        }
    }

    /// The index inside `0..n` that index `i` reads (n > 0); None for a constant fill outside.
    #[inline]
    fn fix(self, i: i64, n: i64) -> Option<i64> {
        match self {
            FillMode::Constant => (0..n).contains(&i).then_some(i),
            FillMode::Nearest => Some(i.clamp(0, n - 1)),
            FillMode::Wrap => Some(i.rem_euclid(n)),
            FillMode::Reflect => {
                let j = i.rem_euclid(2 * n);
                Some(if j >= n { 2 * n - 1 - j } else { j })
            }
            FillMode::Mirror => {
                if n == 1 {
                    return Some(0);
                }
                let j = i.rem_euclid(2 * (n - 1));
                Some(if j >= n { 2 * (n - 1) - j } else { j })
            }
        }
    }
}

/// Shape and options of one `affine_transform` call (output shape = input shape).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AffineParams {
    pub batch: usize,
    pub height: usize,
    pub width: usize,
    pub channels: usize,
    pub interpolation: Interpolation,
    pub fill_mode: FillMode,
    pub fill_value: f64,
}

impl AffineParams {
    fn check(&self, kernel: &str, images: &[(&str, usize)], transforms: usize) -> Result<(), KernelError> {
        let n = self.batch * self.height * self.width * self.channels;
        for &(arg, len) in images {
            if len != n {
                return Err(KernelError(format!("{kernel}: {arg} has {len} elements, expected {n}")));
            }
        }
        if transforms != self.batch * 8 {
            return Err(KernelError(format!("{kernel}: transforms has {transforms} elements, expected {} (8 per image)", self.batch * 8)));
        }
        Ok(())
    }
}

/// Largest coordinate magnitude turned into an index (beyond it every mode is far outside
/// or periodic; keeps the conversion to i64 exact).
const COORD_LIMIT: f64 = 1e15;

/// Calls `f(offset_of_pixel_in_image, weight)` for the taps that output pixel (y, x) reads
/// under transform `t`; returns the weight that goes to `fill_value` (constant mode, or a
/// non-finite coordinate).
#[inline]
fn taps(t: &[f64; 8], y: usize, x: usize, p: &AffineParams, mut f: impl FnMut(usize, f64)) -> f64 {
    let (xf, yf) = (x as f64, y as f64);
    let k = t[6] * xf + t[7] * yf + 1.0;
    let col = (t[0] * xf + t[1] * yf + t[2]) / k;
    let row = (t[3] * xf + t[4] * yf + t[5]) / k;
    if !(col.is_finite() && row.is_finite()) {
        return 1.0;
    }
    let (col, row) = (col.clamp(-COORD_LIMIT, COORD_LIMIT), row.clamp(-COORD_LIMIT, COORD_LIMIT));
    let (h, w) = (p.height as i64, p.width as i64);
    let mut fill = 0.0;
    let mut tap = |r: i64, c: i64, wt: f64| match (p.fill_mode.fix(r, h), p.fill_mode.fix(c, w)) {
        (Some(r), Some(c)) => f((r * w + c) as usize, wt),
        _ => fill += wt,
    };
    match p.interpolation {
        Interpolation::Nearest => tap(row.round_ties_even() as i64, col.round_ties_even() as i64, 1.0),
        Interpolation::Bilinear => {
            let (r0, c0) = (row.floor(), col.floor());
            let (wr, wc) = (row - r0, col - c0);
            let (r0, c0) = (r0 as i64, c0 as i64);
            tap(r0, c0, (1.0 - wr) * (1.0 - wc));
            tap(r0, c0 + 1, (1.0 - wr) * wc);
            tap(r0 + 1, c0, wr * (1.0 - wc));
            tap(r0 + 1, c0 + 1, wr * wc);
        }
    }
    fill
}

fn transform_of<T: Real>(transforms: &[T], n: usize) -> [f64; 8] {
    let mut t = [0.0; 8];
    for (o, v) in t.iter_mut().zip(&transforms[n * 8..n * 8 + 8]) {
        *o = v.as_f64();
    }
    t
}

/// `out[n]` = image n warped by transform n (see the module docs). `images` and `out`
/// are `(batch, height, width, channels)`, `transforms` `(batch, 8)`.
pub fn affine_transform<T: Real>(images: &[T], transforms: &[T], out: &mut [T], p: AffineParams) -> Result<(), KernelError> {
    p.check("affine_transform", &[("images", images.len()), ("out", out.len())], transforms.len())?;
    let (hw, c) = (p.height * p.width, p.channels);
    let item = hw * c;
    if item == 0 {
        return Ok(());
    }
    let taps_per = if p.interpolation == Interpolation::Bilinear { 4 } else { 1 };
    for_item_chunks(out, p.width * c, work_ns(out.len(), 4 * taps_per), |first_row, oc| {
        let mut acc = vec![0.0f64; c];
        for (k, orow) in oc.chunks_exact_mut(p.width * c).enumerate() {
            let gr = first_row + k; // global row index over batch * height
            let (n, y) = (gr / p.height, gr % p.height);
            let t = transform_of(transforms, n);
            let img = &images[n * item..(n + 1) * item];
            for (x, px) in orow.chunks_exact_mut(c).enumerate() {
                acc.fill(0.0);
                let fill = taps(&t, y, x, &p, |off, wt| {
                    for (a, v) in acc.iter_mut().zip(&img[off * c..off * c + c]) {
                        *a += wt * v.as_f64();
                    }
                });
                for (o, a) in px.iter_mut().zip(&acc) {
                    *o = T::of_f64(a + fill * p.fill_value);
                }
            }
        }
    });
    Ok(())
}

/// Gradient wrt the images of [`affine_transform`] (the transforms held fixed): each
/// output pixel's gradient goes back to the input pixels it read, times their weights
/// (taps outside the image in constant mode, and the fill value, get nothing).
pub fn affine_transform_backward<T: Real>(gy: &[T], transforms: &[T], gx: &mut [T], p: AffineParams) -> Result<(), KernelError> {
    p.check("affine_transform_backward", &[("gy", gy.len()), ("gx", gx.len())], transforms.len())?;
    let (hw, c) = (p.height * p.width, p.channels);
    let item = hw * c;
    if item == 0 {
        return Ok(());
    }
    let taps_per = if p.interpolation == Interpolation::Bilinear { 4 } else { 1 };
    for_item_chunks(gx, item, work_ns(gx.len(), 4 * taps_per), |first, gc| {
        let mut acc = vec![0.0f64; item];
        for (k, gimg) in gc.chunks_exact_mut(item).enumerate() {
            let n = first + k;
            let t = transform_of(transforms, n);
            let g = &gy[n * item..(n + 1) * item];
            acc.fill(0.0);
            for y in 0..p.height {
                for x in 0..p.width {
                    let src = &g[(y * p.width + x) * c..(y * p.width + x + 1) * c];
                    taps(&t, y, x, &p, |off, wt| {
                        for (a, v) in acc[off * c..off * c + c].iter_mut().zip(src) {
                            *a += wt * v.as_f64();
                        }
                    });
                }
            }
            for (o, a) in gimg.iter_mut().zip(&acc) {
                *o = T::of_f64(*a);
            }
        }
    });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(b: usize, h: usize, w: usize, c: usize, interp: Interpolation, fill: FillMode) -> AffineParams {
        AffineParams { batch: b, height: h, width: w, channels: c, interpolation: interp, fill_mode: fill, fill_value: -1.0 }
    }

    #[test]
    fn fill_modes_index_as_keras_defines_them() {
        let idx = |m: FillMode| (-5..9).map(|i| m.fix(i, 4).map_or(-9, |v| v)).collect::<Vec<_>>();
        assert_eq!(idx(FillMode::Reflect), vec![3, 3, 2, 1, 0, 0, 1, 2, 3, 3, 2, 1, 0, 0]);
        assert_eq!(idx(FillMode::Mirror), vec![1, 2, 3, 2, 1, 0, 1, 2, 3, 2, 1, 0, 1, 2]);
        assert_eq!(idx(FillMode::Wrap), vec![3, 0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3, 0]);
        assert_eq!(idx(FillMode::Nearest), vec![0, 0, 0, 0, 0, 0, 1, 2, 3, 3, 3, 3, 3, 3]);
        assert_eq!(idx(FillMode::Constant), vec![-9, -9, -9, -9, -9, 0, 1, 2, 3, -9, -9, -9, -9, -9]);
        assert_eq!(FillMode::Mirror.fix(-3, 1), Some(0));
        assert_eq!(FillMode::Reflect.fix(-3, 1), Some(0));
    }

    #[test]
    fn identity_and_shift() {
        let img: Vec<f64> = (0..12).map(|i| i as f64).collect(); // 1 x 3 x 4 x 1
        let mut out = vec![0.0; 12];
        let id = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0];
        affine_transform(&img, &id, &mut out, params(1, 3, 4, 1, Interpolation::Bilinear, FillMode::Constant)).unwrap();
        assert_eq!(out, img);
        // x' = x + 0.5: halfway between neighbours, the last column half fill (-1).
        let sh = [1.0, 0.0, 0.5, 0.0, 1.0, 0.0, 0.0, 0.0];
        affine_transform(&img, &sh, &mut out, params(1, 3, 4, 1, Interpolation::Bilinear, FillMode::Constant)).unwrap();
        assert_eq!(&out[..4], &[0.5, 1.5, 2.5, 1.0]);
        affine_transform(&img, &sh, &mut out, params(1, 3, 4, 1, Interpolation::Nearest, FillMode::Constant)).unwrap();
        assert_eq!(&out[..4], &[0.0, 2.0, 2.0, -1.0]); // 0.5 -> 0, 1.5 -> 2, 2.5 -> 2, 3.5 -> 4 (outside)
    }

    #[test]
    fn backward_is_the_adjoint() {
        let p = params(2, 3, 5, 2, Interpolation::Bilinear, FillMode::Reflect);
        let n = 2 * 3 * 5 * 2;
        let x: Vec<f64> = (0..n).map(|i| ((i * 13) % 7) as f64 - 3.0).collect();
        let g: Vec<f64> = (0..n).map(|i| ((i * 5) % 11) as f64 * 0.1).collect();
        let t = [0.9, 0.2, 0.3, -0.1, 1.1, -0.7, 0.01, -0.02, 0.8, -0.3, 1.7, 0.4, 0.95, 0.2, 0.0, 0.0];
        let mut y = vec![0.0; n];
        let mut gx = vec![0.0; n];
        let p0 = AffineParams { fill_value: 0.0, ..p };
        affine_transform(&x, &t, &mut y, p0).unwrap();
        affine_transform_backward(&g, &t, &mut gx, p0).unwrap();
        let lhs: f64 = y.iter().zip(&g).map(|(a, b)| a * b).sum();
        let rhs: f64 = x.iter().zip(&gx).map(|(a, b)| a * b).sum();
        assert!((lhs - rhs).abs() < 1e-9, "{lhs} vs {rhs}");
    }

    #[test]
    fn bad_lengths() {
        let mut out = vec![0.0f32; 4];
        let p = params(1, 2, 2, 1, Interpolation::Nearest, FillMode::Wrap);
        assert!(affine_transform(&[0.0; 4], &[0.0; 7], &mut out, p).is_err());
        assert!(affine_transform(&[0.0; 3], &[0.0; 8], &mut out, p).is_err());
        assert!(Interpolation::from_name("bicubic").is_err());
        assert!(FillMode::from_name("zeros").is_err());
    }
}
