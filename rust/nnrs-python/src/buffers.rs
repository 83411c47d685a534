//! Memory for large kernel outputs, kept for reuse.
//!
//! A training step makes the same large arrays every time (activations, gradients). Taking
//! fresh memory from the system for each means the kernel that writes it first pays a
//! page fault per 4 KiB page, which costs more than ReLU's backward itself. So outputs of
//! at least `MIN_BYTES` are carved from blocks kept here: when the numpy array (and every
//! view of it) is gone, its block comes back and the next output of the same byte size
//! takes it. At most `MAX_IDLE_BYTES` wait idle; a block past that goes back to the system.
//! Smaller outputs use numpy's own allocator.

use std::alloc::{alloc, dealloc, Layout};
use std::collections::HashMap;
use std::ptr::NonNull;
use std::sync::Mutex;

use numpy::ndarray::{ArrayViewD, IxDyn};
use numpy::{Element, PyArrayDyn};
use pyo3::prelude::*;

/// Outputs smaller than this come from numpy (the C allocator keeps those warm anyway).
const MIN_BYTES: usize = 256 * 1024;
/// Most memory kept idle for reuse.
const MAX_IDLE_BYTES: usize = 512 * 1024 * 1024;
/// Alignment of every block (a cache line; what the SIMD kernels like).
const ALIGN: usize = 64;

/// One allocation of `bytes` bytes at `ALIGN`.
struct Block {
    ptr: NonNull<u8>,
    bytes: usize,
}

// SAFETY: a block is plain memory owned by exactly one holder at a time (the cache or one
// `Buffer`), so moving it between threads is sound.
unsafe impl Send for Block {}

impl Block {
    fn layout(bytes: usize) -> Layout {
        Layout::from_size_align(bytes, ALIGN).expect("block size overflows")
    }

    fn new(bytes: usize) -> Block {
        let layout = Self::layout(bytes);
        // SAFETY: bytes >= MIN_BYTES > 0, so the layout has a non-zero size.
        let ptr = unsafe { alloc(layout) };
        let ptr = NonNull::new(ptr).unwrap_or_else(|| std::alloc::handle_alloc_error(layout));
        Block { ptr, bytes }
    }
}

impl Drop for Block {
    fn drop(&mut self) {
        // SAFETY: allocated in `Block::new` with this very layout and freed only here.
        unsafe { dealloc(self.ptr.as_ptr(), Self::layout(self.bytes)) }
    }
}

/// Idle blocks by byte size.
#[derive(Default)]
struct Cache {
    idle: HashMap<usize, Vec<Block>>,
    idle_bytes: usize,
}

static CACHE: Mutex<Option<Cache>> = Mutex::new(None);

fn with_cache<R>(f: impl FnOnce(&mut Cache) -> R) -> R {
    // a panic while the lock was held cannot leave the map inconsistent, so a poisoned
    // lock is simply taken over
    let mut guard = CACHE.lock().unwrap_or_else(|e| e.into_inner());
    f(guard.get_or_insert_with(Cache::default))
}

fn take(bytes: usize) -> Block {
    let reused = with_cache(|c| {
        let b = c.idle.get_mut(&bytes).and_then(Vec::pop);
        if b.is_some() {
            c.idle_bytes -= bytes;
        }
        b
    });
    reused.unwrap_or_else(|| Block::new(bytes))
}

fn give_back(block: Block) {
    // the block is freed outside the lock when the cache is full
    let _spare = with_cache(|c| {
        if c.idle_bytes + block.bytes > MAX_IDLE_BYTES {
            return Some(block);
        }
        c.idle_bytes += block.bytes;
        c.idle.entry(block.bytes).or_default().push(block);
        None
    });
}

/// The owner of a block while numpy arrays use it (their `base`); returns it on drop.
#[pyclass(module = "nnrs._core", frozen)]
struct Buffer {
    block: Mutex<Option<Block>>,
}

impl Drop for Buffer {
    fn drop(&mut self) {
        if let Some(b) = self.block.get_mut().unwrap_or_else(|e| e.into_inner()).take() {
            give_back(b);
        }
    }
}

/// A new C-contiguous array of `shape` whose memory comes from the cache when it is large,
/// or `None` when it is small (the caller then asks numpy). Contents are unspecified.
pub fn cached_array<'py, T: Element>(py: Python<'py>, shape: &[usize]) -> Option<Bound<'py, PyArrayDyn<T>>> {
    let n: usize = shape.iter().product();
    let bytes = n.checked_mul(std::mem::size_of::<T>())?;
    if bytes < MIN_BYTES {
        return None;
    }
    let block = take(bytes);
    let ptr = block.ptr.as_ptr() as *const T;
    let owner = Bound::new(py, Buffer { block: Mutex::new(Some(block)) }).ok()?;
    // SAFETY: the block holds n elements of T at an alignment suited to T; the view lives
    // only for the call, and the array keeps `owner` (hence the block) alive as its base.
    unsafe {
        let view = ArrayViewD::from_shape_ptr(IxDyn(shape), ptr);
        Some(PyArrayDyn::<T>::borrow_from_array(&view, owner.into_any()))
    }
}

/// Bytes of output memory idle in the cache, waiting for reuse.
#[pyfunction]
fn cached_output_bytes() -> usize {
    with_cache(|c| c.idle_bytes)
}

/// Returns every idle cached output block to the system.
#[pyfunction]
fn release_cached_outputs() {
    let freed = with_cache(std::mem::take);
    drop(freed);
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Buffer>()?;
    m.add_function(wrap_pyfunction!(cached_output_bytes, m)?)?;
    m.add_function(wrap_pyfunction!(release_cached_outputs, m)?)?;
    Ok(())
}
