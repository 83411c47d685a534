//! The thread pool every parallel kernel runs on, and the size threshold above which
//! a kernel goes parallel. `set_num_threads` rebuilds the pool; the default comes from
//! `NNRS_NUM_THREADS`, else the number of logical CPUs.

use std::ops::Range;
use std::sync::{Arc, OnceLock, RwLock};

use rayon::prelude::*;

use crate::fastmath::{simd, Real};

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

// ---- splitting work -----------------------------------------------------------------------

/// Rough single-thread cost of `n` elements at `eighths` eighths of a nanosecond each:
/// the `work` the splitting helpers compare with `PAR_THRESHOLD`, so that a call
/// goes to the pool only when it takes tens of microseconds on one thread (handing work to
/// the pool costs several microseconds, more than a cheap op on 32k elements takes).
#[inline]
pub fn work_ns(n: usize, eighths: usize) -> usize {
    n.saturating_mul(eighths) / 8
}

/// Runs `f(None)` on the calling thread when `work` (see [`work_ns`]) is below
/// `PAR_THRESHOLD`, there are fewer than 2 items or the pool has one thread;
/// else `f(Some(per))` inside the nnrs pool, with `per` the items per parallel chunk:
/// about 4 chunks per thread, each with at least ~4 us of work.
pub fn split_work<R: Send>(items: usize, work: usize, f: impl FnOnce(Option<usize>) -> R + Send) -> R {
    if work < PAR_THRESHOLD || items < 2 {
        return f(None);
    }
    run(work, || {
        // Inside the pool only when `run` installed it (large work, several threads).
        if rayon::current_thread_index().is_none() {
            return f(None);
        }
        let threads = rayon::current_num_threads().max(1);
        f(Some(items.div_ceil(4 * threads).max((4096 * items).div_ceil(work)).max(1)))
    })
}

/// Calls `f(first_item, chunk)` over `out` cut into chunks of whole items of `item_len`
/// elements: several chunks at once on the pool when [`split_work`] says so, otherwise
/// one call `f(0, out)` on the calling thread.
pub fn for_item_chunks<T: Send>(out: &mut [T], item_len: usize, work: usize, f: impl Fn(usize, &mut [T]) + Sync + Send) {
    if out.is_empty() || item_len == 0 {
        return;
    }
    split_work(out.len() / item_len, work, |per| match per {
        None => f(0, out),
        Some(per) => out.par_chunks_mut(per * item_len).enumerate().for_each(|(i, c)| f(i * per, c)),
    })
}

/// Like [`for_item_chunks`] with items of one element, over two outputs of one length
/// cut at the same places: `f(first, a_chunk, b_chunk)`.
pub fn for_item_chunks2<T: Send, U: Send>(a: &mut [T], b: &mut [U], work: usize, f: impl Fn(usize, &mut [T], &mut [U]) + Sync + Send) {
    assert_eq!(a.len(), b.len(), "for_item_chunks2: outputs of different lengths");
    split_work(a.len(), work, |per| match per {
        None => f(0, a, b),
        Some(per) => a.par_chunks_mut(per).zip(b.par_chunks_mut(per)).enumerate().for_each(|(i, (ca, cb))| f(i * per, ca, cb)),
    })
}

/// Calls `f(range)` for the ranges of `grain` items covering `0..n` (the last one
/// shorter), in parallel when [`split_work`] says so; the values are returned in order.
pub fn map_ranges<R: Send>(n: usize, work: usize, grain: usize, f: impl Fn(Range<usize>) -> R + Sync + Send) -> Vec<R> {
    let grain = grain.max(1);
    let range = |c: usize| c * grain..((c + 1) * grain).min(n);
    split_work(n.div_ceil(grain), work, |per| match per {
        None => (0..n.div_ceil(grain)).map(|c| f(range(c))).collect(),
        Some(_) => (0..n.div_ceil(grain)).into_par_iter().map(|c| f(range(c))).collect(),
    })
}

/// Calls `f(x_rows, y_rows)` on runs of whole rows of length `row` (x and y of equal
/// length, a multiple of `row`), in parallel for `cost` eighths of a nanosecond per
/// element (see [`work_ns`]) when [`split_work`] says so.
pub fn par_rows<T: Send + Sync>(x: &[T], y: &mut [T], row: usize, cost: usize, f: impl Fn(&[T], &mut [T]) + Sync + Send) {
    for_item_chunks(y, row, work_ns(x.len(), cost), |first, yc| f(&x[first * row..first * row + yc.len()], yc))
}

/// Like [`par_rows`] with three inputs of the output's length.
#[allow(clippy::type_complexity)]
pub fn par_rows3<T: Send + Sync>(
    a: &[T],
    b: &[T],
    c: &[T],
    y: &mut [T],
    row: usize,
    cost: usize,
    f: impl Fn(&[T], &[T], &[T], &mut [T]) + Sync + Send,
) {
    for_item_chunks(y, row, work_ns(y.len(), cost), |first, yc| {
        let r = first * row..first * row + yc.len();
        f(&a[r.clone()], &b[r.clone()], &c[r], yc)
    })
}

/// `y[i] = f(x[i])`, vectorized, in parallel for `cost` (see [`par_rows`]).
#[inline]
pub fn par_map<T: Real>(x: &[T], y: &mut [T], cost: usize, f: impl Fn(T) -> T + Sync + Send + Copy) {
    par_rows(x, y, 1, cost, move |xc, yc| {
        simd(
            #[inline(always)]
            || {
                for (o, &v) in yc.iter_mut().zip(xc) {
                    *o = f(v);
                }
            },
        )
    })
}

/// `y[i] = f(a[i], b[i], c[i])`, vectorized, in parallel for `cost` (see [`par_rows`]).
#[inline]
pub fn par_map3<T: Real>(a: &[T], b: &[T], c: &[T], y: &mut [T], cost: usize, f: impl Fn(T, T, T) -> T + Sync + Send + Copy) {
    par_rows3(a, b, c, y, 1, cost, move |ac, bc, cc, yc| {
        simd(
            #[inline(always)]
            || {
                for (((o, &p), &q), &r) in yc.iter_mut().zip(ac).zip(bc).zip(cc) {
                    *o = f(p, q, r);
                }
            },
        )
    })
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
