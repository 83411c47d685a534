//! Losses, forward (a scalar, summed in f64) and backward (the gradient wrt pred).
//!
//! `loss = sum_i weight[i] * loss_i / n` over the n samples; `loss_i` is the mean over the
//! m elements of sample i of an elementwise loss (mse, mae, huber, binary crossentropy on
//! logits), or for softmax_crossentropy `-sum_j t_ij log softmax(pred_i)_j` with pred
//! (n, k) logits and the target given as class indices (n) or probabilities (n, k).

use crate::activation::{row_max, row_sum2};
use crate::fastmath::{sigmoid, simd, Real};
use crate::parallel::{for_item_chunks, map_ranges, work_ns};
use crate::KernelError;

/// The losses of the kernel contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Loss {
    Mse,
    Mae,
    Huber,
    BinaryCrossentropyLogits,
    SoftmaxCrossentropy,
}

impl Loss {
    /// Every loss name, in the contract's order.
    pub const NAMES: [&'static str; 5] = ["mse", "mae", "huber", "binary_crossentropy_logits", "softmax_crossentropy"];
    const ALL: [Loss; 5] = [Loss::Mse, Loss::Mae, Loss::Huber, Loss::BinaryCrossentropyLogits, Loss::SoftmaxCrossentropy];

    /// The loss called `name`, or an error listing the accepted names.
    pub fn from_name(name: &str) -> Result<Self, KernelError> {
        Self::NAMES
            .iter()
            .position(|&n| n == name)
            .map(|i| Self::ALL[i])
            .ok_or_else(|| KernelError(format!("unknown loss '{name}'; accepted: {}", Self::NAMES.join(", "))))
    }

    /// Its contract name.
    pub fn name(self) -> &'static str {
        Self::NAMES[Self::ALL.iter().position(|&a| a == self).unwrap_or(0)]
    }
}

/// The target of a loss: values of pred's shape, or class indices (one per sample).
#[derive(Debug, Clone, Copy)]
pub enum Target<'a, T> {
    Values(&'a [T]),
    Classes(&'a [i64]),
}

/// What a loss call computes: which loss, n samples of m elements each (m = k classes
/// for softmax_crossentropy) and huber's `delta`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LossParams {
    pub loss: Loss,
    pub n: usize,
    pub m: usize,
    pub delta: f64,
}

impl LossParams {
    /// Checks every length against (n, m) and every class index against k = m.
    pub fn check<T>(&self, pred: usize, target: &Target<'_, T>, weight: Option<usize>) -> Result<(), KernelError> {
        let (n, m) = (self.n, self.m);
        if pred != n * m {
            return Err(KernelError(format!("pred has {pred} elements, expected {n} x {m}")));
        }
        match *target {
            Target::Values(t) if t.len() != n * m => {
                return Err(KernelError(format!("target has {} elements, expected {n} x {m}", t.len())));
            }
            Target::Classes(t) => {
                if self.loss != Loss::SoftmaxCrossentropy {
                    return Err(KernelError(format!("class-index targets are only for softmax_crossentropy, not {}", self.loss.name())));
                }
                if t.len() != n {
                    return Err(KernelError(format!("target has {} class indices, expected {n}", t.len())));
                }
                if let Some((i, &c)) = t.iter().enumerate().find(|&(_, &c)| c < 0 || c as u64 >= m as u64) {
                    return Err(KernelError(format!("class index {c} (target[{i}]) is out of range for k={m} classes")));
                }
            }
            _ => {}
        }
        if let Some(w) = weight {
            if w != n {
                return Err(KernelError(format!("weight has {w} elements, expected {n}")));
            }
        }
        Ok(())
    }
}

/// Sum in f64 of `f(a[i], b[i])`, with 8 partial sums so that it vectorizes.
#[inline(always)]
fn sum8<T: Real>(a: &[T], b: &[T], f: impl Fn(T, T) -> f64) -> f64 {
    let mut acc = [0.0f64; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for l in 0..8 {
            acc[l] += f(x[l], y[l]);
        }
    }
    let mut s = 0.0;
    for (&x, &y) in ra.iter().zip(rb) {
        s += f(x, y);
    }
    ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7])) + s
}

/// Elements per block of the forward's partial sums.
const SUM_BLOCK: usize = 8192;

/// Eighths of a nanosecond per element of a loss (see [`work_ns`]).
fn cost(loss: Loss) -> usize {
    match loss {
        Loss::Mse | Loss::Mae | Loss::Huber => 2,
        Loss::BinaryCrossentropyLogits => 12,
        Loss::SoftmaxCrossentropy => 8,
    }
}

const MSE: u8 = 0;
const MAE: u8 = 1;
const HUBER: u8 = 2;
const BCE: u8 = 3;

