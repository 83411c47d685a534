//! Elementwise kernels: `unary`, `binary` with numpy broadcasting, `binary_scalar`, `clip`.
//!
//! Every loop is a tight slice loop the compiler vectorizes; the hot loops are compiled
//! twice (baseline x86-64 and AVX2, picked at run time by [`multiversion!`]) with no
//! fast-math, so both versions give the same bits. Large calls split the output into
//! chunks on the nnrs thread pool; small calls stay on the calling thread.

use std::ops::Range;

use rayon::prelude::*;

use crate::{parallel, Float, KernelError};

/// Compiles a function body twice, for the baseline target and with AVX2 enabled, and
/// calls the AVX2 copy when the running CPU has it. Bounds are one path per generic.
/// No fast-math is involved, so both copies compute the same bits.
#[macro_export]
macro_rules! multiversion {
    ($(#[$attr:meta])* $vis:vis fn $name:ident <$($g:ident : $bound:path),+> ( $($arg:ident : $ty:ty),* $(,)? ) $(-> $ret:ty)? $body:block) => {
        $(#[$attr])*
        $vis fn $name<$($g: $bound),+>($($arg: $ty),*) $(-> $ret)? {
            #[inline(always)]
            fn body<$($g: $bound),+>($($arg: $ty),*) $(-> $ret)? $body
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx2")]
                fn avx2<$($g: $bound),+>($($arg: $ty),*) $(-> $ret)? { body::<$($g),+>($($arg),*) }
                if ::std::arch::is_x86_feature_detected!("avx2") {
                    // SAFETY: `avx2` only needs the AVX2 instructions, and the running CPU
                    // has them (checked on the line above).
                    return unsafe { avx2::<$($g),+>($($arg),*) };
                }
            }
            body::<$($g),+>($($arg),*)
        }
    };
}

/// f32 / f64 with what the elementwise kernels need beyond [`Float`]: exact conversions
/// from and to f64 and branch-free (vectorizable) `exp` and `ln`.
pub trait Real: Float {
    /// `v` rounded to this type (like numpy's `dtype.type(v)`).
    fn of_f64(v: f64) -> Self;
    /// This value as f64 (exact).
    fn as_f64(self) -> f64;
    /// e^x, within 1 ulp, branch-free so that loops over it vectorize.
    fn vexp(self) -> Self;
    /// ln(x), within 1 ulp, branch-free so that loops over it vectorize.
    fn vln(self) -> Self;
}

impl Real for f32 {
    #[inline(always)]
    fn of_f64(v: f64) -> f32 {
        v as f32
    }
    #[inline(always)]
    fn as_f64(self) -> f64 {
        self as f64
    }
    #[inline(always)]
    fn vexp(self) -> f32 {
        crate::elementwise::vmath::exp_f32(self)
    }
    #[inline(always)]
    fn vln(self) -> f32 {
        crate::elementwise::vmath::ln_f32(self)
    }
}

impl Real for f64 {
    #[inline(always)]
    fn of_f64(v: f64) -> f64 {
        v
    }
    #[inline(always)]
    fn as_f64(self) -> f64 {
        self
    }
    #[inline(always)]
    fn vexp(self) -> f64 {
        crate::elementwise::vmath::exp_f64(self)
    }
    #[inline(always)]
    fn vln(self) -> f64 {
        crate::elementwise::vmath::ln_f64(self)
    }
}

/// Branch-free exp and ln (Cephes / fdlibm style range reduction and polynomials).
/// Only arithmetic, comparisons with selects and bit casts, so loops vectorize.
/// The coefficients are written as published (more digits than the type holds).
#[allow(clippy::excessive_precision)]
pub mod vmath {
    const MAGIC32: f32 = 12_582_912.0; // 1.5 * 2^23: adding it rounds to an integer
    const MAGIC64: f64 = 6_755_399_441_055_744.0; // 1.5 * 2^52

    #[inline(always)]
    fn sel32(c: bool, a: f32, b: f32) -> f32 {
        if c {
            a
        } else {
            b
        }
    }
    #[inline(always)]
    fn sel64(c: bool, a: f64, b: f64) -> f64 {
        if c {
            a
        } else {
            b
        }
    }

    /// 2^n for an integer-valued n in [-126, 127] given as `n + MAGIC32`.
    #[inline(always)]
    fn pow2_32(n_magic: f32) -> f32 {
        let n = n_magic.to_bits().wrapping_sub(MAGIC32.to_bits()) as i32;
        f32::from_bits(((n + 127) as u32) << 23)
    }

    /// 2^n for an integer-valued n in [-1022, 1023] given as `n + MAGIC64`.
    #[inline(always)]
    fn pow2_64(n_magic: f64) -> f64 {
        let n = n_magic.to_bits().wrapping_sub(MAGIC64.to_bits()) as i64;
        f64::from_bits(((n + 1023) as u64) << 52)
    }

    /// e^x for f32: x = n ln2 + r, |r| <= ln2/2, e^r by a degree-7 polynomial,
    /// scaled by 2^n in two steps so subnormal results and overflow come out right.
    #[inline(always)]
    pub fn exp_f32(x: f32) -> f32 {
        // Clamp (NaN passes through both selects).
        let xc = sel32(x > 88.8, 88.8, sel32(x < -104.0, -104.0, x));
        let t = xc * std::f32::consts::LOG2_E + MAGIC32;
        let n = t - MAGIC32;
        // Cody-Waite: ln2 = C1 + C2 with C1 exact in few bits.
        let r = (xc - n * 0.693_359_375) - n * -2.121_944_4e-4;
        let p = 1.987_569_1e-4f32;
        let p = p * r + 1.398_199_9e-3;
        let p = p * r + 8.333_452e-3;
        let p = p * r + 4.166_579_6e-2;
        let p = p * r + 1.666_666_5e-1;
        let p = p * r + 5.000_000_1e-1;
        let er = (p * r * r + r) + 1.0;
        // n = n1 + n2 with n1 = floor(n / 2), both within the normal exponent range.
        let n1 = (n * 0.5 - 0.25 + MAGIC32) - MAGIC32;
        let n2 = n - n1;
        let y = er * pow2_32(n1 + MAGIC32) * pow2_32(n2 + MAGIC32);
        sel32(x.is_nan(), x, y)
    }

    /// e^x for f64: x = n ln2 + r, |r| <= ln2/2, e^r by fdlibm's rational form
    /// `1 + r + r*c/(2-c)` with c = r - r^2 P(r^2), scaled by 2^n in two steps.
    #[inline(always)]
    pub fn exp_f64(x: f64) -> f64 {
        let xc = sel64(x > 709.9, 709.9, sel64(x < -746.0, -746.0, x));
        let t = xc * std::f64::consts::LOG2_E + MAGIC64;
        let n = t - MAGIC64;
        let hi = xc - n * 6.931_471_803_691_238_164_90e-01;
        let lo = n * 1.908_214_929_270_587_700_02e-10;
        let r = hi - lo;
        let z = r * r;
        let c = r - z
            * (1.666_666_666_666_660_190_37e-01
                + z * (-2.777_777_777_701_559_338_42e-03
                    + z * (6.613_756_321_437_934_361_17e-05 + z * (-1.653_390_220_546_525_153_90e-06 + z * 4.138_136_797_057_238_460_39e-08))));
        let er = 1.0 - ((lo - (r * c) / (2.0 - c)) - hi);
        let n1 = (n * 0.5 - 0.25 + MAGIC64) - MAGIC64;
        let n2 = n - n1;
        let y = er * pow2_64(n1 + MAGIC64) * pow2_64(n2 + MAGIC64);
        sel64(x.is_nan(), x, y)
    }

    /// ln(x) for f32: x = m 2^e with m in [sqrt(1/2), sqrt(2)), ln(m) by Cephes' logf
    /// polynomial; subnormals are scaled up first; x<0 gives NaN, 0 gives -inf.
    #[inline(always)]
    pub fn ln_f32(x: f32) -> f32 {
        let sub = x < f32::MIN_POSITIVE;
        let xs = sel32(sub, x * 8_388_608.0, x); // 2^23
        let bits = xs.to_bits();
        // Exponent of m in [sqrt(1/2), sqrt(2)): shift the mantissa boundary to sqrt(1/2).
        let ib = bits.wrapping_add(0x3f80_0000 - 0x3f35_04f3);
        let e = ((ib >> 23) as i32 - 127) as f32 - sel32(sub, 23.0, 0.0);
        let m = f32::from_bits((ib & 0x007f_ffff) + 0x3f35_04f3);
        let f = m - 1.0;
        let z = f * f;
        let p = 7.037_683_6e-2f32;
        let p = p * f - 1.151_461e-1;
        let p = p * f + 1.167_699_9e-1;
        let p = p * f - 1.242_014_1e-1;
        let p = p * f + 1.424_932_3e-1;
        let p = p * f - 1.666_805_8e-1;
        let p = p * f + 2.000_071_5e-1;
        let p = p * f - 2.499_999_4e-1;
        let p = p * f + 3.333_333_1e-1;
        let y = f * z * p;
        let y = y + e * -2.121_944_4e-4;
        let y = y - 0.5 * z;
        let y = (f + y) + e * 0.693_359_375;
        // Special values: NaN, +inf, 0, negatives.
        let y = sel32(x == f32::INFINITY, x, y);
        let y = sel32(x == 0.0, f32::NEG_INFINITY, y);
        sel32(x < 0.0 || x.is_nan(), f32::NAN, y)
    }

    /// ln(x) for f64 (fdlibm's __ieee754_log without branches): x = m 2^e with m in
    /// [sqrt(1/2), sqrt(2)), f = m - 1, s = f/(2+f), ln(1+f) = f - hfsq + s(hfsq + R(s^2)).
    #[inline(always)]
    pub fn ln_f64(x: f64) -> f64 {
        let sub = x < f64::MIN_POSITIVE;
        let xs = sel64(sub, x * 18_014_398_509_481_984.0, x); // 2^54
        let bits = xs.to_bits();
        let ib = bits.wrapping_add(0x3ff0_0000_0000_0000 - 0x3fe6_a09e_667f_3bcd);
        let e = ((ib >> 52) as i64 - 1023) as f64 - sel64(sub, 54.0, 0.0);
        let m = f64::from_bits((ib & 0x000f_ffff_ffff_ffff) + 0x3fe6_a09e_667f_3bcd);
        let f = m - 1.0;
        let hfsq = 0.5 * f * f;
        let s = f / (2.0 + f);
        let z = s * s;
        let w = z * z;
        let t1 = w * (3.999_999_999_940_941_908e-01 + w * (2.222_219_843_214_978_396e-01 + w * 1.531_383_769_920_937_332e-01));
        let t2 =
            z * (6.666_666_666_666_735_130e-01 + w * (2.857_142_874_366_239_149e-01 + w * (1.818_357_216_161_805_012e-01 + w * 1.479_819_860_511_658_591e-01)));
        let r = t2 + t1;
        let ln2_hi = 6.931_471_803_691_238_164_90e-01;
        let ln2_lo = 1.908_214_929_270_587_700_02e-10;
        let y = e * ln2_hi - ((hfsq - (s * (hfsq + r) + e * ln2_lo)) - f);
        let y = sel64(x == f64::INFINITY, x, y);
        let y = sel64(x == 0.0, f64::NEG_INFINITY, y);
        sel64(x < 0.0 || x.is_nan(), f64::NAN, y)
    }
}

// ---- op names ---------------------------------------------------------------------------

fn unknown(kernel: &str, name: &str, names: &[&str]) -> KernelError {
    KernelError(format!("{kernel}: unknown op '{name}'; expected one of {}", names.join(", ")))
}

/// Ops of `unary` (the contract's UNARY_OPS).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnaryOp {
    Neg,
    Exp,
    Log,
    Sqrt,
    Square,
    Abs,
    Sign,
    Reciprocal,
}

