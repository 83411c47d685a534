//! Bindings of the thread settings and the SIMD level.

use nnrs_kernels::parallel;
use pyo3::prelude::*;

/// Set the number of threads kernels use (at least 1).
#[pyfunction]
pub fn set_num_threads(n: usize) {
    parallel::set_num_threads(n)
}

/// Number of threads kernels use.
#[pyfunction]
pub fn get_num_threads() -> usize {
    parallel::num_threads()
}

/// The SIMD instruction set chosen at run time for this CPU.
#[pyfunction]
pub fn simd_level() -> &'static str {
    parallel::simd_level()
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(set_num_threads, m)?)?;
    m.add_function(wrap_pyfunction!(get_num_threads, m)?)?;
    m.add_function(wrap_pyfunction!(simd_level, m)?)?;
    Ok(())
}
