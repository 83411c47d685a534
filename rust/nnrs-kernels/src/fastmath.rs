//! Element math shared by the activation and loss kernels, written so that loops over
//! slices vectorize: float32 uses branch-free polynomial `exp`, `expm1`, `tanh` and
//! `ln_1p` (Cephes coefficients, a few ulp), float64 uses the platform's libm (the
//! precision the float64 parity tests ask for). `erf`/`erfc` come from the `libm` crate
//! (FreeBSD msun, < 1 ulp in float64) for both types.
//!
//! [`simd`] runs a closure compiled for AVX2 when the CPU has it (chosen at run time, no
//! `target-cpu=native`), and [`par_rows`] / [`par_elems`] split work over the thread pool
//! only above [`parallel::PAR_THRESHOLD`] elements, so small calls stay on the calling thread.

// Polynomial coefficients are written as published (Cephes, Numerical Recipes), some with
// more digits than float32 keeps; the compiler rounds them to the same values.
#![allow(clippy::excessive_precision)]

use crate::{parallel, Float};

/// [`Float`] plus the element functions the activation and loss kernels need.
pub trait Real: Float {
    /// `x` as this type (a plain `as` cast).
    fn cst(x: f64) -> Self;
    /// `self` as f64 (a plain `as` cast).
    fn wide(self) -> f64;
    /// `e**self`.
    fn vexp(self) -> Self;
    /// `e**self - 1`, accurate near 0.
    fn vexpm1(self) -> Self;
    /// `ln(1 + self)` for `self` in [0, 1] (the range the kernels use), accurate near 0.
    fn vln1p_unit(self) -> Self;
    /// `tanh(self)`.
    fn vtanh(self) -> Self;
    /// `erfc(self)` (scalar, computed in f64).
    fn verfc(self) -> Self;
    /// `self * Phi(self)`, the exact (erf) GELU.
    fn gelu(self) -> Self;
    /// Its derivative `Phi(x) + x * phi(x)`.
    fn gelu_grad(self) -> Self;
}

const FRAC_1_SQRT_2PI: f64 = 0.398_942_280_401_432_677_939_946_059_934_381_9;

impl Real for f64 {
    #[inline(always)]
    fn cst(x: f64) -> Self {
        x
    }
    #[inline(always)]
    fn wide(self) -> f64 {
        self
    }
    #[inline(always)]
    fn vexp(self) -> Self {
        self.exp()
    }
    #[inline(always)]
    fn vexpm1(self) -> Self {
        self.exp_m1()
    }
    #[inline(always)]
    fn vln1p_unit(self) -> Self {
        self.ln_1p()
    }
    #[inline(always)]
    fn vtanh(self) -> Self {
        self.tanh()
    }
    #[inline(always)]
    fn verfc(self) -> Self {
        libm::erfc(self)
    }
    #[inline(always)]
    fn gelu(self) -> Self {
        // Phi(x) = erfc(-x / sqrt 2) / 2 (= (1 + erf(x / sqrt 2)) / 2 without the
        // cancellation for negative x)
        self * (0.5 * libm::erfc(-self * std::f64::consts::FRAC_1_SQRT_2))
    }
    #[inline(always)]
    fn gelu_grad(self) -> Self {
        let cdf = 0.5 * libm::erfc(-self * std::f64::consts::FRAC_1_SQRT_2);
        cdf + self * ((-0.5 * self * self).exp() * FRAC_1_SQRT_2PI)
    }
}

impl Real for f32 {
    #[inline(always)]
    fn cst(x: f64) -> Self {
        x as f32
    }
    #[inline(always)]
    fn wide(self) -> f64 {
        self as f64
    }
    #[inline(always)]
    fn vexp(self) -> Self {
        exp_f32(self)
    }
    #[inline(always)]
    fn vexpm1(self) -> Self {
        expm1_f32(self)
    }
    #[inline(always)]
    fn vln1p_unit(self) -> Self {
        ln1p_unit_f32(self)
    }
    #[inline(always)]
    fn vtanh(self) -> Self {
        tanh_f32(self)
    }
    #[inline(always)]
    fn verfc(self) -> Self {
        libm::erfc(self as f64) as f32
    }
    #[inline(always)]
    fn gelu(self) -> Self {
        self * phi_f32(self)
    }
    #[inline(always)]
    fn gelu_grad(self) -> Self {
        phi_f32(self) + self * (exp_f32(-0.5 * self * self) * FRAC_1_SQRT_2PI as f32)
    }
}

