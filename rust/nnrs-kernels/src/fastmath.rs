//! The float math every kernel family shares: the [`Real`] trait (f32 / f64 with
//! conversions and vectorizable element functions), the functions behind it, and
//! [`simd`] / [`multiversion!`](crate::multiversion), which compile a loop for AVX2 when
//! the running CPU has it (chosen at run time, no `target-cpu=native`).
//!
//! The element functions are branch-free (arithmetic, compares with selects, bit casts),
//! so loops over them vectorize: `exp` and `ln` in both types (Cephes / fdlibm range
//! reduction and polynomials, within 1 ulp), `ln_1p` on [0, 1] in both types, and in
//! float32 `expm1` and `tanh` (a few ulp). float64 `expm1` and `tanh` are the platform's
//! libm, and `erfc` comes from the `libm` crate (FreeBSD msun, < 1 ulp in float64) for
//! both types.
//! No fast-math is involved, so the baseline and the AVX2 copies give the same bits.

// Polynomial coefficients are written as published (Cephes, fdlibm, Numerical Recipes),
// some with more digits than the type keeps; the compiler rounds them to the same values.
#![allow(clippy::excessive_precision)]

use crate::Float;

/// f32 / f64 with what the kernels need beyond [`Float`]: conversions from and to f64
/// and element functions whose loops vectorize.
pub trait Real: Float {
    /// `v` rounded to this type (like numpy's `dtype.type(v)`, a plain `as` cast).
    fn of_f64(v: f64) -> Self;
    /// This value as f64 (exact).
    fn as_f64(self) -> f64;
    /// `e**self`, within 1 ulp.
    fn vexp(self) -> Self;
    /// `ln(self)`, within 1 ulp (NaN below 0, -inf at 0).
    fn vln(self) -> Self;
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
    fn of_f64(v: f64) -> Self {
        v
    }
    #[inline(always)]
    fn as_f64(self) -> f64 {
        self
    }
    #[inline(always)]
    fn vexp(self) -> Self {
        exp_f64(self)
    }
    #[inline(always)]
    fn vln(self) -> Self {
        ln_f64(self)
    }
    #[inline(always)]
    fn vexpm1(self) -> Self {
        self.exp_m1()
    }
    #[inline(always)]
    fn vln1p_unit(self) -> Self {
        ln1p_unit_f64(self)
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
        cdf + self * (exp_f64(-0.5 * self * self) * FRAC_1_SQRT_2PI)
    }
}

