//! Bindings of the norm family: batch_norm_forward, batch_norm_backward,
//! batch_norm_update (in place), and gaussian_noise_forward (the GaussianNoise layer's
//! noise, drawn by the counter-based hash of the random family).

use nnrs_kernels::elementwise::fmt_shape;
use nnrs_kernels::norm::{self as k, BatchNormParams};
use nnrs_kernels::random as rnd;
use numpy::{PyArrayDyn, PyArrayMethods, PyUntypedArray, PyUntypedArrayMethods};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyInt};

use crate::common::{borrow_rw, new_array, out_slice, overlap, read, run_named, shape_of, slice_of, value_error, with_out};
use crate::dispatch;
use crate::elementwise::Num;

type Triple<'py> = (Bound<'py, PyAny>, Bound<'py, PyAny>, Bound<'py, PyAny>);

/// Params of x's shape: rows are every axis but the last, channels the last.
fn params_of(kernel: &str, shape: &[usize], epsilon: f64, training: bool) -> PyResult<BatchNormParams> {
    if shape.is_empty() {
        return Err(value_error(kernel, "x must have at least 1 dimension (the channels last), got a 0-d array"));
    }
    let channels = shape[shape.len() - 1];
    Ok(BatchNormParams { rows: shape[..shape.len() - 1].iter().product(), channels, epsilon, training })
}

/// A per-channel array (None allowed): shape `(channels,)`, read as a slice.
fn per_channel<'py, T: Num>(
    kernel: &str,
    arg: &str,
    a: Option<&Bound<'py, PyAny>>,
    channels: usize,
) -> PyResult<Option<numpy::PyReadonlyArrayDyn<'py, T>>> {
    let Some(a) = a else { return Ok(None) };
    let r = read::<T>(kernel, arg, a)?;
    if r.shape() != [channels] {
        return Err(value_error(kernel, format!("{arg} must have shape ({channels},), got {}", fmt_shape(r.shape()))));
    }
    Ok(Some(r))
}

#[allow(clippy::too_many_arguments)]
fn forward_t<'py, T: Num>(
    py: Python<'py>,
    x: &Bound<'py, PyAny>,
    gamma: Option<&Bound<'py, PyAny>>,
    beta: Option<&Bound<'py, PyAny>>,
    mean: Option<&Bound<'py, PyAny>>,
    var: Option<&Bound<'py, PyAny>>,
    epsilon: f64,
    training: bool,
) -> PyResult<Triple<'py>> {
    const K: &str = "batch_norm_forward";
    let rx = read::<T>(K, "x", x)?;
    let shape = shape_of(&rx);
    let p = params_of(K, &shape, epsilon, training)?;
    let c = p.channels;
    let (rg, rb) = (per_channel::<T>(K, "gamma", gamma, c)?, per_channel::<T>(K, "beta", beta, c)?);
    let (rm, rv) = if training {
        (None, None)
    } else {
        if mean.is_none() || var.is_none() {
            return Err(value_error(K, "training=False needs the moving mean and var"));
        }
        (per_channel::<T>(K, "mean", mean, c)?, per_channel::<T>(K, "var", var, c)?)
    };
    let y = new_array::<T>(py, &shape);
    let (mo, vo) = (new_array::<T>(py, &[c]), new_array::<T>(py, &[c]));
    {
        let (mut wy, mut wm, mut wv) = (crate::common::fresh_rw(&y)?, crate::common::fresh_rw(&mo)?, crate::common::fresh_rw(&vo)?);
        let (ys, ms, vs) = (out_slice(&mut wy)?, out_slice(&mut wm)?, out_slice(&mut wv)?);
        let xs = slice_of(&rx);
        let g = rg.as_ref().map(slice_of);
        let b = rb.as_ref().map(slice_of);
        let m = rm.as_ref().map(slice_of);
        let v = rv.as_ref().map(slice_of);
        run_named(py, K, || k::batch_norm_forward(&xs, g.as_deref(), b.as_deref(), m.as_deref(), v.as_deref(), ys, ms, vs, p))?;
    }
    Ok((y.into_any(), mo.into_any(), vo.into_any()))
}

