//! Activation functions, forward and backward: elementwise ones over the whole slice,
//! `softmax` / `log_softmax` over rows of the last axis (numerically stable: the row
//! maximum is subtracted first). `gelu` is the exact erf form.

use crate::fastmath::{sigmoid, softplus, Real};
use crate::parallel::{for_item_chunks, par_map, par_map3, par_rows, par_rows3, work_ns};
use crate::{multiversion, KernelError};

pub const SELU_ALPHA: f64 = 1.673_263_242_354_377_284_817_042_991_671_7;
pub const SELU_SCALE: f64 = 1.050_700_987_355_480_493_419_334_985_294_6;

/// The activations of the kernel contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Activation {
    Linear,
    Sigmoid,
    Tanh,
    Relu,
    LeakyRelu,
    Elu,
    Selu,
    Gelu,
    Swish,
    Softplus,
    Softmax,
    LogSoftmax,
}

impl Activation {
    /// Every activation name, in the contract's order.
    pub const NAMES: [&'static str; 12] =
        ["linear", "sigmoid", "tanh", "relu", "leaky_relu", "elu", "selu", "gelu", "swish", "softplus", "softmax", "log_softmax"];
    const ALL: [Activation; 12] = [
        Activation::Linear,
        Activation::Sigmoid,
        Activation::Tanh,
        Activation::Relu,
        Activation::LeakyRelu,
        Activation::Elu,
        Activation::Selu,
        Activation::Gelu,
        Activation::Swish,
        Activation::Softplus,
        Activation::Softmax,
        Activation::LogSoftmax,
    ];

    /// The activation called `name`, or an error listing the accepted names.
    pub fn from_name(name: &str) -> Result<Self, KernelError> {
        Self::NAMES
            .iter()
            .position(|&n| n == name)
            .map(|i| Self::ALL[i])
            .ok_or_else(|| KernelError(format!("unknown activation '{name}'; accepted: {}", Self::NAMES.join(", "))))
    }

    /// Its contract name.
    pub fn name(self) -> &'static str {
        Self::NAMES[Self::ALL.iter().position(|&a| a == self).unwrap_or(0)]
    }

    /// Whether it works on rows of the last axis (softmax, log_softmax) rather than elementwise.
    pub fn is_rowwise(self) -> bool {
        matches!(self, Activation::Softmax | Activation::LogSoftmax)
    }
}

/// What an activation call computes: which function, its `alpha` (leaky_relu's slope,
/// elu's alpha) and the length of the last axis (the rows of softmax / log_softmax).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ActivationParams {
    pub act: Activation,
    pub alpha: f64,
    pub row: usize,
}

impl ActivationParams {
    /// Checks that every slice has the first one's length, in whole rows for softmax.
    pub fn check(&self, lens: &[(&str, usize)]) -> Result<(), KernelError> {
        let n = lens[0].1;
        for &(arg, len) in lens {
            if len != n {
                return Err(KernelError(format!("{arg} has {len} elements, expected {n}")));
            }
        }
        if self.act.is_rowwise() && !n.is_multiple_of(self.row) {
            return Err(KernelError(format!("{n} elements are not whole rows of {}", self.row)));
        }
        Ok(())
    }
}

/// Largest element of a slice (NaN-propagating like numpy's max is not needed here:
/// a NaN row gives NaN outputs through the subtraction anyway).
#[inline(always)]
pub(crate) fn row_max<T: Real>(r: &[T]) -> T {
    let mut acc = [T::neg_infinity(); 8];
    let mut it = r.chunks_exact(8);
    for c in &mut it {
        for (a, &v) in acc.iter_mut().zip(c) {
            *a = if v > *a { v } else { *a };
        }
    }
    let mut m = it.remainder().iter().fold(T::neg_infinity(), |m, &v| if v > m { v } else { m });
    for a in acc {
        m = if a > m { a } else { m };
    }
    m
}

