//! The thread pool every parallel kernel runs on, and the size threshold above which
//! a kernel goes parallel. `set_num_threads` rebuilds the pool; the default comes from
//! `NNRS_NUM_THREADS`, else the number of logical CPUs.

use std::sync::{Arc, OnceLock, RwLock};

/// Elements below which an elementwise kernel stays on the calling thread.
pub const PAR_THRESHOLD: usize = 1 << 15;

fn default_threads() -> usize {
    std::env::var("NNRS_NUM_THREADS")
        .ok()
        .and_then(|s| s.trim().parse::<usize>().ok())
        .filter(|&n| n > 0)
        .unwrap_or_else(|| std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1))
}

fn build(n: usize) -> Arc<rayon::ThreadPool> {
    Arc::new(
        rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .thread_name(|i| format!("nnrs-{i}"))
            .build()
            .expect("building a rayon pool with a positive thread count"),
    )
}

fn slot() -> &'static RwLock<Arc<rayon::ThreadPool>> {
    static POOL: OnceLock<RwLock<Arc<rayon::ThreadPool>>> = OnceLock::new();
    POOL.get_or_init(|| RwLock::new(build(default_threads())))
}

/// The pool kernels run on.
pub fn pool() -> Arc<rayon::ThreadPool> {
    slot().read().unwrap_or_else(|e| e.into_inner()).clone()
}

/// Number of threads parallel kernels use.
pub fn num_threads() -> usize {
    pool().current_num_threads()
}

/// Set the number of threads parallel kernels use (at least 1).
pub fn set_num_threads(n: usize) {
    let n = n.max(1);
    let mut guard = slot().write().unwrap_or_else(|e| e.into_inner());
    if guard.current_num_threads() != n {
        *guard = build(n);
    }
}

/// Run `f` inside the pool when `work` (a rough element count) is large enough
/// and there is more than one thread; else run it on the calling thread.
pub fn run<R: Send>(work: usize, f: impl FnOnce() -> R + Send) -> R {
    if work >= PAR_THRESHOLD {
        let p = pool();
        if p.current_num_threads() > 1 {
            return p.install(f);
        }
    }
    f()
}

/// The widest SIMD instruction set the running CPU offers (chosen at run time).
pub fn simd_level() -> &'static str {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f") {
            return "avx512";
        }
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
            return "avx2+fma";
        }
        if std::arch::is_x86_feature_detected!("sse4.1") {
            return "sse4.1";
        }
        "sse2"
    }
    #[cfg(target_arch = "aarch64")]
    {
        "neon"
    }
    #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
    {
        "scalar"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_and_get_threads() {
        set_num_threads(2);
        assert_eq!(num_threads(), 2);
        set_num_threads(0);
        assert_eq!(num_threads(), 1);
        assert_eq!(run(1 << 20, || 7), 7);
    }
}