/// Runs `$body` with the const `$l` naming the elementwise loss `$loss` (so that the
/// per-element match is resolved at compile time and the loops vectorize).
macro_rules! per_loss {
    ($loss:expr, $l:ident => $body:expr) => {
        match $loss {
            Loss::Mse => {
                const $l: u8 = MSE;
                $body
            }
            Loss::Mae => {
                const $l: u8 = MAE;
                $body
            }
            Loss::Huber => {
                const $l: u8 = HUBER;
                $body
            }
            Loss::BinaryCrossentropyLogits => {
                const $l: u8 = BCE;
                $body
            }
            Loss::SoftmaxCrossentropy => unreachable!("softmax_crossentropy is not elementwise"),
        }
    };
}

/// Elementwise loss `L` of one element (pred p, target t), in T then widened.
#[inline(always)]
fn elem_loss<const L: u8, T: Real>(delta: T, p: T, t: T) -> f64 {
    let half = T::of_f64(0.5);
    let d = p - t;
    let v = match L {
        MSE => d * d,
        MAE => d.abs(),
        HUBER => {
            let a = d.abs();
            if a <= delta {
                half * d * d
            } else {
                delta * (a - half * delta)
            }
        }
        _ => p.max(T::zero()) - p * t + (-p.abs()).vexp().vln1p_unit(),
    };
    v.as_f64()
}

/// Derivative of the elementwise loss `L` wrt p (before the 1/(n m) scale).
#[inline(always)]
fn elem_grad<const L: u8, T: Real>(delta: T, p: T, t: T) -> T {
    let d = p - t;
    let zero = T::zero();
    match L {
        MSE => d + d,
        MAE => {
            if d > zero {
                T::one()
            } else if d < zero {
                -T::one()
            } else {
                d * zero // 0, or NaN for NaN
            }
        }
        HUBER => {
            if d < -delta {
                -delta
            } else if d > delta {
                delta
            } else {
                d
            }
        }
        _ => sigmoid(p) - t,
    }
}

