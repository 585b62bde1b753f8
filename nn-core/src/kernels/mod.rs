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
//! kernel. Each kernel is written once as an `isa::Kernel`, with a body per kind of
//! instruction set, and runs through [`Isa`]'s one dispatch, the only place compiled with
//! `#[target_feature]`.

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
pub(crate) mod packed_cache;
#[cfg(feature = "std")]
pub(crate) mod packed_parts;
mod packed_row;
#[cfg(any(test, all(feature = "std", target_arch = "x86_64")))]
mod realigned;
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
#[cfg(feature = "std")]
pub use isa::MAX_ISA_ENV;
pub use matmul::gemm;
#[cfg_attr(not(feature = "std"), allow(unused_imports))]
pub use matmul::gemm_update;
pub(crate) use narrow::{lanes_paid, max_columns as in_place_columns, try_gathered};
pub use operands::Mat;
#[cfg_attr(not(feature = "std"), allow(unused_imports))]
pub use operands::PackedB;
pub use operands::{Accumulate, Average, Moments, Momentum, Plain, Update};
pub(crate) use operands::{Gathered, KeepDraws, KeepRule, Offsets};
pub use tanh::tanh_f32;

// `Element` for `f32` and `f64`: here, beside every kernel it calls, so that `element.rs`
// (the trait) depends on none of them.
#[allow(unused_imports)]
use crate::prelude::*;
use operands::Finish;

/// Implements [`Element`] for a primitive float.
macro_rules! impl_element {
    ($t:ty, $gemm:path, $avx2:ident, $avx512:ident, $tanh:expr) => {
        impl Element for $t {
            #[cfg(target_arch = "x86_64")]
            type Avx2 = simd::$avx2;
            #[cfg(target_arch = "x86_64")]
            type Avx512 = simd::$avx512;
            fn tanh_in_place(xs: &mut [Self]) {
                $tanh(xs)
            }
            #[cfg(feature = "std")]
            fn with_scratch<R>(kind: Scratch, len: usize, f: impl FnOnce(&mut [Self]) -> R) -> R {
                std::thread_local! {
                    static SCRATCH: [core::cell::RefCell<Vec<$t>>; 2] = const {
                        [core::cell::RefCell::new(Vec::new()), core::cell::RefCell::new(Vec::new())]
                    };
                }
                // A line more than asked for, so that the slice can start a cache line.
                let room = len + operands::LINE / size_of::<$t>();
                SCRATCH.with(|kinds| {
                    let mut buf = kinds[kind as usize].borrow_mut();
                    if buf.len() < room {
                        buf.resize(room, 0.0);
                    }
                    let start = operands::line_offset(&buf);
                    f(&mut buf[start..start + len])
                })
            }
            unsafe fn gemm_raw(
                m: usize,
                k: usize,
                n: usize,
                alpha: Self,
                a: (*const Self, isize, isize),
                b: (*const Self, isize, isize),
                beta: Self,
                c: (*mut Self, isize, isize),
            ) {
                // SAFETY: the caller keeps every index inside the allocations.
                unsafe {
                    $gemm(
                        m, k, n, alpha, a.0, a.1, a.2, b.0, b.1, b.2, beta, c.0, c.1, c.2,
                    )
                }
            }
            fn gemm(alpha: Self, a: Mat<'_, Self>, b: Mat<'_, Self>, beta: Self, c: &mut [Self]) {
                self::matmul::product(alpha, a, b, beta, c)
            }
            fn gemm_update(
                a: Mat<'_, Self>,
                b: Mat<'_, Self>,
                grad: &mut [Self],
                w: &mut [Self],
                rule: &Update<Self>,
                slots: [&mut [Self]; 3],
            ) {
                self::matmul::product_update(a, b, grad, w, rule, slots)
            }
            unsafe fn vec_mat_on_isa(
                isa: Isa,
                x: &[Self],
                b: &[Self],
                bias: &[Self],
                y: &mut [Self],
            ) {
                // SAFETY: this function's `# Safety`, which its caller upholds.
                unsafe { self::gemv::dispatch_here(isa, x, b, bias, y) }
            }
            unsafe fn packed_product(
                b: &PackedB<Self>,
                a: &[Self],
                rs: usize,
                c: &mut [Self],
                accumulate: bool,
                finish: Finish<Self>,
            ) {
                // SAFETY: this function's `# Safety`, which its caller upholds.
                unsafe { self::packed::product(b, a, rs, c, accumulate, finish) }
            }
            unsafe fn packed_row(b: &PackedB<Self>, x: &[Self], y: &mut [Self]) {
                // SAFETY: this function's `# Safety`, which its caller upholds.
                unsafe { self::packed_row::product(b, x, y) }
            }
            fn try_gathered(
                a: Gathered<'_, Self>,
                b: &[Self],
                c: &mut [Self],
                accumulate: bool,
            ) -> bool {
                self::narrow::try_gathered_here(a, b, c, accumulate)
            }
            fn pack_panels(
                b: operands::Strided<'_, Self>,
                rows: core::ops::Range<usize>,
                cols: core::ops::Range<usize>,
                width: usize,
                dst: &mut [Self],
            ) {
                self::tile::pack_panels(b, rows, cols, width, dst)
            }
            fn first_non_finite(xs: &[Self]) -> Option<usize> {
                self::non_finite::first_non_finite(xs)
            }
            fn update(rule: &Update<Self>, w: &mut [Self], g: &[Self], slots: [&mut [Self]; 3]) {
                self::update::update_here(rule, w, g, slots)
            }
            fn relu(xs: &mut [Self]) {
                self::elementwise::relu(xs)
            }
            fn relu_gradient(y: &[Self], dy: &[Self], dz: &mut [Self]) {
                self::elementwise::relu_gradient(y, dy, dz)
            }
            fn relu_gradient_in_place(y: &[Self], dy: &mut [Self]) {
                self::elementwise::relu_gradient_in_place(y, dy)
            }
            fn add_into(sum: &mut [Self], part: &[Self]) {
                self::elementwise::add(sum, part)
            }
            fn resize_zeroed(v: &mut Vec<Self>, len: usize) {
                v.resize(len, 0.0)
            }
            fn dropout(x: &[Self], draws: KeepDraws<'_>, scale: Self, y: &mut [Self]) {
                self::elementwise::dropout(x, draws, scale, y)
            }
        }
    };
}

impl_element!(
    f32,
    matrixmultiply::sgemm,
    Avx2F32,
    Avx512F32,
    self::tanh_f32
);
impl_element!(
    f64,
    matrixmultiply::dgemm,
    Avx2F64,
    Avx512F64,
    |xs: &mut [f64]| xs.iter_mut().for_each(|v| *v = num_traits::Float::tanh(*v))
);

#[cfg(all(test, feature = "std"))]
mod tests {
    use super::*;

    #[test]
    fn scratch_buffers_start_a_cache_line() {
        for len in [1, 17, 4000, 3] {
            f32::with_scratch(Scratch::Packing, len, |buf| {
                assert_eq!(buf.len(), len);
                assert_eq!(buf.as_ptr() as usize % operands::LINE, 0);
            });
            f64::with_scratch(Scratch::Activations, len, |buf| {
                assert_eq!(buf.as_ptr() as usize % operands::LINE, 0);
            });
        }
    }
}
