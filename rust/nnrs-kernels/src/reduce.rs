//! Reductions: `reduce` (sum / mean / max / min over any set of axes), `argmax`,
//! `sum_squares`.
//!
//! The axes are first collapsed: size-1 dimensions dropped and neighbouring dimensions
//! that are both reduced or both kept merged, so a reduction is one of a few walks:
//! a whole contiguous run (`[R]`), rows (`[K, R]`), columns (`[R, K]`), independent
//! slabs (`[K, ...]`) or a general walk. Contiguous runs are folded with 16 lanes per
//! 256-element block and the blocks combined pairwise (numpy-like accuracy, vectorized).
//! How a large input is split depends only on its shape, never on the thread count,
//! so results are the same with any number of threads.

use crate::elementwise::{nan_max, nan_min, Real};
use crate::parallel::{for_item_chunks, map_ranges, work_ns};
use crate::{multiversion, parallel, KernelError};

/// Ops of `reduce` (the contract's REDUCE_OPS).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReduceOp {
    Sum,
    Mean,
    Max,
    Min,
}

impl ReduceOp {
    pub const NAMES: [&'static str; 4] = ["sum", "mean", "max", "min"];
    const ALL: [ReduceOp; 4] = [Self::Sum, Self::Mean, Self::Max, Self::Min];

    /// The op called `name`, or an error naming the kernel and the accepted names.
    pub fn parse(name: &str) -> Result<Self, KernelError> {
        Self::NAMES
            .iter()
            .position(|&n| n == name)
            .map(|i| Self::ALL[i])
            .ok_or_else(|| KernelError(format!("reduce: unknown op '{name}'; expected one of {}", Self::NAMES.join(", "))))
    }
}

/// An associative fold with its identity.
pub trait Fold<T>: Copy + Send + Sync + 'static {
    fn identity() -> T;
    fn f(a: T, b: T) -> T;
    /// The fold of a whole contiguous run (by default: lanes per block, blocks pairwise).
    #[inline(always)]
    fn run(x: &[T]) -> T
    where
        T: Real,
        Self: Sized,
    {
        cascade_run::<T, Self>(x)
    }
}

/// Sum.
#[derive(Debug, Clone, Copy)]
pub struct SumF;
/// Maximum, NaN-propagating like numpy.
#[derive(Debug, Clone, Copy)]
pub struct MaxF;
/// Minimum, NaN-propagating like numpy.
#[derive(Debug, Clone, Copy)]
pub struct MinF;

impl<T: Real> Fold<T> for SumF {
    #[inline(always)]
    fn identity() -> T {
        T::zero()
    }
    #[inline(always)]
    fn f(a: T, b: T) -> T {
        a + b
    }
}
impl<T: Real> Fold<T> for MaxF {
    #[inline(always)]
    fn identity() -> T {
        T::neg_infinity()
    }
    #[inline(always)]
    fn f(a: T, b: T) -> T {
        nan_max(a, b)
    }
    #[inline(always)]
    fn run(x: &[T]) -> T {
        extreme_run::<T, true>(x)
    }
}
impl<T: Real> Fold<T> for MinF {
    #[inline(always)]
    fn identity() -> T {
        T::infinity()
    }
    #[inline(always)]
    fn f(a: T, b: T) -> T {
        nan_min(a, b)
    }
    #[inline(always)]
    fn run(x: &[T]) -> T {
        extreme_run::<T, false>(x)
    }
}

/// Max (or min) of a run, NaN if it holds one: 32 independent compare-select lanes
/// (a plain max, one instruction) and NaN flags on the side, instead of a
/// NaN-propagating select in the loop-carried chain.
#[inline(always)]
fn extreme_run<T: Real, const MAX: bool>(x: &[T]) -> T {
    const W: usize = 32;
    if x.len() < 2 * W {
        return if MAX { leaf::<T, MaxF>(x) } else { leaf::<T, MinF>(x) };
    }
    let init = if MAX { T::neg_infinity() } else { T::infinity() };
    let better = |v: T, m: T| if MAX { v > m } else { v < m };
    let (chunks, rest) = x.as_chunks::<W>();
    let mut acc = [init; W];
    let mut nan = [false; W];
    for c in chunks {
        for i in 0..W {
            let v = c[i];
            acc[i] = if better(v, acc[i]) { v } else { acc[i] };
            nan[i] |= v.is_nan();
        }
    }
    let mut m = init;
    let mut any_nan = false;
    for i in 0..W {
        m = if better(acc[i], m) { acc[i] } else { m };
        any_nan |= nan[i];
    }
    for &v in rest {
        m = if better(v, m) { v } else { m };
        any_nan |= v.is_nan();
    }
    if any_nan {
        T::nan()
    } else {
        m
    }
}

const LANES: usize = 16;
/// Elements per leaf of the pairwise combination.
const BLOCK: usize = 256;
/// Elements per independently folded piece of a large run (fixed, so that results do
/// not depend on the number of threads).
const CHUNK: usize = parallel::PAR_THRESHOLD;

/// Fold of up to a block: 16 independent lanes, combined as a tree.
#[inline(always)]
fn leaf<T: Real, F: Fold<T>>(x: &[T]) -> T {
    let (chunks, rest) = x.as_chunks::<LANES>();
    let mut acc = [F::identity(); LANES];
    for c in chunks {
        for i in 0..LANES {
            acc[i] = F::f(acc[i], c[i]);
        }
    }
    let mut w = LANES;
    while w > 1 {
        w /= 2;
        for i in 0..w {
            acc[i] = F::f(acc[i], acc[i + w]);
        }
    }
    let mut s = acc[0];
    for &v in rest {
        s = F::f(s, v);
    }
    s
}