/// `sum_i w_i * loss_i` over rows r0..r1 (not yet divided by n).
fn block_forward<T: Real>(pred: &[T], target: Target<'_, T>, weight: Option<&[T]>, p: LossParams, r0: usize, r1: usize) -> f64 {
    let m = p.m;
    let delta = T::of_f64(p.delta);
    let wt = |i: usize| weight.map_or(1.0, |w| w[i].as_f64());
    simd(
        #[inline(always)]
        || match (p.loss, target) {
            (Loss::SoftmaxCrossentropy, tgt) => {
                let mut total = 0.0;
                for i in r0..r1 {
                    let x = &pred[i * m..(i + 1) * m];
                    let mx = row_max(x);
                    let s = row_sum2(x, x, |v, _| (v - mx).vexp());
                    let lse = s.as_f64().ln();
                    let li = match tgt {
                        Target::Classes(c) => lse - (x[c[i] as usize] - mx).as_f64(),
                        Target::Values(t) => sum8(&t[i * m..(i + 1) * m], x, |tv, xv| tv.as_f64() * (lse - (xv - mx).as_f64())),
                    };
                    total += wt(i) * li;
                }
                total
            }
            (loss, Target::Values(t)) => per_loss!(loss, L => {
                let inv_m = 1.0 / m as f64;
                match weight {
                    None => sum8(&pred[r0 * m..r1 * m], &t[r0 * m..r1 * m], #[inline(always)] |a: T, b: T| elem_loss::<L, T>(delta, a, b)) * inv_m,
                    Some(w) => (r0..r1)
                        .map(|i| {
                            let s = sum8(&pred[i * m..(i + 1) * m], &t[i * m..(i + 1) * m], #[inline(always)] |a: T, b: T| elem_loss::<L, T>(delta, a, b));
                            w[i].as_f64() * (s * inv_m)
                        })
                        .sum(),
                }
            }),
            (_, Target::Classes(_)) => 0.0, // rejected by check
        },
    )
}

/// Mean over the batch of `weight[i] * loss_i`, accumulated in f64.
pub fn loss_forward<T: Real>(pred: &[T], target: Target<'_, T>, weight: Option<&[T]>, p: LossParams) -> Result<f64, KernelError> {
    p.check(pred.len(), &target, weight.map(|w| w.len()))?;
    let n = p.n;
    if n == 0 {
        return Ok(0.0);
    }
    // Partial sums over blocks of a fixed size, added in order: the same result on any
    // number of threads, serial or parallel.
    let rb = (SUM_BLOCK / p.m.max(1)).max(1);
    let work = work_ns(n * p.m, cost(p.loss));
    let parts = map_ranges(n, work, rb, |r| block_forward(pred, target, weight, p, r.start, r.end));
    let total = parts.iter().fold(0.0, |a, v| a + v);
    Ok(total / n as f64)
}

/// Gradient rows r0.. (as many as `g` holds) of `grad * loss_forward` wrt pred.
fn block_backward<T: Real>(pred: &[T], target: Target<'_, T>, weight: Option<&[T]>, grad: f64, p: LossParams, r0: usize, g: &mut [T]) {
    let (n, m) = (p.n, p.m);
    if m == 0 {
        return;
    }
    let delta = T::of_f64(p.delta);
    let base = T::of_f64(if p.loss == Loss::SoftmaxCrossentropy { grad / n as f64 } else { grad / (n as f64 * m as f64) });
    let scale = |i: usize| weight.map_or(base, |w| base * w[i]);
    simd(
        #[inline(always)]
        || match (p.loss, target) {
            (Loss::SoftmaxCrossentropy, tgt) => {
                for (q, gr) in g.chunks_exact_mut(m).enumerate() {
                    let i = r0 + q;
                    let x = &pred[i * m..(i + 1) * m];
                    let (_, s) = crate::activation::exp_shifted_row(x, gr);
                    let sc = scale(i);
                    match tgt {
                        Target::Classes(c) => {
                            let c = c[i] as usize;
                            let ec = gr[c];
                            for o in gr.iter_mut() {
                                *o = (*o / s) * sc;
                            }
                            gr[c] = (ec / s - T::one()) * sc;
                        }
                        Target::Values(t) => {
                            let t = &t[i * m..(i + 1) * m];
                            let st = row_sum2(t, t, |v, _| v);
                            for (o, &tv) in gr.iter_mut().zip(t) {
                                *o = ((*o / s) * st - tv) * sc;
                            }
                        }
                    }
                }
            }
            (loss, Target::Values(t)) => per_loss!(loss, L => {
                let t = &t[r0 * m..r0 * m + g.len()];
                let x = &pred[r0 * m..r0 * m + g.len()];
                match weight {
                    None => {
                        for ((o, &a), &b) in g.iter_mut().zip(x).zip(t) {
                            *o = elem_grad::<L, T>(delta, a, b) * base;
                        }
                    }
                    Some(_) => {
                        for (q, ((gr, xr), tr)) in g.chunks_exact_mut(m).zip(x.chunks_exact(m)).zip(t.chunks_exact(m)).enumerate() {
                            let sc = scale(r0 + q);
                            for ((o, &a), &b) in gr.iter_mut().zip(xr).zip(tr) {
                                *o = elem_grad::<L, T>(delta, a, b) * sc;
                            }
                        }
                    }
                }
            }),
            (_, Target::Classes(_)) => {} // rejected by check
        },
    )
}

/// `gpred`, the gradient of `grad * loss_forward(...)` wrt pred (mae uses sign(0) = 0).
pub fn loss_backward<T: Real>(
    pred: &[T],
    target: Target<'_, T>,
    weight: Option<&[T]>,
    grad: f64,
    p: LossParams,
    gpred: &mut [T],
) -> Result<(), KernelError> {
    p.check(pred.len(), &target, weight.map(|w| w.len()))?;
    if gpred.len() != pred.len() {
        return Err(KernelError(format!("gpred has {} elements, expected {}", gpred.len(), pred.len())));
    }
    let (n, m) = (p.n, p.m);
    if n == 0 || m == 0 {
        return Ok(());
    }
    for_item_chunks(gpred, m, work_ns(n * m, cost(p.loss)), |r0, g| block_backward(pred, target, weight, grad, p, r0, g));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(loss: Loss, n: usize, m: usize) -> LossParams {
        LossParams { loss, n, m, delta: 0.7 }
    }

    fn data(len: usize, phase: f64) -> Vec<f64> {
        (0..len).map(|i| ((i as f64 + phase) * 0.71).sin() * 2.0).collect()
    }

    #[test]
    fn names_round_trip_and_unknown_lists_them() {
        for n in Loss::NAMES {
            assert_eq!(Loss::from_name(n).unwrap().name(), n);
        }
        let e = Loss::from_name("hinge").unwrap_err().0;
        assert!(e.contains("'hinge'") && e.contains("softmax_crossentropy"), "{e}");
    }

    #[test]
    fn mse_by_hand() {
        let pred = [1.0f64, 2.0, 3.0, 4.0];
        let target = [0.0f64, 0.0, 0.0, 0.0];
        let w = [1.0, 3.0];
        // loss_0 = (1 + 4)/2, loss_1 = (9 + 16)/2; weighted mean = (2.5 + 3 * 12.5) / 2
        let l = loss_forward(&pred, Target::Values(&target), Some(&w), params(Loss::Mse, 2, 2)).unwrap();
        assert!((l - 20.0).abs() < 1e-12);
        let mut g = [0.0; 4];
        loss_backward(&pred, Target::Values(&target), Some(&w), 1.0, params(Loss::Mse, 2, 2), &mut g).unwrap();
        assert_eq!(g, [0.5, 1.0, 4.5, 6.0]);
    }

    #[test]
    fn class_and_one_hot_targets_agree() {
        let (n, k) = (5, 4);
        let pred = data(n * k, 0.3);
        let classes: Vec<i64> = (0..n as i64).map(|i| (i * 3) % k as i64).collect();
        let mut onehot = vec![0.0; n * k];
        for (i, &c) in classes.iter().enumerate() {
            onehot[i * k + c as usize] = 1.0;
        }
        let p = params(Loss::SoftmaxCrossentropy, n, k);
        let a = loss_forward(&pred, Target::Classes(&classes), None, p).unwrap();
        let b = loss_forward(&pred, Target::Values(&onehot), None, p).unwrap();
        assert!((a - b).abs() < 1e-14 && a > 0.0);
        let (mut ga, mut gb) = (vec![0.0; n * k], vec![0.0; n * k]);
        loss_backward(&pred, Target::Classes(&classes), None, 2.0, p, &mut ga).unwrap();
        loss_backward(&pred, Target::Values(&onehot), None, 2.0, p, &mut gb).unwrap();
        for (x, y) in ga.iter().zip(&gb) {
            assert!((x - y).abs() < 1e-15);
        }
    }

    #[test]
    fn backward_matches_finite_differences() {
        let (n, m) = (3, 5);
        let pred = data(n * m, 0.0);
        let target: Vec<f64> = data(n * m, 7.0).iter().map(|v| v.abs() / 2.0).collect();
        let w = [0.5, 2.0, 1.5];
        for loss in Loss::ALL {
            let p = params(loss, n, m);
            let mut g = vec![0.0; n * m];
            loss_backward(&pred, Target::Values(&target), Some(&w), 3.0, p, &mut g).unwrap();
            let h = 1e-6;
            for i in 0..n * m {
                let (mut a, mut b) = (pred.clone(), pred.clone());
                a[i] += h;
                b[i] -= h;
                let fa = loss_forward(&a, Target::Values(&target), Some(&w), p).unwrap();
                let fb = loss_forward(&b, Target::Values(&target), Some(&w), p).unwrap();
                let fd = 3.0 * (fa - fb) / (2.0 * h);
                assert!((fd - g[i]).abs() < 1e-6, "{loss:?} at {i}: {} vs fd {fd}", g[i]);
            }
        }
    }

    #[test]
    fn parallel_blocks_give_the_serial_result() {
        crate::parallel::set_num_threads(2);
        let (n, m) = (8000, 37);
        let pred: Vec<f32> = data(n * m, 0.1).iter().map(|&v| v as f32).collect();
        let target: Vec<f32> = data(n * m, 2.0).iter().map(|&v| v as f32).collect();
        let p = params(Loss::Huber, n, m);
        let whole = loss_forward(&pred, Target::Values(&target), None, p).unwrap();
        let serial = block_forward(&pred, Target::Values(&target), None, p, 0, n) / n as f64;
        assert!((whole - serial).abs() < 1e-12 * serial.abs());
        assert_eq!(whole, loss_forward(&pred, Target::Values(&target), None, p).unwrap());
    }

    #[test]
    fn bad_class_index_is_an_error_naming_it() {
        let p = params(Loss::SoftmaxCrossentropy, 2, 3);
        for bad in [3i64, -1] {
            let e = loss_forward(&[0.0f32; 6], Target::Classes(&[0, bad]), None, p).unwrap_err().0;
            assert!(e.contains(&format!("class index {bad}")) && e.contains("k=3"), "{e}");
        }
        assert!(loss_forward(&[0.0f32; 6], Target::Values(&[0.0; 5]), None, p).is_err());
        assert!(loss_forward(&[0.0f32; 6], Target::Values(&[0.0; 6]), Some(&[1.0; 3]), p).is_err());
    }

    #[test]
    fn empty_batch_is_zero() {
        let p = params(Loss::Mse, 0, 4);
        assert_eq!(loss_forward::<f32>(&[], Target::Values(&[]), None, p).unwrap(), 0.0);
        // many samples with no elements: no chunking by zero
        let p = params(Loss::SoftmaxCrossentropy, 100_000, 0);
        let mut g: [f32; 0] = [];
        loss_backward::<f32>(&[], Target::Values(&[]), None, 1.0, p, &mut g).unwrap();
        assert_eq!(loss_forward::<f32>(&[], Target::Values(&[]), None, p).unwrap(), 0.0);
    }
}