/// `erfc(z)` for z >= 0 in float32: the Chebyshev fit of Numerical Recipes' `erfcc`
/// (relative error below 1.2e-7 for every z >= 0), with a vectorizable exp; about 1e-6
/// relative in float32 arithmetic.
#[inline(always)]
pub fn erfc_nonneg_f32(z: f32) -> f32 {
    let t = 1.0 / (1.0 + 0.5 * z);
    let p = -1.265_512_2
        + t * (1.000_023_7
            + t * (0.374_091_96
                + t * (0.096_784_18 + t * (-0.186_288_06 + t * (0.278_868_07 + t * (-1.135_203_98 + t * (1.488_515_87 + t * (-0.822_152_23 + t * 0.170_872_77))))))));
    // exp(-z*z) as exp(-zh*zh) * exp(-(z-zh)(z+zh)) with zh = z cut to 12 significant
    // bits, so zh*zh is exact and the large part of the argument is not rounded.
    let zh = f32::from_bits(z.to_bits() & 0xFFFF_F000);
    t * exp_f32(-zh * zh) * exp_f32(p - (z - zh) * (z + zh))
}

/// The standard normal CDF `Phi(x) = erfc(-x / sqrt 2) / 2` in float32, branch-free.
#[inline(always)]
pub fn phi_f32(x: f32) -> f32 {
    let h = 0.5 * erfc_nonneg_f32(x.abs() * std::f32::consts::FRAC_1_SQRT_2);
    sel(x >= 0.0, 1.0 - h, h)
}

#[inline(always)]
fn sel(c: bool, a: f32, b: f32) -> f32 {
    if c {
        a
    } else {
        b
    }
}

/// `e**x` in float32: `x = n ln2 + r`, |r| <= ln2/2, Cephes' degree-7 polynomial for
/// `e**r`, and `2**n` built in two halves from the exponent bits (so results that are
/// subnormal or overflow come out right). Branch-free: loops over it vectorize.
#[inline(always)]
pub fn exp_f32(x: f32) -> f32 {
    const MAGIC: f32 = 12_582_912.0; // 1.5 * 2**23: adding it rounds to an integer
    // Clamp (NaN passes through both comparisons): below -104 the result is 0, above 89 inf.
    let xc = sel(x < -104.0, -104.0, sel(x > 89.0, 89.0, x));
    let t = xc * std::f32::consts::LOG2_E + MAGIC;
    let nf = t - MAGIC;
    let n = (t.to_bits() as i32).wrapping_sub(0x4B40_0000); // the integer nf
    let r = xc - nf * 0.693_359_375 - nf * -2.121_944_4e-4;
    let p = ((((1.987_569_1e-4 * r + 1.398_199_9e-3) * r + 8.333_452e-3) * r + 4.166_579_6e-2) * r + 1.666_666_5e-1) * r + 5.000_000_1e-1;
    let y = p * (r * r) + r + 1.0;
    let h = n >> 1;
    let s1 = f32::from_bits(((h + 127) as u32) << 23);
    let s2 = f32::from_bits((((n - h) + 127) as u32) << 23);
    y * s1 * s2
}

/// `e**x - 1` in float32: a degree-8 Taylor polynomial for |x| < 0.5, `exp(x) - 1` beyond.
#[inline(always)]
pub fn expm1_f32(x: f32) -> f32 {
    let p = (((((((1.0 / 40320.0 * x + 1.0 / 5040.0) * x + 1.0 / 720.0) * x + 1.0 / 120.0) * x + 1.0 / 24.0) * x + 1.0 / 6.0) * x + 0.5) * x) * x + x;
    let e = exp_f32(x) - 1.0;
    sel(x.abs() < 0.5, p, e)
}