/// Sum of `f(a[i], b[i])` in T with 8 partial sums (so it vectorizes).
#[inline(always)]
pub(crate) fn row_sum2<T: Real>(a: &[T], b: &[T], f: impl Fn(T, T) -> T) -> T {
    let mut acc = [T::zero(); 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for i in 0..8 {
            acc[i] = acc[i] + f(x[i], y[i]);
        }
    }
    let mut s = T::zero();
    for (&x, &y) in ra.iter().zip(rb) {
        s = s + f(x, y);
    }
    ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7])) + s
}

/// `y[j] = exp(x[j] - max)` for one row; returns the row sum of y.
#[inline(always)]
pub(crate) fn exp_shifted_row<T: Real>(x: &[T], y: &mut [T]) -> (T, T) {
    let m = row_max(x);
    for (o, &v) in y.iter_mut().zip(x) {
        *o = (v - m).vexp();
    }
    (m, row_sum2(y, y, |a, _| a))
}

multiversion! {
    /// softmax (log_softmax with `log`) of each row of length `row` of `x`, into `y`.
    fn softmax_rows<T: Real>(x: &[T], y: &mut [T], row: usize, log: bool) {
        for (xr, yr) in x.chunks_exact(row).zip(y.chunks_exact_mut(row)) {
            let (m, s) = exp_shifted_row(xr, yr);
            if log {
                let lse = s.ln();
                for (o, &v) in yr.iter_mut().zip(xr) {
                    *o = (v - m) - lse;
                }
            } else {
                for o in yr.iter_mut() {
                    *o = *o / s;
                }
            }
        }
    }
}

multiversion! {
    /// Gradient wrt x of softmax (log_softmax with `log`) over rows of length `row`, from
    /// gy and the forward's output y: `y (gy - sum(gy y))`, or `gy - exp(y) sum(gy)`.
    fn softmax_grad_rows<T: Real>(gy: &[T], y: &[T], gx: &mut [T], row: usize, log: bool) {
        for ((gr, yr), or) in gy.chunks_exact(row).zip(y.chunks_exact(row)).zip(gx.chunks_exact_mut(row)) {
            if log {
                let sg = row_sum2(gr, gr, |g, _| g);
                for ((o, &g), &l) in or.iter_mut().zip(gr).zip(yr) {
                    *o = g - l.vexp() * sg;
                }
            } else {
                let dot = row_sum2(gr, yr, |g, s| g * s);
                for ((o, &g), &s) in or.iter_mut().zip(gr).zip(yr) {
                    *o = s * (g - dot);
                }
            }
        }
    }
}

/// `y = f(x)` for the activation of `p`; x and y have the same length.
pub fn activation_forward<T: Real>(x: &[T], y: &mut [T], p: ActivationParams) -> Result<(), KernelError> {
    p.check(&[("x", x.len()), ("y", y.len())])?;
    if x.is_empty() {
        return Ok(());
    }
    let zero = T::zero();
    let alpha = T::of_f64(p.alpha);
    match p.act {
        Activation::Linear => y.copy_from_slice(x),
        Activation::Sigmoid => par_map(x, y, 8, sigmoid),
        Activation::Tanh => par_map(
            x,
            y,
            8,
            #[inline(always)]
            |v: T| v.vtanh(),
        ),
        Activation::Relu => par_map(
            x,
            y,
            1,
            #[inline(always)]
            move |v: T| if v < zero { zero } else { v },
        ),
        Activation::LeakyRelu => par_map(
            x,
            y,
            1,
            #[inline(always)]
            move |v: T| if v > zero { v } else { v * alpha },
        ),
        Activation::Elu => par_map(
            x,
            y,
            8,
            #[inline(always)]
            move |v: T| {
                // both sides computed, then selected: a branch-free loop vectorizes
                let e = alpha * v.vexpm1();
                if v > zero {
                    v
                } else {
                    e
                }
            },
        ),
        Activation::Selu => {
            let (sa, sc) = (T::of_f64(SELU_ALPHA), T::of_f64(SELU_SCALE));
            par_map(
                x,
                y,
                8,
                #[inline(always)]
                move |v: T| {
                    let e = sa * v.vexpm1();
                    sc * if v > zero { v } else { e }
                },
            )
        }
        Activation::Gelu => par_map(
            x,
            y,
            24,
            #[inline(always)]
            |v: T| v.gelu(),
        ),
        Activation::Swish => par_map(
            x,
            y,
            8,
            #[inline(always)]
            |v: T| v * sigmoid(v),
        ),
        Activation::Softplus => par_map(x, y, 12, softplus),
        Activation::Softmax => par_rows(x, y, p.row, 8, |xc, yc| softmax_rows(xc, yc, p.row, false)),
        Activation::LogSoftmax => par_rows(x, y, p.row, 8, |xc, yc| softmax_rows(xc, yc, p.row, true)),
    }
    Ok(())
}

