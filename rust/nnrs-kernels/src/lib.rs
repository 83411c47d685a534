//! nnrs-kernels: the compute kernels of nnrs in pure Rust (no Python).
//!
//! Every kernel takes plain slices plus a params struct and writes into slices.
//! Kernels are generic over [`Float`] (f32 and f64).

pub mod activation;
pub mod conv;
pub mod dynamic;
pub mod elementwise;
pub mod fastmath;
pub mod gemm;
pub mod image;
pub mod index;
pub mod loss;
pub mod norm;
pub mod optim;
pub mod parallel;
pub mod pool;
pub mod random;
pub mod reduce;
pub mod rnn;

/// Element type of every kernel: f32 or f64.
pub trait Float:
    num_traits::Float + num_traits::FromPrimitive + Send + Sync + Copy + Default + std::fmt::Debug + 'static + std::iter::Sum
{
}
impl Float for f32 {}
impl Float for f64 {}

/// Error of a kernel whose arguments do not fit together (checked again in the binding layer).
#[derive(Debug, Clone, PartialEq)]
pub struct KernelError(pub String);

impl std::fmt::Display for KernelError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}
impl std::error::Error for KernelError {}
