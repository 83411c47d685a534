//! Batch normalization over the rows of an `(rows, channels)` matrix: any input whose
//! feature axis is last, seen with its leading axes collapsed (Keras' `axis=-1`).
//!
//! Training normalizes with the batch mean and the biased (population) batch variance,
//! accumulated in f64 whatever the element type (two passes: the sums, then the squared
//! deviations from the f64 mean). Inference normalizes with given moving statistics.
//! Rows are cut into blocks that depend only on the shape, and partial sums are added in
//! block order, so results do not depend on the number of threads.

use crate::elementwise::Real;
use crate::parallel::{for_item_chunks, map_ranges, work_ns, PAR_THRESHOLD};
use crate::KernelError;

/// What a batch norm call works on: `rows * channels` elements (channels last), the
/// variance epsilon, and whether the statistics come from the batch (`training`) or are given.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BatchNormParams {
    pub rows: usize,
    pub channels: usize,
    pub epsilon: f64,
    pub training: bool,
}

impl BatchNormParams {
    /// Checks epsilon and that each slice has the length the params say.
    pub fn check(&self, kernel: &str, full: &[(&str, usize)], per_channel: &[(&str, usize)]) -> Result<(), KernelError> {
        if !(self.epsilon.is_finite() && self.epsilon > 0.0) {
            return Err(KernelError(format!("{kernel}: epsilon must be a positive finite number, got {}", self.epsilon)));
        }
        let n = self.rows * self.channels;
        for &(arg, len) in full {
            if len != n {
                return Err(KernelError(format!("{kernel}: {arg} has {len} elements, expected {n}")));
            }
        }
        for &(arg, len) in per_channel {
            if len != self.channels {
                return Err(KernelError(format!("{kernel}: {arg} has {len} elements, expected {} (one per channel)", self.channels)));
            }
        }
        Ok(())
    }

    /// Rows per block of a reduction (fixed by the shape alone).
    fn block_rows(&self) -> usize {
        (PAR_THRESHOLD / self.channels.max(1)).max(1)
    }
}

/// Sums (`width` f64 per call, e.g. one per channel) of `f(row_block, acc)` over the row
/// blocks, added in block order.
fn channel_sums(p: &BatchNormParams, width: usize, cost: usize, f: impl Fn(std::ops::Range<usize>, &mut [f64]) + Sync + Send) -> Vec<f64> {
    let c = width;
    let parts = map_ranges(p.rows, work_ns(p.rows * c, cost), p.block_rows(), |r| {
        let mut acc = vec![0.0f64; c];
        f(r, &mut acc);
        acc
    });
    let mut out = vec![0.0f64; c];
    for part in parts {
        for (o, v) in out.iter_mut().zip(part) {
            *o += v;
        }
    }
    out
}

/// Batch mean and biased variance per channel of `x` (rows, channels), in f64.
fn batch_moments<T: Real>(x: &[T], p: &BatchNormParams) -> (Vec<f64>, Vec<f64>) {
    let c = p.channels;
    let count = p.rows as f64;
    let sums = channel_sums(p, c, 4, |r, acc| {
        for row in x[r.start * c..r.end * c].chunks_exact(c) {
            for (a, &v) in acc.iter_mut().zip(row) {
                *a += v.as_f64();
            }
        }
    });
    let mean: Vec<f64> = sums.iter().map(|s| s / count).collect();
    let sq = channel_sums(p, c, 4, |r, acc| {
        for row in x[r.start * c..r.end * c].chunks_exact(c) {
            for ((a, &v), &m) in acc.iter_mut().zip(row).zip(&mean) {
                let d = v.as_f64() - m;
                *a += d * d;
            }
        }
    });
    let var = sq.iter().map(|s| s / count).collect();
    (mean, var)
}

