//! What every binding shares: dtype dispatch, numpy <-> slice conversion, running a
//! kernel with the GIL released and any panic turned into a Python exception.

use std::borrow::Cow;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::{Duration, Instant};

use crate::buffers;
use nnrs_kernels::{Float, KernelError};
use numpy::{
    BorrowError, Element, IxDyn, PyArrayDescrMethods, PyArrayDyn, PyArrayMethods, PyReadonlyArrayDyn, PyReadwriteArrayDyn, PyUntypedArray,
    PyUntypedArrayMethods,
};
use pyo3::exceptions::{PyRuntimeError, PyTypeError, PyValueError};
use pyo3::prelude::*;

/// Element types the kernels take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DType {
    F32,
    F64,
}

/// The dtype of a float32/float64 numpy array; a clear TypeError for anything else.
pub fn dtype_of(kernel: &str, arg: &str, a: &Bound<'_, PyAny>) -> PyResult<DType> {
    if a.cast::<PyArrayDyn<f32>>().is_ok() {
        Ok(DType::F32)
    } else if a.cast::<PyArrayDyn<f64>>().is_ok() {
        Ok(DType::F64)
    } else {
        Err(PyTypeError::new_err(format!("{kernel}: {arg} must be a float32 or float64 numpy array, got {}", describe(a))))
    }
}

/// What `a` is, for an error message: "array of dtype int64", "numpy scalar float32", "list".
pub fn describe(a: &Bound<'_, PyAny>) -> String {
    let type_name = a.get_type().name().map(|n| n.to_string()).unwrap_or_else(|_| "object".into());
    match a.getattr("dtype") {
        Ok(d) if a.is_instance_of::<PyUntypedArray>() => format!("array of dtype {d}"),
        Ok(d) => format!("{type_name} (dtype {d}), not an array"),
        Err(_) => type_name,
    }
}

/// How long a borrow waits for another thread's conflicting borrow to end.
const BORROW_WAIT: Duration = Duration::from_secs(5);

/// Borrows with numpy's fallible API. A conflict can only be another thread's in-place
/// update (the kernels write only to fresh arrays otherwise, and the updates reject
/// aliased arguments up front), so it waits with the GIL released for that borrow to
/// end, and only then gives up with a ValueError: never a panic.
fn borrow_with_wait<'py, B>(py: Python<'py>, kernel: &str, arg: &str, mut attempt: impl FnMut() -> Result<B, BorrowError>) -> PyResult<B> {
    let start = Instant::now();
    loop {
        match attempt() {
            Ok(b) => return Ok(b),
            Err(e @ BorrowError::NotWriteable) => return Err(value_error(kernel, format!("{arg}: {e}"))),
            Err(e) if start.elapsed() >= BORROW_WAIT => {
                return Err(value_error(kernel, format!("{arg} is in use by another operation ({e}) for more than {BORROW_WAIT:?}")));
            }
            Err(_) => py.detach(|| std::thread::sleep(Duration::from_micros(20))),
        }
    }
}

/// A read-only borrow of `arr` (see [`borrow_with_wait`]).
pub fn borrow_ro<'py, T: Element>(kernel: &str, arg: &str, arr: &Bound<'py, PyArrayDyn<T>>) -> PyResult<PyReadonlyArrayDyn<'py, T>> {
    borrow_with_wait(arr.py(), kernel, arg, || arr.try_readonly())
}

/// A read-write borrow of `arr` (see [`borrow_with_wait`]).
pub fn borrow_rw<'py, T: Element>(kernel: &str, arg: &str, arr: &Bound<'py, PyArrayDyn<T>>) -> PyResult<PyReadwriteArrayDyn<'py, T>> {
    borrow_with_wait(arr.py(), kernel, arg, || arr.try_readwrite())
}

/// A write borrow of an array this binding just created (nobody else can hold one).
pub fn fresh_rw<'py, T: Element>(arr: &Bound<'py, PyArrayDyn<T>>) -> PyResult<PyReadwriteArrayDyn<'py, T>> {
    arr.try_readwrite().map_err(|e| PyRuntimeError::new_err(format!("new output array: {e}")))
}

