//! Counter-based random numbers and dropout.
//!
//! `uniform(seed, i)` is splitmix64 of `seed + (i + 1) * 0x9E3779B97F4A7C15` (wrapping
//! u64), top 53 bits times 2^-53: the same numbers as `numpy_backend.splitmix_uniform`
//! and the CUDA kernels, element by element, so every backend draws the same mask.

use crate::elementwise::Real;
use crate::parallel::{for_item_chunks, for_item_chunks2, work_ns};
use crate::{multiversion, KernelError};

/// The splitmix64 increment (the golden ratio in 64 bits).
pub const GOLDEN: u64 = 0x9E37_79B9_7F4A_7C15;

/// The splitmix64 output function.
#[inline(always)]
pub fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The 53 random bits of element `i` for `seed`.
#[inline(always)]
pub fn bits53(seed: u64, i: u64) -> u64 {
    mix64(seed.wrapping_add(i.wrapping_add(1).wrapping_mul(GOLDEN))) >> 11
}

/// `uniform(seed, i)` in [0, 1).
#[inline(always)]
pub fn uniform(seed: u64, i: u64) -> f64 {
    bits53(seed, i) as f64 * (1.0 / 9_007_199_254_740_992.0)
}

/// `out[j] = uniform(seed, j)`.
pub fn fill_uniform(seed: u64, out: &mut [f64]) {
    for_item_chunks(out, 1, work_ns(out.len(), 5), |first, c| {
        for (j, o) in c.iter_mut().enumerate() {
            *o = uniform(seed, (first + j) as u64);
        }
    });
}

/// Dropout: an element is kept when `uniform(seed, i) >= rate` and then scaled by
/// `1 / (1 - rate)` (rounded to the element type, like numpy's `dtype.type(...)`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DropoutParams {
    pub rate: f64,
    pub seed: u64,
}

impl DropoutParams {
    /// The rate must lie in [0, 1).
    pub fn check(&self) -> Result<(), KernelError> {
        if !(0.0..1.0).contains(&self.rate) {
            return Err(KernelError(format!("dropout_forward: rate must be in [0, 1), got {}", self.rate)));
        }
        Ok(())
    }

    /// `uniform >= rate` exactly as `bits53 >= ceil(rate * 2^53)` (both sides are exact:
    /// scaling by 2^53 and converting integers below 2^53 to f64 lose nothing).
    pub fn keep_threshold(&self) -> u64 {
        (self.rate * 9_007_199_254_740_992.0).ceil() as u64
    }
}

multiversion! {
    fn dropout_run<T: Real>(x: &[T], y: &mut [T], mask: &mut [T], seed: u64, first: u64, thr: u64, scale: T) {
        let mut z = seed.wrapping_add(first.wrapping_add(1).wrapping_mul(GOLDEN));
        for ((yo, mo), &v) in y.iter_mut().zip(mask.iter_mut()).zip(x) {
            let keep = (mix64(z) >> 11) >= thr;
            z = z.wrapping_add(GOLDEN);
            let m = if keep { scale } else { T::zero() };
            *mo = m;
            *yo = v * m;
        }
    }
}

/// `mask[i] = scale if uniform(seed, i) >= rate else 0`, `y = x * mask`.
pub fn dropout_forward<T: Real>(x: &[T], y: &mut [T], mask: &mut [T], p: DropoutParams) -> Result<(), KernelError> {
    p.check()?;
    if y.len() != x.len() || mask.len() != x.len() {
        return Err(KernelError(format!("dropout_forward: x has {} elements but y has {} and mask {}", x.len(), y.len(), mask.len())));
    }
    let thr = p.keep_threshold();
    let scale = T::of_f64(1.0 / (1.0 - p.rate));
    let seed = p.seed;
    for_item_chunks2(y, mask, work_ns(x.len(), 5), |first, yc, mc| {
        dropout_run(&x[first..first + yc.len()], yc, mc, seed, first as u64, thr, scale)
    });
    Ok(())
}

// ---- gaussian noise (norm family: the GaussianNoise layer) -------------------------------------