/// `gx`, the gradient wrt x, from `gy`, the input `x` and the output `y` of the forward.
pub fn activation_backward<T: Real>(gy: &[T], x: &[T], y: &[T], gx: &mut [T], p: ActivationParams) -> Result<(), KernelError> {
    p.check(&[("gy", gy.len()), ("x", x.len()), ("y", y.len()), ("gx", gx.len())])?;
    if x.is_empty() {
        return Ok(());
    }
    let (zero, one) = (T::zero(), T::one());
    let alpha = T::of_f64(p.alpha);
    match p.act {
        Activation::Linear => gx.copy_from_slice(gy),
        Activation::Sigmoid => par_map3(
            gy,
            x,
            y,
            gx,
            1,
            #[inline(always)]
            move |g: T, _, s: T| g * s * (one - s),
        ),
        Activation::Tanh => par_map3(
            gy,
            x,
            y,
            gx,
            1,
            #[inline(always)]
            move |g: T, _, t: T| g * (one - t * t),
        ),
        Activation::Relu => par_map3(
            gy,
            x,
            y,
            gx,
            1,
            #[inline(always)]
            move |g: T, v: T, _| if v > zero { g } else { zero },
        ),
        Activation::LeakyRelu => par_map3(
            gy,
            x,
            y,
            gx,
            1,
            #[inline(always)]
            move |g: T, v: T, _| if v > zero { g } else { g * alpha },
        ),
        Activation::Elu => par_map3(
            gy,
            x,
            y,
            gx,
            1,
            #[inline(always)]
            move |g: T, v: T, o: T| if v > zero { g } else { g * (o + alpha) },
        ),
        Activation::Selu => {
            let (sc, sa) = (T::of_f64(SELU_SCALE), T::of_f64(SELU_SCALE * SELU_ALPHA));
            par_map3(
                gy,
                x,
                y,
                gx,
                1,
                #[inline(always)]
                move |g: T, v: T, o: T| if v > zero { g * sc } else { g * (o + sa) },
            )
        }
        Activation::Gelu => par_map3(
            gy,
            x,
            y,
            gx,
            24,
            #[inline(always)]
            |g: T, v: T, _| g * v.gelu_grad(),
        ),
        Activation::Swish => par_map3(
            gy,
            x,
            y,
            gx,
            8,
            #[inline(always)]
            move |g: T, v: T, _| {
                let s = sigmoid(v);
                g * (s + v * s * (one - s))
            },
        ),
        Activation::Softplus => par_map3(
            gy,
            x,
            y,
            gx,
            8,
            #[inline(always)]
            |g: T, v: T, _| g * sigmoid(v),
        ),
        Activation::Softmax => par_rows3(gy, x, y, gx, p.row, 2, |gc, _, yc, oc| softmax_grad_rows(gc, yc, oc, p.row, false)),
        Activation::LogSoftmax => par_rows3(gy, x, y, gx, p.row, 8, |gc, _, yc, oc| softmax_grad_rows(gc, yc, oc, p.row, true)),
    }
    Ok(())
}

// ---- softmax / log_softmax along any axis -----------------------------------------------------

