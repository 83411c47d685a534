//! What every binding shares: dtype dispatch, numpy <-> slice conversion, running a
//! kernel with the GIL released and any panic turned into a Python exception.

use std::borrow::Cow;
use std::panic::{catch_unwind, AssertUnwindSafe};

use nnrs_kernels::{Float, KernelError};
use numpy::{Element, IxDyn, PyArrayDyn, PyArrayMethods, PyReadonlyArrayDyn, PyUntypedArray, PyUntypedArrayMethods};
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
fn describe(a: &Bound<'_, PyAny>) -> String {
    let type_name = a.get_type().name().map(|n| n.to_string()).unwrap_or_else(|_| "object".into());
    match a.getattr("dtype") {
        Ok(d) if a.is_instance_of::<PyUntypedArray>() => format!("array of dtype {d}"),
        Ok(d) => format!("{type_name} (dtype {d}), not an array"),
        Err(_) => type_name,
    }
}

/// Read-only view of a numpy array of element type `T`, with a clear error otherwise.
pub fn read<'py, T: Element>(kernel: &str, arg: &str, a: &Bound<'py, PyAny>) -> PyResult<PyReadonlyArrayDyn<'py, T>> {
    match a.cast::<PyArrayDyn<T>>() {
        Ok(arr) => Ok(arr.readonly()),
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

/// A new C-contiguous array of the given shape (contents unspecified until written).
pub fn new_array<'py, T: Element>(py: Python<'py>, shape: &[usize]) -> Bound<'py, PyArrayDyn<T>> {
    // SAFETY: every caller writes all elements before the array is read.
    unsafe { PyArrayDyn::<T>::new(py, IxDyn(shape), false) }
}

/// A new zero-filled C-contiguous array.
pub fn zeros<'py, T: Element>(py: Python<'py>, shape: &[usize]) -> Bound<'py, PyArrayDyn<T>> {
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

/// Like [`read`], but a borrow conflict (the array is borrowed for writing elsewhere) is
/// a ValueError naming the kernel and the argument instead of a panic.
pub fn try_read<'py, T: Element>(kernel: &str, arg: &str, a: &Bound<'py, PyAny>) -> PyResult<PyReadonlyArrayDyn<'py, T>> {
    match a.cast::<PyArrayDyn<T>>() {
        Ok(arr) => arr.try_readonly().map_err(|e| value_error(kernel, format!("{arg}: {e}"))),
        Err(_) => Err(PyTypeError::new_err(format!("{kernel}: {arg} must have dtype {}, got {}", std::any::type_name::<T>(), describe(a)))),
    }
}

/// The writable elements of a new array made by [`new_array`] or [`zeros`]; a borrow
/// conflict is a ValueError, never a panic.
pub fn with_out<'py, T: Element, R>(kernel: &str, arr: &Bound<'py, PyArrayDyn<T>>, f: impl FnOnce(&mut [T]) -> PyResult<R>) -> PyResult<R> {
    let mut w = arr.try_readwrite().map_err(|e| value_error(kernel, format!("output: {e}")))?;
    let s = w.as_slice_mut().map_err(|e| value_error(kernel, format!("output: {e}")))?;
    f(s)
}