/// `(y, mean, var)`: x (feature axis last) normalized per channel and scaled, `y = (x -
/// mean) / sqrt(var + epsilon) * gamma + beta`, with the batch mean and biased variance
/// when `training` (returned) and the given `mean` / `var` otherwise (returned as they
/// are). gamma / beta None mean 1 / 0.
#[pyfunction]
#[pyo3(signature = (x, gamma=None, beta=None, mean=None, var=None, epsilon=1e-3, training=true))]
#[allow(clippy::too_many_arguments)]
pub fn batch_norm_forward<'py>(
    py: Python<'py>,
    x: &Bound<'py, PyAny>,
    gamma: Option<&Bound<'py, PyAny>>,
    beta: Option<&Bound<'py, PyAny>>,
    mean: Option<&Bound<'py, PyAny>>,
    var: Option<&Bound<'py, PyAny>>,
    epsilon: f64,
    training: bool,
) -> PyResult<Triple<'py>> {
    dispatch!("batch_norm_forward", "x", x, forward_t(py, x, gamma, beta, mean, var, epsilon, training))
}

#[allow(clippy::too_many_arguments)]
fn backward_t<'py, T: Num>(
    py: Python<'py>,
    gy: &Bound<'py, PyAny>,
    x: &Bound<'py, PyAny>,
    gamma: Option<&Bound<'py, PyAny>>,
    mean: &Bound<'py, PyAny>,
    var: &Bound<'py, PyAny>,
    epsilon: f64,
    training: bool,
) -> PyResult<Triple<'py>> {
    const K: &str = "batch_norm_backward";
    let (rg, rx) = (read::<T>(K, "gy", gy)?, read::<T>(K, "x", x)?);
    let shape = shape_of(&rx);
    if rg.shape() != shape.as_slice() {
        return Err(value_error(K, format!("gy must have the shape of x {}, got {}", fmt_shape(&shape), fmt_shape(rg.shape()))));
    }
    let p = params_of(K, &shape, epsilon, training)?;
    let c = p.channels;
    let rgam = per_channel::<T>(K, "gamma", gamma, c)?;
    let rm = per_channel::<T>(K, "mean", Some(mean), c)?.expect("given");
    let rv = per_channel::<T>(K, "var", Some(var), c)?.expect("given");
    let gx = new_array::<T>(py, &shape);
    let (gg, gb) = (new_array::<T>(py, &[c]), new_array::<T>(py, &[c]));
    {
        let (mut wx, mut wg, mut wb) = (crate::common::fresh_rw(&gx)?, crate::common::fresh_rw(&gg)?, crate::common::fresh_rw(&gb)?);
        let (gxs, ggs, gbs) = (out_slice(&mut wx)?, out_slice(&mut wg)?, out_slice(&mut wb)?);
        let (gys, xs, ms, vs) = (slice_of(&rg), slice_of(&rx), slice_of(&rm), slice_of(&rv));
        let gam = rgam.as_ref().map(slice_of);
        run_named(py, K, || k::batch_norm_backward(&gys, &xs, gam.as_deref(), &ms, &vs, gxs, ggs, gbs, p))?;
    }
    Ok((gx.into_any(), gg.into_any(), gb.into_any()))
}

/// `(gx, g_gamma, g_beta)`: gradients of batch_norm_forward given gy, x, gamma (None: 1)
/// and the mean / var the forward used; with `training` gx goes through the batch
/// statistics.
#[pyfunction]
#[pyo3(signature = (gy, x, gamma, mean, var, epsilon=1e-3, training=true))]
#[allow(clippy::too_many_arguments)]
pub fn batch_norm_backward<'py>(
    py: Python<'py>,
    gy: &Bound<'py, PyAny>,
    x: &Bound<'py, PyAny>,
    gamma: Option<&Bound<'py, PyAny>>,
    mean: &Bound<'py, PyAny>,
    var: &Bound<'py, PyAny>,
    epsilon: f64,
    training: bool,
) -> PyResult<Triple<'py>> {
    dispatch!("batch_norm_backward", "x", x, backward_t(py, gy, x, gamma, mean, var, epsilon, training))
}

