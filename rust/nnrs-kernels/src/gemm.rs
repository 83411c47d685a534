//! Matrix products (the `gemm` crate: runtime-dispatched SIMD microkernels) and the
//! dense-layer kernels built on them. All matrices are row-major.

use crate::activation::{activation_forward, Activation, ActivationParams};
use crate::fastmath::Real;
use crate::{parallel, Float, KernelError};

/// `c = op(a) @ op(b)` with `op(a)` of shape (m, k) and `op(b)` of shape (k, n).
/// With `trans_a`, `a` is stored as (k, m); with `trans_b`, `b` is stored as (n, k).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MatmulParams {
    pub m: usize,
    pub n: usize,
    pub k: usize,
    pub trans_a: bool,
    pub trans_b: bool,
}

impl MatmulParams {
    /// Checks the slice lengths against the shape.
    pub fn check(&self, a: usize, b: usize, c: usize) -> Result<(), KernelError> {
        let (m, n, k) = (self.m, self.n, self.k);
        if a != m * k || b != k * n || c != m * n {
            return Err(KernelError(format!(
                "matmul: expected lengths a={} b={} c={} for m={m} n={n} k={k}, got a={a} b={b} c={c}",
                m * k,
                k * n,
                m * n
            )));
        }
        Ok(())
    }
}

/// Multiply-adds (m*n*k) from which a product uses the whole pool. Below it, measured
/// on 2 cores, splitting one product costs more than it saves (128^3: 51 us on one
/// thread, 89 us on two; 128x784x512: 1.39 ms vs 0.72 ms).
pub const GEMM_PAR_WORK: usize = 1 << 22;

/// `c = beta_c * c + op(a) @ op(b)`; `accumulate` keeps what `c` holds (beta_c = 1),
/// otherwise `c` is overwritten. Uses the pool for products of `GEMM_PAR_WORK` or more.
pub fn matmul_into<T: Float>(a: &[T], b: &[T], c: &mut [T], p: MatmulParams, accumulate: bool) -> Result<(), KernelError> {
    let threads = if p.m * p.n * p.k >= GEMM_PAR_WORK { parallel::num_threads() } else { 1 };
    matmul_threads(a, b, c, p, accumulate, threads)
}

/// From this many rows of `op(a)` on, a product with `trans_b` first copies b into
/// (k, n) order. The gemm crate reads a (n, k)-stored b slowly: measured on one thread
/// (AMD EPYC, Zen 4), 128x784x512 took 1.68 ms that way and 1.25 ms with the copy (the
/// copy alone ~0.25 ms); 32x784x512 1.01 ms vs 0.47 ms; 128x256x512 0.57 vs 0.38 ms.
const TRANSPOSE_B_ROWS: usize = 16;

/// `dst` (cols, rows) = transpose of `src` (rows, cols), both row-major. Reads runs of
/// 16 source rows side by side, so that both sides move through memory in order.
fn transpose_into<T: Float>(src: &[T], rows: usize, cols: usize, dst: &mut [T]) {
    const TILE: usize = 16;
    for r0 in (0..rows).step_by(TILE) {
        let r1 = (r0 + TILE).min(rows);
        let tile: Vec<&[T]> = (r0..r1).map(|r| &src[r * cols..(r + 1) * cols]).collect();
        for (c, out) in dst.chunks_exact_mut(rows).enumerate() {
            for (o, row) in out[r0..r1].iter_mut().zip(&tile) {
                *o = row[c];
            }
        }
    }
}