impl UnaryOp {
    pub const NAMES: [&'static str; 8] = ["neg", "exp", "log", "sqrt", "square", "abs", "sign", "reciprocal"];
    const ALL: [UnaryOp; 8] = [Self::Neg, Self::Exp, Self::Log, Self::Sqrt, Self::Square, Self::Abs, Self::Sign, Self::Reciprocal];

    /// The op called `name`, or an error naming `kernel` and the accepted names.
    pub fn parse(kernel: &str, name: &str) -> Result<Self, KernelError> {
        Self::NAMES.iter().position(|&n| n == name).map(|i| Self::ALL[i]).ok_or_else(|| unknown(kernel, name, &Self::NAMES))
    }
}

/// Ops of `binary` and `binary_scalar` (the contract's BINARY_OPS).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinaryOp {
    Add,
    Sub,
    Mul,
    Div,
    Pow,
    Maximum,
    Minimum,
}

impl BinaryOp {
    pub const NAMES: [&'static str; 7] = ["add", "sub", "mul", "div", "pow", "maximum", "minimum"];
    const ALL: [BinaryOp; 7] = [Self::Add, Self::Sub, Self::Mul, Self::Div, Self::Pow, Self::Maximum, Self::Minimum];

    /// The op called `name`, or an error naming `kernel` and the accepted names.
    pub fn parse(kernel: &str, name: &str) -> Result<Self, KernelError> {
        Self::NAMES.iter().position(|&n| n == name).map(|i| Self::ALL[i]).ok_or_else(|| unknown(kernel, name, &Self::NAMES))
    }
}

// ---- the scalar functions, one zero-sized type per op (monomorphized loops) -------------

/// A one-argument elementwise function.
pub trait UnFn<T>: Copy + Send + Sync + 'static {
    fn f(x: T) -> T;
}
/// A two-argument elementwise function.
pub trait BinFn<T>: Copy + Send + Sync + 'static {
    fn f(a: T, b: T) -> T;
}

