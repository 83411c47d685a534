//! Bindings of the reduction family: reduce, argmax, sum_squares.

use std::borrow::Cow;

use nnrs_kernels::elementwise::fmt_shape;
use nnrs_kernels::reduce::{self as k, ArgmaxParams, ReduceOp, ReduceParams};
use numpy::{PyReadonlyArrayDyn, PyUntypedArrayMethods};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;

use crate::common::{dtype_of, fresh_rw, new_array, out_slice, read, run_kernel, scalar_array, slice_of, value_error, with_out, DType};
use crate::dispatch;
use crate::elementwise::{same_dtype, to_value_error, Num};

/// `axes` as numpy takes it: None, an int, or a sequence of ints.
fn extract_axes(axes: Option<&Bound<'_, PyAny>>) -> PyResult<Option<Vec<i64>>> {
    extract_axes_for("reduce", axes)
}

/// Like [`extract_axes`], with `kernel` named in the error.
fn extract_axes_for(kernel: &str, axes: Option<&Bound<'_, PyAny>>) -> PyResult<Option<Vec<i64>>> {
    let Some(a) = axes else { return Ok(None) };
    if a.is_none() {
        return Ok(None);
    }
    if let Ok(i) = a.extract::<i64>() {
        return Ok(Some(vec![i]));
    }
    a.extract::<Vec<i64>>().map(Some).map_err(|_| {
        let t = a.get_type().name().map(|n| n.to_string()).unwrap_or_else(|_| "?".into());
        PyTypeError::new_err(format!("{kernel}: axes must be None, an int or a sequence of ints, got {t}"))
    })
}

fn reduce_t<'py, T: Num>(
    py: Python<'py>,
    op: ReduceOp,
    x: &Bound<'py, PyAny>,
    axes: Option<&[i64]>,
    keepdims: bool,
) -> PyResult<Bound<'py, PyAny>> {
    const K: &str = "reduce";
    let rx = read::<T>(K, "x", x)?;
    let p = ReduceParams::new(rx.shape(), axes, keepdims).map_err(to_value_error)?;
    p.check(op).map_err(to_value_error)?;
    let y = new_array::<T>(py, &p.out_shape);
    {
        let mut wy = fresh_rw(&y)?;
        let ys = out_slice(&mut wy)?;
        let xs = slice_of(&rx);
        run_kernel(py, K, || k::reduce(op, &xs, ys, &p))?;
    }
    Ok(y.into_any())
}

/// sum / mean / max / min of x over axes (None: all; negative allowed), numpy's shapes.
#[pyfunction]
#[pyo3(signature = (op, x, axes=None, keepdims=false))]
pub fn reduce<'py>(
    py: Python<'py>,
    op: &str,
    x: &Bound<'py, PyAny>,
    axes: Option<&Bound<'py, PyAny>>,
    keepdims: bool,
) -> PyResult<Bound<'py, PyAny>> {
    let op = ReduceOp::parse(op).map_err(to_value_error)?;
    let axes = extract_axes(axes)?;
    dispatch!("reduce", "x", x, reduce_t(py, op, x, axes.as_deref(), keepdims))
}

fn argmax_t<'py, T: Num>(py: Python<'py>, x: &Bound<'py, PyAny>, axis: i64) -> PyResult<Bound<'py, PyAny>> {
    const K: &str = "argmax";
    let rx = read::<T>(K, "x", x)?;
    let (p, shape) = ArgmaxParams::new(rx.shape(), axis).map_err(to_value_error)?;
    let y = new_array::<i64>(py, &shape);
    {
        let mut wy = fresh_rw(&y)?;
        let ys = out_slice(&mut wy)?;
        let xs = slice_of(&rx);
        run_kernel(py, K, || k::argmax(&xs, ys, p))?;
    }
    Ok(y.into_any())
}

/// Index (int64) of the first maximum of x along axis (the first NaN if there is one).
#[pyfunction]
#[pyo3(signature = (x, axis=-1))]
pub fn argmax<'py>(py: Python<'py>, x: &Bound<'py, PyAny>, axis: i64) -> PyResult<Bound<'py, PyAny>> {
    dispatch!("argmax", "x", x, argmax_t(py, x, axis))
}

/// Sum of the squares of every element of every array, accumulated in float64, as a
/// 0-d float64 array.
#[pyfunction]
pub fn sum_squares<'py>(py: Python<'py>, arrays: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    const K: &str = "sum_squares";
    if arrays.is_instance_of::<pyo3::types::PyString>() || arrays.cast::<numpy::PyUntypedArray>().is_ok() {
        return Err(PyTypeError::new_err(format!("{K}: expected a sequence of arrays, got {}", arrays.get_type().name()?)));
    }
    let iter = arrays.try_iter().map_err(|_| {
        PyTypeError::new_err(format!(
            "{K}: expected a sequence of arrays, got {}",
            arrays.get_type().name().map(|n| n.to_string()).unwrap_or_default()
        ))
    })?;
    // Kept in the given order so that the sum adds the arrays in that order.
    let mut held = Vec::new();
    for (i, a) in iter.enumerate() {
        let a = a?;
        held.push(match dtype_of(K, &format!("arrays[{i}]"), &a)? {
            DType::F32 => Held::F32(read::<f32>(K, "array", &a)?),
            DType::F64 => Held::F64(read::<f64>(K, "array", &a)?),
        });
    }
    let parts: Vec<Elems> = held
        .iter()
        .map(|h| match h {
            Held::F32(r) => Elems::F32(slice_of(r)),
            Held::F64(r) => Elems::F64(slice_of(r)),
        })
        .collect();
    let total = run_kernel(py, K, || {
        Ok(parts
            .iter()
            .map(|p| match p {
                Elems::F32(s) => k::sum_squares::<f32>(s),
                Elems::F64(s) => k::sum_squares::<f64>(s),
            })
            .sum::<f64>())
    })?;
    Ok(scalar_array(py, total))
}