/// Pairwise combination of a stream of values: aligned power-of-two groups are combined
/// as soon as they are complete (a binary counter), the rest at the end.
struct Cascade<T> {
    stack: [(u32, T); 64],
    len: usize,
}

impl<T: Real> Cascade<T> {
    #[inline(always)]
    fn new() -> Self {
        Self { stack: [(0, T::zero()); 64], len: 0 }
    }
    #[inline(always)]
    fn push<F: Fold<T>>(&mut self, mut v: T) {
        let mut level = 0;
        while self.len > 0 && self.stack[self.len - 1].0 == level {
            self.len -= 1;
            v = F::f(self.stack[self.len].1, v);
            level += 1;
        }
        self.stack[self.len] = (level, v);
        self.len += 1;
    }
    #[inline(always)]
    fn finish<F: Fold<T>>(&self) -> T {
        let mut acc = self.stack[self.len - 1].1;
        for i in (0..self.len - 1).rev() {
            acc = F::f(self.stack[i].1, acc);
        }
        acc
    }
}

#[inline(always)]
fn fold_run<T: Real, F: Fold<T>>(x: &[T]) -> T {
    F::run(x)
}

#[inline(always)]
fn cascade_run<T: Real, F: Fold<T>>(x: &[T]) -> T {
    if x.len() <= BLOCK {
        return leaf::<T, F>(x);
    }
    let mut c = Cascade::<T>::new();
    for b in x.chunks(BLOCK) {
        c.push::<F>(leaf::<T, F>(b));
    }
    c.finish::<F>()
}

multiversion! {
    /// Fold of one contiguous run.
    fn fold_contig<T: Real, F: Fold<T>>(x: &[T]) -> T {
        fold_run::<T, F>(x)
    }
}

multiversion! {
    /// `out[r] = fold(row r)` for the rows of length `len` of `x`.
    fn fold_rows<T: Real, F: Fold<T>>(x: &[T], len: usize, out: &mut [T]) {
        for (o, row) in out.iter_mut().zip(x.chunks_exact(len)) {
            *o = fold_run::<T, F>(row);
        }
    }
}

/// Columns per register block of a column fold.
const CB: usize = 32;

/// `acc[j] = fold(acc[j], x[r, first + j])` over the rows of the (rows, width) matrix `x`.
/// Blocks of 32 columns stay in registers while the rows stream past (no store per row:
/// a fold that selects, like max, would otherwise become a slow masked store).
#[inline(always)]
fn fold_cols_at<T: Real, F: Fold<T>>(x: &[T], width: usize, first: usize, acc: &mut [T]) {
    let (blocks, rest) = acc.as_chunks_mut::<CB>();
    for (bi, blk) in blocks.iter_mut().enumerate() {
        let off = first + bi * CB;
        let mut r = *blk;
        for row in x.chunks_exact(width) {
            let seg = row[off..off + CB].as_chunks::<CB>().0[0];
            for j in 0..CB {
                r[j] = F::f(r[j], seg[j]);
            }
        }
        *blk = r;
    }
    if !rest.is_empty() {
        let off = first + blocks.len() * CB;
        let n = rest.len();
        let mut r = [F::identity(); CB];
        r[..n].copy_from_slice(rest);
        for row in x.chunks_exact(width) {
            let seg = &row[off..off + n];
            for j in 0..n {
                r[j] = F::f(r[j], seg[j]);
            }
        }
        rest.copy_from_slice(&r[..n]);
    }
}

multiversion! {
    /// `acc[j] = fold(acc[j], x[r, j])` over the rows of `x` (row length `acc.len()`).
    fn fold_cols<T: Real, F: Fold<T>>(x: &[T], acc: &mut [T]) {
        fold_cols_at::<T, F>(x, acc.len(), 0, acc)
    }
}

multiversion! {
    /// Columns `first .. first + acc.len()` of the (rows, width) matrix `x`, folded into `acc`.
    fn fold_col_range<T: Real, F: Fold<T>>(x: &[T], width: usize, first: usize, acc: &mut [T]) {
        fold_cols_at::<T, F>(x, width, first, acc)
    }
}

multiversion! {
    /// General walk whose innermost (collapsed) dimension is kept: each contiguous row
    /// of `x` is folded into the output row it maps to.
    fn fold_walk<T: Real, F: Fold<T>>(dims: &[usize], red: &[bool], x: &[T], out: &mut [T]) {
        let nd = dims.len();
        let len = dims[nd - 1];
        let mut ost = vec![0usize; nd];
        let mut acc = 1;
        for d in (0..nd).rev() {
            if !red[d] {
                ost[d] = acc;
                acc *= dims[d];
            }
        }
        let mut idx = vec![0usize; nd];
        let mut off = 0usize;
        for row in x.chunks_exact(len) {
            for (a, &v) in out[off..off + len].iter_mut().zip(row) {
                *a = F::f(*a, v);
            }
            for d in (0..nd - 1).rev() {
                idx[d] += 1;
                off += ost[d];
                if idx[d] < dims[d] {
                    break;
                }
                off -= ost[d] * dims[d];
                idx[d] = 0;
            }
        }
    }
}

/// Fold of a whole run, split into fixed pieces when large (in parallel when the pool allows).
fn fold_all<T: Real, F: Fold<T>>(x: &[T]) -> T {
    if x.len() < CHUNK * 2 {
        return fold_contig::<T, F>(x);
    }
    let parts = map_ranges(x.len(), work_ns(x.len(), 1), CHUNK, |r| fold_contig::<T, F>(&x[r]));
    let mut c = Cascade::<T>::new();
    for p in parts {
        c.push::<F>(p);
    }
    c.finish::<F>()
}

