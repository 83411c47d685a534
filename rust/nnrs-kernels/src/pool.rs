//! 2-D pooling of channels-last images `(batch, height, width, channels)`, forward and
//! backward: `max_pool2d_*` and `avg_pool2d_*` (1-D pooling is the same with height 1).
//!
//! Padding is explicit (`pad_top`, `pad_bottom`, `pad_left`, `pad_right`); the caller turns
//! Keras' `"valid"` / `"same"` into numbers. Padded positions take no part: a max pool
//! never picks them (TensorFlow pads with -inf) and an average pool divides by the number of
//! real elements under the window only (TensorFlow's and Keras' `"same"` average). Every
//! padding is smaller than the pool on its axis, so each window holds at least one real
//! element.
//!
//! Max pooling sends the gradient of an output to the first maximum of its window in
//! row-major order (TensorFlow's and PyTorch's choice on ties); a NaN counts as the
//! maximum (it propagates in the forward). The backward recomputes each window's maximum
//! from `x` and routes the gradient to the first element equal to it, instead of having the
//! forward return argmax indices: the forward stays one output with no inference-time cost,
//! and nothing of output size in int64 is kept between the passes (the graph holds `x`
//! already); the rescan costs about what the forward costs.
//!
//! Forwards are parallel over output rows, backwards over images (each image's gradient is
//! written by one thread, so the result does not depend on the thread count).

use crate::elementwise::fmt_shape;
use crate::fastmath::Real;
use crate::parallel::{for_item_chunks, work_ns};
use crate::{multiversion, KernelError};

/// The geometry of one pooling call: input `(batch, h, w, channels)`, the pool, the
/// strides and the explicit padding of each side.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pool2dParams {
    pub batch: usize,
    pub h: usize,
    pub w: usize,
    pub channels: usize,
    pub pool_h: usize,
    pub pool_w: usize,
    pub stride_h: usize,
    pub stride_w: usize,
    pub pad_top: usize,
    pub pad_bottom: usize,
    pub pad_left: usize,
    pub pad_right: usize,
}

impl Pool2dParams {
    /// Params for input shape `[n, h, w, c]`, `pool`, `strides` and `padding` as
    /// `[top, bottom, left, right]`, checked by [`Pool2dParams::validate`].
    pub fn new(kernel: &str, shape: &[usize], pool: [usize; 2], strides: [usize; 2], padding: [usize; 4]) -> Result<Self, KernelError> {
        if shape.len() != 4 {
            return Err(KernelError(format!("{kernel}: x must be 4-D (batch, height, width, channels), got shape {}", fmt_shape(shape))));
        }
        let p = Pool2dParams {
            batch: shape[0],
            h: shape[1],
            w: shape[2],
            channels: shape[3],
            pool_h: pool[0],
            pool_w: pool[1],
            stride_h: strides[0],
            stride_w: strides[1],
            pad_top: padding[0],
            pad_bottom: padding[1],
            pad_left: padding[2],
            pad_right: padding[3],
        };
        p.validate(kernel)?;
        Ok(p)
    }

    /// Checks the geometry; the messages are the contract's (`backend/contract.py`).
    pub fn validate(&self, kernel: &str) -> Result<(), KernelError> {
        let shape = fmt_shape(&self.in_shape());
        if self.pool_h == 0 || self.pool_w == 0 || self.stride_h == 0 || self.stride_w == 0 {
            return Err(KernelError(format!(
                "{kernel}: pool_size and strides must be positive, got pool_size ({}, {}) and strides ({}, {})",
                self.pool_h, self.pool_w, self.stride_h, self.stride_w
            )));
        }
        if self.pad_top >= self.pool_h || self.pad_bottom >= self.pool_h || self.pad_left >= self.pool_w || self.pad_right >= self.pool_w {
            return Err(KernelError(format!(
                "{kernel}: padding ({}, {}, {}, {}) must be smaller than pool_size ({}, {}) on each side",
                self.pad_top, self.pad_bottom, self.pad_left, self.pad_right, self.pool_h, self.pool_w
            )));
        }
        if self.h == 0 || self.w == 0 {
            return Err(KernelError(format!("{kernel}: x must have a non-empty height and width, got shape {shape}")));
        }
        if self.in_shape().iter().try_fold(1usize, |a, &d| a.checked_mul(d)).is_none() {
            return Err(KernelError(format!("{kernel}: x of shape {shape} has more elements than fit in memory")));
        }
        let (ph, pw) = (self.h + self.pad_top + self.pad_bottom, self.w + self.pad_left + self.pad_right);
        if ph < self.pool_h || pw < self.pool_w {
            return Err(KernelError(format!(
                "{kernel}: pool_size ({}, {}) is larger than the padded input ({ph}, {pw}) of x {shape} with padding ({}, {}, {}, {})",
                self.pool_h, self.pool_w, self.pad_top, self.pad_bottom, self.pad_left, self.pad_right
            )));
        }
        Ok(())
    }