/// `y = (x - mean) / sqrt(var + epsilon) * gamma + beta` per channel, with `mean` and `var`
/// the batch statistics when `p.training` (written to `mean_out` / `var_out`) and the given
/// `mean` / `var` otherwise (copied to `mean_out` / `var_out`). `gamma` / `beta` None mean
/// 1 / 0 (Keras' `scale=False` / `center=False`). An empty batch in training gives NaN
/// statistics, as numpy's mean of nothing.
#[allow(clippy::too_many_arguments)]
pub fn batch_norm_forward<T: Real>(
    x: &[T],
    gamma: Option<&[T]>,
    beta: Option<&[T]>,
    mean: Option<&[T]>,
    var: Option<&[T]>,
    y: &mut [T],
    mean_out: &mut [T],
    var_out: &mut [T],
    p: BatchNormParams,
) -> Result<(), KernelError> {
    const K: &str = "batch_norm_forward";
    let mut per = vec![("mean_out", mean_out.len()), ("var_out", var_out.len())];
    for (arg, a) in [("gamma", gamma), ("beta", beta), ("mean", mean), ("var", var)] {
        if let Some(a) = a {
            per.push((arg, a.len()));
        }
    }
    p.check(K, &[("x", x.len()), ("y", y.len())], &per)?;
    let c = p.channels;
    let (m64, v64): (Vec<f64>, Vec<f64>) = if p.training {
        if p.rows == 0 {
            (vec![f64::NAN; c], vec![f64::NAN; c])
        } else {
            batch_moments(x, &p)
        }
    } else {
        match (mean, var) {
            (Some(m), Some(v)) => (m.iter().map(|a| a.as_f64()).collect(), v.iter().map(|a| a.as_f64()).collect()),
            _ => return Err(KernelError(format!("{K}: inference (training=False) needs mean and var"))),
        }
    };
    for (o, &m) in mean_out.iter_mut().zip(&m64) {
        *o = T::of_f64(m);
    }
    for (o, &v) in var_out.iter_mut().zip(&v64) {
        *o = T::of_f64(v);
    }
    // y = x * a + b per channel, a = gamma / sqrt(var + eps), b = beta - mean * a (in f64,
    // then rounded once to T).
    let mut a = vec![T::zero(); c];
    let mut b = vec![T::zero(); c];
    for j in 0..c {
        let g = gamma.map_or(1.0, |g| g[j].as_f64());
        let be = beta.map_or(0.0, |b| b[j].as_f64());
        let inv = 1.0 / (v64[j] + p.epsilon).sqrt();
        a[j] = T::of_f64(g * inv);
        b[j] = T::of_f64(be - m64[j] * g * inv);
    }
    if c == 0 {
        return Ok(());
    }
    for_item_chunks(y, c, work_ns(x.len(), 2), |first, yc| {
        let xc = &x[first * c..first * c + yc.len()];
        for (yr, xr) in yc.chunks_exact_mut(c).zip(xc.chunks_exact(c)) {
            for (((o, &v), &aa), &bb) in yr.iter_mut().zip(xr).zip(&a).zip(&b) {
                *o = v * aa + bb;
            }
        }
    });
    Ok(())
}

