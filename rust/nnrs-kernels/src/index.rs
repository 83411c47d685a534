//! Index & logic kernels: `compare` and `where_` (numpy broadcasting of two or three
//! operands), `cast` between f32 / f64 / i32 / i64 / u8 / bool, `take` (a gather along one
//! axis, the Embedding lookup), its adjoint `scatter_add`, and `one_hot`.
//!
//! Gathers and scatters see an array as `[outer, size, inner]` around the indexed axis
//! ([`TakeParams`]). Indices may be negative (counted from the end, like numpy); an index
//! outside `[-size, size)` is an error naming the first bad index in C order, the axis and
//! its size. `scatter_add` is deterministic: every output row adds its updates in the
//! order of the indices, whatever the number of threads.

use crate::elementwise::fmt_shape;
use crate::fastmath::simd;
use crate::parallel::{for_item_chunks, work_ns};
use crate::{Float, KernelError};

fn check_len(kernel: &str, what: &str, got: usize, want: usize) -> Result<(), KernelError> {
    if got != want {
        return Err(KernelError(format!("{kernel}: {what} has {got} elements, expected {want}")));
    }
    Ok(())
}

// ---- broadcasting of N operands ----------------------------------------------------------

/// How N operands broadcast together (numpy rules): the output shape and the merged
/// dimensions of the walk, outermost first, each with its size and the element stride of
/// every operand along it (0 where that operand is broadcast).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Broadcast<const N: usize> {
    pub out_shape: Vec<usize>,
    /// Number of elements of each operand.
    pub lens: [usize; N],
    dims: Vec<(usize, [usize; N])>,
}

impl<const N: usize> Broadcast<N> {
    /// The walk for `shapes`, or an error "`kernel`: shapes (..) and (..) do not broadcast".
    pub fn new(kernel: &str, shapes: [&[usize]; N]) -> Result<Self, KernelError> {
        let nd = shapes.iter().map(|s| s.len()).max().unwrap_or(0);
        // Size of dimension d of a shape padded on the left with 1s to nd dimensions.
        let dim = |s: &[usize], d: usize| if d + s.len() >= nd { s[d + s.len() - nd] } else { 1 };
        let mut out = vec![1usize; nd];
        for (d, o) in out.iter_mut().enumerate() {
            for s in shapes {
                let x = dim(s, d);
                if x != 1 {
                    if *o != 1 && *o != x {
                        let names: Vec<String> = shapes.iter().map(|s| fmt_shape(s)).collect();
                        return Err(KernelError(format!("{kernel}: shapes {} do not broadcast", names.join(" and "))));
                    }
                    *o = x;
                }
            }
        }
        let mut run = [1usize; N];
        let mut dims: Vec<(usize, [usize; N])> = Vec::with_capacity(nd.max(1));
        for d in (0..nd).rev() {
            let mut st = [0usize; N];
            for k in 0..N {
                let x = dim(shapes[k], d);
                st[k] = if x == 1 { 0 } else { run[k] };
                run[k] *= x;
            }
            if out[d] == 1 {
                continue;
            }
            // Merge into the dimension inside when every operand walks on across both.
            if let Some((size, inner)) = dims.last_mut() {
                if (0..N).all(|k| st[k] == inner[k] * *size) {
                    *size *= out[d];
                    continue;
                }
            }
            dims.push((out[d], st));
        }
        if dims.is_empty() {
            dims.push((1, [0; N]));
        }
        dims.reverse();
        let lens = shapes.map(|s| s.iter().product());
        Ok(Self { out_shape: out, lens, dims })
    }

    /// Number of elements of the output.
    pub fn out_len(&self) -> usize {
        self.out_shape.iter().product()
    }

    fn check(&self, kernel: &str, names: [&str; N], lens: [usize; N], out: usize) -> Result<(), KernelError> {
        for k in 0..N {
            check_len(kernel, names[k], lens[k], self.lens[k])?;
        }
        check_len(kernel, "output", out, self.out_len())
    }

