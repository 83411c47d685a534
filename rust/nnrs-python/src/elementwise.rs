//! Bindings of the elementwise family: unary, binary (numpy broadcasting), binary_scalar, clip.
//! Also what the other bindings share beyond `common`: the element bound [`Num`], the
//! dtype agreement check and kernel errors as ValueErrors.

use nnrs_kernels::elementwise::{self as k, fmt_shape, BinaryGradParams, BinaryOp, BroadcastParams, Real, UnaryOp};
use nnrs_kernels::KernelError;
use numpy::{PyArrayDyn, PyUntypedArrayMethods};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;

use crate::common::{borrow_ro, dtype_of, fresh_rw, new_array, out_slice, read, run_kernel, slice_of, value_error, with_out, DType, Elem};
use crate::dispatch;

/// A kernel error whose message already names the kernel, as a ValueError.
pub fn to_value_error(e: KernelError) -> PyErr {
    PyValueError::new_err(e.0)
}

fn dtype_name(d: DType) -> &'static str {
    match d {
        DType::F32 => "float32",
        DType::F64 => "float64",
    }
}

/// The shared dtype of two float arrays; a TypeError naming both when they differ.
pub fn same_dtype(kernel: &str, (na, a): (&str, &Bound<'_, PyAny>), (nb, b): (&str, &Bound<'_, PyAny>)) -> PyResult<DType> {
    let (da, db) = (dtype_of(kernel, na, a)?, dtype_of(kernel, nb, b)?);
    if da != db {
        return Err(PyTypeError::new_err(format!(
            "{kernel}: {na} and {nb} must have the same dtype, got {} and {}",
            dtype_name(da),
            dtype_name(db)
        )));
    }
    Ok(da)
}

/// Kernel element types: numpy elements with the elementwise math.
pub trait Num: Elem + Real {}
impl Num for f32 {}
impl Num for f64 {}

/// `f(x, y)` with the GIL released, for a new array y of x's shape and dtype `T`.
fn map_t<'py, T: Num>(
    py: Python<'py>,
    kernel: &str,
    arg: &str,
    x: &Bound<'py, PyAny>,
    f: impl FnOnce(&[T], &mut [T]) -> Result<(), KernelError> + Send,
) -> PyResult<Bound<'py, PyAny>> {
    let rx = read::<T>(kernel, arg, x)?;
    let y = new_array::<T>(py, rx.shape());
    {
        let mut wy = fresh_rw(&y)?;
        let ys = out_slice(&mut wy)?;
        let xs = slice_of(&rx);
        run_kernel(py, kernel, || f(&xs, ys))?;
    }
    Ok(y.into_any())
}

fn unary_t<'py, T: Num>(py: Python<'py>, op: UnaryOp, x: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    map_t::<T>(py, "unary", "x", x, |xs, ys| k::unary(op, xs, ys))
}

/// op(x) elementwise, op one of the contract's UNARY_OPS (neg, exp, log, ..., sin, cos, ..., floor, round, trunc).
#[pyfunction]
pub fn unary<'py>(py: Python<'py>, op: &str, x: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    let op = UnaryOp::parse("unary", op).map_err(to_value_error)?;
    dispatch!("unary", "x", x, unary_t(py, op, x))
}

fn argsort_t<'py, T: Num>(py: Python<'py>, x: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    const K: &str = "argsort";
    let rx = read::<T>(K, "x", x)?;
    let n = rx.shape().last().copied().unwrap_or(1);
    let y = new_array::<i64>(py, rx.shape());
    {
        let mut wy = fresh_rw(&y)?;
        let ys = out_slice(&mut wy)?;
        let xs = slice_of(&rx);
        run_kernel(py, K, || k::argsort_rows(&xs, n, ys))?;
    }
    Ok(y.into_any())
}

/// Indices (int64, x's shape) that sort x along its last axis: ascending, stable, NaN last.
#[pyfunction]
pub fn argsort<'py>(py: Python<'py>, x: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    dispatch!("argsort", "x", x, argsort_t(py, x))
}

fn binary_t<'py, T: Num>(
    py: Python<'py>,
    op: BinaryOp,
    a: &Bound<'py, PyArrayDyn<T>>,
    b: &Bound<'py, PyArrayDyn<T>>,
) -> PyResult<Bound<'py, PyAny>> {
    const K: &str = "binary";
    let (ra, rb) = (borrow_ro(K, "a", a)?, borrow_ro(K, "b", b)?);
    let p = BroadcastParams::new(ra.shape(), rb.shape()).map_err(to_value_error)?;
    let y = new_array::<T>(py, &p.out_shape);
    {
        let mut wy = fresh_rw(&y)?;
        let ys = out_slice(&mut wy)?;
        let (xa, xb) = (slice_of(&ra), slice_of(&rb));
        run_kernel(py, K, || k::binary(op, &xa, &xb, ys, &p))?;
    }
    Ok(y.into_any())
}