    /// Output height.
    pub fn out_h(&self) -> usize {
        (self.h + self.pad_top + self.pad_bottom - self.pool_h) / self.stride_h + 1
    }

    /// Output width.
    pub fn out_w(&self) -> usize {
        (self.w + self.pad_left + self.pad_right - self.pool_w) / self.stride_w + 1
    }

    /// `[batch, h, w, channels]`.
    pub fn in_shape(&self) -> [usize; 4] {
        [self.batch, self.h, self.w, self.channels]
    }

    /// `[batch, out_h, out_w, channels]`.
    pub fn out_shape(&self) -> [usize; 4] {
        [self.batch, self.out_h(), self.out_w(), self.channels]
    }

    fn in_len(&self) -> usize {
        self.in_shape().iter().product()
    }

    fn out_len(&self) -> usize {
        self.out_shape().iter().product()
    }

    /// The input rows `[lo, hi)` under output row `o` (padding left out).
    #[inline(always)]
    fn rows(&self, o: usize) -> (usize, usize) {
        let start = o * self.stride_h;
        (start.saturating_sub(self.pad_top), (start + self.pool_h - self.pad_top).min(self.h))
    }

    /// The input columns `[lo, hi)` under output column `o` (padding left out).
    #[inline(always)]
    fn cols(&self, o: usize) -> (usize, usize) {
        let start = o * self.stride_w;
        (start.saturating_sub(self.pad_left), (start + self.pool_w - self.pad_left).min(self.w))
    }

    /// Rough work of one pass in eighths of a nanosecond (see [`work_ns`]).
    fn work(&self) -> usize {
        work_ns(self.out_len().saturating_mul(self.pool_h * self.pool_w), 8)
    }
}

fn check_len(kernel: &str, arg: &str, got: usize, want: usize) -> Result<(), KernelError> {
    if got != want {
        return Err(KernelError(format!("{kernel}: {arg} has {got} elements, expected {want}")));
    }
    Ok(())
}

/// Whether `v` replaces `m` as the running maximum: larger, or the first NaN.
#[inline(always)]
fn beats<T: Real>(v: T, m: T) -> bool {
    v > m || (v.is_nan() && !m.is_nan())
}

/// A window of an image: input rows `r0..r1`, columns `c0..c1` (padding left out), in an
/// image `w` pixels wide with `c` channels per pixel.
#[derive(Clone, Copy)]
struct Window {
    r0: usize,
    r1: usize,
    c0: usize,
    c1: usize,
    w: usize,
    c: usize,
}

impl Window {
    #[inline(always)]
    fn at(p: &Pool2dParams, o: usize, oc: usize) -> Self {
        let ((r0, r1), (c0, c1)) = (p.rows(o), p.cols(oc));
        Window { r0, r1, c0, c1, w: p.w, c: p.channels }
    }

    #[inline(always)]
    fn count(&self) -> usize {
        (self.r1 - self.r0) * (self.c1 - self.c0)
    }

    /// The element range of pixel `(i, j)`.
    #[inline(always)]
    fn px(&self, i: usize, j: usize) -> std::ops::Range<usize> {
        (i * self.w + j) * self.c..(i * self.w + j + 1) * self.c
    }
}

// The per-window loops run over the channels of one pixel with selects, not branches, so
// they vectorize; the loops over a whole output row or image that call them are compiled
// for AVX2 too ([`multiversion!`]).

/// `m` = the maximum of the window per channel (NaN if any element is NaN).
#[inline(always)]
fn window_max<T: Real>(img: &[T], m: &mut [T], win: Window) {
    m.copy_from_slice(&img[win.px(win.r0, win.c0)]);
    for i in win.r0..win.r1 {
        for j in win.c0..win.c1 {
            for (b, &v) in m.iter_mut().zip(&img[win.px(i, j)]) {
                *b = if beats(v, *b) { v } else { *b };
            }
        }
    }
}