/// numpy's maximum: the larger value, NaN when either is NaN (the first NaN).
#[inline(always)]
pub fn nan_max<T: Float>(a: T, b: T) -> T {
    if (a >= b) | (a.is_nan()) {
        a
    } else {
        b
    }
}

/// numpy's minimum: the smaller value, NaN when either is NaN (the first NaN).
#[inline(always)]
pub fn nan_min<T: Float>(a: T, b: T) -> T {
    if (a <= b) | (a.is_nan()) {
        a
    } else {
        b
    }
}

/// The scalar functions of every op.
pub mod ops {
    use super::{nan_max, nan_min, BinFn, Real, UnFn};

    macro_rules! un {
        ($name:ident, |$x:ident| $e:expr) => {
            #[derive(Debug, Clone, Copy)]
            pub struct $name;
            impl<T: Real> UnFn<T> for $name {
                #[inline(always)]
                fn f($x: T) -> T {
                    $e
                }
            }
        };
    }
    macro_rules! bin {
        ($name:ident, |$a:ident, $b:ident| $e:expr) => {
            #[derive(Debug, Clone, Copy)]
            pub struct $name;
            impl<T: Real> BinFn<T> for $name {
                #[inline(always)]
                fn f($a: T, $b: T) -> T {
                    $e
                }
            }
        };
    }