/// The elements of a C-contiguous array borrowed for writing.
pub fn out_slice<'a, 'py, T: Element>(w: &'a mut PyReadwriteArrayDyn<'py, T>) -> PyResult<&'a mut [T]> {
    w.as_slice_mut().map_err(|e| PyRuntimeError::new_err(format!("output array: {e}")))
}

/// The byte range `[lo, hi)` an array's elements occupy (empty arrays occupy nothing).
pub fn extent(a: &Bound<'_, PyUntypedArray>) -> (usize, usize) {
    if a.len() == 0 {
        return (0, 0);
    }
    let item = a.dtype().itemsize() as isize;
    let (mut lo, mut hi) = (0isize, item);
    for (&n, &st) in a.shape().iter().zip(a.strides()) {
        let span = (n as isize - 1) * st;
        if span < 0 {
            lo += span;
        } else {
            hi += span;
        }
    }
    // SAFETY: only the address is read from the array struct, never dereferenced.
    let base = unsafe { (*a.as_array_ptr()).fields.data } as isize;
    ((base + lo) as usize, (base + hi) as usize)
}

/// Whether two arrays' memory ranges overlap.
pub fn overlap(a: &Bound<'_, PyUntypedArray>, b: &Bound<'_, PyUntypedArray>) -> bool {
    let ((alo, ahi), (blo, bhi)) = (extent(a), extent(b));
    alo < bhi && blo < ahi
}

/// Read-only view of a numpy array of element type `T`, with a clear error otherwise.
pub fn read<'py, T: Element>(kernel: &str, arg: &str, a: &Bound<'py, PyAny>) -> PyResult<PyReadonlyArrayDyn<'py, T>> {
    match a.cast::<PyArrayDyn<T>>() {
        Ok(arr) => borrow_ro(kernel, arg, arr),
        Err(_) => Err(PyTypeError::new_err(format!("{kernel}: {arg} must have dtype {}, got {}", std::any::type_name::<T>(), describe(a)))),
    }
}

/// The elements of an array in C order: borrowed when C-contiguous, copied otherwise
/// (`as_slice` alone would also accept Fortran order, whose memory is not C order).
pub fn slice_of<'a, T: Element + Clone>(a: &'a PyReadonlyArrayDyn<'_, T>) -> Cow<'a, [T]> {
    if a.is_c_contiguous() {
        if let Ok(s) = a.as_slice() {
            return Cow::Borrowed(s);
        }
    }
    Cow::Owned(a.as_array().iter().cloned().collect())
}

/// A new C-contiguous array of the given shape (contents unspecified until written); large
/// ones reuse memory of earlier outputs (see `buffers`).
pub fn new_array<'py, T: Element>(py: Python<'py>, shape: &[usize]) -> Bound<'py, PyArrayDyn<T>> {
    if let Some(a) = buffers::cached_array(py, shape) {
        return a;
    }
    // SAFETY: every caller writes all elements before the array is read.
    unsafe { PyArrayDyn::<T>::new(py, IxDyn(shape), false) }
}

/// A 0-d array holding `v`: how kernels return a scalar (no host float in the contract).
pub fn scalar_array<T: Element + Copy>(py: Python<'_>, v: T) -> Bound<'_, PyAny> {
    let a = new_array::<T>(py, &[]);
    // SAFETY: the array was just created here, so nothing else can read or borrow it,
    // and a 0-d array has exactly one element to write.
    unsafe { *a.data() = v };
    a.into_any()
}

/// A new zero-filled C-contiguous array.
pub fn zeros<'py, T: Element>(py: Python<'py>, shape: &[usize]) -> Bound<'py, PyArrayDyn<T>> {
    if let Some(a) = buffers::cached_array::<T>(py, shape) {
        // SAFETY: the array was just made here; nothing else can borrow it yet, and the
        // zero bit pattern is 0.0 for both float types (and 0 for the integer ones).
        unsafe { std::ptr::write_bytes(a.data(), 0, a.len()) };
        return a;
    }
    PyArrayDyn::<T>::zeros(py, IxDyn(shape), false)
}