/// Adds `g` to the first element of the window (row-major) equal to `best` (or NaN when
/// `best` is NaN), per channel; `rest` is scratch of one value per channel holding the
/// gradient not yet placed.
#[inline(always)]
fn window_route<T: Real>(img: &[T], best: &[T], g: &[T], rest: &mut [T], gi: &mut [T], win: Window) {
    rest.copy_from_slice(g);
    let zero = T::zero();
    for i in win.r0..win.r1 {
        for j in win.c0..win.c1 {
            let r = win.px(i, j);
            let n = r.len();
            let (gd, xs, bs, left) = (&mut gi[r.clone()], &img[r], &best[..n], &mut rest[..n]);
            for k in 0..n {
                let (v, b) = (xs[k], bs[k]);
                // v == b, or both NaN
                let hit = (v == b) | (v.is_nan() & b.is_nan());
                let l = left[k];
                gd[k] = gd[k] + if hit { l } else { zero };
                left[k] = if hit { zero } else { l };
            }
        }
    }
}

/// `s` = the mean of the window's elements per channel.
#[inline(always)]
fn window_mean<T: Real>(img: &[T], s: &mut [T], win: Window) {
    s.fill(T::zero());
    for i in win.r0..win.r1 {
        for j in win.c0..win.c1 {
            for (a, &v) in s.iter_mut().zip(&img[win.px(i, j)]) {
                *a = *a + v;
            }
        }
    }
    let inv = T::one() / T::of_f64(win.count() as f64);
    for a in s.iter_mut() {
        *a = *a * inv;
    }
}

/// Adds `g / count` to every element of the window.
#[inline(always)]
fn window_share<T: Real>(g: &[T], share: &mut [T], gi: &mut [T], win: Window) {
    let inv = T::one() / T::of_f64(win.count() as f64);
    for (s, &v) in share.iter_mut().zip(g) {
        *s = v * inv;
    }
    for i in win.r0..win.r1 {
        for j in win.c0..win.c1 {
            for (d, &s) in gi[win.px(i, j)].iter_mut().zip(&*share) {
                *d = *d + s;
            }
        }
    }
}

/// Runs `f(image, output_row, y_row)` for every output row (`out_w * channels` elements),
/// in parallel over rows.
fn per_out_row<T: Real>(y: &mut [T], p: &Pool2dParams, f: impl Fn(usize, usize, &mut [T]) + Sync + Send) {
    let (oh, row) = (p.out_h(), p.out_w() * p.channels);
    for_item_chunks(y, row, p.work(), |first, chunk| {
        for (k, yr) in chunk.chunks_exact_mut(row).enumerate() {
            f((first + k) / oh, (first + k) % oh, yr);
        }
    })
}

multiversion! {
    /// Output row `o` of the max pooling of one image.
    fn max_row<T: Real>(img: &[T], yr: &mut [T], p: &Pool2dParams, o: usize) {
        for (oc, out) in yr.chunks_exact_mut(p.channels).enumerate() {
            window_max(img, out, Window::at(p, o, oc));
        }
    }
}

multiversion! {
    /// Output row `o` of the average pooling of one image.
    fn mean_row<T: Real>(img: &[T], yr: &mut [T], p: &Pool2dParams, o: usize) {
        for (oc, out) in yr.chunks_exact_mut(p.channels).enumerate() {
            window_mean(img, out, Window::at(p, o, oc));
        }
    }
}

multiversion! {
    /// The max pooling gradient `gi` of one image `xi` from its output gradient `gyi`.
    fn max_grad_image<T: Real>(xi: &[T], gyi: &[T], gi: &mut [T], p: &Pool2dParams) {
        let c = p.channels;
        let (mut best, mut rest) = (vec![T::zero(); c], vec![T::zero(); c]);
        for (k, g) in gyi.chunks_exact(c).enumerate() {
            let win = Window::at(p, k / p.out_w(), k % p.out_w());
            window_max(xi, &mut best, win);
            window_route(xi, &best, g, &mut rest, gi, win);
        }
    }
}