    un!(Neg, |x| -x);
    un!(Exp, |x| x.vexp());
    un!(Log, |x| x.vln());
    un!(Sqrt, |x| x.sqrt());
    un!(Square, |x| x * x);
    un!(Abs, |x| x.abs());
    un!(Sign, |x| if x > T::zero() {
        T::one()
    } else if x < T::zero() {
        -T::one()
    } else if x == T::zero() {
        T::zero()
    } else {
        x
    });
    un!(Reciprocal, |x| T::one() / x);
    un!(Identity, |x| x);

    bin!(Add, |a, b| a + b);
    bin!(Sub, |a, b| a - b);
    bin!(Mul, |a, b| a * b);
    bin!(Div, |a, b| a / b);
    bin!(Pow, |a, b| a.powf(b));
    bin!(Maximum, |a, b| nan_max(a, b));
    bin!(Minimum, |a, b| nan_min(a, b));
}

/// Runs `$e` with `$O` the zero-sized type of the unary op `$op`.
macro_rules! with_unary {
    ($op:expr, $O:ident => $e:expr) => {
        match $op {
            UnaryOp::Neg => {
                type $O = ops::Neg;
                $e
            }
            UnaryOp::Exp => {
                type $O = ops::Exp;
                $e
            }
            UnaryOp::Log => {
                type $O = ops::Log;
                $e
            }
            UnaryOp::Sqrt => {
                type $O = ops::Sqrt;
                $e
            }
            UnaryOp::Square => {
                type $O = ops::Square;
                $e
            }
            UnaryOp::Abs => {
                type $O = ops::Abs;
                $e
            }
            UnaryOp::Sign => {
                type $O = ops::Sign;
                $e
            }
            UnaryOp::Reciprocal => {
                type $O = ops::Reciprocal;
                $e
            }
        }
    };
}

/// Runs `$e` with `$O` the zero-sized type of the binary op `$op`.
macro_rules! with_binary {
    ($op:expr, $O:ident => $e:expr) => {
        match $op {
            BinaryOp::Add => {
                type $O = ops::Add;
                $e
            }
            BinaryOp::Sub => {
                type $O = ops::Sub;
                $e
            }
            BinaryOp::Mul => {
                type $O = ops::Mul;
                $e
            }
            BinaryOp::Div => {
                type $O = ops::Div;
                $e
            }
            BinaryOp::Pow => {
                type $O = ops::Pow;
                $e
            }
            BinaryOp::Maximum => {
                type $O = ops::Maximum;
                $e
            }
            BinaryOp::Minimum => {
                type $O = ops::Minimum;
                $e
            }
        }
    };
}

// ---- splitting work -----------------------------------------------------------------------

/// Rough single-thread cost of `n` elements at `eighths` eighths of a nanosecond each:
/// the `work` the splitting helpers compare with `parallel::PAR_THRESHOLD`, so that a call
/// goes to the pool only when it takes tens of microseconds on one thread (handing work to
/// the pool costs several microseconds, more than a cheap op on 32k elements takes).
#[inline]
pub fn work_ns(n: usize, eighths: usize) -> usize {
    n.saturating_mul(eighths) / 8
}

impl UnaryOp {
    /// Eighths of a nanosecond per element (see [`work_ns`]).
    pub fn cost(self) -> usize {
        match self {
            Self::Neg | Self::Square | Self::Abs | Self::Sign => 1,
            Self::Sqrt | Self::Reciprocal => 2,
            Self::Exp => 6,
            Self::Log => 10,
        }
    }
}

impl BinaryOp {
    /// Eighths of a nanosecond per element (see [`work_ns`]).
    pub fn cost(self) -> usize {
        match self {
            Self::Add | Self::Sub | Self::Mul | Self::Maximum | Self::Minimum => 1,
            Self::Div => 2,
            Self::Pow => 36,
        }
    }
}

/// Calls `f(first_item, chunk)` over `out` cut into chunks of whole items of `item_len`
/// elements. On the nnrs pool, several chunks at once, when `work` (a rough element count)
/// reaches `parallel::PAR_THRESHOLD` and the pool has several threads; otherwise one call
/// `f(0, out)` on the calling thread.
pub fn for_item_chunks<T: Send>(out: &mut [T], item_len: usize, work: usize, f: impl Fn(usize, &mut [T]) + Sync + Send) {
    if out.is_empty() || item_len == 0 {
        return;
    }
    let items = out.len() / item_len;
    if work < parallel::PAR_THRESHOLD || items < 2 {
        return f(0, out);
    }
    parallel::run(work, || {
        // Inside the pool only when `run` installed it (large work, several threads).
        if rayon::current_thread_index().is_none() {
            return f(0, out);
        }
        let threads = rayon::current_num_threads().max(1);
        // About 4 chunks per thread, each with at least ~4 us of work.
        let per = items.div_ceil(4 * threads).max((4096 * items).div_ceil(work)).max(1);
        out.par_chunks_mut(per * item_len).enumerate().for_each(|(i, c)| f(i * per, c));
    })
}