/// Shape of an array as a Vec.
pub fn shape_of<T: Element>(a: &PyReadonlyArrayDyn<'_, T>) -> Vec<usize> {
    a.shape().to_vec()
}

/// Runs a kernel with the GIL released; a kernel error becomes ValueError and a panic
/// becomes RuntimeError, so nothing unwinds across the FFI boundary.
pub fn run_kernel<R: Send>(py: Python<'_>, kernel: &str, f: impl FnOnce() -> Result<R, KernelError> + Send) -> PyResult<R> {
    let out = py.detach(|| catch_unwind(AssertUnwindSafe(f)));
    match out {
        Ok(Ok(r)) => Ok(r),
        Ok(Err(e)) => Err(PyValueError::new_err(format!("{kernel}: {e}"))),
        Err(_) => Err(PyRuntimeError::new_err(format!("{kernel}: internal error in the Rust kernel (panic)"))),
    }
}

/// Shorthand for a ValueError naming the kernel.
pub fn value_error(kernel: &str, msg: impl std::fmt::Display) -> PyErr {
    PyValueError::new_err(format!("{kernel}: {msg}"))
}

/// Marker so generic bindings can require both traits at once.
pub trait Elem: Float + Element {}
impl Elem for f32 {}
impl Elem for f64 {}

/// Calls `$f::<f32>` or `$f::<f64>` after the dtype of `$a`.
#[macro_export]
macro_rules! dispatch {
    ($kernel:expr, $arg:expr, $a:expr, $f:ident ( $($args:expr),* )) => {
        match $crate::common::dtype_of($kernel, $arg, $a)? {
            $crate::common::DType::F32 => $f::<f32>($($args),*),
            $crate::common::DType::F64 => $f::<f64>($($args),*),
        }
    };
}

// ---- fallible borrows (new bindings use these, never `readonly()` / `readwrite()`) ------------

/// Read-only view of a numpy array of element type `T` (named `dtype` in the error) through
/// numpy's fallible borrow: a wrong dtype is a TypeError, a borrow conflict (the array is
/// being written by another binding) a ValueError naming the kernel and the argument.
pub fn try_read<'py, T: Element>(kernel: &str, arg: &str, dtype: &str, a: &Bound<'py, PyAny>) -> PyResult<PyReadonlyArrayDyn<'py, T>> {
    let arr = a
        .cast::<PyArrayDyn<T>>()
        .map_err(|_| PyTypeError::new_err(format!("{kernel}: {arg} must be a {dtype} numpy array, got {}", describe(a))))?;
    borrow_ro(kernel, arg, arr)
}

/// Runs `f` on the elements of `y`, a new C-contiguous array (borrowed with [`fresh_rw`]).
pub fn with_out<T: Element, R>(kernel: &str, y: &Bound<'_, PyArrayDyn<T>>, f: impl FnOnce(&mut [T]) -> PyResult<R>) -> PyResult<R> {
    let mut w = fresh_rw(y).map_err(|e| PyRuntimeError::new_err(format!("{kernel}: {e}")))?;
    f(out_slice(&mut w)?)
}

/// Like [`run_kernel`] for kernels whose errors already name the kernel: the message is
/// the ValueError's as it is (so it can match the contract's wording exactly).
pub fn run_named<R: Send>(py: Python<'_>, kernel: &str, f: impl FnOnce() -> Result<R, KernelError> + Send) -> PyResult<R> {
    let out = py.detach(|| catch_unwind(AssertUnwindSafe(f)));
    match out {
        Ok(Ok(r)) => Ok(r),
        Ok(Err(e)) => Err(PyValueError::new_err(e.0)),
        Err(_) => Err(PyRuntimeError::new_err(format!("{kernel}: internal error in the Rust kernel (panic)"))),
    }
}