multiversion! {
    /// The average pooling gradient `gi` of one image from its output gradient `gyi`.
    fn mean_grad_image<T: Real>(gyi: &[T], gi: &mut [T], p: &Pool2dParams) {
        let mut share = vec![T::zero(); p.channels];
        for (k, g) in gyi.chunks_exact(p.channels).enumerate() {
            window_share(g, &mut share, gi, Window::at(p, k / p.out_w(), k % p.out_w()));
        }
    }
}

/// Whether the pooling is 2x2 with stride 2 and no padding (the common CNN downsampling):
/// the windows do not overlap and each output row reads two whole input rows, which the
/// `*_2x2` kernels below use.
fn is_2x2(p: &Pool2dParams) -> bool {
    (p.pool_h, p.pool_w, p.stride_h, p.stride_w) == (2, 2, 2, 2) && (p.pad_top, p.pad_bottom, p.pad_left, p.pad_right) == (0, 0, 0, 0)
}

/// `v == m`, or both NaN.
#[inline(always)]
fn same<T: Real>(v: T, m: T) -> bool {
    (v == m) | (v.is_nan() & m.is_nan())
}

/// The maximum of `a, b, c, d` in that order (the first NaN wins).
#[inline(always)]
fn max4<T: Real>(a: T, b: T, c: T, d: T) -> T {
    let m = if beats(b, a) { b } else { a };
    let m = if beats(c, m) { c } else { m };
    if beats(d, m) {
        d
    } else {
        m
    }
}

multiversion! {
    /// Output row `o` of a 2x2 stride-2 max pooling of one image (see [`is_2x2`]).
    fn max_row_2x2<T: Real>(img: &[T], yr: &mut [T], p: &Pool2dParams, o: usize) {
        let (c, row) = (p.channels, p.w * p.channels);
        let (top, bottom) = img[2 * o * row..(2 * o + 2) * row].split_at(row);
        for (oc, out) in yr.chunks_exact_mut(c).enumerate() {
            let (t, b) = (&top[2 * oc * c..(2 * oc + 2) * c], &bottom[2 * oc * c..(2 * oc + 2) * c]);
            let (t0, t1) = t.split_at(c);
            let (b0, b1) = b.split_at(c);
            for k in 0..c {
                out[k] = max4(t0[k], t1[k], b0[k], b1[k]);
            }
        }
    }
}

multiversion! {
    /// The gradient `gi` of one image of a 2x2 stride-2 max pooling (see [`is_2x2`]): each
    /// output's gradient written to the first maximum of its window, zeros elsewhere
    /// (including a last odd row or column, which no window reads).
    fn max_grad_image_2x2<T: Real>(xi: &[T], gyi: &[T], gi: &mut [T], p: &Pool2dParams) {
        let (c, row, ow) = (p.channels, p.w * p.channels, p.out_w());
        let zero = T::zero();
        for (o, gyr) in gyi.chunks_exact(ow * c).enumerate() {
            let (top, bottom) = xi[2 * o * row..(2 * o + 2) * row].split_at(row);
            let (gtop, gbottom) = gi[2 * o * row..(2 * o + 2) * row].split_at_mut(row);
            for (oc, g) in gyr.chunks_exact(c).enumerate() {
                let r = 2 * oc * c..(2 * oc + 2) * c;
                let ((t0, t1), (b0, b1)) = (top[r.clone()].split_at(c), bottom[r.clone()].split_at(c));
                let (gt0, gt1) = gtop[r.clone()].split_at_mut(c);
                let (gb0, gb1) = gbottom[r].split_at_mut(c);
                for k in 0..c {
                    let (a, b, cc, d) = (t0[k], t1[k], b0[k], b1[k]);
                    let m = max4(a, b, cc, d);
                    let (ha, hb, hc) = (same(a, m), same(b, m), same(cc, m));
                    let gk = g[k];
                    gt0[k] = if ha { gk } else { zero };
                    gt1[k] = if hb & !ha { gk } else { zero };
                    gb0[k] = if hc & !(ha | hb) { gk } else { zero };
                    gb1[k] = if ha | hb | hc { zero } else { gk };
                }
            }
            if p.w % 2 == 1 {
                gtop[row - c..].fill(zero);
                gbottom[row - c..].fill(zero);
            }
        }
        if p.h % 2 == 1 {
            gi[(p.h - 1) * row..].fill(zero);
        }
    }
}