/// `[R, K]`: fold the rows of the (rows, width) matrix `x` into `out` (width elements).
fn fold_columns<T: Real, F: Fold<T>>(x: &[T], width: usize, out: &mut [T]) {
    out.fill(F::identity());
    if x.len() < CHUNK {
        fold_cols::<T, F>(x, out);
    } else if width >= 1024 {
        // Wide: split the columns; each column folds its rows in order.
        for_item_chunks(out, 1, work_ns(x.len(), 1), |first, acc| fold_col_range::<T, F>(x, width, first, acc));
    } else {
        // Narrow: fold fixed blocks of rows into partial rows, then combine them in order.
        let rows = x.len() / width;
        let block = (CHUNK / width).max(1);
        let parts = map_ranges(rows, work_ns(x.len(), 1), block, |r| {
            let mut acc = vec![F::identity(); width];
            fold_cols::<T, F>(&x[r.start * width..r.end * width], &mut acc);
            acc
        });
        for p in &parts {
            fold_cols::<T, F>(p, out);
        }
    }
}

/// Any collapsed walk, on the calling thread.
fn solve<T: Real, F: Fold<T>>(dims: &[usize], red: &[bool], x: &[T], out: &mut [T]) {
    let nd = dims.len();
    if red[nd - 1] {
        let len = dims[nd - 1];
        if nd == 1 {
            out[0] = fold_contig::<T, F>(x);
        } else if nd == 2 {
            fold_rows::<T, F>(x, len, out);
        } else {
            let mut tmp = vec![T::zero(); x.len() / len];
            fold_rows::<T, F>(x, len, &mut tmp);
            solve::<T, F>(&dims[..nd - 1], &red[..nd - 1], &tmp, out);
        }
    } else {
        out.fill(F::identity());
        fold_walk::<T, F>(dims, red, x, out);
    }
}

/// Shape bookkeeping of `reduce`: numpy's output shape, the number of elements folded
/// into each output, and the collapsed walk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReduceParams {
    pub in_shape: Vec<usize>,
    pub out_shape: Vec<usize>,
    /// Elements folded into each output (1 when no axis is reduced).
    pub count: usize,
    dims: Vec<usize>,
    red: Vec<bool>,
}

/// Normalizes numpy axes (negative allowed) for `ndim` dimensions.
pub fn normalize_axis(kernel: &str, axis: i64, ndim: usize) -> Result<usize, KernelError> {
    let nd = ndim as i64;
    if axis < -nd || axis >= nd {
        return Err(KernelError(format!("{kernel}: axis {axis} is out of bounds for array of dimension {ndim}")));
    }
    Ok(if axis < 0 { axis + nd } else { axis } as usize)
}

impl ReduceParams {
    /// Reduction of an array of `shape` over `axes` (all when None).
    pub fn new(shape: &[usize], axes: Option<&[i64]>, keepdims: bool) -> Result<Self, KernelError> {
        Self::for_kernel("reduce", shape, axes, keepdims)
    }

    /// Like [`ReduceParams::new`], with `kernel` named in the errors.
    pub fn for_kernel(kernel: &str, shape: &[usize], axes: Option<&[i64]>, keepdims: bool) -> Result<Self, KernelError> {
        let nd = shape.len();
        let mut reduced = vec![axes.is_none(); nd];
        for &a in axes.unwrap_or(&[]) {
            let d = normalize_axis(kernel, a, nd)?;
            if reduced[d] {
                return Err(KernelError(format!("{kernel}: duplicate value in 'axis'")));
            }
            reduced[d] = true;
        }
        let count = (0..nd).filter(|&d| reduced[d]).map(|d| shape[d]).product();
        let out_shape = (0..nd).filter(|&d| keepdims || !reduced[d]).map(|d| if reduced[d] { 1 } else { shape[d] }).collect();
        let (mut dims, mut red): (Vec<usize>, Vec<bool>) = (Vec::new(), Vec::new());
        for d in 0..nd {
            if shape[d] == 1 {
                continue;
            }
            if red.last() == Some(&reduced[d]) {
                *dims.last_mut().expect("non-empty") *= shape[d];
            } else {
                dims.push(shape[d]);
                red.push(reduced[d]);
            }
        }
        Ok(Self { in_shape: shape.to_vec(), out_shape, count, dims, red })
    }

    /// Number of output elements.
    pub fn out_len(&self) -> usize {
        self.out_shape.iter().product()
    }

    /// Max and min of an empty reduction are an error (they have no identity), like numpy.
    pub fn check(&self, op: ReduceOp) -> Result<(), KernelError> {
        if self.count == 0 && matches!(op, ReduceOp::Max | ReduceOp::Min) {
            let name = if op == ReduceOp::Max { "maximum" } else { "minimum" };
            return Err(KernelError(format!("reduce: zero-size array to reduction operation {name} which has no identity")));
        }
        Ok(())
    }
}

fn reduce_with<T: Real, F: Fold<T>>(x: &[T], out: &mut [T], p: &ReduceParams) {
    let (dims, red) = (&p.dims[..], &p.red[..]);
    match (dims.len(), red.first()) {
        (1, Some(true)) => out[0] = fold_all::<T, F>(x),
        (2, Some(false)) if red[1] => {
            let len = dims[1];
            let work = work_ns(x.len(), 1) + out.len() * 4;
            for_item_chunks(out, 1, work, |first, o| fold_rows::<T, F>(&x[first * len..(first + o.len()) * len], len, o));
        }
        (2, Some(true)) => fold_columns::<T, F>(x, dims[1], out),
        (_, Some(false)) => {
            // Independent slabs along the first (kept) dimension.
            let (slab_in, slab_out) = (x.len() / dims[0], out.len() / dims[0]);
            for_item_chunks(out, slab_out, work_ns(x.len(), 1), |first, o| {
                for (j, os) in o.chunks_exact_mut(slab_out).enumerate() {
                    let i = first + j;
                    solve::<T, F>(&dims[1..], &red[1..], &x[i * slab_in..(i + 1) * slab_in], os);
                }
            });
        }
        _ => solve::<T, F>(dims, red, x, out),
    }
}