/// Like [`for_item_chunks`] with items of one element, over two outputs of one length
/// cut at the same places: `f(first, a_chunk, b_chunk)`.
pub fn for_item_chunks2<T: Send, U: Send>(a: &mut [T], b: &mut [U], work: usize, f: impl Fn(usize, &mut [T], &mut [U]) + Sync + Send) {
    assert_eq!(a.len(), b.len(), "for_item_chunks2: outputs of different lengths");
    let n = a.len();
    if work < parallel::PAR_THRESHOLD || n < 2 {
        return f(0, a, b);
    }
    parallel::run(work, || {
        if rayon::current_thread_index().is_none() {
            return f(0, a, b);
        }
        let threads = rayon::current_num_threads().max(1);
        let per = n.div_ceil(4 * threads).max((4096 * n).div_ceil(work)).max(1);
        a.par_chunks_mut(per).zip(b.par_chunks_mut(per)).enumerate().for_each(|(i, (ca, cb))| f(i * per, ca, cb));
    })
}

/// Calls `f(range)` for ranges covering `0..n`, in parallel like [`for_item_chunks`]; `f`
/// returns a value per range, collected in order.
pub fn map_ranges<R: Send>(n: usize, work: usize, grain: usize, f: impl Fn(Range<usize>) -> R + Sync + Send) -> Vec<R> {
    let grain = grain.max(1);
    let chunks = n.div_ceil(grain);
    if work < parallel::PAR_THRESHOLD || chunks < 2 {
        return (0..chunks).map(|c| f(c * grain..((c + 1) * grain).min(n))).collect();
    }
    parallel::run(work, || {
        if rayon::current_thread_index().is_none() {
            (0..chunks).map(|c| f(c * grain..((c + 1) * grain).min(n))).collect()
        } else {
            (0..chunks).into_par_iter().map(|c| f(c * grain..((c + 1) * grain).min(n))).collect()
        }
    })
}

fn check_len(kernel: &str, what: &str, got: usize, want: usize) -> Result<(), KernelError> {
    if got != want {
        return Err(KernelError(format!("{kernel}: {what} has {got} elements, expected {want}")));
    }
    Ok(())
}

// ---- unary, binary_scalar, clip -------------------------------------------------------------

multiversion! {
    fn map_un<T: Real, O: UnFn<T>>(x: &[T], y: &mut [T]) {
        for (o, &v) in y.iter_mut().zip(x) {
            *o = O::f(v);
        }
    }
}

multiversion! {
    fn map_vs<T: Real, O: BinFn<T>>(a: &[T], s: T, y: &mut [T]) {
        vs::<T, O>(a, s, y)
    }
}

multiversion! {
    fn map_sv<T: Real, O: BinFn<T>>(s: T, b: &[T], y: &mut [T]) {
        sv::<T, O>(s, b, y)
    }
}

multiversion! {
    fn map_vv<T: Real, O: BinFn<T>>(a: &[T], b: &[T], y: &mut [T]) {
        vv::<T, O>(a, b, y)
    }
}

multiversion! {
    fn map_clip<T: Real>(x: &[T], lo: T, hi: T, y: &mut [T]) {
        for (o, &v) in y.iter_mut().zip(x) {
            *o = nan_min(nan_max(v, lo), hi);
        }
    }
}

#[inline(always)]
fn vv<T: Real, O: BinFn<T>>(a: &[T], b: &[T], y: &mut [T]) {
    for ((o, &p), &q) in y.iter_mut().zip(a).zip(b) {
        *o = O::f(p, q);
    }
}

#[inline(always)]
fn vs<T: Real, O: BinFn<T>>(a: &[T], s: T, y: &mut [T]) {
    for (o, &p) in y.iter_mut().zip(a) {
        *o = O::f(p, s);
    }
}

#[inline(always)]
fn sv<T: Real, O: BinFn<T>>(s: T, b: &[T], y: &mut [T]) {
    for (o, &q) in y.iter_mut().zip(b) {
        *o = O::f(s, q);
    }
}

fn unary_with<T: Real, O: UnFn<T>>(x: &[T], y: &mut [T], work: usize) {
    for_item_chunks(y, 1, work, |start, c| map_un::<T, O>(&x[start..start + c.len()], c));
}

/// `y = op(x)` elementwise; x and y have the same length.
pub fn unary<T: Real>(op: UnaryOp, x: &[T], y: &mut [T]) -> Result<(), KernelError> {
    check_len("unary", "output", y.len(), x.len())?;
    let work = work_ns(x.len(), op.cost());
    with_unary!(op, O => unary_with::<T, O>(x, y, work));
    Ok(())
}

