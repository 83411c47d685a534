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
use crate::parallel::{for_item_chunks, par_map, work_ns};
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