multiversion! {
    fn divide_by<T: Real>(out: &mut [T], d: T) {
        for v in out.iter_mut() {
            *v = *v / d;
        }
    }
}

/// `out = op(x)` over the axes of `p` (out has `p.out_shape`). Max and min of an empty
/// reduction are an error (no identity), like numpy; the mean of one is NaN.
pub fn reduce<T: Real>(op: ReduceOp, x: &[T], out: &mut [T], p: &ReduceParams) -> Result<(), KernelError> {
    let n: usize = p.in_shape.iter().product();
    if x.len() != n || out.len() != p.out_len() {
        return Err(KernelError(format!(
            "reduce: expected {n} input and {} output elements, got {} and {}",
            p.out_len(),
            x.len(),
            out.len()
        )));
    }
    p.check(op)?;
    if out.is_empty() {
        return Ok(());
    }
    if p.count == 1 {
        out.copy_from_slice(x);
        return Ok(());
    }
    if x.is_empty() {
        out.fill(if op == ReduceOp::Mean { T::nan() } else { T::zero() });
        return Ok(());
    }
    match op {
        ReduceOp::Sum | ReduceOp::Mean => reduce_with::<T, SumF>(x, out, p),
        ReduceOp::Max => reduce_with::<T, MaxF>(x, out, p),
        ReduceOp::Min => reduce_with::<T, MinF>(x, out, p),
    }
    if op == ReduceOp::Mean {
        let d = T::of_f64(p.count as f64);
        for_item_chunks(out, 1, work_ns(out.len(), 2), |_, o| divide_by(o, d));
    }
    Ok(())
}

// ---- moments: mean and variance accumulated in f64 ---------------------------------------------

/// Calls `f(o, row)` for the rows (innermost collapsed dimension) of `x`, in C order,
/// with `o` the offset of the row's output: the one output a whole row folds into when
/// the innermost dimension is reduced, else the output of the row's first element (the
/// row then maps elementwise onto outputs `o ..`). `dims[0]` may be any whole number of
/// entries of the first dimension (a block of x).
#[inline(always)]
fn for_rows<T>(dims: &[usize], red: &[bool], x: &[T], mut f: impl FnMut(usize, &[T])) {
    let nd = dims.len();
    let len = dims[nd - 1];
    if len == 0 {
        return;
    }
    let mut ost = vec![0usize; nd];
    let mut acc = 1;
    for d in (0..nd).rev() {
        if !red[d] {
            ost[d] = acc;
            acc *= dims[d];
        }
    }
    let mut idx = vec![0usize; nd];
    let mut off = 0usize;
    for row in x.chunks_exact(len) {
        f(off, row);
        for d in (0..nd - 1).rev() {
            idx[d] += 1;
            off += ost[d];
            if idx[d] < dims[d] {
                break;
            }
            off -= ost[d] * dims[d];
            idx[d] = 0;
        }
    }
}

/// Sum in f64 of `f(x[i])` over a run, 8 lanes (vectorizes; about as accurate as pairwise
/// for the run lengths of one block).
#[inline(always)]
fn run_sum64<T: Real>(x: &[T], f: impl Fn(f64) -> f64) -> f64 {
    let (chunks, rest) = x.as_chunks::<8>();
    let mut acc = [0.0f64; 8];
    for c in chunks {
        for i in 0..8 {
            acc[i] += f(c[i].as_f64());
        }
    }
    let mut s = ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
    for &v in rest {
        s += f(v.as_f64());
    }
    s
}

multiversion! {
    /// First pass over a block: `acc[o] +=` the f64 sum of the elements of output o.
    fn sums_pass<T: Real>(dims: &[usize], red: &[bool], x: &[T], acc: &mut [f64]) {
        let inner_reduced = red[red.len() - 1];
        for_rows(dims, red, x, |o, row| {
            if inner_reduced {
                acc[o] += run_sum64(row, |v| v);
            } else {
                for (a, &v) in acc[o..o + row.len()].iter_mut().zip(row) {
                    *a += v.as_f64();
                }
            }
        });
    }
}

multiversion! {
    /// Second pass over a block: `acc[o] +=` the f64 sum of `(x - mean[o])**2`.
    fn squares_pass<T: Real>(dims: &[usize], red: &[bool], x: &[T], mean: &[f64], acc: &mut [f64]) {
        let inner_reduced = red[red.len() - 1];
        for_rows(dims, red, x, |o, row| {
            if inner_reduced {
                let m = mean[o];
                acc[o] += run_sum64(row, |v| (v - m) * (v - m));
            } else {
                for ((a, &v), &m) in acc[o..o + row.len()].iter_mut().zip(row).zip(&mean[o..o + row.len()]) {
                    let d = v.as_f64() - m;
                    *a += d * d;
                }
            }
        });
    }
}

/// Element-wise sum of partial vectors, in their order.
fn add_in_order(parts: Vec<Vec<f64>>, len: usize) -> Vec<f64> {
    let mut acc = vec![0.0; len];
    for p in parts {
        for (a, v) in acc.iter_mut().zip(p) {
            *a += v;
        }
    }
    acc
}

impl ReduceParams {
    /// The collapsed walk, with a single kept dimension of 1 for a one-element array.
    fn walk(&self) -> (Vec<usize>, Vec<bool>) {
        if self.dims.is_empty() {
            (vec![1], vec![false])
        } else {
            (self.dims.clone(), self.red.clone())
        }
    }
}