fn scalar_with<T: Real, O: BinFn<T>>(a: &[T], s: T, reverse: bool, y: &mut [T], work: usize) {
    for_item_chunks(y, 1, work, |start, c| {
        let a = &a[start..start + c.len()];
        if reverse {
            map_sv::<T, O>(s, a, c)
        } else {
            map_vs::<T, O>(a, s, c)
        }
    });
}

/// `y = op(a, s)`, or `op(s, a)` with `reverse`, elementwise (s already rounded to T).
pub fn binary_scalar<T: Real>(op: BinaryOp, a: &[T], s: T, reverse: bool, y: &mut [T]) -> Result<(), KernelError> {
    check_len("binary_scalar", "output", y.len(), a.len())?;
    if op == BinaryOp::Pow && !reverse {
        // Exponents whose pow is exactly a cheaper op (pow is correctly rounded there),
        // as numpy's power does for a scalar exponent.
        if s == T::one() {
            unary_with::<T, ops::Identity>(a, y, work_ns(a.len(), 1));
            return Ok(());
        }
        if s == T::of_f64(2.0) {
            unary_with::<T, ops::Square>(a, y, work_ns(a.len(), 1));
            return Ok(());
        }
        if s == -T::one() {
            unary_with::<T, ops::Reciprocal>(a, y, work_ns(a.len(), 2));
            return Ok(());
        }
        if s == T::of_f64(0.5) {
            // numpy's power takes sqrt for a scalar exponent of 0.5 (so pow(-0, 0.5) = -0
            // and pow(-inf, 0.5) = NaN there, unlike C's pow); do the same.
            unary_with::<T, ops::Sqrt>(a, y, work_ns(a.len(), 2));
            return Ok(());
        }
    }
    let work = work_ns(a.len(), op.cost());
    with_binary!(op, O => scalar_with::<T, O>(a, s, reverse, y, work));
    Ok(())
}

/// `y = min(max(x, lo), hi)` elementwise, with numpy's NaN propagation.
pub fn clip<T: Real>(x: &[T], lo: T, hi: T, y: &mut [T]) -> Result<(), KernelError> {
    check_len("clip", "output", y.len(), x.len())?;
    for_item_chunks(y, 1, work_ns(x.len(), 1), |start, c| map_clip(&x[start..start + c.len()], lo, hi, c));
    Ok(())
}

// ---- binary with broadcasting ---------------------------------------------------------------

/// A shape written the way Python writes a tuple: `(2, 3)`, `(4,)`, `()`.
pub fn fmt_shape(s: &[usize]) -> String {
    match s.len() {
        0 => "()".into(),
        1 => format!("({},)", s[0]),
        _ => format!("({})", s.iter().map(|d| d.to_string()).collect::<Vec<_>>().join(", ")),
    }
}

/// How `binary` walks a and b under numpy broadcasting: the output shape and, with the
/// size-1 dimensions dropped and the dimensions that can be walked as one merged, the
/// size and the element strides of a and b of each dimension (stride 0 along a
/// dimension that is broadcast). The innermost stride of a and of b is 0 or 1, not both 0.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BroadcastParams {
    pub out_shape: Vec<usize>,
    /// Elements of a and of b.
    pub a_len: usize,
    pub b_len: usize,
    /// Merged dimensions, outermost first: (size, stride in a, stride in b).
    dims: Vec<[usize; 3]>,
}

impl BroadcastParams {
    /// The walk for shapes `a` and `b`, or an error naming both when they do not broadcast.
    pub fn new(a: &[usize], b: &[usize]) -> Result<Self, KernelError> {
        let (a_len, b_len) = (a.iter().product(), b.iter().product());
        if a == b {
            return Ok(Self { out_shape: a.to_vec(), a_len, b_len, dims: vec![[a_len, 1, 1]] });
        }
        let nd = a.len().max(b.len());
        // Size of dimension d of a shape padded on the left with 1s to nd dimensions.
        let dim = |s: &[usize], d: usize| if d + s.len() >= nd { s[d + s.len() - nd] } else { 1 };
        let mut out = Vec::with_capacity(nd);
        for d in 0..nd {
            let (x, y) = (dim(a, d), dim(b, d));
            out.push(if x == y || y == 1 {
                x
            } else if x == 1 {
                y
            } else {
                return Err(KernelError(format!("binary: shapes {} and {} do not broadcast", fmt_shape(a), fmt_shape(b))));
            });
        }
        // From the innermost dimension outwards: C-order strides (0 where broadcast),
        // merging a dimension into the one inside it when both a and b allow it.
        let mut dims: Vec<[usize; 3]> = Vec::with_capacity(nd.max(1));
        let (mut ma, mut mb) = (1, 1);
        for d in (0..nd).rev() {
            let (x, y) = (dim(a, d), dim(b, d));
            let (sa, sb) = (if x == 1 { 0 } else { ma }, if y == 1 { 0 } else { mb });
            ma *= x;
            mb *= y;
            if out[d] == 1 {
                continue;
            }
            if let Some(last) = dims.last_mut() {
                if sa == last[1] * last[0] && sb == last[2] * last[0] {
                    last[0] *= out[d];
                    continue;
                }
            }
            dims.push([out[d], sa, sb]);
        }
        if dims.is_empty() {
            dims.push([1, 1, 1]);
        }
        dims.reverse();
        Ok(Self { out_shape: out, a_len, b_len, dims })
    }

