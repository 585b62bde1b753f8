//! Adagrad.

#[allow(unused_imports)]
use crate::prelude::*;

use super::{ElementwiseStep, Optimizer, Slots};
use crate::kernels::{Accumulate, Update};
use crate::Float;

/// Keras's `Adagrad(learning_rate=0.001, initial_accumulator_value=0.1, epsilon=1e-7)`:
/// `a += g^2; w -= lr * g / sqrt(a + eps)`.
#[derive(Clone, Debug)]
pub struct Adagrad<T = f32> {
    lr: f64,
    initial_accumulator: f64,
    epsilon: f64,
    iterations: u64,
    accumulators: Slots<T>,
}

impl<T: Float> Adagrad<T> {
    /// Adagrad with this learning rate and Keras's other defaults.
    pub fn new(learning_rate: f64) -> Self {
        Self {
            lr: learning_rate,
            initial_accumulator: 0.1,
            epsilon: 1e-7,
            iterations: 0,
            accumulators: Slots::default(),
        }
    }
    /// The accumulators' starting value (Keras default 0.1).
    pub fn initial_accumulator_value(mut self, value: f64) -> Self {
        self.initial_accumulator = value;
        self
    }
    /// The epsilon inside the square root (Keras default 1e-7).
    pub fn epsilon(mut self, epsilon: f64) -> Self {
        self.epsilon = epsilon;
        self
    }
}

impl<T: Float> Default for Adagrad<T> {
    fn default() -> Self {
        Self::new(0.001)
    }
}

impl<T: Float> Adagrad<T> {
    /// This step's rule for weight array `slot` of `len` weights.
    fn step(&mut self, slot: usize, len: usize) -> ElementwiseStep<'_, T> {
        let rule = Accumulate {
            lr: T::of(self.lr),
            eps: T::of(self.epsilon),
        };
        let acc = self
            .accumulators
            .get(slot, len, T::of(self.initial_accumulator));
        ElementwiseStep {
            rule: Update::Adagrad(rule),
            slots: [acc, &mut [], &mut []],
        }
    }
}

impl<T: Float> Optimizer<T> for Adagrad<T> {
    fn update(&mut self, slot: usize, w: &mut [T], g: &[T]) {
        self.step(slot, w.len()).apply(w, g)
    }
    fn elementwise_step(&mut self, slot: usize, len: usize) -> Option<ElementwiseStep<'_, T>> {
        Some(self.step(slot, len))
    }
    fn finish_step(&mut self) {
        self.iterations += 1;
    }
    fn state(&self) -> Vec<(String, Vec<f64>)> {
        let mut out = Vec::new();
        self.accumulators.export("accumulator", &mut out);
        out
    }
    fn set_state(&mut self, state: &[(String, Vec<f64>)]) -> Result<(), crate::Error> {
        self.accumulators.import("accumulator", state)?;
        Ok(())
    }
}

learning_rate_fields!(Adagrad);

#[cfg(test)]
mod tests {
    use super::super::test_support::{assert_close, bowl, run};
    use super::*;

    #[test]
    fn updates_match_hand_computed_keras_steps() {
        // w = 3, g = 4: a = 0.1 + 16 = 16.1, w = 3 - 0.5 * 4 / sqrt(16.1 + 1e-7).
        let w1 = 3.0 - 0.5 * 4.0 / (16.1f64 + 1e-7).sqrt();
        let g2 = 2.0 * (w1 - 1.0);
        let w2 = w1 - 0.5 * g2 / (16.1 + g2 * g2 + 1e-7f64).sqrt();
        let got = run(&mut Adagrad::new(0.5), &[3.0], 2, bowl);
        assert_close(&got, &[vec![w1], vec![w2]]);
    }
}
