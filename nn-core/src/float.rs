//! The element type of a model: `f32` by default, `f64` for gradient checks.

#[allow(unused_imports)]
use crate::prelude::*;

use core::fmt::Display;

use crate::kernels::Element;
use crate::network::Passes;

/// The element type of a model, a layer or an optimizer: `f32` (the default) or `f64`.
///
/// Sealed: the kernels are written for these two types.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not an element type of typed-nn",
    label = "models, layers and optimizers work on `f32` (default) or `f64`"
)]
pub trait Float: Element + Passes + Display {
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
}

/// Implements [`Float`] for a primitive float.
macro_rules! impl_float {
    ($t:ty, $dtype:literal) => {
        impl Float for $t {
            const DTYPE: &'static str = $dtype;
            fn of(x: f64) -> Self {
                x as $t
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
        }
    };
}

impl_float!(f32, "F32");
impl_float!(f64, "F64");