/// `matmul_into` on exactly `threads` threads (1: the calling thread only).
fn matmul_threads<T: Float>(a: &[T], b: &[T], c: &mut [T], p: MatmulParams, accumulate: bool, threads: usize) -> Result<(), KernelError> {
    p.check(a.len(), b.len(), c.len())?;
    let (m, n, k) = (p.m, p.n, p.k);
    if p.trans_b && m >= TRANSPOSE_B_ROWS && n > 1 && k > 1 {
        let mut bt = vec![T::zero(); k * n];
        transpose_into(b, n, k, &mut bt);
        return matmul_threads(a, &bt, c, MatmulParams { trans_b: false, ..p }, accumulate, threads);
    }
    if m == 0 || n == 0 {
        return Ok(());
    }
    if k == 0 {
        if !accumulate {
            c.iter_mut().for_each(|x| *x = T::zero());
        }
        return Ok(());
    }
    // Strides in elements: (row stride, column stride) of op(a), op(b) and c.
    let (a_rs, a_cs) = if p.trans_a { (1, m as isize) } else { (k as isize, 1) };
    let (b_rs, b_cs) = if p.trans_b { (1, k as isize) } else { (n as isize, 1) };
    let par = if threads > 1 { gemm::Parallelism::Rayon(threads) } else { gemm::Parallelism::None };
    let mut go = move || {
        // SAFETY: the lengths were checked against (m, n, k) above, so every index the
        // strides reach lies inside its slice; `c` is borrowed mutably and does not alias
        // `a` or `b` (Rust's borrow rules).
        unsafe {
            gemm::gemm(
                m,
                n,
                k,
                c.as_mut_ptr(),
                1,
                n as isize,
                accumulate,
                a.as_ptr(),
                a_cs,
                a_rs,
                b.as_ptr(),
                b_cs,
                b_rs,
                T::one(),
                T::one(),
                false,
                false,
                false,
                par,
            )
        }
    };
    if threads > 1 {
        parallel::pool().install(go);
    } else {
        go();
    }
    Ok(())
}

/// How the batch dimensions of an N-D `matmul` broadcast: a is (..., op(a)) and b is
/// (..., op(b)), with their batch shapes right-aligned and padded with leading 1s to the
/// rank of the output's batch shape `out` (numpy's rules: a dimension of 1 is repeated).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchParams {
    pub out: Vec<usize>,
    pub a: Vec<usize>,
    pub b: Vec<usize>,
}

impl BatchParams {
    /// Aligns and broadcasts two batch shapes; an error names both when they do not broadcast.
    pub fn broadcast(a: &[usize], b: &[usize]) -> Result<Self, KernelError> {
        let rank = a.len().max(b.len());
        let pad = |s: &[usize]| std::iter::repeat_n(1, rank - s.len()).chain(s.iter().copied()).collect::<Vec<_>>();
        let (pa, pb) = (pad(a), pad(b));
        let mut out = Vec::with_capacity(rank);
        for (&x, &y) in pa.iter().zip(&pb) {
            out.push(match (x, y) {
                _ if x == y => x,
                (1, _) => y,
                (_, 1) => x,
                _ => return Err(KernelError(format!("batch dimensions {a:?} and {b:?} do not broadcast"))),
            });
        }
        Ok(BatchParams { out, a: pa, b: pb })
    }

    /// Number of products (output matrices).
    pub fn count(&self) -> usize {
        self.out.iter().product()
    }

    /// Matrices stored in a and in b.
    pub fn counts(&self) -> (usize, usize) {
        (self.a.iter().product(), self.b.iter().product())
    }

    /// Indices of the a and b matrices that output matrix `i` (C order) multiplies.
    pub fn sources(&self, mut i: usize) -> (usize, usize) {
        let (mut ia, mut ib, mut sa, mut sb) = (0, 0, 1, 1);
        for d in (0..self.out.len()).rev() {
            let j = i % self.out[d];
            i /= self.out[d];
            if self.a[d] != 1 {
                ia += j * sa;
            }
            if self.b[d] != 1 {
                ib += j * sb;
            }
            sa *= self.a[d];
            sb *= self.b[d];
        }
        (ia, ib)
    }
}