    /// Calls `f(pos, offsets, strides, n)` for each run of `n` output elements
    /// `start + pos ..` (of the `len` from `start`) along the innermost merged dimension:
    /// operand k's elements are at `offsets[k] + i * strides[k]` for `i < n`.
    fn runs(&self, start: usize, len: usize, mut f: impl FnMut(usize, [usize; N], [usize; N], usize)) {
        let nd = self.dims.len();
        let (inner, ist) = self.dims[nd - 1];
        if inner == 0 || len == 0 {
            return;
        }
        let mut row = start / inner;
        let mut col = start % inner;
        let mut idx = vec![0usize; nd - 1];
        let mut off = [0usize; N];
        for d in (0..nd - 1).rev() {
            let (size, st) = self.dims[d];
            idx[d] = row % size;
            row /= size;
            for k in 0..N {
                off[k] += idx[d] * st[k];
            }
        }
        let mut pos = 0;
        while pos < len {
            let n = (inner - col).min(len - pos);
            let mut o = off;
            for k in 0..N {
                o[k] += col * ist[k];
            }
            f(pos, o, ist, n);
            pos += n;
            col = 0;
            for d in (0..nd - 1).rev() {
                let (size, st) = self.dims[d];
                idx[d] += 1;
                for k in 0..N {
                    off[k] += st[k];
                }
                if idx[d] < size {
                    break;
                }
                for k in 0..N {
                    off[k] -= st[k] * size;
                }
                idx[d] = 0;
            }
        }
    }
}

// ---- compare -------------------------------------------------------------------------------

/// Ops of `compare` (the contract's COMPARE_OPS).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompareOp {
    Equal,
    NotEqual,
    Less,
    LessEqual,
    Greater,
    GreaterEqual,
}