/// `mean` and `var`: the mean and the population variance (divided by the count) of `x`
/// over the axes of `p`, both of `p.out_shape`. Accumulated in f64 whatever T is, in two
/// passes (the sums, then the squared deviations from the f64 mean), so a large offset
/// costs no accuracy. Large inputs are cut into blocks that depend only on the shape,
/// combined in order, so results do not depend on the number of threads. The moments of
/// an empty reduction are NaN, as numpy's.
pub fn moments<T: Real>(x: &[T], mean: &mut [T], var: &mut [T], p: &ReduceParams) -> Result<(), KernelError> {
    let n: usize = p.in_shape.iter().product();
    let out = p.out_len();
    if x.len() != n || mean.len() != out || var.len() != out {
        return Err(KernelError(format!(
            "moments: expected {n} input and {out} output elements, got {}, {} and {}",
            x.len(),
            mean.len(),
            var.len()
        )));
    }
    if out == 0 {
        return Ok(());
    }
    if x.is_empty() {
        mean.fill(T::nan());
        var.fill(T::nan());
        return Ok(());
    }
    let count = p.count as f64;
    let (dims, red) = p.walk();
    let slab_in = x.len() / dims[0];
    let work = work_ns(x.len(), 4);
    let (m64, v64) = if red[0] {
        // Blocks of the (reduced) first dimension give partial sums of every output.
        let block = (CHUNK / slab_in).max(1);
        let sub = |r: &std::ops::Range<usize>| {
            let mut d = dims.clone();
            d[0] = r.len();
            d
        };
        let parts = map_ranges(dims[0], work, block, |r| {
            let mut acc = vec![0.0; out];
            sums_pass(&sub(&r), &red, &x[r.start * slab_in..r.end * slab_in], &mut acc);
            acc
        });
        let m64: Vec<f64> = add_in_order(parts, out).into_iter().map(|s| s / count).collect();
        let parts = map_ranges(dims[0], work, block, |r| {
            let mut acc = vec![0.0; out];
            squares_pass(&sub(&r), &red, &x[r.start * slab_in..r.end * slab_in], &m64, &mut acc);
            acc
        });
        (m64, add_in_order(parts, out).into_iter().map(|s| s / count).collect::<Vec<f64>>())
    } else {
        // Independent slabs along the (kept) first dimension, both passes per block.
        let slab_out = out / dims[0];
        let block = (CHUNK / slab_in).max(1);
        let parts = map_ranges(dims[0], work, block, |r| {
            let mut d = dims.clone();
            d[0] = r.len();
            let xs = &x[r.start * slab_in..r.end * slab_in];
            let mut m = vec![0.0; r.len() * slab_out];
            sums_pass(&d, &red, xs, &mut m);
            m.iter_mut().for_each(|v| *v /= count);
            let mut v = vec![0.0; m.len()];
            squares_pass(&d, &red, xs, &m, &mut v);
            v.iter_mut().for_each(|s| *s /= count);
            (m, v)
        });
        parts.into_iter().fold((Vec::with_capacity(out), Vec::with_capacity(out)), |(mut am, mut av), (m, v)| {
            am.extend(m);
            av.extend(v);
            (am, av)
        })
    };
    for (o, &s) in mean.iter_mut().zip(&m64) {
        *o = T::of_f64(s);
    }
    for (w, &s) in var.iter_mut().zip(&v64) {
        *w = T::of_f64(s);
    }
    Ok(())
}

multiversion! {
    /// `gx = c1 + c2 (x - mean)` with `[c1, c2, mean] = coef[o]`, over a block of x whose
    /// first output is `base`.
    fn moments_grad_block<T: Real>(d: &[usize], red: &[bool], x: &[T], coef: &[[T; 3]], base: usize, gx: &mut [T]) {
        let inner_reduced = red[red.len() - 1];
        let mut pos = 0;
        for_rows(d, red, x, |o, row| {
            let o = base + o;
            let g = &mut gx[pos..pos + row.len()];
            if inner_reduced {
                let [a, b, m] = coef[o];
                for (gv, &v) in g.iter_mut().zip(row) {
                    *gv = a + b * (v - m);
                }
            } else {
                for ((gv, &v), &[a, b, m]) in g.iter_mut().zip(row).zip(&coef[o..o + row.len()]) {
                    *gv = a + b * (v - m);
                }
            }
            pos += row.len();
        });
    }
}

/// `gx`, the gradient wrt x of [`moments`] over the axes of `p`, given the mean it
/// returned and the gradients `g_mean`, `g_var` of its two outputs (all of `p`'s output
/// size): `g_mean/n + 2 g_var (x - mean)/n` with n the count, in one pass over x.
pub fn moments_backward<T: Real>(
    x: &[T],
    mean: &[T],
    g_mean: &[T],
    g_var: &[T],
    gx: &mut [T],
    p: &ReduceParams,
) -> Result<(), KernelError> {
    let n: usize = p.in_shape.iter().product();
    let out = p.out_len();
    if x.len() != n || gx.len() != n || mean.len() != out || g_mean.len() != out || g_var.len() != out {
        return Err(KernelError(format!(
            "moments_backward: expected {n} elements of x and gx and {out} of mean, g_mean and g_var, got {}, {}, {}, {} and {}",
            x.len(),
            gx.len(),
            mean.len(),
            g_mean.len(),
            g_var.len()
        )));
    }
    if gx.is_empty() {
        return Ok(());
    }
    let cnt = T::of_f64(p.count as f64);
    let coef: Vec<[T; 3]> = g_mean.iter().zip(g_var).zip(mean).map(|((&gm, &gv), &m)| [gm / cnt, (gv + gv) / cnt, m]).collect();
    let (dims, red) = p.walk();
    let slab_in = x.len() / dims[0];
    let slab_out = if red[0] { 0 } else { out / dims[0] };
    for_item_chunks(gx, slab_in, work_ns(x.len(), 2), |first, gc| {
        let mut d = dims.clone();
        d[0] = gc.len() / slab_in;
        let xs = &x[first * slab_in..first * slab_in + gc.len()];
        moments_grad_block(&d, &red, xs, &coef, first * slab_out, gc);
    });
    Ok(())
}

