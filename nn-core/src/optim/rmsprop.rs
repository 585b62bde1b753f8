//! RMSprop.

#[allow(unused_imports)]
use crate::prelude::*;

use super::{ElementwiseStep, Optimizer, Slots};
use crate::kernels::{Average, Update};
use crate::Float;

/// Keras's `RMSprop(learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-7, centered=False)`.
///
/// `v = rho v + (1 - rho) g^2`; the step is `lr g / sqrt(v + eps)` (centered: the denominator
/// is `sqrt(v - mg^2 + eps)` with `mg` the running mean of `g`), applied through a momentum
/// buffer when `momentum > 0`. No bias correction, as in Keras.
#[derive(Clone, Debug)]
pub struct RmsProp<T = f32> {
    lr: f64,
    rho: f64,
    momentum: f64,
    epsilon: f64,
    centered: bool,
    iterations: u64,
    velocities: Slots<T>,
    average_gradients: Slots<T>,
    momenta: Slots<T>,
}

impl<T: Float> RmsProp<T> {
    /// RMSprop with this learning rate and Keras's other defaults.
    pub fn new(learning_rate: f64) -> Self {
        Self {
            lr: learning_rate,
            rho: 0.9,
            momentum: 0.0,
            epsilon: 1e-7,
            centered: false,
            iterations: 0,
            velocities: Slots::default(),
            average_gradients: Slots::default(),
            momenta: Slots::default(),
        }
    }
    /// The decay of the squared-gradient average (Keras default 0.9).
    pub fn rho(mut self, rho: f64) -> Self {
        self.rho = rho;
        self
    }
    /// The momentum factor (Keras default 0).
    pub fn momentum(mut self, momentum: f64) -> Self {
        self.momentum = momentum;
        self
    }
    /// The epsilon inside the square root (Keras default 1e-7).
    pub fn epsilon(mut self, epsilon: f64) -> Self {
        self.epsilon = epsilon;
        self
    }
    /// Normalise by the gradient's variance rather than its second moment.
    pub fn centered(mut self, centered: bool) -> Self {
        self.centered = centered;
        self
    }
}

impl<T: Float> Default for RmsProp<T> {
    fn default() -> Self {
        Self::new(0.001)
    }
}

impl<T: Float> RmsProp<T> {
    /// This step's rule for weight array `slot` of `len` weights.
    fn step(&mut self, slot: usize, len: usize) -> ElementwiseStep<'_, T> {
        let rule = Average {
            lr: T::of(self.lr),
            rho: T::of(self.rho),
            eps: T::of(self.epsilon),
            momentum: T::of(self.momentum),
        };
        let v = self.velocities.get(slot, len, T::zero());
        let mg = if self.centered {
            self.average_gradients.get(slot, len, T::zero())
        } else {
            &mut []
        };
        let m = if self.momentum > 0.0 {
            self.momenta.get(slot, len, T::zero())
        } else {
            &mut []
        };
        ElementwiseStep {
            rule: Update::RmsProp(rule),
            slots: [v, mg, m],
        }
    }
}

impl<T: Float> Optimizer<T> for RmsProp<T> {
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
        self.velocities.export("velocity", &mut out);
        self.average_gradients.export("average_gradient", &mut out);
        self.momenta.export("momentum", &mut out);
        out
    }
    fn set_state(&mut self, state: &[(String, Vec<f64>)]) -> Result<(), crate::Error> {
        self.velocities.import("velocity", state)?;
        self.average_gradients.import("average_gradient", state)?;
        self.momenta.import("momentum", state)?;
        Ok(())
    }
}

learning_rate_fields!(RmsProp);

#[cfg(test)]
mod tests {
    use super::super::test_support::{assert_close, bowl, run};
    use super::*;

    /// Keras's rule written out as scalars, step by step.
    fn reference(lr: f64, mu: f64, centered: bool, steps: usize) -> Vec<Vec<f64>> {
        let (mut w, mut v, mut mg, mut m) = (3.0f64, 0.0, 0.0, 0.0);
        let mut out = Vec::new();
        for _ in 0..steps {
            let g = 2.0 * (w - 1.0);
            v = 0.9 * v + 0.1 * g * g;
            let d = if centered {
                mg = 0.9 * mg + 0.1 * g;
                v - mg * mg + 1e-7
            } else {
                v + 1e-7
            };
            let step = lr * g / d.sqrt();
            if mu > 0.0 {
                m = mu * m + step;
                w -= m;
            } else {
                w -= step;
            }
            out.push(vec![w]);
        }
        out
    }

    #[test]
    fn plain_centered_and_momentum_variants_follow_keras() {
        // First plain step by hand: v = 0.1 * 16 = 1.6, w = 3 - 0.01 * 4 / sqrt(1.6 + 1e-7).
        let got = run(&mut RmsProp::new(0.01), &[3.0], 1, bowl);
        assert_close(&got, &[vec![3.0 - 0.04 / (1.6f64 + 1e-7).sqrt()]]);
        assert_close(
            &run(&mut RmsProp::new(0.01), &[3.0], 5, bowl),
            &reference(0.01, 0.0, false, 5),
        );
        assert_close(
            &run(&mut RmsProp::new(0.01).centered(true), &[3.0], 5, bowl),
            &reference(0.01, 0.0, true, 5),
        );
        assert_close(
            &run(&mut RmsProp::new(0.01).momentum(0.5), &[3.0], 5, bowl),
            &reference(0.01, 0.5, false, 5),
        );
    }
}