/// `tanh(x)` in float32: Cephes' odd polynomial for |x| < 0.625, `1 - 2/(e**2|x| + 1)` beyond.
#[inline(always)]
pub fn tanh_f32(x: f32) -> f32 {
    let a = x.abs();
    let z = x * x;
    let small = ((((-5.704_988_7e-3 * z + 2.063_908_9e-2) * z - 5.373_971_6e-2) * z + 1.333_144_2e-1) * z - 3.333_328_2e-1) * z * x + x;
    let big = 1.0 - 2.0 / (exp_f32(a + a) + 1.0);
    sel(a < 0.625, small, big.copysign(x))
}

/// `ln(x)` in float32 for finite positive normal x (Cephes' logf polynomial).
#[inline(always)]
pub fn ln_f32(x: f32) -> f32 {
    let bits = x.to_bits();
    let mut e = ((bits >> 23) & 0xff) as i32 - 126;
    let mut m = f32::from_bits((bits & 0x807f_ffff) | 0x3f00_0000); // [0.5, 1)
    let lo = m < std::f32::consts::FRAC_1_SQRT_2;
    e -= lo as i32;
    m = sel(lo, m + m - 1.0, m - 1.0);
    let ef = e as f32;
    let z = m * m;
    let mut y = ((((((((7.037_683_6e-2 * m - 1.151_461e-1) * m + 1.167_699_9e-1) * m - 1.242_014_1e-1) * m + 1.424_932_3e-1) * m - 1.666_805_8e-1) * m + 2.000_071_4e-1) * m - 2.499_999_4e-1) * m + 3.333_333_1e-1) * m * z;
    y += -2.121_944_4e-4 * ef;
    y += -0.5 * z;
    (m + y) + 0.693_359_375 * ef
}

/// `ln(1 + u)` in float32 for u in [0, 1]: `ln(w) * u / (w - 1)` with `w = 1 + u`
/// (Goldberg's correction of the rounding of w), `u` itself where w rounds to 1.
#[inline(always)]
pub fn ln1p_unit_f32(u: f32) -> f32 {
    let w = 1.0 + u;
    let d = w - 1.0;
    let l = ln_f32(w) * (u / sel(d == 0.0, 1.0, d));
    sel(d == 0.0, u, l)
}

/// Stable logistic function `1 / (1 + e**-x)`.
#[inline(always)]
pub fn sigmoid<T: Real>(x: T) -> T {
    let e = (-x.abs()).vexp();
    let r = T::one() / (T::one() + e);
    if x >= T::zero() {
        r
    } else {
        e * r
    }
}

/// Stable `ln(1 + e**x)`.
#[inline(always)]
pub fn softplus<T: Real>(x: T) -> T {
    x.max(T::zero()) + (-x.abs()).vexp().vln1p_unit()
}

#[cfg(target_arch = "x86_64")]
#[inline]
fn has_avx2() -> bool {
    std::arch::is_x86_feature_detected!("avx2")
}

/// Runs `f`, compiled with AVX2 enabled when the running CPU has it (the loops in `f`,
/// inlined here, then use 256-bit vectors); plain `f()` elsewhere. Mark the closure
/// `#[inline(always)]` (and the element closures it calls), or LLVM may keep it out of line
/// and compile it without AVX2.
#[inline(always)]
pub fn simd<R>(f: impl FnOnce() -> R) -> R {
    #[cfg(target_arch = "x86_64")]
    {
        #[target_feature(enable = "avx2")]
        unsafe fn avx2<R>(f: impl FnOnce() -> R) -> R {
            f()
        }
        if has_avx2() {
            // SAFETY: the CPU supports AVX2 (checked at run time just above).
            return unsafe { avx2(f) };
        }
    }
    f()
}

/// Elements per parallel task for `len` elements (a few tasks per thread, at least 4096).
#[inline]
pub fn chunk_elems(len: usize) -> usize {
    let t = parallel::num_threads().max(1);
    (len.div_ceil(4 * t)).max(4096).next_multiple_of(64)
}

/// Estimated work, in units of about 0.1 ns of one core's time, above which a kernel
/// splits over the pool: waking the pool costs a few microseconds, so a cheap
/// memory-bound op (`cost` 1: relu, sgd) goes parallel from 256 Ki elements, an
/// expensive one (`cost` >= 8: exp-based activations) from `PAR_THRESHOLD` elements.
pub const PAR_WORK: usize = 8 * parallel::PAR_THRESHOLD;

