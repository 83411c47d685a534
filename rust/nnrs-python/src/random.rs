//! Bindings of the random family: dropout_forward.

use nnrs_kernels::random::{self as k, DropoutParams};
use numpy::PyUntypedArrayMethods;
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyInt};

use crate::common::{fresh_rw, new_array, out_slice, read, run_kernel, slice_of};
use crate::dispatch;
use crate::elementwise::{to_value_error, Num};

/// A Python int as the u64 the hash takes: `seed & (2**64 - 1)`, like the numpy oracle
/// (so negative seeds wrap); anything but an int is a TypeError.
fn seed_u64(seed: &Bound<'_, PyAny>) -> PyResult<u64> {
    if let Ok(s) = seed.extract::<u64>() {
        return Ok(s);
    }
    let int = if seed.is_instance_of::<PyInt>() && !seed.is_instance_of::<PyBool>() {
        Some(seed.clone())
    } else {
        // numpy integer scalars and other objects with __index__.
        seed.call_method0("__index__").ok()
    };
    match int {
        Some(i) => i.call_method1("__and__", (u64::MAX,))?.extract::<u64>(),
        None => {
            let t = seed.get_type().name().map(|n| n.to_string()).unwrap_or_else(|_| "?".into());
            Err(PyTypeError::new_err(format!("dropout_forward: seed must be an int, got {t}")))
        }
    }
}

type Pair<'py> = (Bound<'py, PyAny>, Bound<'py, PyAny>);

fn dropout_forward_t<'py, T: Num>(py: Python<'py>, x: &Bound<'py, PyAny>, p: DropoutParams) -> PyResult<Pair<'py>> {
    const K: &str = "dropout_forward";
    let rx = read::<T>(K, "x", x)?;
    let (y, mask) = (new_array::<T>(py, rx.shape()), new_array::<T>(py, rx.shape()));
    {
        let (mut wy, mut wm) = (fresh_rw(&y)?, fresh_rw(&mask)?);
        let (ys, ms) = (out_slice(&mut wy)?, out_slice(&mut wm)?);
        let xs = slice_of(&rx);
        run_kernel(py, K, || k::dropout_forward(&xs, ys, ms, p))?;
    }
    Ok((y.into_any(), mask.into_any()))
}

/// (x * mask, mask): mask is 1/(1-rate) where uniform(seed, i) >= rate, else 0, with
/// uniform the splitmix64 hash of the flat C-order index (same mask on every backend).
#[pyfunction]
pub fn dropout_forward<'py>(py: Python<'py>, x: &Bound<'py, PyAny>, rate: f64, seed: &Bound<'py, PyAny>) -> PyResult<Pair<'py>> {
    let p = DropoutParams { rate, seed: seed_u64(seed)? };
    p.check().map_err(to_value_error)?;
    dispatch!("dropout_forward", "x", x, dropout_forward_t(py, x, p))
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(dropout_forward, m)?)?;
    Ok(())
}