impl CompareOp {
    pub const NAMES: [&'static str; 6] = ["equal", "not_equal", "less", "less_equal", "greater", "greater_equal"];
    const ALL: [CompareOp; 6] = [Self::Equal, Self::NotEqual, Self::Less, Self::LessEqual, Self::Greater, Self::GreaterEqual];

    /// The op called `name`, or an error naming the kernel and the accepted names.
    pub fn parse(name: &str) -> Result<Self, KernelError> {
        Self::NAMES
            .iter()
            .position(|&n| n == name)
            .map(|i| Self::ALL[i])
            .ok_or_else(|| KernelError(format!("compare: unknown op '{name}'; expected one of {}", Self::NAMES.join(", "))))
    }
}

fn compare_with<T: Float>(a: &[T], b: &[T], y: &mut [bool], p: &Broadcast<2>, f: impl Fn(T, T) -> bool + Copy + Sync + Send) {
    let cost = work_ns(y.len(), 2) + 3 * y.len() / p.dims[p.dims.len() - 1].0.max(1);
    for_item_chunks(y, 1, cost, |start, c| {
        p.runs(start, c.len(), |pos, [oa, ob], [sa, sb], n| {
            let out = &mut c[pos..pos + n];
            simd(
                #[inline(always)]
                || match (sa, sb) {
                    (1, 1) => out.iter_mut().zip(&a[oa..oa + n]).zip(&b[ob..ob + n]).for_each(|((o, &u), &v)| *o = f(u, v)),
                    (1, _) => out.iter_mut().zip(&a[oa..oa + n]).for_each(|(o, &u)| *o = f(u, b[ob])),
                    (_, 1) => out.iter_mut().zip(&b[ob..ob + n]).for_each(|(o, &v)| *o = f(a[oa], v)),
                    _ => out.iter_mut().for_each(|o| *o = f(a[oa], b[ob])),
                },
            )
        })
    });
}

/// `y = op(a, b)` as booleans with numpy broadcasting (`p` from the shapes of a and b);
/// NaN compares unequal to everything, as in IEEE 754 and numpy.
pub fn compare<T: Float>(op: CompareOp, a: &[T], b: &[T], y: &mut [bool], p: &Broadcast<2>) -> Result<(), KernelError> {
    p.check("compare", ["a", "b"], [a.len(), b.len()], y.len())?;
    if y.is_empty() {
        return Ok(());
    }
    match op {
        CompareOp::Equal => compare_with(a, b, y, p, |u, v| u == v),
        CompareOp::NotEqual => compare_with(a, b, y, p, |u, v| u != v),
        CompareOp::Less => compare_with(a, b, y, p, |u, v| u < v),
        CompareOp::LessEqual => compare_with(a, b, y, p, |u, v| u <= v),
        CompareOp::Greater => compare_with(a, b, y, p, |u, v| u > v),
        CompareOp::GreaterEqual => compare_with(a, b, y, p, |u, v| u >= v),
    }
    Ok(())
}

// ---- where ---------------------------------------------------------------------------------

/// `y = cond ? a : b` elementwise with numpy broadcasting of the three (`p` from the shapes
/// of cond, a and b); `cond` holds numpy bool bytes (any nonzero byte is true).
pub fn where_<T: Copy + Send + Sync>(cond: &[u8], a: &[T], b: &[T], y: &mut [T], p: &Broadcast<3>) -> Result<(), KernelError> {
    p.check("where", ["cond", "a", "b"], [cond.len(), a.len(), b.len()], y.len())?;
    if y.is_empty() {
        return Ok(());
    }
    let cost = work_ns(y.len(), 2) + 3 * y.len() / p.dims[p.dims.len() - 1].0.max(1);
    for_item_chunks(y, 1, cost, |start, c| {
        p.runs(start, c.len(), |pos, [oc, oa, ob], [sc, sa, sb], n| {
            for (i, o) in c[pos..pos + n].iter_mut().enumerate() {
                *o = if cond[oc + i * sc] != 0 { a[oa + i * sa] } else { b[ob + i * sb] };
            }
        })
    });
    Ok(())
}

// ---- cast ----------------------------------------------------------------------------------

/// A numpy bool element as a source of `cast`: 0 is false, any other byte true.
#[repr(transparent)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Bool(pub u8);

impl Bool {
    /// The bytes of a numpy bool array as [`Bool`]s.
    pub fn from_bytes(b: &[u8]) -> &[Bool] {
        // SAFETY: `Bool` is `repr(transparent)` over `u8`, so it has the layout and
        // alignment of `u8` and every byte is a valid `Bool`; the length and lifetime are
        // those of `b`.
        unsafe { std::slice::from_raw_parts(b.as_ptr().cast::<Bool>(), b.len()) }
    }
}

/// The conversion of one element by `cast`:
///
/// * float -> integer: truncation toward zero, saturating at the integer type's bounds,
///   NaN -> 0 (Rust's `as`; numpy's astype agrees wherever it is defined);
/// * integer -> narrower integer: wraps modulo 2^bits (two's complement, like numpy);
/// * to float: rounded to nearest (f64 -> f32 overflows to +-inf);
/// * to bool: `x != 0` (NaN is true); from bool: 0 or 1.
pub trait CastFrom<S>: Sized {
    fn cast_from(s: S) -> Self;
}

macro_rules! cast_numeric {
    ($($s:ty),*) => {$(
        cast_numeric!(@to $s => f32, f64, i32, i64, u8);
        impl CastFrom<$s> for bool {
            #[inline(always)]
            #[allow(clippy::float_cmp)]
            fn cast_from(s: $s) -> Self {
                s != (0 as $s)
            }
        }
    )*};
    (@to $s:ty => $($d:ty),*) => {$(
        impl CastFrom<$s> for $d {
            #[inline(always)]
            #[allow(clippy::unnecessary_cast, clippy::cast_lossless)]
            fn cast_from(s: $s) -> Self {
                s as $d
            }
        }
    )*};
}
cast_numeric!(f32, f64, i32, i64, u8);

macro_rules! cast_bool {
    ($($d:ty),*) => {$(
        impl CastFrom<Bool> for $d {
            #[inline(always)]
            fn cast_from(s: Bool) -> Self {
                (s.0 != 0) as u8 as $d
            }
        }
    )*};
}
cast_bool!(f32, f64, i32, i64, u8);

impl CastFrom<Bool> for bool {
    #[inline(always)]
    fn cast_from(s: Bool) -> Self {
        s.0 != 0
    }
}

/// `y[i] = D::cast_from(x[i])` (see [`CastFrom`] for the rules).
pub fn cast<S: Copy + Sync, D: CastFrom<S> + Send>(x: &[S], y: &mut [D]) -> Result<(), KernelError> {
    check_len("cast", "output", y.len(), x.len())?;
    for_item_chunks(y, 1, work_ns(y.len(), 1), |s, c| {
        simd(
            #[inline(always)]
            || {
                let src = &x[s..s + c.len()];
                for (o, &v) in c.iter_mut().zip(src) {
                    *o = D::cast_from(v);
                }
            },
        )
    });
    Ok(())
}

// ---- take / scatter_add / one_hot ------------------------------------------------------------

/// An integer index element (int32 or int64).
pub trait Index: Copy + Send + Sync + 'static {
    fn as_i64(self) -> i64;
}
impl Index for i32 {
    #[inline(always)]
    fn as_i64(self) -> i64 {
        self as i64
    }
}
impl Index for i64 {
    #[inline(always)]
    fn as_i64(self) -> i64 {
        self
    }
}

