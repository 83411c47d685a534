//! nnrs._core: thin PyO3 layer over nnrs-kernels. numpy arrays in and out, shapes and
//! dtypes checked here (a ValueError/TypeError naming the kernel), the GIL released
//! while a kernel runs. One file per kernel family, each with a `register` function.

use pyo3::prelude::*;

mod activation;
mod buffers;
mod common;
mod conv;
mod dynamic;
mod elementwise;
mod gemm;
mod image;
mod index;
mod loss;
mod norm;
mod optim;
mod parallel;
mod pool;
mod random;
mod reduce;
mod rnn;

#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    parallel::register(m)?;
    buffers::register(m)?;
    gemm::register(m)?;
    elementwise::register(m)?;
    reduce::register(m)?;
    random::register(m)?;
    activation::register(m)?;
    loss::register(m)?;
    optim::register(m)?;
    index::register(m)?;
    norm::register(m)?;
    image::register(m)?;
    dynamic::register(m)?;
    pool::register(m)?;
    conv::register(m)?;
    rnn::register(m)?;
    Ok(())
}