/// Runs `f(image, gx_image)` for every image of the batch (`h * w * channels` elements), in
/// parallel over images (each image's gradient is written by one thread).
fn per_image<T: Real>(gx: &mut [T], p: &Pool2dParams, f: impl Fn(usize, &mut [T]) + Sync + Send) {
    let img = p.h * p.w * p.channels;
    for_item_chunks(gx, img, p.work(), |first, chunk| {
        for (i, gi) in chunk.chunks_exact_mut(img).enumerate() {
            gi.fill(T::zero());
            f(first + i, gi);
        }
    })
}

/// `y` = the maximum of every window of `x` (shapes `p.in_shape()` and `p.out_shape()`).
pub fn max_pool2d_forward<T: Real>(x: &[T], y: &mut [T], p: &Pool2dParams) -> Result<(), KernelError> {
    const K: &str = "max_pool2d_forward";
    p.validate(K)?;
    check_len(K, "x", x.len(), p.in_len())?;
    check_len(K, "y", y.len(), p.out_len())?;
    if p.channels == 0 {
        return Ok(());
    }
    let img = p.h * p.w * p.channels;
    if is_2x2(p) {
        per_out_row(y, p, |n, o, yr| max_row_2x2(&x[n * img..(n + 1) * img], yr, p, o));
    } else {
        per_out_row(y, p, |n, o, yr| max_row(&x[n * img..(n + 1) * img], yr, p, o));
    }
    Ok(())
}

/// `gx` = the gradient wrt `x` of [`max_pool2d_forward`] given `gy`: each output's gradient
/// goes to the first maximum of its window (recomputed from `x`).
pub fn max_pool2d_backward<T: Real>(x: &[T], gy: &[T], gx: &mut [T], p: &Pool2dParams) -> Result<(), KernelError> {
    const K: &str = "max_pool2d_backward";
    p.validate(K)?;
    check_len(K, "x", x.len(), p.in_len())?;
    check_len(K, "gy", gy.len(), p.out_len())?;
    check_len(K, "gx", gx.len(), p.in_len())?;
    let (c, oh, ow) = (p.channels, p.out_h(), p.out_w());
    if c == 0 {
        return Ok(());
    }
    let (img, out) = (p.h * p.w * c, oh * ow * c);
    if is_2x2(p) {
        // every element of gx is written, so no zero fill first
        for_item_chunks(gx, img, p.work(), |first, chunk| {
            for (i, gi) in chunk.chunks_exact_mut(img).enumerate() {
                let n = first + i;
                max_grad_image_2x2(&x[n * img..(n + 1) * img], &gy[n * out..(n + 1) * out], gi, p);
            }
        });
        return Ok(());
    }
    per_image(gx, p, |n, gi| max_grad_image(&x[n * img..(n + 1) * img], &gy[n * out..(n + 1) * out], gi, p));
    Ok(())
}

/// `y` = the mean of the real (non-padded) elements of every window of `x`.
pub fn avg_pool2d_forward<T: Real>(x: &[T], y: &mut [T], p: &Pool2dParams) -> Result<(), KernelError> {
    const K: &str = "avg_pool2d_forward";
    p.validate(K)?;
    check_len(K, "x", x.len(), p.in_len())?;
    check_len(K, "y", y.len(), p.out_len())?;
    if p.channels == 0 {
        return Ok(());
    }
    let img = p.h * p.w * p.channels;
    per_out_row(y, p, |n, o, yr| mean_row(&x[n * img..(n + 1) * img], yr, p, o));
    Ok(())
}

