//! `Flatten`: reshapes each sample to one axis, row-major over all axes (as Keras).

#[allow(unused_imports)]
use crate::prelude::*;

use super::{output_gradient, Layer, Mode, Upstream};
use crate::Float;

/// Flattens samples of `N` elements. The data is already row-major, so this is a copy.
#[derive(Clone, Copy, Debug, Default)]
pub struct Flatten<const N: usize>;

impl<const N: usize> Flatten<N> {
    /// The layer.
    pub const fn new() -> Self {
        Flatten
    }
}

impl<T: Float, const N: usize> Layer<T> for Flatten<N> {
    fn input_size(&self) -> usize {
        N
    }
    fn output_size(&self) -> usize {
        N
    }
    fn forward(&self, x: &[T], y: &mut [T], _cache: &mut [T], _mode: Mode<'_>) {
        y.copy_from_slice(x);
    }
    fn only_reshapes(&self) -> bool {
        true
    }
    fn backward(
        &self,
        _x: &[T],
        _y: &[T],
        _cache: &mut [T],
        upstream: Upstream<'_, T>,
        dx: Option<&mut [T]>,
        _grad: &mut [T],
    ) {
        if let Some(dx) = dx {
            dx.copy_from_slice(output_gradient(upstream));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::gradient_check::check_layer;
    use super::*;

    #[test]
    fn passes_the_gradient_check() {
        check_layer(&mut Flatten::<12>::new(), 2);
    }
}
