//! Bindings of the dynamic convolution (involution) family: dynamic_conv2d_forward,
//! dynamic_conv2d_backward.

use nnrs_kernels::dynamic::{self as k, DynamicConv2dParams};
use numpy::PyUntypedArrayMethods;
use pyo3::prelude::*;

use crate::common::{new_array, read, run_kernel, slice_of, value_error, with_out};
use crate::dispatch;
use crate::elementwise::{same_dtype, to_value_error, Num};

/// `v` as `N` non-negative sizes, or a ValueError naming the kernel and the argument.
fn sizes<const N: usize>(kernel: &str, arg: &str, v: &[i64]) -> PyResult<[usize; N]> {
    if v.len() != N || v.iter().any(|&d| d < 0) {
        return Err(value_error(kernel, format!("{arg} must be {N} non-negative integers, got {v:?}")));
    }
    let mut out = [0usize; N];
    for (o, &d) in out.iter_mut().zip(v) {
        *o = d as usize;
    }
    Ok(out)
}

/// The checked geometry of a call: the sizes parsed and x's and k's shapes checked.
fn params(
    kernel: &str,
    x: &[usize],
    kshape: &[usize],
    kernel_size: &[i64],
    strides: &[i64],
    padding: &[i64],
    dilation: &[i64],
) -> PyResult<DynamicConv2dParams> {
    let ks = sizes::<2>(kernel, "kernel_size", kernel_size)?;
    let st = sizes::<2>(kernel, "strides", strides)?;
    let pad = sizes::<4>(kernel, "padding", padding)?;
    let dil = sizes::<2>(kernel, "dilation", dilation)?;
    DynamicConv2dParams::new(kernel, x, kshape, ks, st, pad, dil).map_err(to_value_error)
}

#[allow(clippy::too_many_arguments)]
fn forward_t<'py, T: Num>(
    py: Python<'py>,
    x: &Bound<'py, PyAny>,
    kr: &Bound<'py, PyAny>,
    kernel_size: &[i64],
    strides: &[i64],
    padding: &[i64],
    dilation: &[i64],
) -> PyResult<Bound<'py, PyAny>> {
    const K: &str = "dynamic_conv2d_forward";
    let (rx, rk) = (read::<T>(K, "x", x)?, read::<T>(K, "k", kr)?);
    let p = params(K, rx.shape(), rk.shape(), kernel_size, strides, padding, dilation)?;
    let y = new_array::<T>(py, &p.y_shape());
    with_out(K, &y, |ys| {
        let (xs, ks) = (slice_of(&rx), slice_of(&rk));
        run_kernel(py, K, || k::dynamic_conv2d_forward(&xs, &ks, ys, &p))
    })?;
    Ok(y.into_any())
}

/// y (N, OH, OW, C) of the dynamic convolution of x (N, H, W, C) with the per-position
/// kernels k (N, OH, OW, kh*kw, G); padding is (top, bottom, left, right).
#[pyfunction]
#[pyo3(signature = (x, k, kernel_size, strides=vec![1, 1], padding=vec![0, 0, 0, 0], dilation=vec![1, 1]))]
pub fn dynamic_conv2d_forward<'py>(
    py: Python<'py>,
    x: &Bound<'py, PyAny>,
    k: &Bound<'py, PyAny>,
    kernel_size: Vec<i64>,
    strides: Vec<i64>,
    padding: Vec<i64>,
    dilation: Vec<i64>,
) -> PyResult<Bound<'py, PyAny>> {
    const K: &str = "dynamic_conv2d_forward";
    same_dtype(K, ("x", x), ("k", k))?;
    dispatch!(K, "x", x, forward_t(py, x, k, &kernel_size, &strides, &padding, &dilation))
}

type Pair<'py> = (Bound<'py, PyAny>, Bound<'py, PyAny>);

#[allow(clippy::too_many_arguments)]
fn backward_t<'py, T: Num>(
    py: Python<'py>,
    gy: &Bound<'py, PyAny>,
    x: &Bound<'py, PyAny>,
    kr: &Bound<'py, PyAny>,
    kernel_size: &[i64],
    strides: &[i64],
    padding: &[i64],
    dilation: &[i64],
) -> PyResult<Pair<'py>> {
    const K: &str = "dynamic_conv2d_backward";
    let (rg, rx, rk) = (read::<T>(K, "gy", gy)?, read::<T>(K, "x", x)?, read::<T>(K, "k", kr)?);
    let p = params(K, rx.shape(), rk.shape(), kernel_size, strides, padding, dilation)?;
    if rg.shape() != p.y_shape() {
        return Err(value_error(
            K,
            format!("gy must have the output shape {} of x {}, got {}", k::tuple(&p.y_shape()), k::tuple(rx.shape()), k::tuple(rg.shape())),
        ));
    }
    let gx = new_array::<T>(py, rx.shape());
    let gk = new_array::<T>(py, rk.shape());
    with_out(K, &gx, |gxs| {
        with_out(K, &gk, |gks| {
            let (gs, xs, ks) = (slice_of(&rg), slice_of(&rx), slice_of(&rk));
            run_kernel(py, K, || k::dynamic_conv2d_backward(&gs, &xs, &ks, gxs, gks, &p))
        })
    })?;
    Ok((gx.into_any(), gk.into_any()))
}

/// (gx, gk): the gradients of dynamic_conv2d_forward wrt x and k, given gy (N, OH, OW, C).
#[pyfunction]
#[pyo3(signature = (gy, x, k, kernel_size, strides=vec![1, 1], padding=vec![0, 0, 0, 0], dilation=vec![1, 1]))]
#[allow(clippy::too_many_arguments)]
pub fn dynamic_conv2d_backward<'py>(
    py: Python<'py>,
    gy: &Bound<'py, PyAny>,
    x: &Bound<'py, PyAny>,
    k: &Bound<'py, PyAny>,
    kernel_size: Vec<i64>,
    strides: Vec<i64>,
    padding: Vec<i64>,
    dilation: Vec<i64>,
) -> PyResult<Pair<'py>> {
    const K: &str = "dynamic_conv2d_backward";
    same_dtype(K, ("x", x), ("k", k))?;
    same_dtype(K, ("x", x), ("gy", gy))?;
    dispatch!(K, "x", x, backward_t(py, gy, x, k, &kernel_size, &strides, &padding, &dilation))
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(dynamic_conv2d_forward, m)?)?;
    m.add_function(wrap_pyfunction!(dynamic_conv2d_backward, m)?)?;
    Ok(())
}
