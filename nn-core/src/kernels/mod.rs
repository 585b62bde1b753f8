//! Numeric kernels shared by the layers.
//!
//! Batched products go through [`gemm`] (the `matrixmultiply` crate: packed, cache-blocked,
//! with its own AVX-512 / AVX2+FMA kernels chosen at run time); single samples through the
//! register-tiled [`vec_mat`]. Element-wise math that the standard library does not vectorise
//! (`tanh`) has its own kernel. Each kernel dispatches on [`Isa`].

mod gemv;
mod isa;
mod matmul;
pub mod simd;
mod tanh;

pub use gemv::{vec_mat, vec_mat_on};
pub use isa::Isa;
pub use matmul::{gemm, Mat};
pub use tanh::tanh_f32;
