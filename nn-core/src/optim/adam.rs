//! Adam and AMSGrad.

#[allow(unused_imports)]
use crate::prelude::*;

use super::{ElementwiseStep, Optimizer, Slots};
use crate::kernels::{Moments, Update};
use crate::Float;

/// Keras's `Adam(learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, amsgrad=False)`.
///
/// `m += (1 - b1)(g - m)`, `v += (1 - b2)(g^2 - v)`, and with `t = iterations + 1`,
/// `w -= lr sqrt(1 - b2^t) / (1 - b1^t) * m / (sqrt(v) + eps)`: the bias correction goes on
/// the learning rate and epsilon is added to the uncorrected `sqrt(v)`, exactly as Keras.
#[derive(Clone, Debug)]
pub struct Adam<T = f32> {
    lr: f64,
    beta_1: f64,
    beta_2: f64,
    epsilon: f64,
    amsgrad: bool,
    iterations: u64,
    m: Slots<T>,
    v: Slots<T>,
    v_hat: Slots<T>,
}

impl<T: Float> Adam<T> {
    /// Adam with this learning rate and Keras's other defaults.
    pub fn new(learning_rate: f64) -> Self {
        Self {
            lr: learning_rate,
            beta_1: 0.9,
            beta_2: 0.999,
            epsilon: 1e-7,
            amsgrad: false,
            iterations: 0,
            m: Slots::default(),
            v: Slots::default(),
            v_hat: Slots::default(),
        }
    }
    /// The first-moment decay (Keras default 0.9).
    pub fn beta_1(mut self, beta_1: f64) -> Self {
        self.beta_1 = beta_1;
        self
    }
    /// The second-moment decay (Keras default 0.999).
    pub fn beta_2(mut self, beta_2: f64) -> Self {
        self.beta_2 = beta_2;
        self
    }
    /// The epsilon added to `sqrt(v)` (Keras default 1e-7).
    pub fn epsilon(mut self, epsilon: f64) -> Self {
        self.epsilon = epsilon;
        self
    }
    /// Uses the running maximum of `v` (AMSGrad).
    pub fn amsgrad(mut self, amsgrad: bool) -> Self {
        self.amsgrad = amsgrad;
        self
    }
}

impl<T: Float> Default for Adam<T> {
    fn default() -> Self {
        Self::new(0.001)
    }
}

impl<T: Float> Adam<T> {
    /// This step's rule for weight array `slot` of `len` weights.
    fn step(&mut self, slot: usize, len: usize) -> ElementwiseStep<'_, T> {
        let t = (self.iterations + 1) as i32;
        let powi = num_traits::Float::powi;
        let alpha = self.lr * num_traits::Float::sqrt(1.0 - powi(self.beta_2, t))
            / (1.0 - powi(self.beta_1, t));
        let rule = Moments {
            alpha: T::of(alpha),
            b1: T::of(1.0 - self.beta_1),
            b2: T::of(1.0 - self.beta_2),
            eps: T::of(self.epsilon),
        };
        let m = self.m.get(slot, len, T::zero());
        let v = self.v.get(slot, len, T::zero());
        let v_hat = if self.amsgrad {
            self.v_hat.get(slot, len, T::zero())
        } else {
            &mut []
        };
        ElementwiseStep {
            rule: Update::Adam(rule),
            slots: [m, v, v_hat],
        }
    }
}

impl<T: Float> Optimizer<T> for Adam<T> {
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
        self.m.export("m", &mut out);
        self.v.export("v", &mut out);
        self.v_hat.export("v_hat", &mut out);
        out
    }
    fn set_state(&mut self, state: &[(String, Vec<f64>)]) -> Result<(), crate::Error> {
        self.m.import("m", state)?;
        self.v.import("v", state)?;
        self.v_hat.import("v_hat", state)?;
        Ok(())
    }
}

learning_rate_fields!(Adam);

#[cfg(test)]
mod tests {
    use super::super::test_support::{assert_close, bowl, run};
    use super::*;

    /// The textbook form (bias-corrected moments) with the equivalent epsilon
    /// `eps / sqrt(1 - b2^t)`, an independent way to write Keras's rule.
    fn textbook(lr: f64, amsgrad: bool, steps: usize) -> Vec<Vec<f64>> {
        let (b1, b2, eps) = (0.9f64, 0.999f64, 1e-7);
        let (mut w, mut m, mut v, mut vmax) = (3.0f64, 0.0, 0.0, 0.0f64);
        let mut out = Vec::new();
        for t in 1..=steps as i32 {
            let g = 2.0 * (w - 1.0);
            m = b1 * m + (1.0 - b1) * g;
            v = b2 * v + (1.0 - b2) * g * g;
            vmax = vmax.max(v);
            let second = if amsgrad { vmax } else { v };
            let m_hat = m / (1.0 - b1.powi(t));
            let v_hat = second / (1.0 - b2.powi(t));
            w -= lr * m_hat / (v_hat.sqrt() + eps / (1.0 - b2.powi(t)).sqrt());
            out.push(vec![w]);
        }
        out
    }

    #[test]
    fn first_step_moves_by_the_learning_rate() {
        // m = 0.4, v = 0.016, alpha = 0.1 * sqrt(0.001) / 0.1: the step is ~lr * sign(g).
        let got = run(&mut Adam::new(0.1), &[3.0], 1, bowl);
        let alpha = 0.1 * (0.001f64).sqrt() / 0.1;
        assert_close(
            &got,
            &[vec![3.0 - 0.4 * alpha / ((0.016f64).sqrt() + 1e-7)]],
        );
    }

    #[test]
    fn adam_and_amsgrad_match_the_textbook_form_over_many_steps() {
        assert_close(
            &run(&mut Adam::new(0.1), &[3.0], 30, bowl),
            &textbook(0.1, false, 30),
        );
        assert_close(
            &run(&mut Adam::new(0.1).amsgrad(true), &[3.0], 30, bowl),
            &textbook(0.1, true, 30),
        );
    }
}