/// An array seen around its indexed axis `axis` as `[outer, size, inner]`: `take` reads x
/// of that shape, `scatter_add` writes its output of that shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TakeParams {
    pub outer: usize,
    pub size: usize,
    pub inner: usize,
    /// The (non-negative) axis, for error messages.
    pub axis: usize,
}

impl TakeParams {
    /// The view of `shape` around `axis` (which must be one of its axes).
    pub fn new(kernel: &str, shape: &[usize], axis: usize) -> Result<Self, KernelError> {
        if axis >= shape.len() {
            return Err(KernelError(format!("{kernel}: axis {axis} is out of range for shape {}", fmt_shape(shape))));
        }
        Ok(Self { outer: shape[..axis].iter().product(), size: shape[axis], inner: shape[axis + 1..].iter().product(), axis })
    }
}

/// The first index outside `[-size, size)` in C order, as the contract's error:
/// "`kernel`: index I is out of bounds for axis A with size S".
pub fn check_indices<I: Index>(kernel: &str, idx: &[I], size: usize, axis: usize) -> Result<(), KernelError> {
    let n = size as i64;
    // A branch-free scan first (vectorizes); the slow search only when something is bad.
    let bad = idx.iter().fold(false, |acc, &i| {
        let v = i.as_i64();
        acc | (v < -n) | (v >= n)
    });
    if !bad {
        return Ok(());
    }
    let v = idx.iter().map(|i| i.as_i64()).find(|&v| v < -n || v >= n).unwrap_or_default();
    Err(KernelError(format!("{kernel}: index {v} is out of bounds for axis {axis} with size {size}")))
}

/// An index checked by [`check_indices`], made non-negative.
#[inline(always)]
fn norm<I: Index>(i: I, size: usize) -> usize {
    let v = i.as_i64();
    if v < 0 {
        (v + size as i64) as usize
    } else {
        v as usize
    }
}

/// Gather: `y[o, j, :] = x[o, idx[j], :]` with x `[outer, size, inner]` (`p`), y
/// `[outer, idx.len(), inner]` (numpy's `take(x, idx, axis)` with idx flattened).
pub fn take<T: Copy + Send + Sync, I: Index>(x: &[T], idx: &[I], y: &mut [T], p: &TakeParams) -> Result<(), KernelError> {
    let TakeParams { outer, size, inner, axis } = *p;
    let n = idx.len();
    check_len("take", "x", x.len(), outer * size * inner)?;
    check_len("take", "output", y.len(), outer * n * inner)?;
    check_indices("take", idx, size, axis)?;
    if y.is_empty() {
        return Ok(());
    }
    if inner == 1 {
        // Gathering single elements (the last axis): one index lookup per element.
        for_item_chunks(y, 1, work_ns(y.len(), 16), |first, c| {
            let (mut o, mut j) = (first / n, first % n);
            for v in c.iter_mut() {
                *v = x[o * size + norm(idx[j], size)];
                j += 1;
                if j == n {
                    j = 0;
                    o += 1;
                }
            }
        });
    } else {
        // Whole rows of `inner` contiguous elements (the Embedding lookup for axis 0 of a
        // 2-D table): one copy per row, rows split across threads for large outputs.
        let rows = y.len() / inner;
        for_item_chunks(y, inner, work_ns(y.len(), 2) + 8 * rows, |first, c| {
            // (o, j) of the chunk's first row, then counted on (no division per row).
            let (mut o, mut j) = (first / n, first % n);
            for row in c.chunks_exact_mut(inner) {
                let src = (o * size + norm(idx[j], size)) * inner;
                row.copy_from_slice(&x[src..src + inner]);
                j += 1;
                if j == n {
                    j = 0;
                    o += 1;
                }
            }
        });
    }
    Ok(())
}

