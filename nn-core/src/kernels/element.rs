//! The element types the kernels multiply, and what each brings to them: its SIMD registers,
//! its `matrixmultiply` entry point and its per-thread scratch buffers.
//!
//! `Float` extends [`Element`]; users never name it (it is reachable only through the
//! `kernels` feature), so implementing `Float` stays closed to `f32` and `f64`.

#[allow(unused_imports)]
use crate::prelude::*;

use core::fmt::Debug;
use core::iter::Sum;
use core::ops::{AddAssign, DivAssign, MulAssign, SubAssign};

#[cfg(target_arch = "x86_64")]
use super::simd::{self, Vector};
use super::tile::Finish;
use super::{Gathered, Isa, Mat, PackedB, Update};

/// A floating-point type the kernels know how to multiply fast: `f32` or `f64`.
///
/// Each names its AVX2 and AVX-512 registers for the hand-written kernels; on a CPU without
/// them products go to the `matrixmultiply` crate, which needs one entry point per type
/// ([`Element::gemm_raw`]).
pub trait Element:
    num_traits::Float
    + Default
    + Debug
    + Send
    + Sync
    + Sum
    + AddAssign
    + SubAssign
    + MulAssign
    + DivAssign
    + 'static
{
    /// This type's AVX2 register.
    #[cfg(target_arch = "x86_64")]
    type Avx2: Vector<Elem = Self>;

    /// This type's AVX-512 register.
    #[cfg(target_arch = "x86_64")]
    type Avx512: Vector<Elem = Self>;

    /// Replaces every element by its hyperbolic tangent: the vectorised approximation of
    /// [`super::tanh_f32`] for `f32`, the exact function for `f64`.
    fn tanh_in_place(xs: &mut [Self]);

    /// Runs `f` on this thread's scratch buffer of kind `kind`, at least `len` elements, kept
    /// between calls so that its users do not allocate once it has grown. The contents are
    /// whatever the last user left.
    ///
    /// # Panics
    /// If called again for the same kind from inside `f`.
    #[cfg(feature = "std")]
    fn with_scratch<R>(kind: Scratch, len: usize, f: impl FnOnce(&mut [Self]) -> R) -> R;

    /// `C = alpha * A * B + beta * C` on strided matrices; see [`super::gemm`].
    ///
    /// # Safety
    /// Every index reached through the sizes and strides must be inside the allocations.
    #[allow(clippy::too_many_arguments)]
    unsafe fn gemm_raw(
        m: usize,
        k: usize,
        n: usize,
        alpha: Self,
        a: (*const Self, isize, isize),
        b: (*const Self, isize, isize),
        beta: Self,
        c: (*mut Self, isize, isize),
    );

    // The kernels' entry points, one implementation per type in this crate: their code is
    // compiled here, at this crate's optimisation level, once, instead of being
    // monomorphized into every crate that builds a model (where a debug build would run it
    // unoptimised). Each is the generic function it names, for `Self`.

    /// [`super::gemm`].
    fn gemm(alpha: Self, a: Mat<'_, Self>, b: Mat<'_, Self>, beta: Self, c: &mut [Self]);

    /// `gemv::dispatch`: `y = x · B (+ bias)` on `isa`.
    ///
    /// # Safety
    /// `b` holds `x.len() * y.len()` elements, `bias` none or `y.len()`, and this CPU has `isa`.
    unsafe fn vec_mat_on_isa(isa: Isa, x: &[Self], b: &[Self], bias: &[Self], y: &mut [Self]);

    /// `PackedB::product`.
    ///
    /// # Safety
    /// `finish.bias`, when not null, points at `b`'s `n` columns of bias.
    unsafe fn packed_product(
        b: &PackedB<Self>,
        a: &[Self],
        rs: usize,
        c: &mut [Self],
        accumulate: bool,
        finish: Finish<Self>,
    );

    /// `narrow::try_gathered`.
    fn try_gathered(a: Gathered<'_, Self>, b: &[Self], c: &mut [Self], accumulate: bool) -> bool;

    /// `non_finite::first_non_finite`: the index of the first NaN or infinity in `xs`.
    fn first_non_finite(xs: &[Self]) -> Option<usize>;

    /// `update::update_here`: an optimizer's `rule` on one piece of the weights `w`, their
    /// gradients `g` and up to three slot arrays (each as long as `w`, or empty).
    fn update(rule: &Update<Self>, w: &mut [Self], g: &[Self], slots: [&mut [Self]; 3]);

    /// `elementwise::relu`: ReLU in place.
    fn relu(xs: &mut [Self]);

    /// `elementwise::relu_gradient`: ReLU's input gradient from its output and output gradient.
    fn relu_gradient(y: &[Self], dy: &[Self], dz: &mut [Self]);

    /// `elementwise::relu_gradient_in_place`: the same, overwriting the output gradient.
    fn relu_gradient_in_place(y: &[Self], dy: &mut [Self]);

    /// `elementwise::add`: `sum += part`.
    fn add_into(sum: &mut [Self], part: &[Self]);

    /// `elementwise::dropout`: inverted dropout on one block of draws.
    #[allow(clippy::too_many_arguments)]
    fn dropout(
        x: &[Self],
        draws: &[u32],
        threshold: u32,
        keeps_any: bool,
        scale: Self,
        y: &mut [Self],
        mask: &mut [Self],
    );
}

/// The kinds of per-thread scratch [`Element::with_scratch`] keeps, one buffer each, so that a
/// user of one kind may call code that uses the other.
#[cfg(feature = "std")]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scratch {
    /// A cache-blocked product's packed panels.
    Packing = 0,
    /// The activations a batched inference pass ping-pongs between.
    Activations = 1,
}

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
                SCRATCH.with(|kinds| {
                    let mut buf = kinds[kind as usize].borrow_mut();
                    if buf.len() < len {
                        buf.resize(len, 0.0);
                    }
                    f(&mut buf[..len])
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
                super::matmul::product(alpha, a, b, beta, c)
            }
            unsafe fn vec_mat_on_isa(
                isa: Isa,
                x: &[Self],
                b: &[Self],
                bias: &[Self],
                y: &mut [Self],
            ) {
                // SAFETY: this function's `# Safety`, which its caller upholds.
                unsafe { super::gemv::dispatch_here(isa, x, b, bias, y) }
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
                unsafe { super::packed::product(b, a, rs, c, accumulate, finish) }
            }
            fn try_gathered(
                a: Gathered<'_, Self>,
                b: &[Self],
                c: &mut [Self],
                accumulate: bool,
            ) -> bool {
                super::narrow::try_gathered_here(a, b, c, accumulate)
            }
            fn first_non_finite(xs: &[Self]) -> Option<usize> {
                super::non_finite::first_non_finite(xs)
            }
            fn update(rule: &Update<Self>, w: &mut [Self], g: &[Self], slots: [&mut [Self]; 3]) {
                super::update::update_here(rule, w, g, slots)
            }
            fn relu(xs: &mut [Self]) {
                super::elementwise::relu(xs)
            }
            fn relu_gradient(y: &[Self], dy: &[Self], dz: &mut [Self]) {
                super::elementwise::relu_gradient(y, dy, dz)
            }
            fn relu_gradient_in_place(y: &[Self], dy: &mut [Self]) {
                super::elementwise::relu_gradient_in_place(y, dy)
            }
            fn add_into(sum: &mut [Self], part: &[Self]) {
                super::elementwise::add(sum, part)
            }
            fn dropout(
                x: &[Self],
                draws: &[u32],
                threshold: u32,
                keeps_any: bool,
                scale: Self,
                y: &mut [Self],
                mask: &mut [Self],
            ) {
                super::elementwise::dropout(x, draws, threshold, keeps_any, scale, y, mask)
            }
        }
    };
}

impl_element!(
    f32,
    matrixmultiply::sgemm,
    Avx2F32,
    Avx512F32,
    super::tanh_f32
);
impl_element!(
    f64,
    matrixmultiply::dgemm,
    Avx2F64,
    Avx512F64,
    |xs: &mut [f64]| xs.iter_mut().for_each(|v| *v = num_traits::Float::tanh(*v))
);
