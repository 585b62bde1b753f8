//! The activation layer: an activation function of `activation.rs` (`Relu`, `Softmax`, ...)
//! used on its own in a chain.

#[allow(unused_imports)]
use crate::prelude::*;

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
        self.activation.forward_rows(y, LAST);
    }
    fn logits<'a>(&self, x: &'a [T], _cache: &'a [T]) -> Option<Logits<'a, T>> {
        let kind = self.activation.logits_kind()?;
        Some(Logits {
            kind,
            values: x,
            row_sums: &[],
        })
    }
    fn backward(
        &self,
        _x: &[T],
        y: &[T],
        _cache: &mut [T],
        upstream: Upstream<'_, T>,
        dx: Option<&mut [T]>,
        _grad: &mut [T],
    ) {
        let Some(dx) = dx else { return };
        match upstream {
            Upstream::Logits(dz) => dx.copy_from_slice(dz),
            Upstream::Output(dy) => {
                dx.copy_from_slice(dy);
                self.activation.backward_rows(y, dx, LAST);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::gradient_check::check_layer;
    use super::*;
    use crate::activation::{Elu, LeakyRelu, Relu, Sigmoid, Softmax, Tanh};

    #[test]
    fn every_activation_layer_passes_the_gradient_check() {
        check_layer(&mut ActivationLayer::<_, 6, 6>::new(Relu), 2);
        check_layer(
            &mut ActivationLayer::<_, 6, 6>::new(LeakyRelu::default()),
            2,
        );
        check_layer(&mut ActivationLayer::<_, 6, 6>::new(Elu::default()), 2);
        check_layer(&mut ActivationLayer::<_, 6, 6>::new(Sigmoid), 2);
        check_layer(&mut ActivationLayer::<_, 6, 6>::new(Tanh), 2);
        // Softmax over a last axis of 3 inside samples of 6 (a (2, 3) tensor).
        check_layer(&mut ActivationLayer::<_, 6, 3>::new(Softmax), 2);
    }

    #[test]
    fn softmax_normalises_each_row_of_the_last_axis() {
        let layer = ActivationLayer::<_, 4, 2>::new(Softmax);
        let mut y = [0.0f64; 4];
        Layer::<f64>::forward(
            &layer,
            &[0.0, 0.0, 1.0, 1.0],
            &mut y,
            &mut [],
            Mode::Predict,
        );
        assert_eq!(y, [0.5, 0.5, 0.5, 0.5]);
    }
}