    /// Number of elements of the output.
    pub fn out_len(&self) -> usize {
        self.out_shape.iter().product()
    }
}

multiversion! {
    /// Output elements `start .. start + y.len()` of a broadcast binary op.
    fn binary_range<T: Real, O: BinFn<T>>(p: &BroadcastParams, a: &[T], b: &[T], y: &mut [T], start: usize) {
        let dims = &p.dims[..];
        let nd = dims.len();
        let [inner, ia, ib] = dims[nd - 1];
        let mut row = start / inner;
        let mut col = start % inner;
        // Multi-index of the row over the outer dimensions, and the offsets it gives.
        let mut idx = vec![0usize; nd - 1];
        let (mut oa, mut ob) = (0usize, 0usize);
        for d in (0..nd - 1).rev() {
            idx[d] = row % dims[d][0];
            row /= dims[d][0];
            oa += idx[d] * dims[d][1];
            ob += idx[d] * dims[d][2];
        }
        let mut pos = 0;
        while pos < y.len() {
            let n = (inner - col).min(y.len() - pos);
            let out = &mut y[pos..pos + n];
            match (ia, ib) {
                (1, 1) => vv::<T, O>(&a[oa + col..oa + col + n], &b[ob + col..ob + col + n], out),
                (1, _) => vs::<T, O>(&a[oa + col..oa + col + n], b[ob], out),
                _ => sv::<T, O>(a[oa], &b[ob + col..ob + col + n], out),
            }
            pos += n;
            col = 0;
            for d in (0..nd - 1).rev() {
                let [size, sa, sb] = dims[d];
                idx[d] += 1;
                oa += sa;
                ob += sb;
                if idx[d] < size {
                    break;
                }
                oa -= sa * size;
                ob -= sb * size;
                idx[d] = 0;
            }
        }
    }
}

fn binary_with<T: Real, O: BinFn<T>>(p: &BroadcastParams, a: &[T], b: &[T], y: &mut [T], cost: usize) {
    if p.dims.len() == 1 && p.dims[0][1] == 1 && p.dims[0][2] == 1 {
        // Same shapes (after dropping size-1 dimensions): one flat loop.
        for_item_chunks(y, 1, work_ns(y.len(), cost), |s, c| map_vv::<T, O>(&a[s..s + c.len()], &b[s..s + c.len()], c));
    } else {
        // Plus a few nanoseconds per row of the innermost dimension.
        let rows = y.len() / p.dims[p.dims.len() - 1][0];
        let work = work_ns(y.len(), cost) + rows * 3;
        for_item_chunks(y, 1, work, |s, c| binary_range::<T, O>(p, a, b, c, s));
    }
}

