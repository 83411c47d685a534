//! Bindings of the pooling family: max_pool2d_forward / _backward, avg_pool2d_forward /
//! _backward. Images are channels-last `(batch, height, width, channels)`; `pool_size` and
//! `strides` are `(h, w)` pairs and `padding` is `(top, bottom, left, right)`.

use nnrs_kernels::elementwise::fmt_shape;
use nnrs_kernels::pool::{self as k, Pool2dParams};
use numpy::PyUntypedArrayMethods;
use pyo3::prelude::*;

use crate::common::{new_array, read, run_named, slice_of, value_error, with_out};
use crate::dispatch;
use crate::elementwise::{same_dtype, to_value_error, Num};

type Pair = (usize, usize);
type Quad = (usize, usize, usize, usize);

fn params(kernel: &str, shape: &[usize], pool: Pair, strides: Pair, padding: Quad) -> PyResult<Pool2dParams> {
    Pool2dParams::new(kernel, shape, [pool.0, pool.1], [strides.0, strides.1], [padding.0, padding.1, padding.2, padding.3])
        .map_err(to_value_error)
}

fn check_gy(kernel: &str, p: &Pool2dParams, gy: &[usize]) -> PyResult<()> {
    let want = p.out_shape();
    if gy != want {
        return Err(value_error(kernel, format!("gy must have shape {}, got {}", fmt_shape(&want), fmt_shape(gy))));
    }
    Ok(())
}

/// Which forward kernel a binding runs.
#[derive(Clone, Copy)]
enum Kind {
    Max,
    Avg,
}

fn forward_t<'py, T: Num>(
    py: Python<'py>,
    kind: Kind,
    x: &Bound<'py, PyAny>,
    pool: Pair,
    strides: Pair,
    padding: Quad,
) -> PyResult<Bound<'py, PyAny>> {
    let kernel = match kind {
        Kind::Max => "max_pool2d_forward",
        Kind::Avg => "avg_pool2d_forward",
    };
    let rx = read::<T>(kernel, "x", x)?;
    let p = params(kernel, rx.shape(), pool, strides, padding)?;
    let y = new_array::<T>(py, &p.out_shape());
    with_out(kernel, &y, |ys| {
        let xs = slice_of(&rx);
        run_named(py, kernel, || match kind {
            Kind::Max => k::max_pool2d_forward(&xs, ys, &p),
            Kind::Avg => k::avg_pool2d_forward(&xs, ys, &p),
        })
    })?;
    Ok(y.into_any())
}

/// The maximum of every pooling window of x.
#[pyfunction]
pub fn max_pool2d_forward<'py>(
    py: Python<'py>,
    x: &Bound<'py, PyAny>,
    pool_size: Pair,
    strides: Pair,
    padding: Quad,
) -> PyResult<Bound<'py, PyAny>> {
    dispatch!("max_pool2d_forward", "x", x, forward_t(py, Kind::Max, x, pool_size, strides, padding))
}

/// The mean of the real (non-padded) elements of every pooling window of x.
#[pyfunction]
pub fn avg_pool2d_forward<'py>(
    py: Python<'py>,
    x: &Bound<'py, PyAny>,
    pool_size: Pair,
    strides: Pair,
    padding: Quad,
) -> PyResult<Bound<'py, PyAny>> {
    dispatch!("avg_pool2d_forward", "x", x, forward_t(py, Kind::Avg, x, pool_size, strides, padding))
}

fn max_backward_t<'py, T: Num>(
    py: Python<'py>,
    x: &Bound<'py, PyAny>,
    gy: &Bound<'py, PyAny>,
    pool: Pair,
    strides: Pair,
    padding: Quad,
) -> PyResult<Bound<'py, PyAny>> {
    const K: &str = "max_pool2d_backward";
    let (rx, rg) = (read::<T>(K, "x", x)?, read::<T>(K, "gy", gy)?);
    let p = params(K, rx.shape(), pool, strides, padding)?;
    check_gy(K, &p, rg.shape())?;
    let gx = new_array::<T>(py, rx.shape());
    with_out(K, &gx, |gxs| {
        let (xs, gs) = (slice_of(&rx), slice_of(&rg));
        run_named(py, K, || k::max_pool2d_backward(&xs, &gs, gxs, &p))
    })?;
    Ok(gx.into_any())
}

/// Gradient wrt x of max_pool2d_forward given gy: each output's gradient goes to the first
/// maximum of its window.
#[pyfunction]
pub fn max_pool2d_backward<'py>(
    py: Python<'py>,
    x: &Bound<'py, PyAny>,
    gy: &Bound<'py, PyAny>,
    pool_size: Pair,
    strides: Pair,
    padding: Quad,
) -> PyResult<Bound<'py, PyAny>> {
    const K: &str = "max_pool2d_backward";
    same_dtype(K, ("x", x), ("gy", gy))?;
    dispatch!(K, "x", x, max_backward_t(py, x, gy, pool_size, strides, padding))
}

fn avg_backward_t<'py, T: Num>(
    py: Python<'py>,
    gy: &Bound<'py, PyAny>,
    input_shape: &[usize],
    pool: Pair,
    strides: Pair,
    padding: Quad,
) -> PyResult<Bound<'py, PyAny>> {
    const K: &str = "avg_pool2d_backward";
    let rg = read::<T>(K, "gy", gy)?;
    let p = params(K, input_shape, pool, strides, padding)?;
    check_gy(K, &p, rg.shape())?;
    let gx = new_array::<T>(py, input_shape);
    with_out(K, &gx, |gxs| {
        let gs = slice_of(&rg);
        run_named(py, K, || k::avg_pool2d_backward(&gs, gxs, &p))
    })?;
    Ok(gx.into_any())
}

/// Gradient wrt x (of shape `input_shape`) of avg_pool2d_forward given gy.
#[pyfunction]
pub fn avg_pool2d_backward<'py>(
    py: Python<'py>,
    gy: &Bound<'py, PyAny>,
    input_shape: Vec<usize>,
    pool_size: Pair,
    strides: Pair,
    padding: Quad,
) -> PyResult<Bound<'py, PyAny>> {
    dispatch!("avg_pool2d_backward", "gy", gy, avg_backward_t(py, gy, &input_shape, pool_size, strides, padding))
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(max_pool2d_forward, m)?)?;
    m.add_function(wrap_pyfunction!(max_pool2d_backward, m)?)?;
    m.add_function(wrap_pyfunction!(avg_pool2d_forward, m)?)?;
    m.add_function(wrap_pyfunction!(avg_pool2d_backward, m)?)?;
    Ok(())
}
