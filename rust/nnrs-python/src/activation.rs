//! Bindings of the activation family: activation_forward, activation_backward.

use nnrs_kernels::activation::{self as k, Activation, ActivationParams, SoftmaxParams};
use nnrs_kernels::elementwise::fmt_shape;
use numpy::PyUntypedArrayMethods;
use pyo3::prelude::*;

use crate::common::{fresh_rw, new_array, out_slice, read, run_kernel, shape_of, slice_of, value_error, with_out};
use crate::dispatch;
use crate::elementwise::{same_dtype, to_value_error, Num};

/// The activation called `name`, or a ValueError listing the accepted names.
pub(crate) fn parse(kernel: &str, name: &str) -> PyResult<Activation> {
    Activation::from_name(name).map_err(|e| value_error(kernel, e))
}

fn check_rowwise(kernel: &str, act: Activation, shape: &[usize]) -> PyResult<usize> {
    if act.is_rowwise() && shape.is_empty() {
        return Err(value_error(
            kernel,
            format!("{} works along the last axis and needs at least 1 dimension, got a 0-d array", act.name()),
        ));
    }
    Ok(shape.last().copied().unwrap_or(1))
}

fn forward_t<'py, T: Num>(py: Python<'py>, act: Activation, x: &Bound<'py, PyAny>, alpha: f64) -> PyResult<Bound<'py, PyAny>> {
    const K: &str = "activation_forward";
    let rx = read::<T>(K, "x", x)?;
    let shape = shape_of(&rx);
    let row = check_rowwise(K, act, &shape)?;
    let y = new_array::<T>(py, &shape);
    {
        let mut wy = fresh_rw(&y)?;
        let ys = out_slice(&mut wy)?;
        let xs = slice_of(&rx);
        let p = ActivationParams { act, alpha, row };
        run_kernel(py, K, || k::activation_forward(&xs, ys, p))?;
    }
    Ok(y.into_any())
}

/// y = f(x) for an activation name; softmax / log_softmax work along the last axis.
#[pyfunction]
#[pyo3(signature = (name, x, alpha=0.0))]
pub fn activation_forward<'py>(py: Python<'py>, name: &str, x: &Bound<'py, PyAny>, alpha: f64) -> PyResult<Bound<'py, PyAny>> {
    let act = parse("activation_forward", name)?;
    dispatch!("activation_forward", "x", x, forward_t(py, act, x, alpha))
}

fn backward_t<'py, T: Num>(
    py: Python<'py>,
    act: Activation,
    gy: &Bound<'py, PyAny>,
    x: &Bound<'py, PyAny>,
    y: &Bound<'py, PyAny>,
    alpha: f64,
) -> PyResult<Bound<'py, PyAny>> {
    const K: &str = "activation_backward";
    let (rg, rx, ry) = (read::<T>(K, "gy", gy)?, read::<T>(K, "x", x)?, read::<T>(K, "y", y)?);
    let (sg, sx, sy) = (shape_of(&rg), shape_of(&rx), shape_of(&ry));
    if sg != sx || sy != sx {
        return Err(value_error(K, format!("gy, x and y must have one shape, got gy {sg:?}, x {sx:?}, y {sy:?}")));
    }
    let row = check_rowwise(K, act, &sx)?;
    let gx = new_array::<T>(py, &sx);
    {
        let mut wgx = fresh_rw(&gx)?;
        let gxs = out_slice(&mut wgx)?;
        let (gs, xs, ys) = (slice_of(&rg), slice_of(&rx), slice_of(&ry));
        let p = ActivationParams { act, alpha, row };
        run_kernel(py, K, || k::activation_backward(&gs, &xs, &ys, gxs, p))?;
    }
    Ok(gx.into_any())
}

/// Gradient wrt x of an activation, given gy, its input x and its output y.
#[pyfunction]
#[pyo3(signature = (name, gy, x, y, alpha=0.0))]
pub fn activation_backward<'py>(
    py: Python<'py>,
    name: &str,
    gy: &Bound<'py, PyAny>,
    x: &Bound<'py, PyAny>,
    y: &Bound<'py, PyAny>,
    alpha: f64,
) -> PyResult<Bound<'py, PyAny>> {
    let act = parse("activation_backward", name)?;
    dispatch!("activation_backward", "x", x, backward_t(py, act, gy, x, y, alpha))
}

fn softmax_forward_t<'py, T: Num>(py: Python<'py>, x: &Bound<'py, PyAny>, axis: i64, log: bool) -> PyResult<Bound<'py, PyAny>> {
    const K: &str = "softmax_forward";
    let rx = read::<T>(K, "x", x)?;
    let p = SoftmaxParams::new(K, rx.shape(), axis, log).map_err(to_value_error)?;
    let y = new_array::<T>(py, rx.shape());
    with_out(K, &y, |ys| {
        let xs = slice_of(&rx);
        run_kernel(py, K, || k::softmax_forward(&xs, ys, p))
    })?;
    Ok(y.into_any())
}

/// softmax (log_softmax with `log`) of x along `axis` (negative counts from the end).
#[pyfunction]
#[pyo3(signature = (x, axis, log=false))]
pub fn softmax_forward<'py>(py: Python<'py>, x: &Bound<'py, PyAny>, axis: i64, log: bool) -> PyResult<Bound<'py, PyAny>> {
    dispatch!("softmax_forward", "x", x, softmax_forward_t(py, x, axis, log))
}

fn softmax_backward_t<'py, T: Num>(
    py: Python<'py>,
    gy: &Bound<'py, PyAny>,
    y: &Bound<'py, PyAny>,
    axis: i64,
    log: bool,
) -> PyResult<Bound<'py, PyAny>> {
    const K: &str = "softmax_backward";
    let (rg, ry) = (read::<T>(K, "gy", gy)?, read::<T>(K, "y", y)?);
    if rg.shape() != ry.shape() {
        return Err(value_error(K, format!("y must have the shape of gy {}, got {}", fmt_shape(rg.shape()), fmt_shape(ry.shape()))));
    }
    let p = SoftmaxParams::new(K, rg.shape(), axis, log).map_err(to_value_error)?;
    let gx = new_array::<T>(py, rg.shape());
    with_out(K, &gx, |gxs| {
        let (gs, ys) = (slice_of(&rg), slice_of(&ry));
        run_kernel(py, K, || k::softmax_backward(&gs, &ys, gxs, p))
    })?;
    Ok(gx.into_any())
}

/// Gradient wrt x of softmax_forward (log_softmax with `log`) along `axis`, given gy and
/// the forward's output y.
#[pyfunction]
#[pyo3(signature = (gy, y, axis, log=false))]
pub fn softmax_backward<'py>(
    py: Python<'py>,
    gy: &Bound<'py, PyAny>,
    y: &Bound<'py, PyAny>,
    axis: i64,
    log: bool,
) -> PyResult<Bound<'py, PyAny>> {
    const K: &str = "softmax_backward";
    same_dtype(K, ("gy", gy), ("y", y))?;
    dispatch!(K, "gy", gy, softmax_backward_t(py, gy, y, axis, log))
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(activation_forward, m)?)?;
    m.add_function(wrap_pyfunction!(activation_backward, m)?)?;
    m.add_function(wrap_pyfunction!(softmax_forward, m)?)?;
    m.add_function(wrap_pyfunction!(softmax_backward, m)?)?;
    Ok(())
}
