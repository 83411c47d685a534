//! nnrs._core: thin PyO3 layer over nnrs-kernels. numpy arrays in and out, shapes and
//! dtypes checked here (a ValueError/TypeError naming the kernel), the GIL released
//! while a kernel runs. One file per kernel family, each with a `register` function.

use pyo3::prelude::*;

mod activation;
mod common;
// convolution family
mod conv;
mod elementwise;
mod gemm;
mod index;
mod loss;
mod optim;
mod parallel;
// pooling (max / average, 2-D and 1-D)
mod pool;
mod random;
mod reduce;
// ---- norm family: batch normalization, image warps, gaussian noise ----
mod image;
mod norm;

// ---- dynamic convolution (involution) ----
mod dynamic;

#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    parallel::register(m)?;
    gemm::register(m)?;
    elementwise::register(m)?;
    reduce::register(m)?;
    random::register(m)?;
    activation::register(m)?;
    loss::register(m)?;
    optim::register(m)?;
    index::register(m)?;
    // ---- norm family ----
    norm::register(m)?;
    image::register(m)?;
    // dynamic convolution (involution)
    dynamic::register(m)?;
    // pooling (max / average, 2-D and 1-D)
    pool::register(m)?;
    // convolution family
    conv::register(m)?;
    Ok(())
}
