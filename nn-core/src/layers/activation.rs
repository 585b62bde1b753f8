//! Activation layers (`Relu`, `Softmax`, ... used on their own in a chain).

use super::{Layer, Logits, Mode, Upstream};
use crate::activation::Activation;
use crate::Float;

/// Applies activation `A` to samples of `N` elements, along rows of `LAST` elements (the last
/// axis, which is what softmax normalises over).
#[derive(Clone, Copy, Debug, Default)]
pub struct ActivationLayer<A, const N: usize, const LAST: usize> {
    activation: A,
}

impl<A: Activation, const N: usize, const LAST: usize> ActivationLayer<A, N, LAST> {
    /// The layer for this activation.
    pub const fn new(activation: A) -> Self {
        Self { activation }
    }

    /// The activation applied.
    pub fn activation(&self) -> A {
        self.activation
    }
}

impl<T: Float, A: Activation, const N: usize, const LAST: usize> Layer<T>
    for ActivationLayer<A, N, LAST>
{
    fn input_size(&self) -> usize {
        N
    }
    fn output_size(&self) -> usize {
        N
    }
    fn forward(&self, x: &[T], y: &mut [T], _cache: &mut [T], _mode: Mode<'_>) {
        y.copy_from_slice(x);
        y.chunks_exact_mut(LAST)
            .for_each(|row| self.activation.forward(row));
    }
    fn logits<'a>(&self, x: &'a [T], _cache: &'a [T]) -> Option<Logits<'a, T>> {
        let kind = self.activation.logits_kind()?;
        Some(Logits { kind, values: x })
    }
    fn backward(
        &self,
        _x: &[T],
        y: &[T],
        _cache: &[T],
        upstream: Upstream<'_, T>,
        dx: Option<&mut [T]>,
        _grad: &mut [T],
    ) {
        let Some(dx) = dx else { return };
        match upstream {
            Upstream::Logits(dz) => dx.copy_from_slice(dz),
            Upstream::Output(dy) => {
                dx.copy_from_slice(dy);
                for (d, y) in dx.chunks_exact_mut(LAST).zip(y.chunks_exact(LAST)) {
                    self.activation.backward(y, d);
                }
            }
        }
    }
}