/// Gradients of [`batch_norm_forward`] wrt x, gamma and beta from `gy`, given x, gamma
/// (None: 1) and the statistics the forward used (`mean`, `var`). With `p.training` the
/// gradient wrt x goes through the batch statistics:
/// `gx = gamma * inv / n * (n gy - sum(gy) - xhat sum(gy xhat))`, `xhat = (x - mean) inv`,
/// `inv = 1/sqrt(var + eps)`; otherwise `gx = gy * gamma * inv`. Always
/// `g_gamma = sum(gy xhat)` and `g_beta = sum(gy)` over the rows (sums in f64).
#[allow(clippy::too_many_arguments)]
pub fn batch_norm_backward<T: Real>(
    gy: &[T],
    x: &[T],
    gamma: Option<&[T]>,
    mean: &[T],
    var: &[T],
    gx: &mut [T],
    g_gamma: &mut [T],
    g_beta: &mut [T],
    p: BatchNormParams,
) -> Result<(), KernelError> {
    const K: &str = "batch_norm_backward";
    let mut per = vec![("mean", mean.len()), ("var", var.len()), ("g_gamma", g_gamma.len()), ("g_beta", g_beta.len())];
    if let Some(g) = gamma {
        per.push(("gamma", g.len()));
    }
    p.check(K, &[("gy", gy.len()), ("x", x.len()), ("gx", gx.len())], &per)?;
    let c = p.channels;
    if c == 0 {
        return Ok(());
    }
    let m64: Vec<f64> = mean.iter().map(|v| v.as_f64()).collect();
    let inv: Vec<f64> = var.iter().map(|v| 1.0 / (v.as_f64() + p.epsilon).sqrt()).collect();
    // One pass over gy and x: sum(gy) (acc[..c]) and sum(gy * (x - mean)) (acc[c..]) per channel.
    let both = channel_sums(&p, 2 * c, 6, |r, acc| {
        let (sg, sd) = acc.split_at_mut(c);
        for (gr, xr) in gy[r.start * c..r.end * c].chunks_exact(c).zip(x[r.start * c..r.end * c].chunks_exact(c)) {
            for ((((a, d), &g), &v), &m) in sg.iter_mut().zip(sd.iter_mut()).zip(gr).zip(xr).zip(&m64) {
                let g = g.as_f64();
                *a += g;
                *d += g * (v.as_f64() - m);
            }
        }
    });
    let (sums, dot) = both.split_at(c);
    let n = p.rows as f64;
    // gx = k1 * gy + k2 * (x - mean) + k3 per channel.
    let mut k1 = vec![T::zero(); c];
    let mut k2 = vec![T::zero(); c];
    let mut k3 = vec![T::zero(); c];
    let mut mt = vec![T::zero(); c];
    for j in 0..c {
        let g = gamma.map_or(1.0, |g| g[j].as_f64());
        let sx = dot[j] * inv[j]; // sum(gy * xhat)
        g_beta[j] = T::of_f64(sums[j]);
        g_gamma[j] = T::of_f64(sx);
        k1[j] = T::of_f64(g * inv[j]);
        mt[j] = mean[j];
        if p.training && p.rows > 0 {
            k2[j] = T::of_f64(-g * inv[j] * inv[j] * sx / n);
            k3[j] = T::of_f64(-g * inv[j] * sums[j] / n);
        }
    }
    for_item_chunks(gx, c, work_ns(x.len(), 3), |first, oc| {
        let r = first * c..first * c + oc.len();
        for ((orow, gr), xr) in oc.chunks_exact_mut(c).zip(gy[r.clone()].chunks_exact(c)).zip(x[r].chunks_exact(c)) {
            for j in 0..c {
                orow[j] = k1[j] * gr[j] + k2[j] * (xr[j] - mt[j]) + k3[j];
            }
        }
    });
    Ok(())
}