/// Whether `n` elements of per-element `cost` (see [`PAR_WORK`]) are worth the pool:
/// never below `parallel::PAR_THRESHOLD` elements.
#[inline]
pub fn worth_parallel(n: usize, cost: usize) -> bool {
    n >= parallel::PAR_THRESHOLD && n.saturating_mul(cost) >= PAR_WORK
}

/// Whether this closure runs inside the pool (`parallel::run` installs it there only
/// when the work is large enough and the pool has more than one thread).
#[inline]
pub fn in_pool() -> bool {
    rayon::current_thread_index().is_some()
}

/// Calls `f(x_rows, y_rows)` on runs of whole rows of length `row` (x and y of equal
/// length, a multiple of `row`), in parallel over the pool when [`worth_parallel`].
pub fn par_rows<T: Send + Sync>(x: &[T], y: &mut [T], row: usize, cost: usize, f: impl Fn(&[T], &mut [T]) + Sync + Send) {
    use rayon::prelude::*;
    let n = y.len();
    if !worth_parallel(n, cost) || row == 0 {
        return f(x, y);
    }
    parallel::run(n, || {
        if in_pool() {
            let rows = (chunk_elems(n) / row).max(1) * row;
            y.par_chunks_mut(rows).zip(x.par_chunks(rows)).for_each(|(yc, xc)| f(xc, yc));
        } else {
            f(x, y)
        }
    })
}

/// Like [`par_rows`] with three inputs of the output's length.
#[allow(clippy::type_complexity)]
pub fn par_rows3<T: Send + Sync>(
    a: &[T],
    b: &[T],
    c: &[T],
    y: &mut [T],
    row: usize,
    cost: usize,
    f: impl Fn(&[T], &[T], &[T], &mut [T]) + Sync + Send,
) {
    use rayon::prelude::*;
    let n = y.len();
    if !worth_parallel(n, cost) || row == 0 {
        return f(a, b, c, y);
    }
    parallel::run(n, || {
        if in_pool() {
            let rows = (chunk_elems(n) / row).max(1) * row;
            y.par_chunks_mut(rows)
                .zip(a.par_chunks(rows))
                .zip(b.par_chunks(rows).zip(c.par_chunks(rows)))
                .for_each(|((yc, ac), (bc, cc))| f(ac, bc, cc, yc));
        } else {
            f(a, b, c, y)
        }
    })
}

/// `y[i] = f(x[i])`, vectorized, parallel when [`worth_parallel`] for `cost`.
#[inline]
pub fn par_map<T: Real>(x: &[T], y: &mut [T], cost: usize, f: impl Fn(T) -> T + Sync + Send + Copy) {
    par_rows(x, y, 1, cost, move |xc, yc| {
        simd(#[inline(always)]
        || {
            for (o, &v) in yc.iter_mut().zip(xc) {
                *o = f(v);
            }
        })
    })
}