/// softmax / log_softmax along one axis of an array seen as (outer, n, inner): `n` the
/// length of the axis, `inner` the elements after it (the stride of the axis).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SoftmaxParams {
    pub outer: usize,
    pub n: usize,
    pub inner: usize,
    /// log_softmax instead of softmax.
    pub log: bool,
}

impl SoftmaxParams {
    /// The params for `shape` and `axis` (negative counts from the end); an error naming
    /// `kernel` when the axis is out of range (a 0-d array has no axis).
    pub fn new(kernel: &str, shape: &[usize], axis: i64, log: bool) -> Result<Self, KernelError> {
        let nd = shape.len() as i64;
        if axis < -nd || axis >= nd {
            return Err(KernelError(format!(
                "{kernel}: axis {axis} is out of range for shape {} (ndim {nd})",
                crate::elementwise::fmt_shape(shape)
            )));
        }
        let d = if axis < 0 { axis + nd } else { axis } as usize;
        Ok(Self { outer: shape[..d].iter().product(), n: shape[d], inner: shape[d + 1..].iter().product(), log })
    }

    fn len(&self) -> usize {
        self.outer * self.n * self.inner
    }

    fn check(&self, kernel: &str, lens: &[(&str, usize)]) -> Result<(), KernelError> {
        for &(what, got) in lens {
            if got != self.len() {
                return Err(KernelError(format!("{kernel}: {what} has {got} elements, expected {}", self.len())));
            }
        }
        Ok(())
    }
}

multiversion! {
    /// One (n, inner) slab, softmax down its columns: the rows of `inner` elements are
    /// walked in order (contiguous, so the column loops vectorize); `m` and `s` hold the
    /// column maxima and sums.
    fn softmax_slab<T: Real>(x: &[T], y: &mut [T], inner: usize, log: bool, m: &mut [T], s: &mut [T]) {
        m.copy_from_slice(&x[..inner]);
        for xr in x.chunks_exact(inner).skip(1) {
            for (a, &v) in m.iter_mut().zip(xr) {
                *a = if v > *a { v } else { *a };
            }
        }
        s.fill(T::zero());
        for (xr, yr) in x.chunks_exact(inner).zip(y.chunks_exact_mut(inner)) {
            for (((o, &v), &c), t) in yr.iter_mut().zip(xr).zip(m.iter()).zip(s.iter_mut()) {
                *o = (v - c).vexp();
                *t = *t + *o;
            }
        }
        if log {
            for t in s.iter_mut() {
                *t = t.ln();
            }
            for (xr, yr) in x.chunks_exact(inner).zip(y.chunks_exact_mut(inner)) {
                for (((o, &v), &c), &l) in yr.iter_mut().zip(xr).zip(m.iter()).zip(s.iter()) {
                    *o = (v - c) - l;
                }
            }
        } else {
            for yr in y.chunks_exact_mut(inner) {
                for (o, &t) in yr.iter_mut().zip(s.iter()) {
                    *o = *o / t;
                }
            }
        }
    }
}

multiversion! {
    /// One (n, inner) slab of the gradient, down its columns; `acc` holds the column
    /// sums of gy y (softmax) or of gy (log_softmax).
    fn softmax_grad_slab<T: Real>(gy: &[T], y: &[T], gx: &mut [T], inner: usize, log: bool, acc: &mut [T]) {
        acc.fill(T::zero());
        for (gr, yr) in gy.chunks_exact(inner).zip(y.chunks_exact(inner)) {
            for ((a, &g), &v) in acc.iter_mut().zip(gr).zip(yr) {
                *a = *a + if log { g } else { g * v };
            }
        }
        for ((gr, yr), or) in gy.chunks_exact(inner).zip(y.chunks_exact(inner)).zip(gx.chunks_exact_mut(inner)) {
            for (((o, &g), &v), &a) in or.iter_mut().zip(gr).zip(yr).zip(acc.iter()) {
                *o = if log { g - v.vexp() * a } else { v * (g - a) };
            }
        }
    }
}

