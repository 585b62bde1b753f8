//! Stochastic gradient descent, with optional (Nesterov) momentum.

#[allow(unused_imports)]
use crate::prelude::*;

use super::{ElementwiseStep, Optimizer, Slots};
use crate::kernels::{Momentum, Plain, Update};
use crate::Float;

/// Keras's `SGD(learning_rate=0.01, momentum=0.0, nesterov=False)`.
///
/// Without momentum `w -= lr * g`. With momentum `v = m * v - lr * g`, then `w += v`, or
/// `w += m * v - lr * g` with Nesterov.
#[derive(Clone, Debug)]
pub struct Sgd<T = f32> {
    lr: f64,
    momentum: f64,
    nesterov: bool,
    iterations: u64,
    velocity: Slots<T>,
}

impl<T: Float> Sgd<T> {
    /// SGD with this learning rate and no momentum.
    pub fn new(learning_rate: f64) -> Self {
        Self {
            lr: learning_rate,
            momentum: 0.0,
            nesterov: false,
            iterations: 0,
            velocity: Slots::default(),
        }
    }
    /// Sets the momentum factor (Keras default 0).
    pub fn momentum(mut self, momentum: f64) -> Self {
        self.momentum = momentum;
        self
    }
    /// Turns Nesterov momentum on or off.
    pub fn nesterov(mut self, nesterov: bool) -> Self {
        self.nesterov = nesterov;
        self
    }
}

impl<T: Float> Default for Sgd<T> {
    fn default() -> Self {
        Self::new(0.01)
    }
}

impl<T: Float> Sgd<T> {
    /// This step's rule for weight array `slot` of `len` weights.
    fn step(&mut self, slot: usize, len: usize) -> ElementwiseStep<'_, T> {
        let lr = T::of(self.lr);
        if self.momentum == 0.0 {
            return ElementwiseStep {
                rule: Update::Plain(Plain { lr }),
                slots: [&mut [], &mut [], &mut []],
            };
        }
        let rule = Momentum {
            lr,
            momentum: T::of(self.momentum),
            nesterov: self.nesterov,
        };
        let v = self.velocity.get(slot, len, T::zero());
        ElementwiseStep {
            rule: Update::Momentum(rule),
            slots: [v, &mut [], &mut []],
        }
    }
}

impl<T: Float> Optimizer<T> for Sgd<T> {
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
        self.velocity.export("velocity", &mut out);
        out
    }
    fn set_state(&mut self, state: &[(String, Vec<f64>)]) -> Result<(), crate::Error> {
        self.velocity.import("velocity", state)?;
        Ok(())
    }
}

learning_rate_fields!(Sgd);

#[cfg(test)]
mod tests {
    use super::super::test_support::{assert_close, bowl, run};
    use super::*;

    #[test]
    fn plain_momentum_and_nesterov_match_hand_computed_keras_updates() {
        // Plain: w = 3, g = 2(w - 1) = 4 -> 3 - 0.1 * 4 = 2.6 -> g = 3.2 -> 2.28.
        let got = run(&mut Sgd::new(0.1), &[3.0], 2, bowl);
        assert_close(&got, &[vec![2.6], vec![2.28]]);
        // Momentum 0.9: v1 = -0.4, w1 = 2.6; g = 3.2, v2 = -0.36 - 0.32 = -0.68, w2 = 1.92.
        let got = run(&mut Sgd::new(0.1).momentum(0.9), &[3.0], 2, bowl);
        assert_close(&got, &[vec![2.6], vec![1.92]]);
        // Nesterov: v1 = -0.4, w1 = 3 + 0.9 * -0.4 - 0.4 = 2.24; g = 2.48,
        // v2 = -0.36 - 0.248 = -0.608, w2 = 2.24 + 0.9 * -0.608 - 0.248 = 1.4448.
        let got = run(
            &mut Sgd::new(0.1).momentum(0.9).nesterov(true),
            &[3.0],
            2,
            bowl,
        );
        assert_close(&got, &[vec![2.24], vec![1.4448]]);
    }
}
