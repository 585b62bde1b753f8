//! Numeric kernels shared by the layers.
//!
//! The general matrix product comes from the `matrixmultiply` crate; the layers express every
//! product they need (forward, input gradient, weight gradient) as one strided [`gemm`] call.

mod matmul;

pub use matmul::{gemm, vec_mat, Mat};