/// The adjoint of [`take`]: `y` `[outer, size, inner]` (`p`) is zero except that
/// `y[o, idx[j], :] += updates[o, j, :]` for every j in order (repeated indices
/// accumulate). Output rows are independent, each summing its updates in index order, so
/// the result does not depend on the number of threads.
pub fn scatter_add<T: Float, I: Index>(updates: &[T], idx: &[I], y: &mut [T], p: &TakeParams) -> Result<(), KernelError> {
    let TakeParams { outer, size, inner, axis } = *p;
    let n = idx.len();
    check_len("scatter_add", "updates", updates.len(), outer * n * inner)?;
    check_len("scatter_add", "output", y.len(), outer * size * inner)?;
    check_indices("scatter_add", idx, size, axis)?;
    if y.is_empty() {
        return Ok(());
    }
    // The j of each target row, in increasing j (a counting sort of the indices).
    let mut start = vec![0usize; size + 1];
    for &i in idx {
        start[norm(i, size) + 1] += 1;
    }
    for r in 0..size {
        start[r + 1] += start[r];
    }
    let mut order = vec![0usize; n];
    let mut fill = start.clone();
    for (j, &i) in idx.iter().enumerate() {
        let r = norm(i, size);
        order[fill[r]] = j;
        fill[r] += 1;
    }
    let (start, order) = (&start, &order);
    let rows = y.len() / inner;
    for_item_chunks(y, inner, work_ns(updates.len() + y.len(), 2) + 8 * rows, |first, c| {
        for (k, row) in c.chunks_exact_mut(inner).enumerate() {
            let rr = first + k;
            let (o, r) = (rr / size, rr % size);
            row.fill(T::zero());
            for &j in &order[start[r]..start[r + 1]] {
                let src = (o * n + j) * inner;
                simd(
                    #[inline(always)]
                    || {
                        for (a, &u) in row.iter_mut().zip(&updates[src..src + inner]) {
                            *a = *a + u;
                        }
                    },
                );
            }
        }
    });
    Ok(())
}