enum Held<'py> {
    F32(PyReadonlyArrayDyn<'py, f32>),
    F64(PyReadonlyArrayDyn<'py, f64>),
}

enum Elems<'a> {
    F32(Cow<'a, [f32]>),
    F64(Cow<'a, [f64]>),
}

fn moments_t<'py, T: Num>(
    py: Python<'py>,
    x: &Bound<'py, PyAny>,
    axes: Option<&[i64]>,
    keepdims: bool,
) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyAny>)> {
    const K: &str = "moments";
    let rx = read::<T>(K, "x", x)?;
    let p = ReduceParams::for_kernel(K, rx.shape(), axes, keepdims).map_err(to_value_error)?;
    let (mean, var) = (new_array::<T>(py, &p.out_shape), new_array::<T>(py, &p.out_shape));
    with_out(K, &mean, |ms| {
        with_out(K, &var, |vs| {
            let xs = slice_of(&rx);
            run_kernel(py, K, || k::moments(&xs, ms, vs, &p))
        })
    })?;
    Ok((mean.into_any(), var.into_any()))
}

/// `(mean, variance)` of x over axes (None: all; negative allowed), accumulated in
/// float64; the variance is the population one. Results have x's dtype.
#[pyfunction]
#[pyo3(signature = (x, axes=None, keepdims=false))]
pub fn moments<'py>(
    py: Python<'py>,
    x: &Bound<'py, PyAny>,
    axes: Option<&Bound<'py, PyAny>>,
    keepdims: bool,
) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyAny>)> {
    let axes = extract_axes_for("moments", axes)?;
    dispatch!("moments", "x", x, moments_t(py, x, axes.as_deref(), keepdims))
}

fn moments_backward_t<'py, T: Num>(
    py: Python<'py>,
    args: [(&str, &Bound<'py, PyAny>); 4],
    axes: Option<&[i64]>,
) -> PyResult<Bound<'py, PyAny>> {
    const K: &str = "moments_backward";
    let rx = read::<T>(K, args[0].0, args[0].1)?;
    let p = ReduceParams::for_kernel(K, rx.shape(), axes, true).map_err(to_value_error)?;
    let dropped = ReduceParams::for_kernel(K, rx.shape(), axes, false).map_err(to_value_error)?.out_shape;
    let mut held = Vec::with_capacity(3);
    for &(name, a) in &args[1..] {
        let r = read::<T>(K, name, a)?;
        if r.shape() != p.out_shape.as_slice() && r.shape() != dropped.as_slice() {
            return Err(value_error(
                K,
                format!(
                    "{name} must have shape {} or {} for x {}, got {}",
                    fmt_shape(&dropped),
                    fmt_shape(&p.out_shape),
                    fmt_shape(rx.shape()),
                    fmt_shape(r.shape())
                ),
            ));
        }
        held.push(r);
    }
    let gx = new_array::<T>(py, rx.shape());
    with_out(K, &gx, |gs| {
        let (xs, ms, gm, gv) = (slice_of(&rx), slice_of(&held[0]), slice_of(&held[1]), slice_of(&held[2]));
        run_kernel(py, K, || k::moments_backward(&xs, &ms, &gm, &gv, gs, &p))
    })?;
    Ok(gx.into_any())
}

/// Gradient wrt x of `moments(x, axes)` given its mean and the gradients of its two
/// outputs (each of moments' output shape, with or without keepdims):
/// `g_mean/n + 2 g_var (x - mean)/n`, n the number of elements reduced into each output.
#[pyfunction]
#[pyo3(signature = (x, mean, g_mean, g_var, axes=None))]
pub fn moments_backward<'py>(
    py: Python<'py>,
    x: &Bound<'py, PyAny>,
    mean: &Bound<'py, PyAny>,
    g_mean: &Bound<'py, PyAny>,
    g_var: &Bound<'py, PyAny>,
    axes: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyAny>> {
    const K: &str = "moments_backward";
    let axes = extract_axes_for(K, axes)?;
    for (name, a) in [("mean", mean), ("g_mean", g_mean), ("g_var", g_var)] {
        same_dtype(K, ("x", x), (name, a))?;
    }
    let args = [("x", x), ("mean", mean), ("g_mean", g_mean), ("g_var", g_var)];
    dispatch!(K, "x", x, moments_backward_t(py, args, axes.as_deref()))
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(reduce, m)?)?;
    m.add_function(wrap_pyfunction!(argmax, m)?)?;
    m.add_function(wrap_pyfunction!(sum_squares, m)?)?;
    m.add_function(wrap_pyfunction!(moments, m)?)?;
    m.add_function(wrap_pyfunction!(moments_backward, m)?)?;
    Ok(())
}
