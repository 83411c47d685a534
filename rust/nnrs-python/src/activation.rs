//! Bindings of the activation family: activation_forward, activation_backward.

use nnrs_kernels::activation::{self as k, Activation, ActivationParams};
use pyo3::prelude::*;

use crate::common::{fresh_rw, new_array, out_slice, read, run_kernel, shape_of, slice_of, value_error};
use crate::dispatch;
use crate::elementwise::Num;

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

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(activation_forward, m)?)?;
    m.add_function(wrap_pyfunction!(activation_backward, m)?)?;
    Ok(())
}
