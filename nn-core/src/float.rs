//! The element type of a model: `f32` by default, `f64` for gradient checks.

#[allow(unused_imports)]
use crate::prelude::*;

use core::fmt::{Debug, Display};
use core::iter::Sum;
use core::ops::{AddAssign, DivAssign, MulAssign, SubAssign};

#[cfg(target_arch = "x86_64")]
use crate::kernels::simd::{self, Vector};

/// A floating-point element type that the kernels know how to multiply fast.
///
/// Implemented for `f32` and `f64`. Each names its AVX2 and AVX-512 registers for the
/// hand-written kernels; on a CPU without them products go to the `matrixmultiply` crate,
/// which needs one entry point per type ([`Float::gemm_raw`]).
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not an element type of typed-nn",
    label = "models, layers and optimizers work on `f32` (default) or `f64`"
)]
pub trait Float:
    num_traits::Float
    + Default
    + Debug
    + Display
    + Send
    + Sync
    + Sum
    + AddAssign
    + SubAssign
    + MulAssign
    + DivAssign
    + 'static
{
    /// The safetensors / numpy name of the type (`"F32"`, `"F64"`).
    const DTYPE: &'static str;

    /// This type's AVX2 register, for the hand-tiled kernels.
    #[cfg(target_arch = "x86_64")]
    type Avx2: Vector<Elem = Self>;

    /// This type's AVX-512 register, for the hand-tiled kernels.
    #[cfg(target_arch = "x86_64")]
    type Avx512: Vector<Elem = Self>;

    /// Converts an `f64` constant (a hyper-parameter, a literal) to this type.
    fn of(x: f64) -> Self;

    /// Replaces every element by its hyperbolic tangent: the vectorised approximation of
    /// [`crate::kernels::tanh_f32`] for `f32`, the exact function for `f64`.
    fn tanh_in_place(xs: &mut [Self]);

    /// Widens to `f64` (for logs, metrics and reports).
    fn as_f64(self) -> f64;

    /// Appends the little-endian bytes (safetensors' byte order).
    fn write_le(self, out: &mut Vec<u8>);

    /// Reads a value from `size_of::<Self>()` little-endian bytes.
    fn read_le(bytes: &[u8]) -> Self;

    /// Runs `f` on this thread's scratch buffer of kind `kind`, at least `len` elements, kept
    /// between calls so that its users do not allocate once it has grown. The contents are
    /// whatever the last user left.
    ///
    /// # Panics
    /// If called again for the same kind from inside `f`.
    #[cfg(feature = "std")]
    fn with_scratch<R>(kind: Scratch, len: usize, f: impl FnOnce(&mut [Self]) -> R) -> R;

    /// `C = alpha * A * B + beta * C` on strided matrices; see [`crate::kernels::gemm`].
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
}

/// The kinds of per-thread scratch [`Float::with_scratch`] keeps, one buffer each, so that a
/// user of one kind may call code that uses the other.
#[cfg(feature = "std")]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scratch {
    /// A cache-blocked product's packed panels.
    Packing = 0,
    /// The activations a batched inference pass ping-pongs between.
    Activations = 1,
}

/// Implements [`Float`] for a primitive float and its `matrixmultiply` entry point.
macro_rules! impl_float {
    ($t:ty, $dtype:literal, $gemm:path, $avx2:ident, $avx512:ident, $tanh:expr) => {
        impl Float for $t {
            const DTYPE: &'static str = $dtype;
            #[cfg(target_arch = "x86_64")]
            type Avx2 = simd::$avx2;
            #[cfg(target_arch = "x86_64")]
            type Avx512 = simd::$avx512;
            fn of(x: f64) -> Self {
                x as $t
            }
            fn tanh_in_place(xs: &mut [Self]) {
                $tanh(xs)
            }
            fn as_f64(self) -> f64 {
                self as f64
            }
            fn write_le(self, out: &mut Vec<u8>) {
                out.extend_from_slice(&self.to_le_bytes());
            }
            fn read_le(bytes: &[u8]) -> Self {
                let mut b = [0u8; core::mem::size_of::<$t>()];
                b.copy_from_slice(bytes);
                <$t>::from_le_bytes(b)
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
                $gemm(
                    m, k, n, alpha, a.0, a.1, a.2, b.0, b.1, b.2, beta, c.0, c.1, c.2,
                )
            }
        }
    };
}

impl_float!(
    f32,
    "F32",
    matrixmultiply::sgemm,
    Avx2F32,
    Avx512F32,
    crate::kernels::tanh_f32
);
impl_float!(
    f64,
    "F64",
    matrixmultiply::dgemm,
    Avx2F64,
    Avx512F64,
    |xs: &mut [f64]| xs.iter_mut().for_each(|v| *v = num_traits::Float::tanh(*v))
);