/// `y` = softmax (log_softmax with `p.log`) of `x` along the axis of `p`, numerically
/// stable (the maximum along the axis is subtracted first). The last axis (inner == 1)
/// walks contiguous rows; any other axis walks (n, inner) slabs row after row, without
/// transposing. Split over rows / slabs on the pool when large.
pub fn softmax_forward<T: Real>(x: &[T], y: &mut [T], p: SoftmaxParams) -> Result<(), KernelError> {
    p.check("softmax_forward", &[("x", x.len()), ("y", y.len())])?;
    if y.is_empty() {
        return Ok(());
    }
    let slab = p.n * p.inner;
    if p.inner == 1 {
        par_rows(x, y, p.n, 8, |xc, yc| softmax_rows(xc, yc, p.n, p.log));
    } else {
        for_item_chunks(y, slab, work_ns(x.len(), 10), |first, yc| {
            let (mut m, mut s) = (vec![T::zero(); p.inner], vec![T::zero(); p.inner]);
            let xc = &x[first * slab..first * slab + yc.len()];
            for (xs, ys) in xc.chunks_exact(slab).zip(yc.chunks_exact_mut(slab)) {
                softmax_slab(xs, ys, p.inner, p.log, &mut m, &mut s);
            }
        });
    }
    Ok(())
}