/// The moving statistics' update after a training step, in place:
/// `moving = moving * momentum + batch * (1 - momentum)` for the mean and the variance.
pub fn batch_norm_update<T: Real>(
    moving_mean: &mut [T],
    moving_var: &mut [T],
    mean: &[T],
    var: &[T],
    momentum: f64,
) -> Result<(), KernelError> {
    const K: &str = "batch_norm_update";
    if !(0.0..=1.0).contains(&momentum) {
        return Err(KernelError(format!("{K}: momentum must be in [0, 1], got {momentum}")));
    }
    let c = moving_mean.len();
    for (arg, len) in [("moving_var", moving_var.len()), ("mean", mean.len()), ("var", var.len())] {
        if len != c {
            return Err(KernelError(format!("{K}: {arg} has {len} elements, expected {c} like moving_mean")));
        }
    }
    let (m, r) = (T::of_f64(momentum), T::of_f64(1.0 - momentum));
    for (o, &b) in moving_mean.iter_mut().zip(mean) {
        *o = *o * m + b * r;
    }
    for (o, &b) in moving_var.iter_mut().zip(var) {
        *o = *o * m + b * r;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(rows: usize, channels: usize, training: bool) -> BatchNormParams {
        BatchNormParams { rows, channels, epsilon: 1e-3, training }
    }

    #[test]
    fn training_forward_normalizes_each_channel() {
        let x: Vec<f64> = (0..60).map(|i| ((i * 37) % 11) as f64 + 1e6 * (i % 3) as f64).collect();
        let (mut y, mut m, mut v) = (vec![0.0; 60], vec![0.0; 3], vec![0.0; 3]);
        batch_norm_forward(&x, None, None, None, None, &mut y, &mut m, &mut v, params(20, 3, true)).unwrap();
        for j in 0..3 {
            let col: Vec<f64> = (0..20).map(|i| x[i * 3 + j]).collect();
            let mean = col.iter().sum::<f64>() / 20.0;
            let var = col.iter().map(|a| (a - mean) * (a - mean)).sum::<f64>() / 20.0;
            assert!((m[j] - mean).abs() < 1e-9 && (v[j] - var).abs() < 1e-9);
            for i in 0..20 {
                let want = (x[i * 3 + j] - mean) / (var + 1e-3).sqrt();
                assert!((y[i * 3 + j] - want).abs() < 1e-9);
            }
        }
    }

    #[test]
    fn backward_matches_finite_differences() {
        let x: Vec<f64> = (0..12).map(|i| ((i * 7) % 5) as f64 * 0.3 - 0.5).collect();
        let gamma = [1.5, -0.5];
        let beta = [0.1, 0.2];
        let w: Vec<f64> = (0..12).map(|i| (i as f64 * 0.37).sin()).collect();
        for training in [true, false] {
            let p = params(6, 2, training);
            let (mm, vv) = ([0.2, -0.1], [0.7, 1.3]);
            let loss = |x: &[f64]| {
                let (mut y, mut m, mut v) = (vec![0.0; 12], vec![0.0; 2], vec![0.0; 2]);
                batch_norm_forward(x, Some(&gamma), Some(&beta), Some(&mm), Some(&vv), &mut y, &mut m, &mut v, p).unwrap();
                y.iter().zip(&w).map(|(a, b)| a * b).sum::<f64>()
            };
            let (mut y, mut m, mut v) = (vec![0.0; 12], vec![0.0; 2], vec![0.0; 2]);
            batch_norm_forward(&x, Some(&gamma), Some(&beta), Some(&mm), Some(&vv), &mut y, &mut m, &mut v, p).unwrap();
            let (mut gx, mut gg, mut gb) = (vec![0.0; 12], vec![0.0; 2], vec![0.0; 2]);
            batch_norm_backward(&w, &x, Some(&gamma), &m, &v, &mut gx, &mut gg, &mut gb, p).unwrap();
            for i in 0..12 {
                let (mut a, mut b) = (x.clone(), x.clone());
                a[i] += 1e-6;
                b[i] -= 1e-6;
                let fd = (loss(&a) - loss(&b)) / 2e-6;
                assert!((fd - gx[i]).abs() < 1e-6, "training={training} i={i}: {fd} vs {}", gx[i]);
            }
        }
    }

    #[test]
    fn update_and_errors() {
        let (mut mm, mut mv) = (vec![1.0f32, 2.0], vec![3.0f32, 4.0]);
        batch_norm_update(&mut mm, &mut mv, &[0.0, 0.0], &[1.0, 1.0], 0.75).unwrap();
        assert_eq!(mm, vec![0.75, 1.5]);
        assert_eq!(mv, vec![2.5, 3.25]);
        assert!(batch_norm_update(&mut mm, &mut mv, &[0.0], &[1.0, 1.0], 0.5).is_err());
        assert!(batch_norm_update(&mut mm, &mut mv, &[0.0, 0.0], &[1.0, 1.0], 1.5).is_err());
        let (mut y, mut m, mut v) = (vec![0.0f32; 4], vec![0.0f32; 2], vec![0.0f32; 2]);
        let bad = BatchNormParams { epsilon: 0.0, ..params(2, 2, true) };
        assert!(batch_norm_forward(&[0.0; 4], None, None, None, None, &mut y, &mut m, &mut v, bad).is_err());
        assert!(batch_norm_forward(&[0.0; 4], None, None, None, None, &mut y, &mut m, &mut v, params(2, 2, false)).is_err());
    }
}