/// The N-D `matmul` kernel: `c[i] = op(a[ia]) @ op(b[ib])` for every output matrix i of
/// `batch.out`, where (ia, ib) come from broadcasting (see [`BatchParams`]); a, b and c are
/// C-ordered stacks of row-major matrices. A 2-D product is `batch.out == []`.
pub fn matmul<T: Float>(a: &[T], b: &[T], c: &mut [T], p: MatmulParams, batch: &BatchParams) -> Result<(), KernelError> {
    let (m, n, k) = (p.m, p.n, p.k);
    let (count, (na, nb)) = (batch.count(), batch.counts());
    if batch.a.len() != batch.out.len() || batch.b.len() != batch.out.len() {
        return Err(KernelError(format!("matmul: batch ranks differ: {batch:?}")));
    }
    if a.len() != na * m * k || b.len() != nb * k * n || c.len() != count * m * n {
        return Err(KernelError(format!(
            "matmul: expected lengths a={} b={} c={} for batch {:?} m={m} n={n} k={k}, got a={} b={} c={}",
            na * m * k,
            nb * k * n,
            count * m * n,
            batch.out,
            a.len(),
            b.len(),
            c.len()
        )));
    }
    if count == 0 || m == 0 || n == 0 {
        return Ok(());
    }
    if nb == 1 && !p.trans_a {
        // One b for every a (a is never repeated then): the stack of a's is one tall
        // (count*m, k) matrix, so the whole batch is a single product.
        return matmul_into(a, b, c, MatmulParams { m: count * m, ..p }, false);
    }
    if count == 1 || m * n * k >= GEMM_PAR_WORK {
        // Large products: one after the other, each split across the pool by the gemm crate.
        for (i, ci) in c.chunks_exact_mut(m * n).enumerate() {
            let (ia, ib) = batch.sources(i);
            matmul_into(&a[ia * m * k..(ia + 1) * m * k], &b[ib * k * n..(ib + 1) * k * n], ci, p, false)?;
        }
        return Ok(());
    }
    // Small products: whole products per thread. Rough single-thread cost in ns: a fixed
    // ~100 ns per call plus ~1/32 ns per multiply-add (the microkernels' rate on one core).
    let work = count.saturating_mul(100 + m * n * k / 32);
    let failed = std::sync::Mutex::new(None);
    parallel::for_item_chunks(c, m * n, work, |first, chunk| {
        for (j, cj) in chunk.chunks_exact_mut(m * n).enumerate() {
            let (ia, ib) = batch.sources(first + j);
            if let Err(e) = matmul_threads(&a[ia * m * k..(ia + 1) * m * k], &b[ib * k * n..(ib + 1) * k * n], cj, p, false, 1) {
                *failed.lock().unwrap_or_else(|e| e.into_inner()) = Some(e);
            }
        }
    });
    match failed.into_inner().unwrap_or_else(|e| e.into_inner()) {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// `y = x @ w + bias` for x (n, inp), w (inp, out), bias (out) or none; y is (n, out).
pub fn linear_forward<T: Float>(
    x: &[T],
    w: &[T],
    bias: Option<&[T]>,
    y: &mut [T],
    n: usize,
    inp: usize,
    out: usize,
) -> Result<(), KernelError> {
    if let Some(b) = bias {
        if b.len() != out {
            return Err(KernelError(format!("linear_forward: bias has {} elements, expected {out}", b.len())));
        }
        if y.len() != n * out {
            return Err(KernelError(format!("linear_forward: output has {} elements, expected {}", y.len(), n * out)));
        }
        for row in y.chunks_exact_mut(out.max(1)) {
            row.copy_from_slice(b);
        }
    }
    matmul_into(x, w, y, MatmulParams { m: n, n: out, k: inp, trans_a: false, trans_b: false }, bias.is_some())
}

/// `y = act(x @ w + bias)`: a dense layer's forward in one call. The product goes to a
/// scratch buffer, the activation writes `y` (for `linear`, the product is written to `y`).
#[allow(clippy::too_many_arguments)]
pub fn dense_forward<T: Real>(
    x: &[T],
    w: &[T],
    bias: Option<&[T]>,
    y: &mut [T],
    n: usize,
    inp: usize,
    out: usize,
    act: Activation,
    alpha: f64,
) -> Result<(), KernelError> {
    if act == Activation::Linear {
        if bias.is_none() {
            y.iter_mut().for_each(|v| *v = T::zero());
        }
        return linear_forward(x, w, bias, y, n, inp, out);
    }
    let mut z = vec![T::zero(); y.len()];
    linear_forward(x, w, bias, &mut z, n, inp, out)?;
    activation_forward(&z, y, ActivationParams { act, alpha, row: out.max(1) })
}

/// Gradients of `linear_forward`: gx = gy @ w^T (when wanted), gw = x^T @ gy, gb = column sums of gy.
#[allow(clippy::too_many_arguments)]
pub fn linear_backward<T: Float>(
    x: &[T],
    w: &[T],
    gy: &[T],
    gx: Option<&mut [T]>,
    gw: &mut [T],
    gb: Option<&mut [T]>,
    n: usize,
    inp: usize,
    out: usize,
) -> Result<(), KernelError> {
    let px = MatmulParams { m: n, n: inp, k: out, trans_a: false, trans_b: true };
    let pw = MatmulParams { m: inp, n: out, k: n, trans_a: true, trans_b: false };
    match gx {
        // Two products of equal size (n*inp*out each): on a multi-thread pool, one thread
        // each scales better than splitting each product across the pool in turn.
        Some(gx) if parallel::num_threads() > 1 && n * inp * out >= GEMM_PAR_WORK / 4 => {
            let (rx, rw) = parallel::pool()
                .install(|| rayon::join(|| matmul_threads(gy, w, gx, px, false, 1), || matmul_threads(x, gy, gw, pw, false, 1)));
            rx?;
            rw?;
        }
        Some(gx) => {
            matmul_into(gy, w, gx, px, false)?;
            matmul_into(x, gy, gw, pw, false)?;
        }
        None => matmul_into(x, gy, gw, pw, false)?,
    }
    if let Some(gb) = gb {
        if gb.len() != out || gy.len() != n * out {
            return Err(KernelError(format!("linear_backward: bias grad has {} elements, expected {out}", gb.len())));
        }
        gb.iter_mut().for_each(|v| *v = T::zero());
        for row in gy.chunks_exact(out.max(1)) {
            for (acc, &g) in gb.iter_mut().zip(row) {
                *acc = *acc + g;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(a: &[f64], b: &[f64], p: MatmulParams) -> Vec<f64> {
        let mut c = vec![0.0; p.m * p.n];
        for i in 0..p.m {
            for j in 0..p.n {
                let mut s = 0.0;
                for q in 0..p.k {
                    let av = if p.trans_a { a[q * p.m + i] } else { a[i * p.k + q] };
                    let bv = if p.trans_b { b[j * p.k + q] } else { b[q * p.n + j] };
                    s += av * bv;
                }
                c[i * p.n + j] = s;
            }
        }
        c
    }

    #[test]
    fn all_transpose_combinations_match_naive() {
        for &(m, n, k) in &[(1, 1, 1), (3, 5, 7), (70, 65, 80), (2, 0, 3), (4, 3, 0)] {
            for ta in [false, true] {
                for tb in [false, true] {
                    let p = MatmulParams { m, n, k, trans_a: ta, trans_b: tb };
                    let a: Vec<f64> = (0..m * k).map(|i| (i as f64 * 0.37).sin()).collect();
                    let b: Vec<f64> = (0..k * n).map(|i| (i as f64 * 0.11).cos()).collect();
                    let mut c = vec![9.0; m * n];
                    matmul_into(&a, &b, &mut c, p, false).unwrap();
                    for (x, y) in c.iter().zip(naive(&a, &b, p)) {
                        assert!((x - y).abs() < 1e-9, "{x} vs {y}");
                    }
                }
            }
        }
    }

    /// `matmul` against `naive` applied matrix by matrix, with the broadcasting done by hand.
    fn check_batched(sa: &[usize], sb: &[usize], m: usize, n: usize, k: usize, ta: bool, tb: bool) {
        let batch = BatchParams::broadcast(sa, sb).unwrap();
        let (na, nb) = (sa.iter().product::<usize>(), sb.iter().product::<usize>());
        let p = MatmulParams { m, n, k, trans_a: ta, trans_b: tb };
        let a: Vec<f64> = (0..na * m * k).map(|i| (i as f64 * 0.37).sin()).collect();
        let b: Vec<f64> = (0..nb * k * n).map(|i| (i as f64 * 0.11).cos()).collect();
        let mut c = vec![f64::NAN; batch.count() * m * n];
        matmul(&a, &b, &mut c, p, &batch).unwrap();
        // Walk the output batch index by index (C order) and find the sources independently.
        let rank = batch.out.len();
        let mut idx = vec![0usize; rank];
        for i in 0..batch.count() {
            let flat = |shape: &[usize]| {
                let off = rank - shape.len();
                shape.iter().enumerate().fold(0, |acc, (d, &s)| acc * s + if s == 1 { 0 } else { idx[off + d] })
            };
            let (ia, ib) = (flat(sa), flat(sb));
            let want = naive(&a[ia * m * k..(ia + 1) * m * k], &b[ib * k * n..(ib + 1) * k * n], p);
            for (x, y) in c[i * m * n..(i + 1) * m * n].iter().zip(want) {
                assert!((x - y).abs() < 1e-9, "{sa:?} {sb:?} ({m},{n},{k}) ta={ta} tb={tb} matrix {i}: {x} vs {y}");
            }
            for d in (0..rank).rev() {
                idx[d] += 1;
                if idx[d] < batch.out[d] {
                    break;
                }
                idx[d] = 0;
            }
        }
    }

    #[test]
    fn batched_matmul_broadcasts_like_numpy() {
        crate::parallel::set_num_threads(2);
        // (a batch, b batch, m, n, k)
        type Case<'a> = (&'a [usize], &'a [usize], usize, usize, usize);
        let cases: &[Case] = &[
            (&[], &[], 3, 4, 5),
            (&[3], &[], 4, 5, 6),        // folds into one (12, 6) @ (6, 5)
            (&[], &[3], 4, 5, 6),        // a repeated
            (&[2, 1], &[3], 3, 2, 4),    // (2,1) with (3,) -> (2,3)
            (&[1, 3], &[2, 1], 2, 3, 4), // both stretched
            (&[4], &[4], 1, 1, 1),
            (&[0], &[1], 2, 2, 2),        // empty batch
            (&[2], &[2], 3, 3, 0),        // k = 0: zeros
            (&[300], &[300], 8, 8, 8),    // enough small products to use the pool
            (&[2, 150], &[150], 8, 8, 8), // pool, b broadcast over the leading dim
            (&[2], &[1], 170, 170, 170),  // large products, one after the other
        ];
        for &(sa, sb, m, n, k) in cases {
            for ta in [false, true] {
                for tb in [false, true] {
                    check_batched(sa, sb, m, n, k, ta, tb);
                }
            }
        }
    }

    #[test]
    fn batch_shapes_that_do_not_broadcast_are_an_error() {
        assert!(BatchParams::broadcast(&[2, 3], &[4]).is_err());
        assert!(BatchParams::broadcast(&[0], &[3]).is_err());
        let b = BatchParams::broadcast(&[5, 1, 3], &[4, 1]).unwrap();
        assert_eq!((b.out.clone(), b.a.clone(), b.b.clone()), (vec![5, 4, 3], vec![5, 1, 3], vec![1, 4, 1]));
        assert_eq!(b.sources(0), (0, 0));
        assert_eq!(b.sources(3 * 4 + 5), (3 + 2, 1)); // out index (1, 1, 2) -> a (1, 0, 2), b (0, 1, 0)
    }

    #[test]
    fn batched_bad_lengths_are_an_error() {
        let batch = BatchParams::broadcast(&[2], &[]).unwrap();
        let p = MatmulParams { m: 2, n: 2, k: 2, trans_a: false, trans_b: false };
        let mut c = vec![0.0f32; 8];
        assert!(matmul(&[0.0f32; 4], &[0.0; 4], &mut c, p, &batch).is_err());
        assert!(matmul(&[0.0f32; 8], &[0.0; 4], &mut c[..4], p, &batch).is_err());
    }

    #[test]
    fn bad_lengths_are_an_error() {
        let p = MatmulParams { m: 2, n: 2, k: 2, trans_a: false, trans_b: false };
        let mut c = vec![0.0f32; 4];
        assert!(matmul_into(&[0.0f32; 3], &[0.0; 4], &mut c, p, false).is_err());
    }

    #[test]
    fn dense_forward_applies_the_activation() {
        let x = [1.0f64, -2.0];
        let w = [1.0f64, 0.0, 0.0, 1.0];
        let mut y = [9.0f64; 2];
        dense_forward(&x, &w, None, &mut y, 1, 2, 2, Activation::Relu, 0.0).unwrap();
        assert_eq!(y, [1.0, 0.0]);
        dense_forward(&x, &w, Some(&[1.0, 1.0]), &mut y, 1, 2, 2, Activation::Linear, 0.0).unwrap();
        assert_eq!(y, [2.0, -1.0]);
    }

    #[test]
    fn linear_forward_adds_bias() {
        let x = [1.0f32, 2.0];
        let w = [1.0f32, 0.0, 0.0, 1.0];
        let b = [10.0f32, 20.0];
        let mut y = [0.0f32; 2];
        linear_forward(&x, &w, Some(&b), &mut y, 1, 2, 2).unwrap();
        assert_eq!(y, [11.0, 22.0]);
    }
}
