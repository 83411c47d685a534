//! Activation functions, forward and backward: elementwise ones over the whole slice,
//! `softmax` / `log_softmax` over rows of the last axis (numerically stable: the row
//! maximum is subtracted first). `gelu` is the exact erf form.

use crate::fastmath::{sigmoid, simd, softplus, Real};
use crate::parallel::{par_map, par_map3, par_rows, par_rows3};
use crate::KernelError;

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
        Activation::Softmax => par_rows(x, y, p.row, 8, |xc, yc| {
            simd(
                #[inline(always)]
                || {
                    for (xr, yr) in xc.chunks_exact(p.row).zip(yc.chunks_exact_mut(p.row)) {
                        let (_, s) = exp_shifted_row(xr, yr);
                        for o in yr.iter_mut() {
                            *o = *o / s;
                        }
                    }
                },
            )
        }),
        Activation::LogSoftmax => par_rows(x, y, p.row, 8, |xc, yc| {
            simd(
                #[inline(always)]
                || {
                    for (xr, yr) in xc.chunks_exact(p.row).zip(yc.chunks_exact_mut(p.row)) {
                        let (m, s) = exp_shifted_row(xr, yr);
                        let lse = s.ln();
                        for (o, &v) in yr.iter_mut().zip(xr) {
                            *o = (v - m) - lse;
                        }
                    }
                },
            )
        }),
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
        Activation::Softmax => par_rows3(gy, x, y, gx, p.row, 2, |gc, _, yc, oc| {
            simd(
                #[inline(always)]
                || {
                    for ((gr, yr), or) in gc.chunks_exact(p.row).zip(yc.chunks_exact(p.row)).zip(oc.chunks_exact_mut(p.row)) {
                        let dot = row_sum2(gr, yr, |g, s| g * s);
                        for ((o, &g), &s) in or.iter_mut().zip(gr).zip(yr) {
                            *o = s * (g - dot);
                        }
                    }
                },
            )
        }),
        Activation::LogSoftmax => par_rows3(gy, x, y, gx, p.row, 8, |gc, _, yc, oc| {
            simd(
                #[inline(always)]
                || {
                    for ((gr, yr), or) in gc.chunks_exact(p.row).zip(yc.chunks_exact(p.row)).zip(oc.chunks_exact_mut(p.row)) {
                        let sg = row_sum2(gr, gr, |g, _| g);
                        for ((o, &g), &l) in or.iter_mut().zip(gr).zip(yr) {
                            *o = g - l.vexp() * sg;
                        }
                    }
                },
            )
        }),
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
