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

/// `matmul_into` on exactly `threads` threads (1: the calling thread only).
fn matmul_threads<T: Float>(a: &[T], b: &[T], c: &mut [T], p: MatmulParams, accumulate: bool, threads: usize) -> Result<(), KernelError> {
    p.check(a.len(), b.len(), c.len())?;
    let (m, n, k) = (p.m, p.n, p.k);
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