/// `gx` (shape `p.in_shape()`) = the gradient wrt x of [`avg_pool2d_forward`] given `gy`:
/// each output's gradient shared equally by the real elements of its window.
pub fn avg_pool2d_backward<T: Real>(gy: &[T], gx: &mut [T], p: &Pool2dParams) -> Result<(), KernelError> {
    const K: &str = "avg_pool2d_backward";
    p.validate(K)?;
    check_len(K, "gy", gy.len(), p.out_len())?;
    check_len(K, "gx", gx.len(), p.in_len())?;
    let (c, oh, ow) = (p.channels, p.out_h(), p.out_w());
    if c == 0 {
        return Ok(());
    }
    let out = oh * ow * c;
    per_image(gx, p, |n, gi| mean_grad_image(&gy[n * out..(n + 1) * out], gi, p));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(shape: [usize; 4], pool: [usize; 2], strides: [usize; 2], padding: [usize; 4]) -> Pool2dParams {
        Pool2dParams::new("test", &shape, pool, strides, padding).unwrap()
    }

    #[test]
    fn max_and_avg_of_a_4x4_image() {
        let x: Vec<f64> = (0..16).map(|v| v as f64).collect();
        let p = params([1, 4, 4, 1], [2, 2], [2, 2], [0, 0, 0, 0]);
        let mut y = vec![0.0; 4];
        max_pool2d_forward(&x, &mut y, &p).unwrap();
        assert_eq!(y, [5.0, 7.0, 13.0, 15.0]);
        avg_pool2d_forward(&x, &mut y, &p).unwrap();
        assert_eq!(y, [2.5, 4.5, 10.5, 12.5]);
        let mut gx = vec![9.0; 16];
        max_pool2d_backward(&x, &[1.0, 2.0, 3.0, 4.0], &mut gx, &p).unwrap();
        let mut want = vec![0.0; 16];
        for (i, g) in [(5, 1.0), (7, 2.0), (13, 3.0), (15, 4.0)] {
            want[i] = g;
        }
        assert_eq!(gx, want);
    }

    #[test]
    fn same_padding_averages_only_real_elements() {
        // 3x3 image, pool 2, stride 2, "same": padding bottom/right 1.
        let x: Vec<f32> = (1..=9).map(|v| v as f32).collect();
        let p = params([1, 3, 3, 1], [2, 2], [2, 2], [0, 1, 0, 1]);
        assert_eq!(p.out_shape(), [1, 2, 2, 1]);
        let mut y = vec![0.0f32; 4];
        avg_pool2d_forward(&x, &mut y, &p).unwrap();
        assert_eq!(y, [3.0, 4.5, 7.5, 9.0]);
        let mut gx = vec![0.0f32; 9];
        avg_pool2d_backward(&[4.0, 2.0, 2.0, 1.0], &mut gx, &p).unwrap();
        assert_eq!(gx, [1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0]);
    }

    #[test]
    fn ties_go_to_the_first_maximum_and_nan_propagates() {
        let x = [1.0f64, 1.0, 1.0, 1.0];
        let p = params([1, 2, 2, 1], [2, 2], [1, 1], [0, 0, 0, 0]);
        let mut gx = vec![0.0; 4];
        max_pool2d_backward(&x, &[1.0], &mut gx, &p).unwrap();
        assert_eq!(gx, [1.0, 0.0, 0.0, 0.0]);
        let x = [1.0f64, f64::NAN, 3.0, 0.0];
        let mut y = [0.0];
        max_pool2d_forward(&x, &mut y, &p).unwrap();
        assert!(y[0].is_nan());
        max_pool2d_backward(&x, &[1.0], &mut gx, &p).unwrap();
        assert_eq!(gx, [0.0, 1.0, 0.0, 0.0]);
    }

    #[test]
    fn bad_geometry_is_an_error() {
        let err = |shape: [usize; 4], pool, strides, padding| Pool2dParams::new("k", &shape, pool, strides, padding).unwrap_err().0;
        assert!(err([1, 2, 2, 1], [3, 3], [1, 1], [0, 0, 0, 0]).contains("larger than the padded input"));
        assert!(err([1, 2, 2, 1], [2, 2], [1, 1], [2, 0, 0, 0]).contains("smaller than pool_size"));
        assert!(err([1, 2, 2, 1], [2, 2], [0, 1], [0, 0, 0, 0]).contains("positive"));
        assert!(err([1, 0, 2, 1], [1, 1], [1, 1], [0, 0, 0, 0]).contains("non-empty"));
        assert!(Pool2dParams::new("k", &[2, 2, 1], [1, 1], [1, 1], [0; 4]).unwrap_err().0.contains("4-D"));
        assert!(err([1 << 40, 1 << 30, 1, 1], [1, 1], [1, 1], [0, 0, 0, 0]).contains("more elements"));
        let p = params([1, 2, 2, 1], [2, 2], [1, 1], [0, 0, 0, 0]);
        assert!(max_pool2d_forward(&[0.0f32; 3], &mut [0.0], &p).is_err());
    }
}