/// `y[i] = f(a[i], b[i], c[i])`, vectorized, parallel when [`worth_parallel`] for `cost`.
#[inline]
pub fn par_map3<T: Real>(a: &[T], b: &[T], c: &[T], y: &mut [T], cost: usize, f: impl Fn(T, T, T) -> T + Sync + Send + Copy) {
    par_rows3(a, b, c, y, 1, cost, move |ac, bc, cc, yc| {
        simd(#[inline(always)]
        || {
            for (((o, &p), &q), &r) in yc.iter_mut().zip(ac).zip(bc).zip(cc) {
                *o = f(p, q, r);
            }
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rel(a: f64, b: f64) -> f64 {
        if a == b {
            0.0
        } else {
            (a - b).abs() / b.abs().max(1e-300)
        }
    }

    fn grid() -> Vec<f32> {
        let mut v: Vec<f32> = (-20000..=20000).map(|i| i as f32 * 0.005).collect();
        v.extend([0.0, -0.0, 1e-7, -1e-7, 1e-20, -1e-20, 85.0, 88.5, -87.0, -100.0, 3e-4, -3e-4]);
        v
    }

    #[test]
    fn exp_f32_is_accurate() {
        for x in grid() {
            let (got, want) = (exp_f32(x) as f64, (x as f64).exp());
            if want > f32::MAX as f64 {
                assert!(got == f64::INFINITY || rel(got, want) < 4e-7, "exp({x}) = {got}, want {want}");
            } else if want >= f32::MIN_POSITIVE as f64 {
                assert!(rel(got, want) < 4e-7, "exp({x}) = {got}, want {want}");
            } else {
                // subnormal results: within a couple of the smallest steps
                assert!((got - want).abs() <= 3e-45, "exp({x}) = {got}, want {want}");
            }
        }
        assert_eq!(exp_f32(100.0), f32::INFINITY);
        assert_eq!(exp_f32(-200.0), 0.0);
        assert!(exp_f32(f32::NAN).is_nan());
        assert_eq!(exp_f32(f32::NEG_INFINITY), 0.0);
        assert_eq!(exp_f32(f32::INFINITY), f32::INFINITY);
        // subnormal results are kept
        assert!(exp_f32(-95.0) > 0.0);
    }

    #[test]
    fn expm1_tanh_ln1p_f32_are_accurate() {
        for x in grid() {
            let xd = x as f64;
            let (g, w) = (expm1_f32(x) as f64, xd.exp_m1());
            if xd < 80.0 {
                assert!(rel(g, w) < 4e-7, "expm1({x}) = {g}, want {w}");
            }
            let (g, w) = (tanh_f32(x) as f64, xd.tanh());
            assert!(rel(g, w) < 4e-7, "tanh({x}) = {g}, want {w}");
            if (0.0..=1.0).contains(&xd) {
                let (g, w) = (ln1p_unit_f32(x) as f64, xd.ln_1p());
                assert!(rel(g, w) < 4e-7, "ln1p({x}) = {g}, want {w}");
            }
        }
        assert!(tanh_f32(f32::NAN).is_nan());
        assert_eq!(tanh_f32(f32::INFINITY), 1.0);
        assert_eq!(tanh_f32(f32::NEG_INFINITY), -1.0);
        for u in [1e-30f32, 1e-10, 1e-7, 5e-5, 0.3, 0.999, 1.0] {
            let (g, w) = (ln1p_unit_f32(u) as f64, (u as f64).ln_1p());
            assert!(rel(g, w) < 4e-7, "ln1p({u}) = {g}, want {w}");
        }
    }

    #[test]
    fn erfc_and_gelu_f32_are_accurate() {
        for i in 0..=9000 {
            let z = i as f32 * 0.001 * 9.0;
            let (g, w) = (erfc_nonneg_f32(z) as f64, libm::erfc(z as f64));
            if w >= f32::MIN_POSITIVE as f64 {
                assert!(rel(g, w) < 1e-6, "erfc({z}) = {g}, want {w}");
            }
        }
        for x in grid() {
            let xd = x as f64;
            let (g, w) = (x.gelu() as f64, xd.gelu());
            // x / sqrt 2 rounded to float32 costs about x^2 * 6e-8 relative in the far tail
            assert!((g - w).abs() <= (1e-6 + 1.2e-7 * xd * xd) * w.abs() + 1e-37, "gelu({x}) = {g}, want {w}");
            let (g, w) = (x.gelu_grad() as f64, xd.gelu_grad());
            assert!((g - w).abs() <= 1e-6 * (1.0 + w.abs()), "gelu'({x}) = {g}, want {w}");
        }
    }

    #[test]
    fn sigmoid_and_softplus_are_stable() {
        for x in [-1000.0f64, -40.0, -1.0, 0.0, 1.0, 40.0, 1000.0] {
            let s = sigmoid(x);
            assert!((s - 1.0 / (1.0 + (-x).exp())).abs() < 1e-15);
            let sp = softplus(x);
            assert!(sp.is_finite() && sp >= 0.0);
            assert!(rel(sigmoid(x as f32) as f64, s) < 1e-6 || s < 1e-30);
        }
        assert!((softplus(0.0f32) - std::f32::consts::LN_2).abs() < 1e-7);
    }

    #[test]
    fn par_map_matches_serial_above_threshold() {
        parallel::set_num_threads(2);
        let x: Vec<f32> = (0..100_003).map(|i| (i as f32 * 0.001).sin() * 10.0).collect();
        let mut y = vec![0.0f32; x.len()];
        par_map(&x, &mut y, 8, sigmoid);
        for (a, &b) in y.iter().zip(&x) {
            assert_eq!(*a, sigmoid(b));
        }
    }
}
