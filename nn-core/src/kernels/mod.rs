//! Numeric kernels shared by the layers (public with the `kernels` feature, for benchmarks and
//! experiments).
//!
//! Batched products go through [`gemm`]: products with a narrow right-hand side (up to four
//! registers of columns: convolution filters, small layers) run a register-tiled kernel that
//! reads both operands in place (a convolution's patches too, gathered from its input or from
//! its padded output gradient); wider ones (the dense layers' training products, a strided
//! convolution's input gradient) run a cache-blocked kernel that packs `B` into a per-thread
//! buffer. Only a CPU without AVX2 + FMA sends them to the `matrixmultiply` crate instead.
//! The batched inference product packs the dense kernel once ([`PackedB`]) and finishes the
//! layer (bias, ReLU) on each tile it stores ([`PackedB::multiply_then`]). Both the blocked
//! and the packed products skip the steps where a tile's rows of `A` are all zero, when `A`
//! is mostly zero (images, `zero_steps`). Single samples use the register-tiled [`vec_mat`],
//! which skips the rows of `B` that face zero inputs.
//! Element-wise math that the standard library does not vectorise (`tanh`) has its own
//! kernel. Each kernel dispatches on [`Isa`].

mod blocked;
mod element;
mod elementwise;
mod gemv;
mod isa;
#[cfg(test)]
mod lanes;
mod matmul;
mod narrow;
mod non_finite;
mod operands;
mod packed;
#[cfg(feature = "std")]
pub(crate) mod packed_parts;
#[cfg(test)]
mod reference;
pub mod simd;
mod tanh;
mod tile;
mod update;
mod zero_steps;

pub use element::Element;
#[cfg(feature = "std")]
pub use element::Scratch;
#[cfg(feature = "kernels")]
pub use gemv::vec_mat_on;
pub use gemv::{affine_sized, vec_mat};
#[cfg_attr(not(feature = "std"), allow(unused_imports))]
pub use isa::Isa;
pub use matmul::{gemm, Mat};
pub(crate) use narrow::{max_columns as in_place_columns, try_gathered};
pub(crate) use operands::{Gathered, Offsets};
#[cfg_attr(not(feature = "std"), allow(unused_imports))]
pub use packed::PackedB;
pub use tanh::tanh_f32;
pub use update::{Accumulate, Average, Moments, Momentum, Plain, Update};
