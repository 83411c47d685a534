//! Why nnrs multiplies matrices with the `gemm` crate: f32 `c = a @ b` (row-major,
//! square n x n x n) through `nnrs_kernels::gemm::matmul_into` (the `gemm` crate on
//! nnrs's rayon pool) against `matrixmultiply::sgemm` (its own thread pool), at
//! n = 64, 256, 1024, on 1 and on 2 threads.
//!
//! ```text
//! cargo bench -p nnrs-kernels --bench gemm -- --warm-up-time 1 --measurement-time 3
//! ```
//!
//! matrixmultiply reads its thread count once per process from `MATMUL_NUM_THREADS`;
//! this bench sets it from `GEMM_BENCH_THREADS` (default 2) before the first call, so
//! its "1 thread" rows are matrixmultiply with threading on but a 1-thread pool.
//! The nnrs rows change threads in-process with `parallel::set_num_threads`.
//! Each result line is followed by the GFLOP/s (2 n^3 / time) criterion prints as
//! "thrpt" in elements/s: one "element" is one flop.

use criterion::{black_box, criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use nnrs_kernels::gemm::{matmul_into, MatmulParams};
use nnrs_kernels::parallel;

const SIZES: [usize; 3] = [64, 256, 1024];

fn matrix(n: usize, seed: u32) -> Vec<f32> {
    // A small LCG: deterministic values in [-1, 1) with no extra dependency.
    let mut s = seed.wrapping_mul(2_654_435_761).wrapping_add(1);
    (0..n * n)
        .map(|_| {
            s = s.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            (s >> 8) as f32 / (1u32 << 23) as f32 - 1.0
        })
        .collect()
}

/// `out = a @ b` with matrixmultiply, all three n x n row-major.
fn mm_sgemm(a: &[f32], b: &[f32], out: &mut [f32], n: usize) {
    assert!(a.len() == n * n && b.len() == n * n && out.len() == n * n);
    // SAFETY: a, b and out hold n*n elements each (asserted above), row-major (row stride
    // n, column stride 1), so every index the strides reach is inside its buffer; out is
    // borrowed mutably and so does not alias a or b.
    unsafe {
        matrixmultiply::sgemm(n, n, n, 1.0, a.as_ptr(), n as isize, 1, b.as_ptr(), n as isize, 1, 0.0, out.as_mut_ptr(), n as isize, 1)
    }
}

fn mm_threads() -> usize {
    std::env::var("GEMM_BENCH_THREADS").ok().and_then(|s| s.parse().ok()).filter(|&t| t > 0).unwrap_or(2)
}

fn bench_gemm(c: &mut Criterion) {
    let mm_t = mm_threads();
    // Set before matrixmultiply first reads it (at its first sgemm call below).
    std::env::set_var("MATMUL_NUM_THREADS", mm_t.to_string());
    let mut group = c.benchmark_group("sgemm");
    for &n in &SIZES {
        let a = matrix(n, 1);
        let b = matrix(n, 2);
        let mut out = vec![0.0f32; n * n];
        // Both compute the same product (a sanity check, outside the timing).
        let mut r1 = vec![0.0f32; n * n];
        matmul_into(&a, &b, &mut r1, MatmulParams { m: n, n, k: n, trans_a: false, trans_b: false }, false).unwrap();
        mm_sgemm(&a, &b, &mut out, n);
        let worst = r1.iter().zip(&out).map(|(x, y)| (x - y).abs()).fold(0.0f32, f32::max);
        assert!(worst < 1e-3 * n as f32, "gemm crate and matrixmultiply differ by {worst} at n={n}");
        group.throughput(Throughput::Elements((2 * n * n * n) as u64));
        if n >= 1024 {
            group.sample_size(10);
        } else {
            group.sample_size(50);
        }
        for threads in [1usize, 2] {
            parallel::set_num_threads(threads);
            let p = MatmulParams { m: n, n, k: n, trans_a: false, trans_b: false };
            group.bench_with_input(BenchmarkId::new(format!("gemm-crate/t{threads}"), n), &n, |bch, _| {
                bch.iter(|| matmul_into(black_box(&a), black_box(&b), &mut out, p, false).unwrap())
            });
        }
        group.bench_with_input(BenchmarkId::new(format!("matrixmultiply/t{mm_t}"), n), &n, |bch, _| {
            bch.iter(|| mm_sgemm(black_box(&a), black_box(&b), &mut out, n))
        });
    }
    group.finish();
    parallel::set_num_threads(2);
}

criterion_group!(benches, bench_gemm);
criterion_main!(benches);
