//! Elementwise kernels: `unary`, `binary` with numpy broadcasting, `binary_scalar`, `clip`.
//!
//! Every loop is a tight slice loop the compiler vectorizes; the hot loops are compiled
//! twice (baseline x86-64 and AVX2, picked at run time by [`crate::fastmath::simd`]) with
//! no fast-math, so both versions give the same bits.
//!
//! Also the splitting helpers every kernel family uses: large calls split the output into
//! chunks on the nnrs thread pool ([`for_item_chunks`], [`par_map`], ...); small calls
//! stay on the calling thread.

use crate::fastmath::simd;
use crate::parallel::{for_item_chunks, for_item_chunks2, par_map, work_ns};
use crate::reduce::{reduce, ReduceOp, ReduceParams};
use crate::{multiversion, Float, KernelError};

/// The element trait of every kernel, defined with the shared math in [`crate::fastmath`].
pub use crate::fastmath::Real;

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
    Sin,
    Cos,
    Tan,
    Arcsin,
    Arccos,
    Arctan,
    Sinh,
    Cosh,
    Arcsinh,
    Arccosh,
    Arctanh,
    Log1p,
    Expm1,
    Log2,
    Log10,
    Floor,
    Ceil,
    Round,
    Trunc,
}

impl UnaryOp {
    pub const NAMES: [&'static str; 27] = [
        "neg",
        "exp",
        "log",
        "sqrt",
        "square",
        "abs",
        "sign",
        "reciprocal",
        "sin",
        "cos",
        "tan",
        "arcsin",
        "arccos",
        "arctan",
        "sinh",
        "cosh",
        "arcsinh",
        "arccosh",
        "arctanh",
        "log1p",
        "expm1",
        "log2",
        "log10",
        "floor",
        "ceil",
        "round",
        "trunc",
    ];
    const ALL: [UnaryOp; 27] = [
        Self::Neg,
        Self::Exp,
        Self::Log,
        Self::Sqrt,
        Self::Square,
        Self::Abs,
        Self::Sign,
        Self::Reciprocal,
        Self::Sin,
        Self::Cos,
        Self::Tan,
        Self::Arcsin,
        Self::Arccos,
        Self::Arctan,
        Self::Sinh,
        Self::Cosh,
        Self::Arcsinh,
        Self::Arccosh,
        Self::Arctanh,
        Self::Log1p,
        Self::Expm1,
        Self::Log2,
        Self::Log10,
        Self::Floor,
        Self::Ceil,
        Self::Round,
        Self::Trunc,
    ];

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

/// numpy's round: to the nearest integer, halves to the even neighbour (2.5 -> 2, -0.5 -> -0).
#[inline(always)]
pub fn round_half_even<T: Float>(x: T) -> T {
    let r = x.round(); // halves away from zero
    let half = T::one() / (T::one() + T::one());
    if (r - x).abs() == half {
        (x * half).round() * (T::one() + T::one())
    } else {
        r
    }
}

/// `sign(x) * ln(2|x|)` for |x| > 1e8, where asinh(x) and acosh(x) equal it to the last
/// bit and their textbook form `ln(x + sqrt(x^2 + 1))` overflows near the top of the range
/// (numpy gives 89.4 for asinh(f32::MAX)); None for smaller |x|.
#[inline(always)]
pub fn big_inverse_hyperbolic<T: Real>(x: T) -> Option<T> {
    let a = x.abs();
    if a > T::of_f64(1e8) {
        let v = a.ln() + T::of_f64(std::f64::consts::LN_2);
        Some(if x < T::zero() { -v } else { v })
    } else {
        None
    }
}

/// `atanh(x) = sign(x) * ln_1p(2|x| / (1 - |x|)) / 2`: taken on |x| so that near -1 the
/// argument of ln_1p is not -1 + (a rounded small number), where the std form loses most
/// digits (4% off at -0.99996 in f32).
#[inline(always)]
pub fn atanh_odd<T: Real>(x: T) -> T {
    let a = x.abs();
    let two = T::one() + T::one();
    let v = ((two * a) / (T::one() - a)).ln_1p() / two;
    if x < T::zero() {
        -v
    } else {
        v
    }
}

/// The scalar functions of every op.
pub mod ops {
    use super::{atanh_odd, big_inverse_hyperbolic, nan_max, nan_min, round_half_even, BinFn, Real, UnFn};

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
    un!(Sin, |x| x.sin());
    un!(Cos, |x| x.cos());
    un!(Tan, |x| x.tan());
    un!(Arcsin, |x| x.asin());
    un!(Arccos, |x| x.acos());
    un!(Arctan, |x| x.atan());
    un!(Sinh, |x| x.sinh());
    un!(Cosh, |x| x.cosh());
    // The libm crate's asinh/acosh, not std's: std's call the C library's hypot, whose
    // symbol version (glibc 2.35) would break the manylinux_2_34 wheel.
    un!(Arcsinh, |x| big_inverse_hyperbolic(x).unwrap_or_else(|| T::of_f64(libm::asinh(x.as_f64()))));
    un!(Arccosh, |x| if x > T::zero() { big_inverse_hyperbolic(x) } else { None }.unwrap_or_else(|| T::of_f64(libm::acosh(x.as_f64()))));
    un!(Arctanh, |x| atanh_odd(x));
    un!(Log1p, |x| x.ln_1p());
    un!(Expm1, |x| x.exp_m1());
    un!(Log2, |x| x.log2());
    un!(Log10, |x| x.log10());
    un!(Floor, |x| x.floor());
    un!(Ceil, |x| x.ceil());
    un!(Round, |x| round_half_even(x));
    un!(Trunc, |x| x.trunc());

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
            UnaryOp::Sin => {
                type $O = ops::Sin;
                $e
            }
            UnaryOp::Cos => {
                type $O = ops::Cos;
                $e
            }
            UnaryOp::Tan => {
                type $O = ops::Tan;
                $e
            }
            UnaryOp::Arcsin => {
                type $O = ops::Arcsin;
                $e
            }
            UnaryOp::Arccos => {
                type $O = ops::Arccos;
                $e
            }
            UnaryOp::Arctan => {
                type $O = ops::Arctan;
                $e
            }
            UnaryOp::Sinh => {
                type $O = ops::Sinh;
                $e
            }
            UnaryOp::Cosh => {
                type $O = ops::Cosh;
                $e
            }
            UnaryOp::Arcsinh => {
                type $O = ops::Arcsinh;
                $e
            }
            UnaryOp::Arccosh => {
                type $O = ops::Arccosh;
                $e
            }
            UnaryOp::Arctanh => {
                type $O = ops::Arctanh;
                $e
            }
            UnaryOp::Log1p => {
                type $O = ops::Log1p;
                $e
            }
            UnaryOp::Expm1 => {
                type $O = ops::Expm1;
                $e
            }
            UnaryOp::Log2 => {
                type $O = ops::Log2;
                $e
            }
            UnaryOp::Log10 => {
                type $O = ops::Log10;
                $e
            }
            UnaryOp::Floor => {
                type $O = ops::Floor;
                $e
            }
            UnaryOp::Ceil => {
                type $O = ops::Ceil;
                $e
            }
            UnaryOp::Round => {
                type $O = ops::Round;
                $e
            }
            UnaryOp::Trunc => {
                type $O = ops::Trunc;
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

impl UnaryOp {
    /// Eighths of a nanosecond per element (see [`work_ns`]).
    pub fn cost(self) -> usize {
        match self {
            Self::Neg | Self::Square | Self::Abs | Self::Sign | Self::Floor | Self::Ceil | Self::Trunc => 1,
            Self::Sqrt | Self::Reciprocal | Self::Round => 2,
            Self::Sin | Self::Cos => 8,
            Self::Tan | Self::Arcsin | Self::Arccos | Self::Arctan | Self::Sinh | Self::Cosh | Self::Log1p => 12,
            Self::Arcsinh | Self::Arccosh | Self::Arctanh => 16,
            Self::Expm1 | Self::Log2 | Self::Log10 => 10,
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

fn check_len(kernel: &str, what: &str, got: usize, want: usize) -> Result<(), KernelError> {
    if got != want {
        return Err(KernelError(format!("{kernel}: {what} has {got} elements, expected {want}")));
    }
    Ok(())
}

// ---- unary, binary_scalar, clip -------------------------------------------------------------

/// `y = op(x)` elementwise; x and y have the same length.
pub fn unary<T: Real>(op: UnaryOp, x: &[T], y: &mut [T]) -> Result<(), KernelError> {
    check_len("unary", "output", y.len(), x.len())?;
    with_unary!(op, O => par_map(x, y, op.cost(), O::f));
    Ok(())
}

/// `y = op(a, s)`, or `op(s, a)` with `reverse`, elementwise (s already rounded to T).
pub fn binary_scalar<T: Real>(op: BinaryOp, a: &[T], s: T, reverse: bool, y: &mut [T]) -> Result<(), KernelError> {
    check_len("binary_scalar", "output", y.len(), a.len())?;
    if op == BinaryOp::Pow && !reverse {
        // Exponents whose pow is exactly a cheaper op (pow is correctly rounded there),
        // as numpy's power does for a scalar exponent.
        if s == T::one() {
            par_map(a, y, 1, ops::Identity::f);
            return Ok(());
        }
        if s == T::of_f64(2.0) {
            par_map(a, y, 1, ops::Square::f);
            return Ok(());
        }
        if s == -T::one() {
            par_map(a, y, 2, ops::Reciprocal::f);
            return Ok(());
        }
        if s == T::of_f64(0.5) {
            // numpy's power takes sqrt for a scalar exponent of 0.5 (so pow(-0, 0.5) = -0
            // and pow(-inf, 0.5) = NaN there, unlike C's pow); do the same.
            par_map(a, y, 2, ops::Sqrt::f);
            return Ok(());
        }
    }
    let cost = op.cost();
    if reverse {
        with_binary!(op, O => par_map(a, y, cost, #[inline(always)] move |v| O::f(s, v)));
    } else {
        with_binary!(op, O => par_map(a, y, cost, #[inline(always)] move |v| O::f(v, s)));
    }
    Ok(())
}

/// `y = min(max(x, lo), hi)` elementwise, with numpy's NaN propagation.
pub fn clip<T: Real>(x: &[T], lo: T, hi: T, y: &mut [T]) -> Result<(), KernelError> {
    check_len("clip", "output", y.len(), x.len())?;
    par_map(
        x,
        y,
        1,
        #[inline(always)]
        move |v| nan_min(nan_max(v, lo), hi),
    );
    Ok(())
}

// ---- argsort along rows -------------------------------------------------------------------

/// numpy's sort order: ascending, NaN after every number (NaNs equal among themselves).
#[inline]
fn sort_order<T: Float>(a: T, b: T) -> std::cmp::Ordering {
    a.partial_cmp(&b).unwrap_or_else(|| a.is_nan().cmp(&b.is_nan()))
}

/// `idx` = for each row of `n` elements of `x`, the positions that sort the row: ascending,
/// NaN last, ties in index order (a stable sort, numpy's `kind="stable"`).
pub fn argsort_rows<T: Real>(x: &[T], n: usize, idx: &mut [i64]) -> Result<(), KernelError> {
    check_len("argsort", "output", idx.len(), x.len())?;
    if n == 0 || x.is_empty() {
        return Ok(());
    }
    if !x.len().is_multiple_of(n) {
        return Err(KernelError(format!("argsort: {} elements do not make rows of {n}", x.len())));
    }
    let log_n = (usize::BITS - n.leading_zeros()) as usize;
    for_item_chunks(idx, n, work_ns(x.len(), 8 * log_n), |first, out| {
        for (r, row) in out.chunks_mut(n).enumerate() {
            let xs = &x[(first + r) * n..(first + r + 1) * n];
            for (j, v) in row.iter_mut().enumerate() {
                *v = j as i64;
            }
            row.sort_by(|&a, &b| sort_order(xs[a as usize], xs[b as usize]));
        }
    });
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
        Self::for_kernel("binary", a, b)
    }

    /// Like [`BroadcastParams::new`], with `kernel` named in the error.
    pub fn for_kernel(kernel: &str, a: &[usize], b: &[usize]) -> Result<Self, KernelError> {
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
                return Err(KernelError(format!("{kernel}: shapes {} and {} do not broadcast", fmt_shape(a), fmt_shape(b))));
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

/// Visits the output elements `start .. start + len` of a broadcast walk row by row:
/// `row(pos, ao, bo, n)` for `n` consecutive output elements at `pos` (counted from
/// `start`), whose operands start at offset `ao` of a and `bo` of b and advance by the
/// innermost strides of `p` (0 or 1 each).
#[inline(always)]
fn walk_rows(p: &BroadcastParams, start: usize, len: usize, mut row: impl FnMut(usize, usize, usize, usize)) {
    let dims = &p.dims[..];
    let nd = dims.len();
    let [inner, ia, ib] = dims[nd - 1];
    let mut r = start / inner;
    let mut col = start % inner;
    // Multi-index of the row over the outer dimensions, and the offsets it gives.
    let mut idx = vec![0usize; nd - 1];
    let (mut oa, mut ob) = (0usize, 0usize);
    for d in (0..nd - 1).rev() {
        idx[d] = r % dims[d][0];
        r /= dims[d][0];
        oa += idx[d] * dims[d][1];
        ob += idx[d] * dims[d][2];
    }
    let mut pos = 0;
    while pos < len {
        let n = (inner - col).min(len - pos);
        row(pos, oa + col * ia, ob + col * ib, n);
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

multiversion! {
    /// Output elements `start .. start + y.len()` of a broadcast binary op.
    fn binary_range<T: Real, O: BinFn<T>>(p: &BroadcastParams, a: &[T], b: &[T], y: &mut [T], start: usize) {
        let [_, ia, ib] = p.dims[p.dims.len() - 1];
        walk_rows(p, start, y.len(), |pos, ao, bo, n| {
            let out = &mut y[pos..pos + n];
            match (ia, ib) {
                (1, 1) => vv::<T, O>(&a[ao..ao + n], &b[bo..bo + n], out),
                (1, _) => vs::<T, O>(&a[ao..ao + n], b[bo], out),
                _ => sv::<T, O>(a[ao], &b[bo..bo + n], out),
            }
        });
    }
}

fn binary_with<T: Real, O: BinFn<T>>(p: &BroadcastParams, a: &[T], b: &[T], y: &mut [T], cost: usize) {
    if p.dims.len() == 1 && p.dims[0][1] == 1 && p.dims[0][2] == 1 {
        // Same shapes (after dropping size-1 dimensions): one flat loop.
        for_item_chunks(y, 1, work_ns(y.len(), cost), |s, c| {
            simd(
                #[inline(always)]
                || vv::<T, O>(&a[s..s + c.len()], &b[s..s + c.len()], c),
            )
        });
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

// ---- binary_backward: both gradients of a broadcast binary op in one pass -------------------

/// The gradients `(dL/da, dL/db)` of one element of a binary op, given `g = dL/dy`.
pub trait GradFn<T>: Copy + Send + Sync + 'static {
    fn grad(a: T, b: T, g: T) -> (T, T);
}

impl<T: Real> GradFn<T> for ops::Add {
    #[inline(always)]
    fn grad(_: T, _: T, g: T) -> (T, T) {
        (g, g)
    }
}
impl<T: Real> GradFn<T> for ops::Sub {
    #[inline(always)]
    fn grad(_: T, _: T, g: T) -> (T, T) {
        (g, -g)
    }
}
impl<T: Real> GradFn<T> for ops::Mul {
    #[inline(always)]
    fn grad(a: T, b: T, g: T) -> (T, T) {
        (g * b, g * a)
    }
}
impl<T: Real> GradFn<T> for ops::Div {
    /// `g / b` and `-(g / b) * (a / b)` (no `b * b`, which overflows first).
    #[inline(always)]
    fn grad(a: T, b: T, g: T) -> (T, T) {
        let q = g / b;
        (q, -(q * (a / b)))
    }
}
impl<T: Real> GradFn<T> for ops::Pow {
    /// `g * b * a**(b - 1)` (0 where b == 0: a**0 is the constant 1) and
    /// `g * a**b * ln(a)` where a > 0, 0 where a <= 0: at a == 0 (b > 0) that is the
    /// true derivative, and for a < 0 the power is only defined at integer b, so it has
    /// no derivative in b; 0 keeps the gradient finite. A NaN base gives NaN.
    #[inline(always)]
    fn grad(a: T, b: T, g: T) -> (T, T) {
        let ga = if b == T::zero() { T::zero() } else { g * b * a.powf(b - T::one()) };
        let gb = if a <= T::zero() { T::zero() } else { g * a.powf(b) * a.vln() };
        (ga, gb)
    }
}
impl<T: Real> GradFn<T> for ops::Maximum {
    /// All of g to the operand `nan_max` returns: a on ties and when a is NaN.
    #[inline(always)]
    fn grad(a: T, b: T, g: T) -> (T, T) {
        if (a >= b) | a.is_nan() {
            (g, T::zero())
        } else {
            (T::zero(), g)
        }
    }
}
impl<T: Real> GradFn<T> for ops::Minimum {
    /// All of g to the operand `nan_min` returns: a on ties and when a is NaN.
    #[inline(always)]
    fn grad(a: T, b: T, g: T) -> (T, T) {
        if (a <= b) | a.is_nan() {
            (g, T::zero())
        } else {
            (T::zero(), g)
        }
    }
}

impl BinaryOp {
    /// Eighths of a nanosecond per element of `binary_backward` (see [`work_ns`]).
    pub fn grad_cost(self) -> usize {
        match self {
            Self::Add | Self::Sub | Self::Mul | Self::Maximum | Self::Minimum => 2,
            Self::Div => 4,
            Self::Pow => 80,
        }
    }
}

/// One row of the gradient walk; `SA` / `SB`: a / b advance along the row (else a
/// single element is read for the whole row). Const parameters, so each case is its
/// own loop.
#[inline(always)]
fn grad_row<T: Real, O: GradFn<T>, const SA: bool, const SB: bool>(a: &[T], b: &[T], g: &[T], ga: &mut [T], gb: &mut [T]) {
    let n = g.len();
    let (ga, gb) = (&mut ga[..n], &mut gb[..n]);
    for k in 0..n {
        let x = if SA { a[k] } else { a[0] };
        let y = if SB { b[k] } else { b[0] };
        let (p, q) = O::grad(x, y, g[k]);
        ga[k] = p;
        gb[k] = q;
    }
}

multiversion! {
    /// Full-size gradients of the output elements `start .. start + ga.len()`.
    fn grad_range<T: Real, O: GradFn<T>>(p: &BroadcastParams, a: &[T], b: &[T], g: &[T], ga: &mut [T], gb: &mut [T], start: usize) {
        let [_, ia, ib] = p.dims[p.dims.len() - 1];
        walk_rows(p, start, ga.len(), |pos, ao, bo, n| {
            let (gs, xa, xb) = (&g[start + pos..start + pos + n], &mut ga[pos..pos + n], &mut gb[pos..pos + n]);
            match (ia, ib) {
                (1, 1) => grad_row::<T, O, true, true>(&a[ao..ao + n], &b[bo..bo + n], gs, xa, xb),
                (1, _) => grad_row::<T, O, true, false>(&a[ao..ao + n], &b[bo..bo + 1], gs, xa, xb),
                _ => grad_row::<T, O, false, true>(&a[ao..ao + 1], &b[bo..bo + n], gs, xa, xb),
            }
        });
    }
}

/// Shape bookkeeping of `binary_backward`: the broadcast walk of a and b and, for an
/// operand that broadcasting stretched, the sum over the stretched (and added) axes
/// that brings its full-size gradient back to its shape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BinaryGradParams {
    pub bc: BroadcastParams,
    a_sum: Option<ReduceParams>,
    b_sum: Option<ReduceParams>,
}

impl BinaryGradParams {
    /// The params for operands of shapes `a` and `b` (g then has `bc.out_shape`).
    pub fn new(a: &[usize], b: &[usize]) -> Result<Self, KernelError> {
        let bc = BroadcastParams::for_kernel("binary_backward", a, b)?;
        let out = bc.out_shape.clone();
        let sum = |s: &[usize]| -> Result<Option<ReduceParams>, KernelError> {
            if s.iter().product::<usize>() == bc.out_len() {
                return Ok(None); // same elements in the same order: no sum
            }
            let lead = out.len() - s.len();
            let axes: Vec<i64> = (0..out.len()).filter(|&d| d < lead || (s[d - lead] == 1 && out[d] != 1)).map(|d| d as i64).collect();
            ReduceParams::new(&out, Some(&axes), true).map(Some)
        };
        let (a_sum, b_sum) = (sum(a)?, sum(b)?);
        Ok(Self { bc, a_sum, b_sum })
    }
}

/// `(ga, gb)`: the gradients wrt a and b of `y = op(a, b)` (numpy broadcasting) given
/// `g = dL/dy` of `p.bc.out_shape`, each summed back to its operand's shape. One pass
/// computes both full-size gradients, then the broadcast axes are summed (the `reduce`
/// kernel's sum). Per-element rules are those of [`GradFn`].
pub fn binary_backward<T: Real>(
    op: BinaryOp,
    a: &[T],
    b: &[T],
    g: &[T],
    ga: &mut [T],
    gb: &mut [T],
    p: &BinaryGradParams,
) -> Result<(), KernelError> {
    const K: &str = "binary_backward";
    let bc = &p.bc;
    let n = bc.out_len();
    check_len(K, "a", a.len(), bc.a_len)?;
    check_len(K, "b", b.len(), bc.b_len)?;
    check_len(K, "g", g.len(), n)?;
    check_len(K, "ga", ga.len(), bc.a_len)?;
    check_len(K, "gb", gb.len(), bc.b_len)?;
    if n == 0 {
        // Nothing flows back: an operand that is not empty itself gets zeros.
        ga.fill(T::zero());
        gb.fill(T::zero());
        return Ok(());
    }
    let mut ta = vec![T::zero(); if p.a_sum.is_some() { n } else { 0 }];
    let mut tb = vec![T::zero(); if p.b_sum.is_some() { n } else { 0 }];
    {
        let fa: &mut [T] = if p.a_sum.is_some() { &mut ta } else { &mut *ga };
        let fb: &mut [T] = if p.b_sum.is_some() { &mut tb } else { &mut *gb };
        let rows = n / bc.dims[bc.dims.len() - 1][0];
        let work = work_ns(n, op.grad_cost()) + rows * 3;
        with_binary!(op, O => for_item_chunks2(fa, fb, work, |s, ca, cb| grad_range::<T, O>(bc, a, b, g, ca, cb, s)));
    }
    if let Some(rp) = &p.a_sum {
        reduce(ReduceOp::Sum, &ta, ga, rp)?;
    }
    if let Some(rp) = &p.b_sum {
        reduce(ReduceOp::Sum, &tb, gb, rp)?;
    }
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

    /// Gradients by the definition: each output element's (da, db) added to the input
    /// elements it read.
    type Rule = fn(f64, f64, f64) -> (f64, f64);

    fn naive_grad(d: Rule, a: &[f64], sa: &[usize], b: &[f64], sb: &[usize], g: &[f64]) -> (Vec<f64>, Vec<f64>) {
        let nd = sa.len().max(sb.len());
        let pad = |s: &[usize]| -> Vec<usize> { std::iter::repeat_n(1, nd - s.len()).chain(s.iter().copied()).collect() };
        let (pa, pb) = (pad(sa), pad(sb));
        let out: Vec<usize> = (0..nd).map(|k| if pa[k] == 1 { pb[k] } else { pa[k] }).collect();
        let (mut ga, mut gb) = (vec![0.0; a.len()], vec![0.0; b.len()]);
        for (flat, &gv) in g.iter().enumerate().take(out.iter().product()) {
            let (mut r, mut ia, mut ib, mut ma, mut mb) = (flat, 0, 0, 1, 1);
            for k in (0..nd).rev() {
                let i = r % out[k];
                r /= out[k];
                ia += if pa[k] == 1 { 0 } else { i * ma };
                ib += if pb[k] == 1 { 0 } else { i * mb };
                ma *= pa[k];
                mb *= pb[k];
            }
            let (x, y) = d(a[ia], b[ib], gv);
            ga[ia] += x;
            gb[ib] += y;
        }
        (ga, gb)
    }

    #[test]
    fn binary_backward_matches_definition() {
        let cases: &[(&[usize], &[usize])] = &[
            (&[2, 3], &[2, 3]),
            (&[4, 3], &[3]),
            (&[4, 1], &[1, 5]),
            (&[3, 1, 5], &[4, 1]),
            (&[], &[3, 2]),
            (&[2, 1, 3, 1], &[1, 4, 1, 5]),
            (&[300, 200], &[300, 1]),
            (&[1, 3], &[3]),
        ];
        let rules: [(BinaryOp, Rule); 5] = [
            (BinaryOp::Mul, |a, b, g| (g * b, g * a)),
            (BinaryOp::Div, |a, b, g| (g / b, -g * a / (b * b))),
            (BinaryOp::Pow, |a, b, g| (g * b * a.powf(b - 1.0), g * a.powf(b) * a.ln())),
            (BinaryOp::Maximum, |a, b, g| if a >= b { (g, 0.0) } else { (0.0, g) }),
            (BinaryOp::Minimum, |a, b, g| if a <= b { (g, 0.0) } else { (0.0, g) }),
        ];
        for &(sa, sb) in cases {
            let (na, nb): (usize, usize) = (sa.iter().product(), sb.iter().product());
            let a: Vec<f64> = (0..na).map(|i| 0.5 + ((i * 37) % 11) as f64 * 0.2).collect();
            let b: Vec<f64> = (0..nb).map(|i| 0.7 + ((i * 13) % 7) as f64 * 0.3).collect();
            let p = BinaryGradParams::new(sa, sb).unwrap();
            let g: Vec<f64> = (0..p.bc.out_len()).map(|i| (i as f64 * 0.3).sin()).collect();
            for (op, rule) in rules {
                let (wa, wb) = naive_grad(rule, &a, sa, &b, sb, &g);
                let (mut ga, mut gb) = (vec![f64::NAN; na], vec![f64::NAN; nb]);
                binary_backward(op, &a, &b, &g, &mut ga, &mut gb, &p).unwrap();
                for (got, want) in ga.iter().zip(&wa).chain(gb.iter().zip(&wb)) {
                    assert!((got - want).abs() <= 1e-9 * want.abs().max(1.0), "{op:?} {sa:?} {sb:?}: {got} vs {want}");
                }
            }
        }
    }

    #[test]
    fn binary_backward_edges() {
        // Negative bases with integer exponents are real; the gradient wrt b is 0 for a <= 0.
        let (a, b) = ([-2.0f64, 0.0, 0.0, 0.0, 2.0, f64::NAN], [3.0f64, 2.0, 0.0, 0.5, 0.0, 1.5]);
        let p = BinaryGradParams::new(&[6], &[6]).unwrap();
        let (mut ga, mut gb) = ([0.0; 6], [0.0; 6]);
        binary_backward(BinaryOp::Pow, &a, &b, &[1.0; 6], &mut ga, &mut gb, &p).unwrap();
        assert_eq!(&ga[..5], &[12.0, 0.0, 0.0, f64::INFINITY, 0.0]);
        assert_eq!(&gb[..5], &[0.0, 0.0, 0.0, 0.0, 2f64.ln()]);
        assert!(ga[5].is_nan() && gb[5].is_nan());
        // Ties and NaN go to a, as numpy's maximum / minimum return a there.
        let (a, b) = ([1.0f64, f64::NAN, 1.0], [1.0f64, 2.0, f64::NAN]);
        let p = BinaryGradParams::new(&[3], &[3]).unwrap();
        for op in [BinaryOp::Maximum, BinaryOp::Minimum] {
            binary_backward(op, &a, &b, &[1.0; 3], &mut ga[..3], &mut gb[..3], &p).unwrap();
            assert_eq!((&ga[..3], &gb[..3]), (&[1.0, 1.0, 0.0][..], &[0.0, 0.0, 1.0][..]), "{op:?}");
        }
        // An empty output sends zeros back to a non-empty operand.
        let p = BinaryGradParams::new(&[1, 3], &[0, 3]).unwrap();
        let mut ga = [f64::NAN; 3];
        binary_backward(BinaryOp::Mul, &[1.0; 3], &[], &[], &mut ga, &mut [], &p).unwrap();
        assert_eq!(ga, [0.0; 3]);
        let e = BinaryGradParams::new(&[2, 3], &[4]).unwrap_err();
        assert!(e.0.starts_with("binary_backward: shapes (2, 3) and (4,)"), "{}", e.0);
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
    fn argsort_is_stable_with_nan_last() {
        let x = [3.0f64, f64::NAN, -1.0, 3.0, 0.0, 2.0, 2.0, 1.0];
        let mut idx = [0i64; 8];
        argsort_rows(&x, 4, &mut idx).unwrap();
        assert_eq!(idx, [2, 0, 3, 1, 0, 3, 1, 2]);
        assert!(argsort_rows(&x, 3, &mut idx).unwrap_err().0.contains("rows of 3"));
        crate::parallel::set_num_threads(2);
        let big: Vec<f32> = (0..200_000).map(|i| ((i * 7919) % 1000) as f32).collect();
        let mut out = vec![0i64; big.len()];
        argsort_rows(&big, 1000, &mut out).unwrap();
        for (r, row) in out.chunks(1000).enumerate() {
            let xs = &big[r * 1000..(r + 1) * 1000];
            assert!(row
                .windows(2)
                .all(|w| xs[w[0] as usize] < xs[w[1] as usize] || (xs[w[0] as usize] == xs[w[1] as usize] && w[0] < w[1])));
        }
    }

    #[test]
    fn rounding_ops_like_numpy() {
        let x = [2.5f64, 3.5, -2.5, -0.5, 0.4999999999999999, 1.7, -1.7, f64::NAN];
        let mut y = [0.0; 8];
        unary(UnaryOp::Round, &x, &mut y).unwrap();
        assert_eq!(&y[..7], &[2.0, 4.0, -2.0, -0.0, 0.0, 2.0, -2.0]);
        assert!(y[7].is_nan() && y[3].is_sign_negative());
        unary(UnaryOp::Trunc, &x, &mut y).unwrap();
        assert_eq!(&y[..7], &[2.0, 3.0, -2.0, -0.0, 0.0, 1.0, -1.0]);
        unary(UnaryOp::Floor, &x, &mut y).unwrap();
        assert_eq!(&y[..7], &[2.0, 3.0, -3.0, -1.0, 0.0, 1.0, -2.0]);
        unary(UnaryOp::Ceil, &x, &mut y).unwrap();
        assert_eq!(&y[..7], &[3.0, 4.0, -2.0, -0.0, 1.0, 2.0, -1.0]);
    }

    #[test]
    fn every_unary_name_parses_to_its_op() {
        for (i, name) in UnaryOp::NAMES.iter().enumerate() {
            assert_eq!(UnaryOp::parse("unary", name).unwrap(), UnaryOp::ALL[i]);
        }
        let x = [0.5f64];
        let mut y = [0.0];
        unary(UnaryOp::Arctanh, &x, &mut y).unwrap();
        assert!((y[0] - 0.5f64.atanh()).abs() < 1e-15);
        // numpy's values; the textbook formula overflows for the first
        for (v, want) in [(f64::MAX, 710.4758600739439), (1e150, 1e150f64.asinh()), (2e8, 2e8f64.asinh())] {
            unary(UnaryOp::Arcsinh, &[-v], &mut y).unwrap();
            assert!((y[0] + want).abs() <= 1e-15 * want, "asinh(-{v}) = {}", y[0]);
            unary(UnaryOp::Arccosh, &[v], &mut y).unwrap();
            assert!((y[0] - want).abs() <= 1e-15 * want, "acosh({v}) = {}", y[0]);
        }
        for v in [-0.99996644f64, -0.9999999, 0.99999, 0.3] {
            unary(UnaryOp::Arctanh, &[v], &mut y).unwrap();
            let want = 0.5 * ((1.0 + v) / (1.0 - v)).ln(); // exact enough away from 0
            assert!((y[0] - want).abs() <= 1e-9 * want.abs(), "atanh({v}) = {} vs {want}", y[0]);
        }
        unary(UnaryOp::Arctanh, &[-1e-20], &mut y).unwrap();
        assert_eq!(y[0], -1e-20);
        unary(UnaryOp::Log1p, &[1e-20], &mut y).unwrap();
        assert_eq!(y[0], 1e-20);
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

    #[test]
    fn par_map_matches_serial_above_threshold() {
        crate::parallel::set_num_threads(2);
        let x: Vec<f32> = (0..100_003).map(|i| (i as f32 * 0.001).sin() * 10.0).collect();
        let mut y = vec![0.0f32; x.len()];
        par_map(&x, &mut y, 8, crate::fastmath::sigmoid);
        for (a, &b) in y.iter().zip(&x) {
            assert_eq!(*a, crate::fastmath::sigmoid(b));
        }
    }
}