fn update_t<'py, T: Num>(
    py: Python<'py>,
    moving_mean: &Bound<'py, PyAny>,
    moving_var: &Bound<'py, PyAny>,
    mean: &Bound<'py, PyAny>,
    var: &Bound<'py, PyAny>,
    momentum: f64,
) -> PyResult<()> {
    const K: &str = "batch_norm_update";
    let typed = |arg: &str, a: &Bound<'py, PyAny>| -> PyResult<Bound<'py, PyArrayDyn<T>>> {
        let arr = a
            .cast::<PyArrayDyn<T>>()
            .map_err(|_| PyTypeError::new_err(format!("{K}: {arg} must have dtype {} like moving_mean", std::any::type_name::<T>())))?;
        Ok(arr.clone())
    };
    let (amm, amv) = (typed("moving_mean", moving_mean)?, typed("moving_var", moving_var)?);
    let c = amm.len();
    if amm.ndim() != 1 || amv.shape() != amm.shape() {
        return Err(value_error(
            K,
            format!("moving_mean and moving_var must have one shape (channels,), got {:?} and {:?}", amm.shape(), amv.shape()),
        ));
    }
    for (arg, a) in [("moving_mean", &amm), ("moving_var", &amv)] {
        if !a.is_c_contiguous() {
            return Err(value_error(K, format!("{arg} must be C-contiguous (it is updated in place)")));
        }
    }
    let (um, uv) = (amm.as_untyped(), amv.as_untyped());
    let others: Vec<(&str, &Bound<'py, PyAny>)> = vec![("mean", mean), ("var", var)];
    if overlap(um, uv) {
        return Err(value_error(K, "moving_mean and moving_var share memory; each must be a distinct array"));
    }
    for (arg, a) in &others {
        if let Ok(u) = a.cast::<PyUntypedArray>() {
            if overlap(um, u) || overlap(uv, u) {
                return Err(value_error(K, format!("{arg} shares memory with a moving statistic")));
            }
        }
    }
    let (rm, rv) = (per_channel::<T>(K, "mean", Some(mean), c)?.expect("given"), per_channel::<T>(K, "var", Some(var), c)?.expect("given"));
    let (mut wm, mut wv) = (borrow_rw(K, "moving_mean", &amm)?, borrow_rw(K, "moving_var", &amv)?);
    let (ms, vs) = (out_slice(&mut wm)?, out_slice(&mut wv)?);
    let (bm, bv) = (slice_of(&rm), slice_of(&rv));
    run_named(py, K, || k::batch_norm_update(ms, vs, &bm, &bv, momentum))
}

/// In place: `moving = moving * momentum + batch * (1 - momentum)` for (moving_mean,
/// mean) and (moving_var, var), all of shape (channels,).
#[pyfunction]
pub fn batch_norm_update<'py>(
    py: Python<'py>,
    moving_mean: &Bound<'py, PyAny>,
    moving_var: &Bound<'py, PyAny>,
    mean: &Bound<'py, PyAny>,
    var: &Bound<'py, PyAny>,
    momentum: f64,
) -> PyResult<()> {
    dispatch!("batch_norm_update", "moving_mean", moving_mean, update_t(py, moving_mean, moving_var, mean, var, momentum))
}

/// A Python int as the u64 the hash takes: `seed & (2**64 - 1)`.
fn seed_bits(kernel: &str, seed: &Bound<'_, PyAny>) -> PyResult<u64> {
    if let Ok(s) = seed.extract::<u64>() {
        return Ok(s);
    }
    if seed.is_instance_of::<PyBool>() {
        return Err(PyTypeError::new_err(format!("{kernel}: seed must be an int, got bool")));
    }
    let int = if seed.is_instance_of::<PyInt>() { Some(seed.clone()) } else { seed.call_method0("__index__").ok() };
    match int {
        Some(i) => i.call_method1("__and__", (u64::MAX,))?.extract::<u64>(),
        None => {
            let t = seed.get_type().name().map(|n| n.to_string()).unwrap_or_else(|_| "?".into());
            Err(PyTypeError::new_err(format!("{kernel}: seed must be an int, got {t}")))
        }
    }
}

fn noise_t<'py, T: Num>(py: Python<'py>, x: &Bound<'py, PyAny>, stddev: f64, seed: u64) -> PyResult<Bound<'py, PyAny>> {
    const K: &str = "gaussian_noise_forward";
    let rx = read::<T>(K, "x", x)?;
    let y = new_array::<T>(py, rx.shape());
    with_out(K, &y, |ys| {
        let xs = slice_of(&rx);
        run_named(py, K, || rnd::gaussian_noise_forward(&xs, ys, stddev, seed))
    })?;
    Ok(y.into_any())
}

/// `x + stddev * normal(seed, i)` elementwise (normal: Box-Muller of the counter-based
/// uniforms 2i and 2i+1 of seed, the same numbers on every backend).
#[pyfunction]
pub fn gaussian_noise_forward<'py>(
    py: Python<'py>,
    x: &Bound<'py, PyAny>,
    stddev: f64,
    seed: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyAny>> {
    const K: &str = "gaussian_noise_forward";
    let s = seed_bits(K, seed)?;
    dispatch!(K, "x", x, noise_t(py, x, stddev, s))
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(batch_norm_forward, m)?)?;
    m.add_function(wrap_pyfunction!(batch_norm_backward, m)?)?;
    m.add_function(wrap_pyfunction!(batch_norm_update, m)?)?;
    m.add_function(wrap_pyfunction!(gaussian_noise_forward, m)?)?;
    Ok(())
}