impl Real for f32 {
    #[inline(always)]
    fn of_f64(v: f64) -> Self {
        v as f32
    }
    #[inline(always)]
    fn as_f64(self) -> f64 {
        self as f64
    }
    #[inline(always)]
    fn vexp(self) -> Self {
        exp_f32(self)
    }
    #[inline(always)]
    fn vln(self) -> Self {
        ln_f32(self)
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

/// `if c { a } else { b }`, written so that loops over it compile to a vector select.
#[inline(always)]
fn sel<T>(c: bool, a: T, b: T) -> T {
    if c {
        a
    } else {
        b
    }
}

/// `e**x` in float32: `x = n ln2 + r`, |r| <= ln2/2, Cephes' degree-7 polynomial for
/// `e**r`, and `2**n` built in two halves from the exponent bits (so results that are
/// subnormal or overflow come out right). NaN stays NaN.
#[inline(always)]
pub fn exp_f32(x: f32) -> f32 {
    const MAGIC: f32 = 12_582_912.0; // 1.5 * 2**23: adding it rounds to an integer
                                     // Clamp (NaN passes through both comparisons): below -104 the result is 0, above 89 inf.
    let xc = sel(x < -104.0, -104.0, sel(x > 89.0, 89.0, x));
    let t = xc * std::f32::consts::LOG2_E + MAGIC;
    let nf = t - MAGIC;
    let n = (t.to_bits() as i32).wrapping_sub(0x4B40_0000); // the integer nf
                                                            // Cody-Waite: ln2 = C1 + C2 with C1 exact in few bits.
    let r = xc - nf * 0.693_359_375 - nf * -2.121_944_4e-4;
    let p = ((((1.987_569_1e-4 * r + 1.398_199_9e-3) * r + 8.333_452e-3) * r + 4.166_579_6e-2) * r + 1.666_666_5e-1) * r + 5.000_000_1e-1;
    let y = p * (r * r) + r + 1.0;
    let h = n >> 1;
    let s1 = f32::from_bits(((h + 127) as u32) << 23);
    let s2 = f32::from_bits((((n - h) + 127) as u32) << 23);
    y * s1 * s2
}

/// `e**x` in float64: `x = n ln2 + r`, |r| <= ln2/2, `e**r` by fdlibm's rational form
/// `1 + r + r*c/(2-c)` with c = r - r^2 P(r^2), scaled by 2^n in two steps.
#[inline(always)]
pub fn exp_f64(x: f64) -> f64 {
    const MAGIC: f64 = 6_755_399_441_055_744.0; // 1.5 * 2^52
                                                // 2^n for an integer-valued n in [-1022, 1023] given as `n + MAGIC`.
    let pow2 = |n_magic: f64| f64::from_bits((((n_magic.to_bits().wrapping_sub(MAGIC.to_bits()) as i64) + 1023) as u64) << 52);
    let xc = sel(x > 709.9, 709.9, sel(x < -746.0, -746.0, x));
    let t = xc * std::f64::consts::LOG2_E + MAGIC;
    let n = t - MAGIC;
    let hi = xc - n * 6.931_471_803_691_238_164_90e-01;
    let lo = n * 1.908_214_929_270_587_700_02e-10;
    let r = hi - lo;
    let z = r * r;
    let c = r - z
        * (1.666_666_666_666_660_190_37e-01
            + z * (-2.777_777_777_701_559_338_42e-03
                + z * (6.613_756_321_437_934_361_17e-05 + z * (-1.653_390_220_546_525_153_90e-06 + z * 4.138_136_797_057_238_460_39e-08))));
    let er = 1.0 - ((lo - (r * c) / (2.0 - c)) - hi);
    let n1 = (n * 0.5 - 0.25 + MAGIC) - MAGIC;
    let n2 = n - n1;
    let y = er * pow2(n1 + MAGIC) * pow2(n2 + MAGIC);
    sel(x.is_nan(), x, y)
}

/// `ln(x) - sub * ln2` for finite positive normal x: x = m 2^e with m in
/// [sqrt(1/2), sqrt(2)) (found by shifting the mantissa boundary to sqrt(1/2) in the
/// bits), ln(m) by Cephes' logf polynomial. `sub` is the power of two by which
/// [`ln_f32`] scaled a subnormal input up (0 otherwise).
#[inline(always)]
fn ln_normal_f32(x: f32, sub: f32) -> f32 {
    let ib = x.to_bits().wrapping_add(0x3f80_0000 - 0x3f35_04f3);
    let e = ((ib >> 23) as i32 - 127) as f32 - sub;
    let f = f32::from_bits((ib & 0x007f_ffff) + 0x3f35_04f3) - 1.0;
    let z = f * f;
    let p = (((((((7.037_683_6e-2 * f - 1.151_461e-1) * f + 1.167_699_9e-1) * f - 1.242_014_1e-1) * f + 1.424_932_3e-1) * f
        - 1.666_805_8e-1)
        * f
        + 2.000_071_5e-1)
        * f
        - 2.499_999_4e-1)
        * f
        + 3.333_333_1e-1;
    let y = f * z * p + e * -2.121_944_4e-4 - 0.5 * z;
    (f + y) + e * 0.693_359_375
}

/// `ln(x)` in float32 for every x: subnormals are scaled up first; NaN and x < 0 give
/// NaN, 0 gives -inf, +inf gives +inf.
#[inline(always)]
pub fn ln_f32(x: f32) -> f32 {
    let sub = x < f32::MIN_POSITIVE;
    let y = ln_normal_f32(sel(sub, x * 8_388_608.0, x), sel(sub, 23.0, 0.0)); // 2^23
    let y = sel(x == f32::INFINITY, x, y);
    let y = sel(x == 0.0, f32::NEG_INFINITY, y);
    sel(x < 0.0 || x.is_nan(), f32::NAN, y)
}

/// `ln(x) - sub * ln2` for finite positive normal x (fdlibm's __ieee754_log without
/// branches): x = m 2^e with m in [sqrt(1/2), sqrt(2)), f = m - 1, s = f/(2+f),
/// ln(1+f) = f - hfsq + s(hfsq + R(s^2)). `sub` as in [`ln_normal_f32`].
#[inline(always)]
fn ln_normal_f64(x: f64, sub: f64) -> f64 {
    let ib = x.to_bits().wrapping_add(0x3ff0_0000_0000_0000 - 0x3fe6_a09e_667f_3bcd);
    let e = ((ib >> 52) as i64 - 1023) as f64 - sub;
    let f = f64::from_bits((ib & 0x000f_ffff_ffff_ffff) + 0x3fe6_a09e_667f_3bcd) - 1.0;
    let hfsq = 0.5 * f * f;
    let s = f / (2.0 + f);
    let z = s * s;
    let w = z * z;
    let t1 = w * (3.999_999_999_940_941_908e-01 + w * (2.222_219_843_214_978_396e-01 + w * 1.531_383_769_920_937_332e-01));
    let t2 = z
        * (6.666_666_666_666_735_130e-01
            + w * (2.857_142_874_366_239_149e-01 + w * (1.818_357_216_161_805_012e-01 + w * 1.479_819_860_511_658_591e-01)));
    let r = t2 + t1;
    let (ln2_hi, ln2_lo) = (6.931_471_803_691_238_164_90e-01, 1.908_214_929_270_587_700_02e-10);
    e * ln2_hi - ((hfsq - (s * (hfsq + r) + e * ln2_lo)) - f)
}

/// `ln(x)` in float64, with the special values of [`ln_f32`].
#[inline(always)]
pub fn ln_f64(x: f64) -> f64 {
    let sub = x < f64::MIN_POSITIVE;
    let y = ln_normal_f64(sel(sub, x * 18_014_398_509_481_984.0, x), sel(sub, 54.0, 0.0)); // 2^54
    let y = sel(x == f64::INFINITY, x, y);
    let y = sel(x == 0.0, f64::NEG_INFINITY, y);
    sel(x < 0.0 || x.is_nan(), f64::NAN, y)
}

/// `e**x - 1` in float32: a degree-8 Taylor polynomial for |x| < 0.5, `exp(x) - 1` beyond.
#[inline(always)]
pub fn expm1_f32(x: f32) -> f32 {
    let p = (((((((1.0 / 40320.0 * x + 1.0 / 5040.0) * x + 1.0 / 720.0) * x + 1.0 / 120.0) * x + 1.0 / 24.0) * x + 1.0 / 6.0) * x + 0.5)
        * x)
        * x
        + x;
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

/// `ln(1 + u)` in float32 for u in [0, 1]: `ln(w) * u / (w - 1)` with `w = 1 + u`
/// (Goldberg's correction of the rounding of w), `u` itself where w rounds to 1.
#[inline(always)]
pub fn ln1p_unit_f32(u: f32) -> f32 {
    let w = 1.0 + u;
    let d = w - 1.0;
    let l = ln_normal_f32(w, 0.0) * (u / sel(d == 0.0, 1.0, d));
    sel(d == 0.0, u, l)
}

/// [`ln1p_unit_f32`] in float64.
#[inline(always)]
pub fn ln1p_unit_f64(u: f64) -> f64 {
    let w = 1.0 + u;
    let d = w - 1.0;
    let l = ln_normal_f64(w, 0.0) * (u / sel(d == 0.0, 1.0, d));
    sel(d == 0.0, u, l)
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
                + t * (0.096_784_18
                    + t * (-0.186_288_06
                        + t * (0.278_868_07 + t * (-1.135_203_98 + t * (1.488_515_87 + t * (-0.822_152_23 + t * 0.170_872_77))))))));
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

/// Runs `f`, compiled with AVX-512 (F, BW, DQ, VL) and FMA enabled when the running CPU has
/// them (the loops in `f`, inlined here, then use 512-bit vectors), else with AVX2 and FMA
/// (256-bit vectors), else plain `f()`. Mark the closure `#[inline(always)]` (and the element
/// closures it calls), or LLVM may keep it out of line and compile it for the baseline.
/// Enabling FMA changes no result: Rust never fuses a multiply and an add by itself, only
/// explicit `mul_add` calls use it.
#[inline(always)]
pub fn simd<R>(f: impl FnOnce() -> R) -> R {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::is_x86_feature_detected as has;
        #[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl,avx2,fma")]
        unsafe fn avx512<R>(f: impl FnOnce() -> R) -> R {
            f()
        }
        #[target_feature(enable = "avx2,fma")]
        unsafe fn avx2<R>(f: impl FnOnce() -> R) -> R {
            f()
        }
        if has!("avx512f") && has!("avx512bw") && has!("avx512dq") && has!("avx512vl") && has!("fma") {
            // SAFETY: `avx512` needs only these instructions, and the running CPU has them
            // (checked on the line above).
            return unsafe { avx512(f) };
        }
        if has!("avx2") && has!("fma") {
            // SAFETY: `avx2` needs only AVX2 and FMA, and the running CPU has them.
            return unsafe { avx2(f) };
        }
    }
    f()
}

/// A function whose body runs under [`simd`]: compiled for the baseline target, with AVX2
/// and with AVX-512, the widest copy the running CPU has being called. Bounds are one path per
/// generic.
#[macro_export]
macro_rules! multiversion {
    ($(#[$attr:meta])* $vis:vis fn $name:ident <$($g:ident : $bound:path),+> ( $($arg:ident : $ty:ty),* $(,)? ) $(-> $ret:ty)? $body:block) => {
        $(#[$attr])*
        $vis fn $name<$($g: $bound),+>($($arg: $ty),*) $(-> $ret)? {
            #[inline(always)]
            fn body<$($g: $bound),+>($($arg: $ty),*) $(-> $ret)? $body
            $crate::fastmath::simd(#[inline(always)] || body::<$($g),+>($($arg),*))
        }
    };
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

    fn ulps32(a: f32, b: f32) -> u32 {
        if a == b || (a.is_nan() && b.is_nan()) {
            return 0;
        }
        (a.to_bits() as i64 - b.to_bits() as i64).unsigned_abs() as u32
    }
    fn ulps64(a: f64, b: f64) -> u64 {
        if a == b || (a.is_nan() && b.is_nan()) {
            return 0;
        }
        (a.to_bits() as i128 - b.to_bits() as i128).unsigned_abs() as u64
    }

    #[test]
    fn vexp_vln_f32_within_two_ulp() {
        let specials = [
            0.0f32,
            -0.0,
            1.0,
            -1.0,
            f32::INFINITY,
            f32::NEG_INFINITY,
            f32::NAN,
            88.7,
            88.73,
            89.0,
            -87.0,
            -100.0,
            -103.9,
            -104.5,
            1e-30,
            f32::MIN_POSITIVE,
            1e-40,
            f32::MAX,
        ];
        let mut xs: Vec<f32> = specials.to_vec();
        let mut s = 0x1234_5678u32;
        for _ in 0..200_000 {
            s ^= s << 13;
            s ^= s >> 17;
            s ^= s << 5;
            xs.push(f32::from_bits(s));
        }
        for i in 0..20_000 {
            xs.push(-110.0 + i as f32 * 0.01);
        }
        for &x in &xs {
            let (e, w) = (x.vexp(), x.exp());
            assert!(ulps32(e, w) <= 2 || (w.is_subnormal() && (e - w).abs() <= f32::from_bits(2)), "exp({x:e}) = {e:e}, want {w:e}");
            let (l, w) = (x.vln(), x.ln());
            assert!(ulps32(l, w) <= 2, "ln({x:e}) = {l:e}, want {w:e}");
        }
    }

    #[test]
    fn vexp_vln_f64_within_two_ulp() {
        let specials = [
            0.0f64,
            -0.0,
            1.0,
            -1.0,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NAN,
            709.7,
            709.79,
            710.0,
            -708.0,
            -740.0,
            -745.1,
            -746.0,
            1e-300,
            f64::MIN_POSITIVE,
            1e-310,
            f64::MAX,
        ];
        let mut xs: Vec<f64> = specials.to_vec();
        let mut s = 0x1234_5678_9abc_def0u64;
        for _ in 0..200_000 {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            xs.push(f64::from_bits(s));
        }
        for i in 0..20_000 {
            xs.push(-750.0 + i as f64 * 0.0731);
        }
        for &x in &xs {
            let (e, w) = (x.vexp(), x.exp());
            assert!(ulps64(e, w) <= 2 || (w.is_subnormal() && (e - w).abs() <= f64::from_bits(2)), "exp({x:e}) = {e:e}, want {w:e}");
            let (l, w) = (x.vln(), x.ln());
            assert!(ulps64(l, w) <= 2, "ln({x:e}) = {l:e}, want {w:e}");
            if (0.0..=1.0).contains(&x) {
                let (l, w) = (x.vln1p_unit(), x.ln_1p());
                assert!(ulps64(l, w) <= 2, "ln1p({x:e}) = {l:e}, want {w:e}");
            }
        }
    }
}

/// `cargo test --release -p nnrs-kernels --lib fastmath::speed -- --ignored --nocapture`:
/// the largest error (in ulps of the element type, against f64 libm) of each element
/// function over a sweep, and its single-thread time per element under [`simd`].
#[cfg(test)]
mod speed {
    use super::*;
    use std::time::Instant;

    /// Ulps of float32 at the reference `want` between `got` and `want`.
    fn ulps32(got: f32, want: f64) -> f64 {
        let w = want as f32;
        if got == w || (got.is_nan() && want.is_nan()) {
            return 0.0;
        }
        let ulp = (f32::from_bits(w.abs().to_bits() + 1) - w.abs()) as f64;
        (got as f64 - want).abs() / ulp
    }

    fn ulps64(got: f64, want: f64) -> f64 {
        if got == want {
            return 0.0;
        }
        (got.to_bits() as i128 - want.to_bits() as i128).unsigned_abs() as f64
    }

    fn ns_per_elem<T: Copy>(x: &[T], f: impl Fn(T) -> T + Copy) -> f64 {
        let mut y = x.to_vec();
        let mut best = f64::INFINITY;
        for _ in 0..20 {
            let t = Instant::now();
            simd(
                #[inline(always)]
                || {
                    for (o, &v) in y.iter_mut().zip(x) {
                        *o = f(v);
                    }
                },
            );
            std::hint::black_box(&y);
            best = best.min(t.elapsed().as_secs_f64());
        }
        best / x.len() as f64 * 1e9
    }

    fn sweep32(lo: f32, hi: f32) -> Vec<f32> {
        let n = 1 << 20;
        (0..n).map(|i| lo + (hi - lo) * (i as f32 / n as f32)).collect()
    }

    fn report32(name: &str, x: &[f32], f: impl Fn(f32) -> f32 + Copy, want: impl Fn(f64) -> f64) {
        let worst = x.iter().map(|&v| ulps32(f(v), want(v as f64))).fold(0.0, f64::max);
        println!("{name:14} max {worst:5.2} ulp  {:6.3} ns/elem", ns_per_elem(x, f));
    }

    fn report64(name: &str, lo: f64, hi: f64, f: impl Fn(f64) -> f64 + Copy, want: impl Fn(f64) -> f64 + Copy) {
        let n = 1 << 20;
        let x: Vec<f64> = (0..n).map(|i| lo + (hi - lo) * (i as f64 / n as f64)).collect();
        let worst = x.iter().map(|&v| ulps64(f(v), want(v))).fold(0.0, f64::max);
        println!("{name:14} max {worst:5.2} ulp  {:6.3} ns/elem (std: {:6.3})", ns_per_elem(&x, f), ns_per_elem(&x, want));
    }

    #[test]
    #[ignore]
    fn accuracy_and_speed() {
        report32("exp_f32", &sweep32(-103.0, 88.0), exp_f32, f64::exp);
        report32("ln_f32", &sweep32(1e-3, 1e3), ln_f32, f64::ln);
        report32("ln1p_unit_f32", &sweep32(0.0, 1.0), ln1p_unit_f32, f64::ln_1p);
        report32("expm1_f32", &sweep32(-20.0, 20.0), expm1_f32, f64::exp_m1);
        report32("tanh_f32", &sweep32(-10.0, 10.0), tanh_f32, f64::tanh);
        report64("exp_f64", -740.0, 709.0, exp_f64, f64::exp);
        report64("ln_f64", 1e-3, 1e3, ln_f64, f64::ln);
        report64("ln1p_unit_f64", 0.0, 1.0, ln1p_unit_f64, f64::ln_1p);
        report64("ln1p_unit_f64", 0.0, 1e-6, ln1p_unit_f64, f64::ln_1p);
    }
}