/// `y = op(a, b)` with numpy broadcasting; `p` comes from the shapes of a and b and `y`
/// has `p.out_shape`.
pub fn binary<T: Real>(op: BinaryOp, a: &[T], b: &[T], y: &mut [T], p: &BroadcastParams) -> Result<(), KernelError> {
    check_len("binary", "a", a.len(), p.a_len)?;
    check_len("binary", "b", b.len(), p.b_len)?;
    check_len("binary", "output", y.len(), p.out_len())?;
    if y.is_empty() {
        return Ok(());
    }
    with_binary!(op, O => binary_with::<T, O>(p, a, b, y, op.cost()));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Broadcast op by the definition: index arithmetic per output element.
    fn naive(op: fn(f64, f64) -> f64, a: &[f64], sa: &[usize], b: &[f64], sb: &[usize]) -> (Vec<f64>, Vec<usize>) {
        let nd = sa.len().max(sb.len());
        let pad = |s: &[usize]| -> Vec<usize> { std::iter::repeat_n(1, nd - s.len()).chain(s.iter().copied()).collect() };
        let (pa, pb) = (pad(sa), pad(sb));
        let out: Vec<usize> = (0..nd).map(|d| if pa[d] == 1 { pb[d] } else { pa[d] }).collect();
        let n: usize = out.iter().product();
        let mut y = Vec::with_capacity(n);
        for flat in 0..n {
            let (mut r, mut ia, mut ib, mut ma, mut mb) = (flat, 0, 0, 1, 1);
            for d in (0..nd).rev() {
                let i = r % out[d];
                r /= out[d];
                ia += if pa[d] == 1 { 0 } else { i * ma };
                ib += if pb[d] == 1 { 0 } else { i * mb };
                ma *= pa[d];
                mb *= pb[d];
            }
            y.push(op(a[ia], b[ib]));
        }
        (y, out)
    }

    #[test]
    fn broadcasting_matches_definition() {
        let cases: &[(&[usize], &[usize])] = &[
            (&[2, 3], &[2, 3]),
            (&[4, 3], &[3]),
            (&[4, 1], &[1, 5]),
            (&[3, 1, 5], &[4, 1]),
            (&[1], &[2, 2]),
            (&[], &[3, 2]),
            (&[2, 1, 3, 1], &[1, 4, 1, 5]),
            (&[5, 4, 3], &[5, 1, 3]),
            (&[0, 3], &[3]),
            (&[1, 1], &[1]),
            (&[300, 200], &[300, 1]),
            (&[2, 200, 100], &[200, 1]),
        ];
        for &(sa, sb) in cases {
            let na: usize = sa.iter().product();
            let nb: usize = sb.iter().product();
            let a: Vec<f64> = (0..na).map(|i| i as f64 * 0.5 - 3.0).collect();
            let b: Vec<f64> = (0..nb).map(|i| (i as f64 * 0.7).sin() + 2.0).collect();
            let p = BroadcastParams::new(sa, sb).unwrap();
            let (want, shape) = naive(|x, y| x - y, &a, sa, &b, sb);
            assert_eq!(p.out_shape, shape);
            let mut got = vec![0.0; want.len()];
            binary(BinaryOp::Sub, &a, &b, &mut got, &p).unwrap();
            assert_eq!(got, want, "{sa:?} {sb:?}");
            // Swapped operands walk b on the left.
            let p2 = BroadcastParams::new(sb, sa).unwrap();
            let mut got2 = vec![0.0; want.len()];
            binary(BinaryOp::Sub, &b, &a, &mut got2, &p2).unwrap();
            let (want2, _) = naive(|x, y| x - y, &b, sb, &a, sa);
            assert_eq!(got2, want2, "{sb:?} {sa:?}");
        }
    }

    #[test]
    fn chunked_ranges_cover_every_element() {
        let (sa, sb) = ([7usize, 5, 3], [5usize, 1]);
        let a: Vec<f32> = (0..105).map(|i| i as f32).collect();
        let b: Vec<f32> = (0..5).map(|i| 1000.0 * i as f32).collect();
        let p = BroadcastParams::new(&sa, &sb).unwrap();
        let mut whole = vec![0.0f32; 105];
        binary_range::<f32, ops::Add>(&p, &a, &b, &mut whole, 0);
        for split in [1, 2, 4, 7, 50, 104] {
            let mut y = vec![0.0f32; 105];
            let (l, r) = y.split_at_mut(split);
            binary_range::<f32, ops::Add>(&p, &a, &b, l, 0);
            binary_range::<f32, ops::Add>(&p, &a, &b, r, split);
            assert_eq!(y, whole);
        }
    }

    #[test]
    fn bad_shapes_name_both() {
        let e = BroadcastParams::new(&[2, 3], &[4]).unwrap_err();
        assert!(e.0.contains("(2, 3)") && e.0.contains("(4,)"), "{}", e.0);
    }

    #[test]
    fn op_names() {
        assert_eq!(UnaryOp::parse("unary", "sqrt").unwrap(), UnaryOp::Sqrt);
        let e = BinaryOp::parse("binary", "plus").unwrap_err();
        assert!(e.0.contains("binary") && e.0.contains("maximum"));
    }

    #[test]
    fn nan_semantics_like_numpy() {
        let x = [f64::NAN, 1.0, -2.0, 0.0, -0.0];
        let mut y = [0.0; 5];
        unary(UnaryOp::Sign, &x, &mut y).unwrap();
        assert!(y[0].is_nan());
        assert_eq!(&y[1..], &[1.0, -1.0, 0.0, 0.0]);
        assert!(nan_max(f64::NAN, 1.0).is_nan() && nan_max(1.0, f64::NAN).is_nan());
        assert!(nan_min(f64::NAN, 1.0).is_nan() && nan_min(1.0, f64::NAN).is_nan());
        clip(&x, -1.0, 0.5, &mut y).unwrap();
        assert!(y[0].is_nan());
        assert_eq!(&y[1..], &[0.5, -1.0, 0.0, -0.0]);
    }

    #[test]
    fn pow_shortcuts_equal_pow() {
        let a: Vec<f32> = (0..50).map(|i| i as f32 * 0.37 - 4.0).collect();
        for s in [1.0f32, 2.0, -1.0, 0.5, 3.0] {
            let mut y = vec![0.0f32; 50];
            binary_scalar(BinaryOp::Pow, &a, s, false, &mut y).unwrap();
            for (g, &x) in y.iter().zip(&a) {
                let w = if s == 0.5 { x.sqrt() } else { x.powf(s) };
                assert!(g == &w || (g.is_nan() && w.is_nan()), "{x}^{s}: {g} vs {w}");
            }
        }
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
        }
    }
}