// ---- argmax -----------------------------------------------------------------------------------

/// `argmax` along one axis of an array seen as (outer, n, inner).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ArgmaxParams {
    pub outer: usize,
    pub n: usize,
    pub inner: usize,
}

impl ArgmaxParams {
    /// The params and numpy's output shape for `shape` and `axis` (negative allowed).
    /// Like numpy, a 0-d array is taken as shape (1,) (its argmax is 0).
    pub fn new(shape: &[usize], axis: i64) -> Result<(Self, Vec<usize>), KernelError> {
        let shape = if shape.is_empty() { &[1][..] } else { shape };
        let d = normalize_axis("argmax", axis, shape.len())?;
        if shape[d] == 0 {
            return Err(KernelError("argmax: attempt to get argmax of an empty sequence".into()));
        }
        let p = Self { outer: shape[..d].iter().product(), n: shape[d], inner: shape[d + 1..].iter().product() };
        let out = shape.iter().enumerate().filter(|&(i, _)| i != d).map(|(_, &s)| s).collect();
        Ok((p, out))
    }
}

/// Index of the first element of `x` for which `hit` holds (x.len() if none), testing
/// 16 elements at a time without branches.
#[inline(always)]
fn first_where<T: Real>(x: &[T], hit: impl Fn(T) -> bool) -> usize {
    let (chunks, rest) = x.as_chunks::<16>();
    for (ci, c) in chunks.iter().enumerate() {
        let mut any = false;
        for &v in c {
            any |= hit(v);
        }
        if any {
            return ci * 16 + c.iter().position(|&v| hit(v)).unwrap_or(0);
        }
    }
    chunks.len() * 16 + rest.iter().position(|&v| hit(v)).unwrap_or(rest.len())
}

#[inline(always)]
fn argmax_row<T: Real>(row: &[T]) -> usize {
    if row.len() >= 64 {
        // Vectorized: the maximum first, then where it (or the first NaN) is.
        let m = extreme_run::<T, true>(row);
        return if m.is_nan() { first_where(row, |v| v.is_nan()) } else { first_where(row, |v| v == m) };
    }
    let mut best = row[0];
    if best.is_nan() {
        return 0;
    }
    let mut bi = 0;
    for (i, &v) in row.iter().enumerate().skip(1) {
        if v > best {
            best = v;
            bi = i;
        } else if v.is_nan() {
            return i;
        }
    }
    bi
}

multiversion! {
    fn argmax_rows<T: Real>(x: &[T], n: usize, out: &mut [i64]) {
        for (o, row) in out.iter_mut().zip(x.chunks_exact(n)) {
            *o = argmax_row(row) as i64;
        }
    }
}

multiversion! {
    /// One (n, inner) slab: the first maximum of every column (the first NaN if any).
    fn argmax_cols<T: Real>(x: &[T], best: &mut [T], out: &mut [i64]) {
        let inner = out.len();
        best.copy_from_slice(&x[..inner]);
        out.fill(0);
        for (r, row) in x.chunks_exact(inner).enumerate().skip(1) {
            for ((b, o), &v) in best.iter_mut().zip(out.iter_mut()).zip(row) {
                if v > *b || (v.is_nan() && !b.is_nan()) {
                    *b = v;
                    *o = r as i64;
                }
            }
        }
    }
}

/// `out = argmax(x)` along the axis of `p` (index of the first maximum; the first NaN wins).
pub fn argmax<T: Real>(x: &[T], out: &mut [i64], p: ArgmaxParams) -> Result<(), KernelError> {
    let ArgmaxParams { outer, n, inner } = p;
    if x.len() != outer * n * inner || out.len() != outer * inner || (n == 0 && !out.is_empty()) {
        return Err(KernelError(format!("argmax: lengths x={} out={} do not fit outer={outer} n={n} inner={inner}", x.len(), out.len())));
    }
    if out.is_empty() {
        return Ok(());
    }
    if inner == 1 {
        let work = work_ns(x.len(), 2) + out.len() * 4;
        for_item_chunks(out, 1, work, |first, o| argmax_rows(&x[first * n..(first + o.len()) * n], n, o));
    } else {
        for_item_chunks(out, inner, work_ns(x.len(), 2), |first, o| {
            let mut best = vec![T::zero(); inner];
            for (j, os) in o.chunks_exact_mut(inner).enumerate() {
                let i = first + j;
                argmax_cols(&x[i * n * inner..(i + 1) * n * inner], &mut best, os);
            }
        });
    }
    Ok(())
}

// ---- sum of squares ---------------------------------------------------------------------------

multiversion! {
    fn sum_squares_run<T: Real>(x: &[T]) -> f64 {
        let (chunks, rest) = x.as_chunks::<LANES>();
        let mut acc = [0.0f64; LANES];
        for c in chunks {
            for i in 0..LANES {
                let v = c[i].as_f64();
                acc[i] += v * v;
            }
        }
        let mut w = LANES;
        while w > 1 {
            w /= 2;
            for i in 0..w {
                acc[i] += acc[i + w];
            }
        }
        let mut s = acc[0];
        for &v in rest {
            s += v.as_f64() * v.as_f64();
        }
        s
    }
}

