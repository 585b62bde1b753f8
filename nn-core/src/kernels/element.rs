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

use super::operands::{Finish, Gathered, KeepDraws, Mat, PackedB, Strided, Update};
use super::Isa;

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
    type Avx512: Realign<Elem = Self>;

    /// Replaces every element by its hyperbolic tangent: the vectorised approximation of
    /// `tanh_f32` for `f32`, the exact function for `f64`.
    fn tanh_in_place(xs: &mut [Self]);

    /// Runs `f` on this thread's scratch buffer of kind `kind`, at least `len` elements, kept
    /// between calls so that its users do not allocate once it has grown. The contents are
    /// whatever the last user left.
    ///
    /// # Panics
    /// If called again for the same kind from inside `f`.
    #[cfg(feature = "std")]
    fn with_scratch<R>(kind: Scratch, len: usize, f: impl FnOnce(&mut [Self]) -> R) -> R;

    /// `C = alpha * A * B + beta * C` on strided matrices; see `gemm`.
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

    /// `gemm`.
    fn gemm(alpha: Self, a: Mat<'_, Self>, b: Mat<'_, Self>, beta: Self, c: &mut [Self]);

    /// `gemm_update`.
    fn gemm_update(
        a: Mat<'_, Self>,
        b: Mat<'_, Self>,
        grad: &mut [Self],
        w: &mut [Self],
        rule: &Update<Self>,
        slots: [&mut [Self]; 3],
    );

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

    /// `packed_row::product`: `y = x · B` for one row over `b`'s panels.
    ///
    /// # Safety
    /// `x` holds `b`'s `k` elements and `y` its `n`.
    unsafe fn packed_row(b: &PackedB<Self>, x: &[Self], y: &mut [Self]);

    /// `narrow::try_gathered`.
    fn try_gathered(a: Gathered<'_, Self>, b: &[Self], c: &mut [Self], accumulate: bool) -> bool;

    /// `tile::pack_panels`: `B[rows, cols]` copied into panels of `width` columns (packing a
    /// layer's kernel for batched inference, or a thread's rows of it for a split step).
    fn pack_panels(
        b: Strided<'_, Self>,
        rows: core::ops::Range<usize>,
        cols: core::ops::Range<usize>,
        width: usize,
        dst: &mut [Self],
    );

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

    /// `v.resize(len, 0)`: the zero fill of a growing buffer, compiled here rather than in
    /// the caller's crate (where a debug build filled it one element at a time).
    fn resize_zeroed(v: &mut Vec<Self>, len: usize);

    /// `elementwise::dropout`: inverted dropout with its draws, forward or backward.
    fn dropout(x: &[Self], draws: KeepDraws<'_>, scale: Self, y: &mut [Self]);
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

/// A SIMD register of `LANES` elements.
///
/// Every method is `unsafe` for the same reason: it may only run where the register's
/// instruction set is available, and pointers must be valid for the elements it touches.
///
/// # Safety
/// Implementations for an instruction set may only be used on CPUs that support it, from code
/// compiled with that target feature; pointers must be valid for `LANES` elements.
#[allow(clippy::missing_safety_doc)]
pub unsafe trait Vector: Copy {
    /// The element type.
    type Elem: Element;
    /// Elements per register.
    const LANES: usize;
    /// All lanes zero.
    unsafe fn zero() -> Self;
    /// All lanes `x`.
    unsafe fn splat(x: Self::Elem) -> Self;
    /// `LANES` elements from `p` (unaligned).
    unsafe fn load(p: *const Self::Elem) -> Self;
    /// Stores the lanes to `p` (unaligned).
    unsafe fn store(self, p: *mut Self::Elem);
    /// `a * b + c` lane by lane (fused on the x86 registers).
    unsafe fn mul_add(a: Self, b: Self, c: Self) -> Self;
    /// `a + b` lane by lane.
    unsafe fn add(a: Self, b: Self) -> Self;
    /// `a` where `a > b`, else `b`, lane by lane: x86's `max`. ReLU is `max(0, x)`: `x` for a
    /// NaN or a zero of either sign, as TensorFlow's `relu` (`x < 0 ? 0 : x`).
    unsafe fn max(a: Self, b: Self) -> Self;
    /// ReLU's gradient gate, lane by lane: `d` where `y` is not `<= 0` (above zero, or NaN),
    /// zero where it is, as `y <= 0 ? 0 : d`. A select, so that a loop writing it back in
    /// place stores whole registers: written as a plain loop, the compiler turns it into a
    /// conditional store, which AVX2 makes a `vmaskmovps` (microcoded on AMD Zen).
    unsafe fn relu_gate(y: Self, d: Self) -> Self;
    /// The first `count < LANES` elements from `p`, the other lanes zero.
    unsafe fn load_partial(p: *const Self::Elem, count: usize) -> Self;
    /// Stores the first `count < LANES` lanes to `p`.
    unsafe fn store_partial(self, p: *mut Self::Elem, count: usize);
}

/// A register that reads aligned memory by lanes and shifts across a pair: what the batch-1
/// product needs to read rows of `B` that do not start on a register boundary (AVX-512's
/// masked loads and two-register permutes).
///
/// # Safety
/// As for [`Vector`].
#[allow(clippy::missing_safety_doc)]
pub unsafe trait Realign: Vector {
    /// Lanes `from..to` of the register at `p` (`from <= to <= LANES`), the others zero; only
    /// those lanes are read, so the rest of the register may lie outside any allocation.
    unsafe fn load_lanes(p: *const Self::Elem, from: usize, to: usize) -> Self;
    /// Lanes `shift..shift + LANES` of `lo` followed by `hi` (`shift < LANES`).
    unsafe fn realign(lo: Self, hi: Self, shift: usize) -> Self;
}