/// `normal(seed, i)`: a standard normal number from the uniforms `2i` and `2i + 1` of
/// `seed` (Box-Muller in f64: `sqrt(-2 ln(1 - u0)) cos(2 pi u1)`).
#[inline]
pub fn normal(seed: u64, i: u64) -> f64 {
    let u0 = uniform(seed, i.wrapping_mul(2));
    let u1 = uniform(seed, i.wrapping_mul(2).wrapping_add(1));
    (-2.0 * (1.0 - u0).ln()).sqrt() * (std::f64::consts::TAU * u1).cos()
}

/// `y[i] = x[i] + T(stddev * normal(seed, i))` (the noise rounded to T once).
pub fn gaussian_noise_forward<T: Real>(x: &[T], y: &mut [T], stddev: f64, seed: u64) -> Result<(), KernelError> {
    if !(stddev.is_finite() && stddev >= 0.0) {
        return Err(KernelError(format!("gaussian_noise_forward: stddev must be a finite number >= 0, got {stddev}")));
    }
    if y.len() != x.len() {
        return Err(KernelError(format!("gaussian_noise_forward: x has {} elements but y has {}", x.len(), y.len())));
    }
    for_item_chunks(y, 1, work_ns(x.len(), 40), |first, yc| {
        let xc = &x[first..first + yc.len()];
        for (j, (o, &v)) in yc.iter_mut().zip(xc).enumerate() {
            *o = v + T::of_f64(stddev * normal(seed, (first + j) as u64));
        }
    });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splitmix_reference_values() {
        // splitmix64 with state 0 advanced once yields 0xE220A8397B1DCDAF (the published
        // first output of the reference generator).
        assert_eq!(mix64(GOLDEN), 0xE220_A839_7B1D_CDAF);
        assert_eq!(bits53(0, 0), 0xE220_A839_7B1D_CDAF >> 11);
        let u = uniform(42, 7);
        assert!((0.0..1.0).contains(&u));
    }

    #[test]
    fn mask_matches_uniform_and_any_chunking() {
        let n = 200_000;
        let x: Vec<f32> = (0..n).map(|i| i as f32).collect();
        let (mut y, mut m) = (vec![0.0f32; n], vec![0.0f32; n]);
        let p = DropoutParams { rate: 0.3, seed: u64::MAX - 5 };
        crate::parallel::set_num_threads(2);
        dropout_forward(&x, &mut y, &mut m, p).unwrap();
        let scale = (1.0 / 0.7f64) as f32;
        let mut kept = 0;
        for i in 0..n {
            let keep = uniform(p.seed, i as u64) >= 0.3;
            kept += keep as usize;
            assert_eq!(m[i], if keep { scale } else { 0.0 });
            assert_eq!(y[i], x[i] * m[i]);
        }
        assert!((kept as f64 / n as f64 - 0.7).abs() < 0.01);
    }

    #[test]
    fn threshold_is_exact() {
        for rate in [0.0, 0.1, 0.5, 1.0 - f64::EPSILON, 1e-300] {
            let p = DropoutParams { rate, seed: 0 };
            let t = p.keep_threshold();
            let u = |k: u64| k as f64 * (1.0 / 9_007_199_254_740_992.0);
            assert!(u(t) >= rate);
            if t > 0 {
                assert!(u(t - 1) < rate);
            }
        }
    }

    #[test]
    fn bad_rate() {
        let mut y = [0.0f64; 1];
        let mut m = [0.0f64; 1];
        for rate in [1.0, -0.1, f64::NAN] {
            assert!(dropout_forward(&[1.0], &mut y, &mut m, DropoutParams { rate, seed: 1 }).is_err());
        }
    }

    #[test]
    fn gaussian_noise_has_the_right_moments() {
        let n = 100_000;
        let x = vec![1.0f64; n];
        let mut y = vec![0.0f64; n];
        gaussian_noise_forward(&x, &mut y, 0.5, 3).unwrap();
        let mean = y.iter().sum::<f64>() / n as f64;
        let var = y.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / n as f64;
        assert!((mean - 1.0).abs() < 0.01 && (var - 0.25).abs() < 0.01, "{mean} {var}");
        assert!(gaussian_noise_forward(&x, &mut y, -1.0, 3).is_err());
    }
}