/// Sum of the squares of the elements of `x`, accumulated in f64.
pub fn sum_squares<T: Real>(x: &[T]) -> f64 {
    if x.len() < CHUNK * 2 {
        return sum_squares_run(x);
    }
    map_ranges(x.len(), work_ns(x.len(), 1), CHUNK, |r| sum_squares_run(&x[r])).into_iter().sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reduction by the definition: each input element folded into its output index.
    fn naive(op: ReduceOp, x: &[f64], shape: &[usize], axes: &[usize]) -> Vec<f64> {
        let nd = shape.len();
        let out_shape: Vec<usize> = (0..nd).map(|d| if axes.contains(&d) { 1 } else { shape[d] }).collect();
        let n_out: usize = out_shape.iter().product();
        let init = match op {
            ReduceOp::Max => f64::NEG_INFINITY,
            ReduceOp::Min => f64::INFINITY,
            _ => 0.0,
        };
        let mut out = vec![init; n_out];
        for (flat, &v) in x.iter().enumerate() {
            let (mut r, mut o, mut m) = (flat, 0, 1);
            for d in (0..nd).rev() {
                let i = r % shape[d];
                r /= shape[d];
                if !axes.contains(&d) {
                    o += i * m;
                }
                m *= out_shape[d];
            }
            out[o] = match op {
                ReduceOp::Max => out[o].max(v),
                ReduceOp::Min => out[o].min(v),
                _ => out[o] + v,
            };
        }
        if op == ReduceOp::Mean {
            let c: usize = axes.iter().map(|&d| shape[d]).product();
            out.iter_mut().for_each(|v| *v /= c as f64);
        }
        out
    }

    #[test]
    fn every_axis_set_matches_definition() {
        for shape in [vec![3usize, 4, 5], vec![2, 1, 3, 4], vec![1, 7], vec![40, 1100], vec![3, 70, 300], vec![5000], vec![2, 3, 2, 5, 2]] {
            let n: usize = shape.iter().product();
            let x: Vec<f64> = (0..n).map(|i| ((i * 7919) % 1000) as f64 / 100.0 - 5.0).collect();
            let nd = shape.len();
            for mask in 0..(1u32 << nd) {
                let axes: Vec<usize> = (0..nd).filter(|d| mask & (1 << d) != 0).collect();
                let ax: Vec<i64> = axes.iter().map(|&a| a as i64 - if a % 2 == 0 { nd as i64 } else { 0 }).collect();
                let p = ReduceParams::new(&shape, Some(&ax), true).unwrap();
                for op in [ReduceOp::Sum, ReduceOp::Mean, ReduceOp::Max, ReduceOp::Min] {
                    let mut got = vec![0.0; p.out_len()];
                    reduce(op, &x, &mut got, &p).unwrap();
                    let want = naive(op, &x, &shape, &axes);
                    for (g, w) in got.iter().zip(&want) {
                        assert!((g - w).abs() <= 1e-9 * w.abs().max(1.0), "{op:?} {shape:?} {axes:?}: {g} vs {w}");
                    }
                }
            }
        }
    }

    /// Output index of each input element for a reduction over `axes` (keepdims layout).
    fn out_index(shape: &[usize], axes: &[usize]) -> Vec<usize> {
        let n: usize = shape.iter().product();
        (0..n)
            .map(|flat| {
                let (mut r, mut o, mut m) = (flat, 0, 1);
                for d in (0..shape.len()).rev() {
                    let i = r % shape[d];
                    r /= shape[d];
                    if !axes.contains(&d) {
                        o += i * m;
                        m *= shape[d];
                    }
                }
                o
            })
            .collect()
    }

    #[test]
    fn moments_match_definition_on_every_axis_set() {
        for shape in
            [vec![3usize, 4, 5], vec![2, 1, 3, 4], vec![1, 7], vec![40, 1100], vec![3, 70, 300], vec![5000], vec![1], vec![2, 3, 2, 5, 2]]
        {
            let n: usize = shape.iter().product();
            let x: Vec<f64> = (0..n).map(|i| 100.0 + ((i * 7919) % 1000) as f64 / 100.0).collect();
            let nd = shape.len();
            for mask in 0..(1u32 << nd) {
                let axes: Vec<usize> = (0..nd).filter(|d| mask & (1 << d) != 0).collect();
                let ax: Vec<i64> = axes.iter().map(|&a| a as i64).collect();
                let p = ReduceParams::new(&shape, Some(&ax), false).unwrap();
                let idx = out_index(&shape, &axes);
                let cnt = p.count as f64;
                let mut want_m = vec![0.0; p.out_len()];
                for (&o, &v) in idx.iter().zip(&x) {
                    want_m[o] += v / cnt;
                }
                let mut want_v = vec![0.0; p.out_len()];
                for (&o, &v) in idx.iter().zip(&x) {
                    want_v[o] += (v - want_m[o]) * (v - want_m[o]) / cnt;
                }
                let (mut m, mut v) = (vec![0.0; p.out_len()], vec![0.0; p.out_len()]);
                moments(&x, &mut m, &mut v, &p).unwrap();
                for (g, w) in m.iter().zip(&want_m).chain(v.iter().zip(&want_v)) {
                    assert!((g - w).abs() <= 1e-10 * w.abs().max(1.0), "{shape:?} {axes:?}: {g} vs {w}");
                }
                // gx = g_mean/n + 2 g_var (x - mean)/n
                let gm: Vec<f64> = (0..p.out_len()).map(|i| i as f64 * 0.5 - 1.0).collect();
                let gv: Vec<f64> = (0..p.out_len()).map(|i| 2.0 - i as f64 * 0.25).collect();
                let mut gx = vec![0.0; n];
                moments_backward(&x, &m, &gm, &gv, &mut gx, &p).unwrap();
                for (k, (&o, &xv)) in idx.iter().zip(&x).enumerate() {
                    let want = gm[o] / cnt + 2.0 * gv[o] * (xv - m[o]) / cnt;
                    assert!((gx[k] - want).abs() <= 1e-10 * want.abs().max(1.0), "{shape:?} {axes:?} grad {k}");
                }
            }
        }
    }

    #[test]
    fn moments_of_a_million_offset_f32_rows_are_accurate_and_thread_independent() {
        let n = 1 << 20;
        // 1000 + a deterministic spread of unit variance-ish values
        let x: Vec<f32> = (0..n * 2).map(|i| 1000.0 + (((i * 2654435761usize) % 10007) as f32 / 10007.0 - 0.5) * 3.4).collect();
        let x64: Vec<f64> = x.iter().map(|&v| v as f64).collect();
        for (shape, axes) in [(vec![n * 2], vec![0i64]), (vec![n, 2], vec![0]), (vec![2, n], vec![1])] {
            let p = ReduceParams::new(&shape, Some(&axes), false).unwrap();
            let (mut w_m, mut w_v) = (vec![0.0f64; 2.min(p.out_len())], vec![0.0f64; 2.min(p.out_len())]);
            moments(&x64, &mut w_m, &mut w_v, &p).unwrap();
            let mut runs = Vec::new();
            for threads in [1, 2] {
                parallel::set_num_threads(threads);
                let (mut m, mut v) = (vec![0.0f32; p.out_len()], vec![0.0f32; p.out_len()]);
                moments(&x, &mut m, &mut v, &p).unwrap();
                runs.push((m, v));
            }
            assert_eq!(runs[0], runs[1], "{shape:?}");
            for (g, w) in runs[0].1.iter().zip(&w_v) {
                assert!(((*g as f64 - w) / w).abs() < 1e-6, "{shape:?}: var {g} vs {w}");
            }
        }
    }

    #[test]
    fn moments_of_nothing_are_nan() {
        let p = ReduceParams::new(&[0, 3], Some(&[0]), false).unwrap();
        let (mut m, mut v) = ([0.0f32; 3], [0.0f32; 3]);
        moments(&[], &mut m, &mut v, &p).unwrap();
        assert!(m.iter().chain(&v).all(|x| x.is_nan()));
        let p = ReduceParams::new(&[3, 0], Some(&[0]), false).unwrap();
        moments::<f32>(&[], &mut [], &mut [], &p).unwrap();
        let p = ReduceParams::for_kernel("moments", &[2, 3], Some(&[2]), false).unwrap_err();
        assert!(p.0.starts_with("moments: axis 2 is out of bounds"), "{}", p.0);
    }

    #[test]
    fn big_sums_are_accurate_and_thread_independent() {
        let n = 1 << 20;
        let x: Vec<f32> = (0..n).map(|i| 1.0 + (i % 3) as f32 * 1e-3).collect();
        let want: f64 = x.iter().map(|&v| v as f64).sum();
        let p = ReduceParams::new(&[n], None, false).unwrap();
        let mut runs = Vec::new();
        for threads in [1, 2] {
            parallel::set_num_threads(threads);
            let mut got = [0.0f32];
            reduce(ReduceOp::Sum, &x, &mut got, &p).unwrap();
            runs.push(got[0]);
        }
        assert_eq!(runs[0], runs[1]);
        assert!(((runs[0] as f64 - want) / want).abs() < 1e-6, "{} vs {want}", runs[0]);
    }

    #[test]
    fn empty_reductions() {
        let p = ReduceParams::new(&[3, 0], Some(&[1]), false).unwrap();
        let mut out = [1.0f64; 3];
        assert!(reduce(ReduceOp::Max, &[], &mut out, &p).unwrap_err().0.contains("zero-size array"));
        reduce(ReduceOp::Sum, &[], &mut out, &p).unwrap();
        assert_eq!(out, [0.0; 3]);
        reduce(ReduceOp::Mean, &[], &mut out, &p).unwrap();
        assert!(out.iter().all(|v| v.is_nan()));
        // Reducing a non-empty axis of an empty array gives an empty result, even for max.
        let p = ReduceParams::new(&[0, 3], Some(&[1]), false).unwrap();
        assert_eq!(p.out_shape, vec![0]);
        reduce(ReduceOp::Max, &[], &mut [0.0f64; 0], &p).unwrap();
    }

    #[test]
    fn bad_axes() {
        assert!(ReduceParams::new(&[2, 3], Some(&[2]), false).unwrap_err().0.contains("out of bounds"));
        assert!(ReduceParams::new(&[2, 3], Some(&[1, -1]), false).unwrap_err().0.contains("duplicate"));
    }

    #[test]
    fn nan_propagates_in_max_and_argmax() {
        let x = [1.0f64, f64::NAN, 3.0, 2.0, 5.0, 5.0];
        let p = ReduceParams::new(&[6], None, false).unwrap();
        let mut out = [0.0];
        reduce(ReduceOp::Max, &x, &mut out, &p).unwrap();
        assert!(out[0].is_nan());
        let (ap, shape) = ArgmaxParams::new(&[], 0).unwrap();
        assert_eq!((ap, shape), (ArgmaxParams { outer: 1, n: 1, inner: 1 }, vec![]));
        let (ap, shape) = ArgmaxParams::new(&[6], -1).unwrap();
        assert!(shape.is_empty());
        let mut idx = [0i64];
        argmax(&x, &mut idx, ap).unwrap();
        assert_eq!(idx, [1]);
        let (ap, _) = ArgmaxParams::new(&[2, 3], 0).unwrap();
        let mut idx = [0i64; 3];
        argmax(&x, &mut idx, ap).unwrap();
        assert_eq!(idx, [1, 0, 1]);
        let (ap, _) = ArgmaxParams::new(&[3, 2], 1).unwrap();
        let mut idx = [0i64; 3];
        argmax(&x, &mut idx, ap).unwrap();
        assert_eq!(idx, [1, 0, 0]);
    }

    #[test]
    fn sum_squares_in_f64() {
        let x: Vec<f32> = (0..100_000).map(|i| (i % 10) as f32).collect();
        let want: f64 = x.iter().map(|&v| (v as f64) * (v as f64)).sum();
        assert_eq!(sum_squares(&x), want);
    }
}