/// op(a, b) elementwise with numpy broadcasting, op one of add, sub, mul, div, pow,
/// maximum, minimum; a and b share a dtype.
#[pyfunction]
pub fn binary<'py>(py: Python<'py>, op: &str, a: &Bound<'py, PyAny>, b: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    let op = BinaryOp::parse("binary", op).map_err(to_value_error)?;
    // Each argument is type-checked once on the common path.
    if let Ok(x) = a.cast::<PyArrayDyn<f32>>() {
        if let Ok(y) = b.cast::<PyArrayDyn<f32>>() {
            return binary_t::<f32>(py, op, x, y);
        }
    } else if let Ok(x) = a.cast::<PyArrayDyn<f64>>() {
        if let Ok(y) = b.cast::<PyArrayDyn<f64>>() {
            return binary_t::<f64>(py, op, x, y);
        }
    }
    // Not two float arrays of one dtype: the error names what is wrong.
    same_dtype("binary", ("a", a), ("b", b))?;
    Err(PyTypeError::new_err("binary: a and b must be float32 or float64 numpy arrays of one dtype"))
}

fn binary_scalar_t<'py, T: Num>(
    py: Python<'py>,
    op: BinaryOp,
    a: &Bound<'py, PyAny>,
    s: f64,
    reverse: bool,
) -> PyResult<Bound<'py, PyAny>> {
    map_t::<T>(py, "binary_scalar", "a", a, |xs, ys| k::binary_scalar(op, xs, T::of_f64(s), reverse, ys))
}

/// op(a, s), or op(s, a) with reverse; s is rounded to a's dtype first.
#[pyfunction]
#[pyo3(signature = (op, a, s, reverse=false))]
pub fn binary_scalar<'py>(py: Python<'py>, op: &str, a: &Bound<'py, PyAny>, s: f64, reverse: bool) -> PyResult<Bound<'py, PyAny>> {
    let op = BinaryOp::parse("binary_scalar", op).map_err(to_value_error)?;
    dispatch!("binary_scalar", "a", a, binary_scalar_t(py, op, a, s, reverse))
}

fn clip_t<'py, T: Num>(py: Python<'py>, x: &Bound<'py, PyAny>, lo: f64, hi: f64) -> PyResult<Bound<'py, PyAny>> {
    map_t::<T>(py, "clip", "x", x, |xs, ys| k::clip(xs, T::of_f64(lo), T::of_f64(hi), ys))
}

/// min(max(x, lo), hi) elementwise (NaN stays NaN; lo > hi gives hi, like numpy).
#[pyfunction]
pub fn clip<'py>(py: Python<'py>, x: &Bound<'py, PyAny>, lo: f64, hi: f64) -> PyResult<Bound<'py, PyAny>> {
    dispatch!("clip", "x", x, clip_t(py, x, lo, hi))
}

fn binary_backward_t<'py, T: Num>(
    py: Python<'py>,
    op: BinaryOp,
    a: &Bound<'py, PyAny>,
    b: &Bound<'py, PyAny>,
    g: &Bound<'py, PyAny>,
) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyAny>)> {
    const K: &str = "binary_backward";
    let (ra, rb, rg) = (read::<T>(K, "a", a)?, read::<T>(K, "b", b)?, read::<T>(K, "g", g)?);
    let p = BinaryGradParams::new(ra.shape(), rb.shape()).map_err(to_value_error)?;
    if rg.shape() != p.bc.out_shape.as_slice() {
        return Err(value_error(
            K,
            format!(
                "g must have the broadcast shape {} of a {} and b {}, got {}",
                fmt_shape(&p.bc.out_shape),
                fmt_shape(ra.shape()),
                fmt_shape(rb.shape()),
                fmt_shape(rg.shape())
            ),
        ));
    }
    let (ga, gb) = (new_array::<T>(py, ra.shape()), new_array::<T>(py, rb.shape()));
    with_out(K, &ga, |gas| {
        with_out(K, &gb, |gbs| {
            let (xa, xb, xg) = (slice_of(&ra), slice_of(&rb), slice_of(&rg));
            run_kernel(py, K, || k::binary_backward(op, &xa, &xb, &xg, gas, gbs, &p))
        })
    })?;
    Ok((ga.into_any(), gb.into_any()))
}

/// `(ga, gb)`: gradients wrt a and b of `binary(op, a, b)` given g (of the broadcast
/// shape), each summed back to its operand's shape; a, b and g share a dtype.
#[pyfunction]
pub fn binary_backward<'py>(
    py: Python<'py>,
    op: &str,
    a: &Bound<'py, PyAny>,
    b: &Bound<'py, PyAny>,
    g: &Bound<'py, PyAny>,
) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyAny>)> {
    const K: &str = "binary_backward";
    let op = BinaryOp::parse(K, op).map_err(to_value_error)?;
    same_dtype(K, ("a", a), ("b", b))?;
    same_dtype(K, ("a", a), ("g", g))?;
    dispatch!(K, "a", a, binary_backward_t(py, op, a, b, g))
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(unary, m)?)?;
    m.add_function(wrap_pyfunction!(argsort, m)?)?;
    m.add_function(wrap_pyfunction!(binary, m)?)?;
    m.add_function(wrap_pyfunction!(binary_scalar, m)?)?;
    m.add_function(wrap_pyfunction!(clip, m)?)?;
    m.add_function(wrap_pyfunction!(binary_backward, m)?)?;
    Ok(())
}