/// `gx`, the gradient wrt x of [`softmax_forward`] given `gy` and its output `y`:
/// `y (gy - sum(gy y))` for softmax, `gy - exp(y) sum(gy)` for log_softmax, sums along
/// the axis of `p`.
pub fn softmax_backward<T: Real>(gy: &[T], y: &[T], gx: &mut [T], p: SoftmaxParams) -> Result<(), KernelError> {
    p.check("softmax_backward", &[("gy", gy.len()), ("y", y.len()), ("gx", gx.len())])?;
    if gx.is_empty() {
        return Ok(());
    }
    let slab = p.n * p.inner;
    if p.inner == 1 {
        par_rows3(gy, y, y, gx, p.n, if p.log { 8 } else { 2 }, |gc, yc, _, oc| softmax_grad_rows(gc, yc, oc, p.n, p.log));
    } else {
        for_item_chunks(gx, slab, work_ns(gx.len(), if p.log { 10 } else { 4 }), |first, oc| {
            let mut acc = vec![T::zero(); p.inner];
            let r = first * slab..first * slab + oc.len();
            let (gc, yc) = (&gy[r.clone()], &y[r]);
            for ((gs, ys), os) in gc.chunks_exact(slab).zip(yc.chunks_exact(slab)).zip(oc.chunks_exact_mut(slab)) {
                softmax_grad_slab(gs, ys, os, p.inner, p.log, &mut acc);
            }
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(act: Activation, row: usize) -> ActivationParams {
        ActivationParams { act, alpha: 0.3, row }
    }

    fn xs() -> Vec<f64> {
        (0..60).map(|i| (i as f64 - 30.0) * 0.37 + 0.01).collect()
    }

    fn forward64(act: Activation, x: &[f64], row: usize) -> Vec<f64> {
        let mut y = vec![0.0; x.len()];
        activation_forward(x, &mut y, params(act, row)).unwrap();
        y
    }

    /// softmax along the middle axis of (outer, n, inner) by gathering each line.
    fn naive_axis(x: &[f64], gy: &[f64], (outer, n, inner): (usize, usize, usize), log: bool) -> (Vec<f64>, Vec<f64>) {
        let (mut y, mut gx) = (vec![0.0; x.len()], vec![0.0; x.len()]);
        for o in 0..outer {
            for i in 0..inner {
                let at = |r: usize| (o * n + r) * inner + i;
                let m = (0..n).map(|r| x[at(r)]).fold(f64::NEG_INFINITY, f64::max);
                let s: f64 = (0..n).map(|r| (x[at(r)] - m).exp()).sum();
                let sg: f64 = (0..n).map(|r| gy[at(r)]).sum();
                let dot: f64 = (0..n).map(|r| gy[at(r)] * (x[at(r)] - m).exp() / s).sum();
                for r in 0..n {
                    let sm = (x[at(r)] - m).exp() / s;
                    y[at(r)] = if log { x[at(r)] - m - s.ln() } else { sm };
                    gx[at(r)] = if log { gy[at(r)] - sm * sg } else { sm * (gy[at(r)] - dot) };
                }
            }
        }
        (y, gx)
    }

    #[test]
    fn softmax_along_any_axis_matches_definition() {
        let shapes: &[&[usize]] = &[&[4, 5, 6], &[7], &[3, 1, 2], &[2, 300, 70], &[1000, 40]];
        for &shape in shapes {
            let len: usize = shape.iter().product();
            let x: Vec<f64> = (0..len).map(|i| ((i * 7919) % 1013) as f64 / 50.0 - 10.0).collect();
            let gy: Vec<f64> = (0..len).map(|i| ((i * 31) % 17) as f64 / 8.0 - 1.0).collect();
            for axis in -(shape.len() as i64)..shape.len() as i64 {
                for log in [false, true] {
                    let p = SoftmaxParams::new("softmax_forward", shape, axis, log).unwrap();
                    let (wy, wg) = naive_axis(&x, &gy, (p.outer, p.n, p.inner), log);
                    let (mut y, mut gx) = (vec![0.0; len], vec![0.0; len]);
                    softmax_forward(&x, &mut y, p).unwrap();
                    softmax_backward(&gy, &y, &mut gx, p).unwrap();
                    for (got, want) in y.iter().zip(&wy).chain(gx.iter().zip(&wg)) {
                        assert!((got - want).abs() <= 1e-12 * want.abs().max(1.0), "{shape:?} {axis} {log}: {got} vs {want}");
                    }
                }
            }
        }
    }

    #[test]
    fn softmax_params_errors_and_empty() {
        let e = SoftmaxParams::new("softmax_forward", &[2, 3], 2, false).unwrap_err().0;
        assert_eq!(e, "softmax_forward: axis 2 is out of range for shape (2, 3) (ndim 2)");
        assert!(SoftmaxParams::new("softmax_forward", &[], -1, false).is_err());
        let p = SoftmaxParams::new("softmax_forward", &[3, 0, 2], 1, false).unwrap();
        softmax_forward::<f32>(&[], &mut [], p).unwrap();
        assert!(softmax_forward(&[0.0f32; 5], &mut [0.0; 5], SoftmaxParams::new("k", &[2, 3], 0, false).unwrap()).is_err());
    }

    #[test]
    fn names_round_trip_and_unknown_lists_them() {
        for n in Activation::NAMES {
            assert_eq!(Activation::from_name(n).unwrap().name(), n);
        }
        let e = Activation::from_name("nope").unwrap_err().0;
        assert!(e.contains("nope") && e.contains("log_softmax") && e.contains("gelu"), "{e}");
    }

    #[test]
    fn forward_matches_scalar_formulas() {
        let x = xs();
        let erf = |v: f64| 1.0 - libm::erfc(v);
        type Formula = Box<dyn Fn(f64) -> f64>;
        let cases: Vec<(Activation, Formula)> = vec![
            (Activation::Sigmoid, Box::new(|v| 1.0 / (1.0 + (-v).exp()))),
            (Activation::Tanh, Box::new(|v: f64| v.tanh())),
            (Activation::Relu, Box::new(|v: f64| v.max(0.0))),
            (Activation::LeakyRelu, Box::new(|v: f64| if v > 0.0 { v } else { 0.3 * v })),
            (Activation::Elu, Box::new(|v: f64| if v > 0.0 { v } else { 0.3 * v.exp_m1() })),
            (Activation::Selu, Box::new(|v: f64| SELU_SCALE * if v > 0.0 { v } else { SELU_ALPHA * v.exp_m1() })),
            (Activation::Gelu, Box::new(move |v: f64| 0.5 * v * (1.0 + erf(v / 2f64.sqrt())))),
            (Activation::Swish, Box::new(|v: f64| v / (1.0 + (-v).exp()))),
            (Activation::Softplus, Box::new(|v: f64| (1.0 + v.exp()).ln())),
        ];
        for (act, f) in cases {
            for (got, &v) in forward64(act, &x, 1).iter().zip(&x) {
                let want = f(v);
                assert!((got - want).abs() <= 1e-12 * (1.0 + want.abs()), "{act:?}({v}) = {got}, want {want}");
            }
            // float32 through the fast math agrees too
            let x32: Vec<f32> = x.iter().map(|&v| v as f32).collect();
            let mut y32 = vec![0.0f32; x.len()];
            activation_forward(&x32, &mut y32, params(act, 1)).unwrap();
            for (got, &v) in y32.iter().zip(&x32) {
                let want = f(v as f64);
                assert!((*got as f64 - want).abs() <= 2e-6 * (1.0 + want.abs()), "{act:?}({v}) f32 = {got}, want {want}");
            }
        }
    }

    #[test]
    fn softmax_rows_sum_to_one_and_log_softmax_agrees() {
        let x = xs();
        let y = forward64(Activation::Softmax, &x, 6);
        for r in y.chunks(6) {
            assert!((r.iter().sum::<f64>() - 1.0).abs() < 1e-14);
        }
        let l = forward64(Activation::LogSoftmax, &x, 6);
        for (a, b) in l.iter().zip(&y) {
            assert!((a.exp() - b).abs() < 1e-14);
        }
        // huge logits do not overflow
        let y = forward64(Activation::Softmax, &[1000.0, 1000.0, -1000.0], 3);
        assert!((y[0] - 0.5).abs() < 1e-15 && y[2] == 0.0);
    }

    #[test]
    fn backward_matches_finite_differences() {
        let x: Vec<f64> = xs().into_iter().filter(|v| v.abs() > 1e-3).collect();
        let n = x.len() / 6 * 6;
        let x = &x[..n];
        let gy: Vec<f64> = (0..n).map(|i| ((i * 7 % 11) as f64 - 5.0) * 0.1).collect();
        for act in Activation::ALL {
            let row = if act.is_rowwise() { 6 } else { 1 };
            let y = forward64(act, x, row);
            let mut gx = vec![0.0; n];
            activation_backward(&gy, x, &y, &mut gx, params(act, row)).unwrap();
            let h = 1e-6;
            for i in 0..n {
                let (mut xp, mut xm) = (x.to_vec(), x.to_vec());
                xp[i] += h;
                xm[i] -= h;
                let (yp, ym) = (forward64(act, &xp, row), forward64(act, &xm, row));
                let fd: f64 = yp.iter().zip(&ym).zip(&gy).map(|((a, b), g)| g * (a - b) / (2.0 * h)).sum();
                assert!((fd - gx[i]).abs() < 1e-6 * (1.0 + fd.abs()), "{act:?} at {i}: {} vs fd {fd}", gx[i]);
            }
        }
    }

    #[test]
    fn bad_lengths_are_an_error() {
        let mut y = [0.0f32; 3];
        assert!(activation_forward(&[0.0f32; 4], &mut y, params(Activation::Relu, 1)).is_err());
        let mut y = [0.0f32; 4];
        assert!(activation_forward(&[0.0f32; 4], &mut y, params(Activation::Softmax, 3)).is_err());
        let mut g = [0.0f32; 4];
        assert!(activation_backward(&[0.0f32; 4], &[0.0; 4], &[0.0; 3], &mut g, params(Activation::Tanh, 1)).is_err());
    }

    #[test]
    fn empty_rows_are_fine() {
        for act in [Activation::Softmax, Activation::LogSoftmax, Activation::Relu] {
            let mut y: [f32; 0] = [];
            activation_forward(&[], &mut y, params(act, 0)).unwrap();
            activation_backward(&[], &[], &[], &mut y, params(act, 0)).unwrap();
        }
    }
}