/// `y[i, :]` (rows of `classes` elements) is 1 at column `idx[i]` and 0 elsewhere; an
/// index outside `[0, classes)`, negative ones included, gives a row of zeros (Keras / TF).
pub fn one_hot<T: Float, I: Index>(idx: &[I], classes: usize, y: &mut [T]) -> Result<(), KernelError> {
    check_len("one_hot", "output", y.len(), idx.len() * classes)?;
    if y.is_empty() {
        return Ok(());
    }
    for_item_chunks(y, classes, work_ns(y.len(), 1) + 2 * idx.len(), |first, c| {
        for (k, row) in c.chunks_exact_mut(classes).enumerate() {
            row.fill(T::zero());
            let v = idx[first + k].as_i64();
            if v >= 0 && (v as u64) < classes as u64 {
                row[v as usize] = T::one();
            }
        }
    });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Offset of output element `flat` in an operand of shape `s`, by the definition.
    fn naive_offset(flat: usize, out: &[usize], s: &[usize]) -> usize {
        let nd = out.len();
        let pad: Vec<usize> = std::iter::repeat_n(1, nd - s.len()).chain(s.iter().copied()).collect();
        let (mut r, mut off, mut m) = (flat, 0, 1);
        for d in (0..nd).rev() {
            let i = r % out[d];
            r /= out[d];
            off += if pad[d] == 1 { 0 } else { i * m };
            m *= pad[d];
        }
        off
    }

    #[test]
    fn broadcast_of_three_matches_definition() {
        let cases: &[[&[usize]; 3]] = &[
            [&[2, 3], &[2, 3], &[2, 3]],
            [&[4, 1], &[3], &[1, 1]],
            [&[], &[2, 1, 3], &[5, 1]],
            [&[2, 1, 3, 1], &[1, 4, 1, 5], &[5]],
            [&[0, 3], &[3], &[1]],
            [&[7, 5, 3], &[5, 1], &[7, 1, 1]],
        ];
        for shapes in cases {
            let p = Broadcast::<3>::new("where", *shapes).unwrap();
            let n = p.out_len();
            let lens = p.lens;
            let cond: Vec<u8> = (0..lens[0]).map(|i| (i % 3 != 0) as u8).collect();
            let a: Vec<f64> = (0..lens[1]).map(|i| i as f64).collect();
            let b: Vec<f64> = (0..lens[2]).map(|i| -(i as f64) - 1.0).collect();
            let want: Vec<f64> = (0..n)
                .map(|f| {
                    let c = cond[naive_offset(f, &p.out_shape, shapes[0])];
                    if c != 0 {
                        a[naive_offset(f, &p.out_shape, shapes[1])]
                    } else {
                        b[naive_offset(f, &p.out_shape, shapes[2])]
                    }
                })
                .collect();
            let mut got = vec![0.0; n];
            where_(&cond, &a, &b, &mut got, &p).unwrap();
            assert_eq!(got, want, "{shapes:?}");
            // Every split of the walk gives the same elements.
            for split in [1, n / 2, n.saturating_sub(1)] {
                if split == 0 || split >= n {
                    continue;
                }
                let mut y = vec![0.0; n];
                let (l, r) = y.split_at_mut(split);
                p.runs(0, l.len(), |pos, [oc, oa, ob], [sc, sa, sb], k| {
                    for i in 0..k {
                        l[pos + i] = if cond[oc + i * sc] != 0 { a[oa + i * sa] } else { b[ob + i * sb] };
                    }
                });
                p.runs(split, r.len(), |pos, [oc, oa, ob], [sc, sa, sb], k| {
                    for i in 0..k {
                        r[pos + i] = if cond[oc + i * sc] != 0 { a[oa + i * sa] } else { b[ob + i * sb] };
                    }
                });
                assert_eq!(y, want, "{shapes:?} split {split}");
            }
        }
        let e = Broadcast::<3>::new("where", [&[2, 3], &[4], &[1]]).unwrap_err();
        assert_eq!(e.0, "where: shapes (2, 3) and (4,) and (1,) do not broadcast");
    }

    #[test]
    fn compare_nan_and_broadcast() {
        let a = [1.0f32, f32::NAN, 3.0];
        let b = [f32::NAN, 2.0];
        let p = Broadcast::<2>::new("compare", [&[3, 1], &[2]]).unwrap();
        let mut y = vec![true; 6];
        compare(CompareOp::Equal, &a, &b, &mut y, &p).unwrap();
        assert_eq!(y, [false; 6]);
        compare(CompareOp::NotEqual, &a, &b, &mut y, &p).unwrap();
        assert_eq!(y, [true; 6]);
        compare(CompareOp::Less, &a, &b, &mut y, &p).unwrap();
        assert_eq!(y, [false, true, false, false, false, false]);
        compare(CompareOp::GreaterEqual, &a, &b, &mut y, &p).unwrap();
        assert_eq!(y, [false, false, false, false, false, true]);
        assert!(CompareOp::parse("lt").unwrap_err().0.contains("greater_equal"));
    }

    #[test]
    fn cast_rules() {
        let x = [1.9f64, -1.9, f64::NAN, f64::INFINITY, -1e30, 3e9, -0.0, 300.0];
        let mut i = [0i32; 8];
        cast(&x, &mut i).unwrap();
        assert_eq!(i, [1, -1, 0, i32::MAX, i32::MIN, i32::MAX, 0, 300]);
        let mut u = [0u8; 8];
        cast(&x, &mut u).unwrap();
        assert_eq!(u, [1, 0, 0, 255, 0, 255, 0, 255]);
        let mut b = [false; 8];
        cast(&x, &mut b).unwrap();
        assert_eq!(b, [true, true, true, true, true, true, false, true]);
        let wide = [i64::MAX, -1, 1 << 32, 256 + 7];
        let mut n = [0i32; 4];
        cast(&wide, &mut n).unwrap();
        assert_eq!(n, [-1, -1, 0, 263]);
        let mut m = [0u8; 4];
        cast(&wide, &mut m).unwrap();
        assert_eq!(m, [255, 255, 0, 7]);
        let bools = Bool::from_bytes(&[0, 1, 2, 255]);
        let mut f = [9.0f32; 4];
        cast(bools, &mut f).unwrap();
        assert_eq!(f, [0.0, 1.0, 1.0, 1.0]);
        let mut k = [9i64; 4];
        cast(bools, &mut k).unwrap();
        assert_eq!(k, [0, 1, 1, 1]);
    }

    #[test]
    fn take_and_scatter_add_are_adjoint() {
        // x [2, 4, 3], indices on axis 1 (with a negative and a repeated one).
        let x: Vec<f64> = (0..24).map(|i| i as f64).collect();
        let p = TakeParams::new("take", &[2, 4, 3], 1).unwrap();
        let idx = [3i64, -4, 3, 1];
        let mut y = vec![0.0; 2 * 4 * 3];
        take(&x, &idx, &mut y, &p).unwrap();
        for o in 0..2 {
            for (j, &i) in [3usize, 0, 3, 1].iter().enumerate() {
                for c in 0..3 {
                    assert_eq!(y[(o * 4 + j) * 3 + c], x[(o * 4 + i) * 3 + c]);
                }
            }
        }
        // <take(x), g> == <x, scatter_add(g)> for any g.
        let g: Vec<f64> = (0..24).map(|i| ((i * 7) % 5) as f64 - 2.0).collect();
        let mut s = vec![f64::NAN; 24];
        scatter_add(&g, &idx, &mut s, &p).unwrap();
        let lhs: f64 = y.iter().zip(&g).map(|(a, b)| a * b).sum();
        let rhs: f64 = x.iter().zip(&s).map(|(a, b)| a * b).sum();
        assert_eq!(lhs, rhs);
        // Row 2 of each outer slab gets nothing.
        assert!(s[6..9].iter().all(|&v| v == 0.0) && s[18..21].iter().all(|&v| v == 0.0));
        // The last-axis path (inner == 1).
        let p1 = TakeParams::new("take", &[4, 6], 1).unwrap();
        let x1: Vec<f32> = (0..24).map(|i| i as f32).collect();
        let mut y1 = vec![0.0f32; 8];
        take(&x1, &[5i32, -1], &mut y1, &p1).unwrap();
        assert_eq!(y1, [5.0, 5.0, 11.0, 11.0, 17.0, 17.0, 23.0, 23.0]);
    }

    #[test]
    fn bad_index_names_first_one() {
        let p = TakeParams::new("take", &[5, 2], 0).unwrap();
        let mut y = vec![0.0f32; 8];
        let e = take(&[0.0f32; 10], &[1i64, 7, -9, 2], &mut y, &p).unwrap_err();
        assert_eq!(e.0, "take: index 7 is out of bounds for axis 0 with size 5");
        let e = scatter_add(&[0.0f32; 4], &[-6i32, 0], &mut [0.0f32; 10], &p).unwrap_err();
        assert_eq!(e.0, "scatter_add: index -6 is out of bounds for axis 0 with size 5");
        assert!(take(&[0.0f32; 10], &[-5i32, 4], &mut [0.0; 4], &p).is_ok());
    }

    #[test]
    fn scatter_add_is_the_same_with_any_threads() {
        let (vocab, dim, n) = (1000usize, 16usize, 20_000usize);
        let idx: Vec<i64> = (0..n).map(|j| ((j * 7919) % 1013) as i64 % vocab as i64).collect();
        let upd: Vec<f32> = (0..n * dim).map(|i| ((i as f32) * 0.37).sin()).collect();
        let p = TakeParams::new("scatter_add", &[vocab, dim], 0).unwrap();
        let mut want = vec![0.0f32; vocab * dim];
        for (j, &i) in idx.iter().enumerate() {
            for c in 0..dim {
                want[i as usize * dim + c] += upd[j * dim + c];
            }
        }
        for threads in [1, 2, 3] {
            crate::parallel::set_num_threads(threads);
            let mut y = vec![f32::NAN; vocab * dim];
            scatter_add(&upd, &idx, &mut y, &p).unwrap();
            assert_eq!(y, want, "{threads} threads");
        }
    }

    #[test]
    fn one_hot_rows() {
        let mut y = vec![7.0f64; 4 * 3];
        one_hot(&[2i32, -1, 0, 3], 3, &mut y).unwrap();
        assert_eq!(y, [0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0]);
    }
}
