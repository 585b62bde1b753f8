//! The element type of a model: `f32` by default, `f64` for gradient checks.

use std::fmt::{Debug, Display};
use std::iter::Sum;
use std::ops::{AddAssign, DivAssign, MulAssign, SubAssign};

/// A floating-point element type that the kernels know how to multiply fast.
///
/// Implemented for `f32` and `f64`. The matrix product is delegated to the `matrixmultiply`
/// crate (packed, cache-blocked, runtime AVX2/FMA dispatch), which needs one entry point per type.
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

    /// Converts an `f64` constant (a hyper-parameter, a literal) to this type.
    fn of(x: f64) -> Self;

    /// Widens to `f64` (for logs, metrics and reports).
    fn as_f64(self) -> f64;

    /// Appends the little-endian bytes (safetensors' byte order).
    fn write_le(self, out: &mut Vec<u8>);

    /// Reads a value from `size_of::<Self>()` little-endian bytes.
    fn read_le(bytes: &[u8]) -> Self;

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

impl Float for f32 {
    const DTYPE: &'static str = "F32";
    fn of(x: f64) -> Self {
        x as f32
    }
    fn as_f64(self) -> f64 {
        self as f64
    }
    fn write_le(self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.to_le_bytes());
    }
    fn read_le(bytes: &[u8]) -> Self {
        let mut b = [0u8; std::mem::size_of::<f32>()];
        b.copy_from_slice(bytes);
        f32::from_le_bytes(b)
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
        matrixmultiply::sgemm(
            m, k, n, alpha, a.0, a.1, a.2, b.0, b.1, b.2, beta, c.0, c.1, c.2,
        )
    }
}

impl Float for f64 {
    const DTYPE: &'static str = "F64";
    fn of(x: f64) -> Self {
        x
    }
    fn as_f64(self) -> f64 {
        self
    }
    fn write_le(self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.to_le_bytes());
    }
    fn read_le(bytes: &[u8]) -> Self {
        let mut b = [0u8; std::mem::size_of::<f64>()];
        b.copy_from_slice(bytes);
        f64::from_le_bytes(b)
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
        matrixmultiply::dgemm(
            m, k, n, alpha, a.0, a.1, a.2, b.0, b.1, b.2, beta, c.0, c.1, c.2,
        )
    }
}
