//! Bindings of the image warps: affine_transform and its gradient wrt the images,
//! affine_transform_backward. Images are `(batch, height, width, channels)`, transforms
//! `(batch, 8)` of the images' dtype.

use nnrs_kernels::elementwise::fmt_shape;
use nnrs_kernels::image::{self as k, AffineParams, FillMode, Interpolation};
use numpy::PyUntypedArrayMethods;
use pyo3::prelude::*;

use crate::common::{new_array, read, run_named, shape_of, slice_of, value_error, with_out};
use crate::dispatch;
use crate::elementwise::{same_dtype, to_value_error, Num};

/// Params from the images' shape and the transforms' shape, checked.
fn params_of(
    kernel: &str,
    shape: &[usize],
    tshape: &[usize],
    interpolation: &str,
    fill_mode: &str,
    fill_value: f64,
) -> PyResult<AffineParams> {
    if shape.len() != 4 {
        return Err(value_error(kernel, format!("images must have shape (batch, height, width, channels), got {}", fmt_shape(shape))));
    }
    if tshape != [shape[0], 8] {
        return Err(value_error(kernel, format!("transforms must have shape ({}, 8), got {}", shape[0], fmt_shape(tshape))));
    }
    let interpolation = Interpolation::from_name(interpolation).map_err(to_value_error)?;
    let fill_mode = FillMode::from_name(fill_mode).map_err(to_value_error)?;
    Ok(AffineParams { batch: shape[0], height: shape[1], width: shape[2], channels: shape[3], interpolation, fill_mode, fill_value })
}

fn forward_t<'py, T: Num>(
    py: Python<'py>,
    images: &Bound<'py, PyAny>,
    transforms: &Bound<'py, PyAny>,
    interpolation: &str,
    fill_mode: &str,
    fill_value: f64,
) -> PyResult<Bound<'py, PyAny>> {
    const K: &str = "affine_transform";
    let (ri, rt) = (read::<T>(K, "images", images)?, read::<T>(K, "transforms", transforms)?);
    let shape = shape_of(&ri);
    let p = params_of(K, &shape, rt.shape(), interpolation, fill_mode, fill_value)?;
    let y = new_array::<T>(py, &shape);
    with_out(K, &y, |ys| {
        let (is, ts) = (slice_of(&ri), slice_of(&rt));
        run_named(py, K, || k::affine_transform(&is, &ts, ys, p))
    })?;
    Ok(y.into_any())
}

/// Each image warped by its projective transform `[a0, a1, a2, b0, b1, b2, c0, c1]`
/// (output (x, y) reads input ((a0 x + a1 y + a2) / k, (b0 x + b1 y + b2) / k), k = c0 x + c1 y + 1).
#[pyfunction]
#[pyo3(signature = (images, transforms, interpolation="bilinear", fill_mode="constant", fill_value=0.0))]
pub fn affine_transform<'py>(
    py: Python<'py>,
    images: &Bound<'py, PyAny>,
    transforms: &Bound<'py, PyAny>,
    interpolation: &str,
    fill_mode: &str,
    fill_value: f64,
) -> PyResult<Bound<'py, PyAny>> {
    const K: &str = "affine_transform";
    same_dtype(K, ("images", images), ("transforms", transforms))?;
    dispatch!(K, "images", images, forward_t(py, images, transforms, interpolation, fill_mode, fill_value))
}

fn backward_t<'py, T: Num>(
    py: Python<'py>,
    gy: &Bound<'py, PyAny>,
    transforms: &Bound<'py, PyAny>,
    interpolation: &str,
    fill_mode: &str,
) -> PyResult<Bound<'py, PyAny>> {
    const K: &str = "affine_transform_backward";
    let (rg, rt) = (read::<T>(K, "gy", gy)?, read::<T>(K, "transforms", transforms)?);
    let shape = shape_of(&rg);
    let p = params_of(K, &shape, rt.shape(), interpolation, fill_mode, 0.0)?;
    let gx = new_array::<T>(py, &shape);
    with_out(K, &gx, |gs| {
        let (g, ts) = (slice_of(&rg), slice_of(&rt));
        run_named(py, K, || k::affine_transform_backward(&g, &ts, gs, p))
    })?;
    Ok(gx.into_any())
}

/// Gradient wrt the images of affine_transform (transforms fixed), given gy.
#[pyfunction]
#[pyo3(signature = (gy, transforms, interpolation="bilinear", fill_mode="constant"))]
pub fn affine_transform_backward<'py>(
    py: Python<'py>,
    gy: &Bound<'py, PyAny>,
    transforms: &Bound<'py, PyAny>,
    interpolation: &str,
    fill_mode: &str,
) -> PyResult<Bound<'py, PyAny>> {
    const K: &str = "affine_transform_backward";
    same_dtype(K, ("gy", gy), ("transforms", transforms))?;
    dispatch!(K, "gy", gy, backward_t(py, gy, transforms, interpolation, fill_mode))
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(affine_transform, m)?)?;
    m.add_function(wrap_pyfunction!(affine_transform_backward, m)?)?;
    Ok(())
}
