//! Optimizers with Keras's update rules and defaults (`keras.optimizers`).
//!
//! Each `apply` step goes through every trainable weight array ("slot") with gradients taken
//! at the pre-step weights, then [`Optimizer::finish_step`] advances `iterations`. Slot state
//! (momenta, accumulators) starts as Keras starts it and is created on first use.

#[allow(unused_imports)]
use crate::prelude::*;

pub use adagrad::Adagrad;
pub use adam::Adam;
pub use rmsprop::RmsProp;
pub use sgd::Sgd;

use crate::kernels::Update;
use crate::Float;

/// Something that updates weights from their gradients.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not an optimizer for `{T}` weights",
    label = "expected an optimizer such as `Adam::new(0.001)` or `Sgd::new(0.01)`"
)]
pub trait Optimizer<T: Float>: LearningRate {
    /// Updates one weight array in place. `slot` identifies the array across steps.
    fn update(&mut self, slot: usize, weights: &mut [T], grads: &[T]);
    /// This step's update of weight array `slot` (`len` weights) as an element-wise rule
    /// and the slot arrays it reads, for a layer to apply inside its weight gradient's
    /// product instead of [`Optimizer::update`] (`kernels::gemm_update`): the weights come
    /// out the same. `None` (the default) where the update is not element by element. It may
    /// be asked more than once in a step, so it must not advance any state itself (that is
    /// [`Optimizer::finish_step`]'s). The runner's business.
    #[doc(hidden)]
    fn elementwise_step(&mut self, _slot: usize, _len: usize) -> Option<ElementwiseStep<'_, T>> {
        None
    }
    /// Ends a step: `iterations += 1`.
    fn finish_step(&mut self);
    /// The slot state (momenta, accumulators) as named arrays, for checkpoints.
    fn state(&self) -> Vec<(String, Vec<f64>)> {
        Vec::new()
    }
    /// Restores what [`Optimizer::state`] returned.
    fn set_state(&mut self, _state: &[(String, Vec<f64>)]) -> Result<(), crate::Error> {
        Ok(())
    }
}

/// One step of an optimizer's update of one weight array: its element-wise rule and the slot
/// arrays the rule reads (each as long as the weights, or empty).
#[doc(hidden)]
pub struct ElementwiseStep<'a, T> {
    /// The rule, with this step's constants.
    pub rule: Update<T>,
    /// The slot arrays, in the order the rule takes them.
    pub slots: [&'a mut [T]; 3],
}

impl<T: Float> ElementwiseStep<'_, T> {
    /// Applies the step to weights `w` with gradients `g`, in pieces on the worker pool when
    /// the arrays are large: what [`Optimizer::update`] does.
    pub(crate) fn apply(self, w: &mut [T], g: &[T]) {
        elementwise::elementwise(w, g, self.slots, &self.rule)
    }
}

/// Checks that `lr` can be a learning rate: positive and finite.
#[cfg(feature = "std")]
pub(crate) fn check_learning_rate(lr: f64) -> Result<(), crate::Error> {
    if lr.is_finite() && lr > 0.0 {
        Ok(())
    } else {
        Err(crate::Error::InvalidConfig(format!(
            "the learning rate must be a positive, finite number, got {lr}"
        )))
    }
}

/// The parts of an optimizer that do not depend on the element type, which callbacks use.
pub trait LearningRate {
    /// The current learning rate.
    fn learning_rate(&self) -> f64;
    /// Changes the learning rate (schedules, `ReduceLROnPlateau`).
    fn set_learning_rate(&mut self, lr: f64);
    /// Completed steps.
    fn iterations(&self) -> u64;
    /// Sets the step count (resuming from a checkpoint).
    fn set_iterations(&mut self, iterations: u64);
}

impl<T: Float, O: Optimizer<T> + ?Sized> Optimizer<T> for Box<O> {
    fn update(&mut self, slot: usize, weights: &mut [T], grads: &[T]) {
        (**self).update(slot, weights, grads)
    }
    fn elementwise_step(&mut self, slot: usize, len: usize) -> Option<ElementwiseStep<'_, T>> {
        (**self).elementwise_step(slot, len)
    }
    fn finish_step(&mut self) {
        (**self).finish_step()
    }
    fn state(&self) -> Vec<(String, Vec<f64>)> {
        (**self).state()
    }
    fn set_state(&mut self, state: &[(String, Vec<f64>)]) -> Result<(), crate::Error> {
        (**self).set_state(state)
    }
}

impl<O: LearningRate + ?Sized> LearningRate for Box<O> {
    fn learning_rate(&self) -> f64 {
        (**self).learning_rate()
    }
    fn set_learning_rate(&mut self, lr: f64) {
        (**self).set_learning_rate(lr)
    }
    fn iterations(&self) -> u64 {
        (**self).iterations()
    }
    fn set_iterations(&mut self, iterations: u64) {
        (**self).set_iterations(iterations)
    }
}

/// Implements [`LearningRate`] for an optimizer with `lr` and `iterations` fields.
macro_rules! learning_rate_fields {
    ($name:ident) => {
        impl<T> $crate::optim::LearningRate for $name<T> {
            fn learning_rate(&self) -> f64 {
                self.lr
            }
            fn set_learning_rate(&mut self, lr: f64) {
                self.lr = lr;
            }
            fn iterations(&self) -> u64 {
                self.iterations
            }
            fn set_iterations(&mut self, iterations: u64) {
                self.iterations = iterations;
            }
        }
    };
}

mod adagrad;
mod adam;
mod elementwise;
#[cfg(feature = "std")]
pub(crate) use elementwise::{halve, updated_in_pieces};
mod rmsprop;
mod sgd;

/// Per-slot state arrays of one kind (e.g. Adam's first moments), created on first use.
#[derive(Clone, Debug, Default)]
pub(crate) struct Slots<T> {
    arrays: Vec<Vec<T>>,
}

impl<T: Float> Slots<T> {
    /// Appends every array as `kind/slot` (as f64, exact for f32) to `out`.
    pub(crate) fn export(&self, kind: &str, out: &mut Vec<(String, Vec<f64>)>) {
        for (slot, values) in self
            .arrays
            .iter()
            .enumerate()
            .filter(|(_, v)| !v.is_empty())
        {
            out.push((
                format!("{kind}/{slot}"),
                values.iter().map(|v| v.as_f64()).collect(),
            ));
        }
    }

    /// Replaces the arrays with the `kind/slot` entries of `state`.
    pub(crate) fn import(
        &mut self,
        kind: &str,
        state: &[(String, Vec<f64>)],
    ) -> Result<(), crate::Error> {
        self.arrays.clear();
        for (name, values) in state {
            let Some(slot) = name.strip_prefix(kind).and_then(|r| r.strip_prefix('/')) else {
                continue;
            };
            let slot: usize = slot.parse().map_err(|_| {
                crate::Error::InvalidConfig(format!("optimizer state `{name}` has no slot number"))
            })?;
            if self.arrays.len() <= slot {
                self.arrays.resize_with(slot + 1, Vec::new);
            }
            self.arrays[slot] = values.iter().map(|&v| T::of(v)).collect();
        }
        Ok(())
    }

    /// The state for `slot`, `len` elements, filled with `init` the first time.
    pub(crate) fn get(&mut self, slot: usize, len: usize, init: T) -> &mut [T] {
        if self.arrays.len() <= slot {
            self.arrays.resize_with(slot + 1, Vec::new);
        }
        let state = &mut self.arrays[slot];
        if state.len() != len {
            *state = vec![init; len];
        }
        state
    }
}

#[cfg(test)]
pub(crate) mod test_support {
    use super::Optimizer;

    /// Runs `steps` updates of one slot with the gradient `grad(step, w)` and returns the
    /// weights after each step.
    pub fn run(
        opt: &mut dyn Optimizer<f64>,
        w0: &[f64],
        steps: usize,
        grad: impl Fn(usize, &[f64]) -> Vec<f64>,
    ) -> Vec<Vec<f64>> {
        let mut w = w0.to_vec();
        let mut out = Vec::new();
        for s in 0..steps {
            let g = grad(s, &w);
            opt.update(0, &mut w, &g);
            opt.finish_step();
            out.push(w.clone());
        }
        out
    }

    pub fn assert_close(got: &[Vec<f64>], want: &[Vec<f64>]) {
        for (s, (g, w)) in got.iter().zip(want).enumerate() {
            for (a, b) in g.iter().zip(w) {
                assert!(
                    (a - b).abs() <= 1e-12 * (1.0 + b.abs()),
                    "step {s}: {a} vs {b}"
                );
            }
        }
    }

    /// A quadratic bowl's gradient, `2 (w - 1)`, so updates depend on the weights.
    pub fn bowl(_step: usize, w: &[f64]) -> Vec<f64> {
        w.iter().map(|v| 2.0 * (v - 1.0)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every decaying state array of `opt` after one step with gradient 1 and then `steps`
    /// with gradient 0 (the state decays geometrically through the subnormal range).
    fn decayed_state(mut opt: impl Optimizer<f32>, steps: usize) -> Vec<(String, Vec<f64>)> {
        let mut w = vec![0.5f32; 40];
        let mut g = vec![1.0f32; 40];
        for step in 0..=steps {
            opt.update(0, &mut w, &g);
            opt.finish_step();
            if step == 0 {
                g.fill(0.0);
            }
        }
        opt.state()
    }

    #[test]
    fn decaying_optimizer_state_holds_zeros_where_it_would_hold_subnormals() {
        // Decaying by 0.9 a step, state of about 0.1 (0.01 for SGD's velocity) leaves f32's
        // normal range after ~810 steps (~790) and would reach zero only after ~960 (~940):
        // at 900 steps unflushed state is subnormal.
        let states = [
            ("adam", decayed_state(Adam::new(0.001), 900), "m/0"),
            (
                "rmsprop",
                decayed_state(RmsProp::new(0.001), 900),
                "velocity/0",
            ),
            (
                "rmsprop with momentum",
                decayed_state(RmsProp::new(0.001).momentum(0.9), 900),
                "momentum/0",
            ),
            (
                "sgd with momentum",
                decayed_state(Sgd::new(0.01).momentum(0.9), 900),
                "velocity/0",
            ),
        ];
        for (name, state, key) in states {
            let values = &state.iter().find(|(k, _)| k == key).expect(key).1;
            for &v in values {
                let v = v as f32;
                assert!(
                    v == 0.0 || v.abs() >= f32::MIN_POSITIVE,
                    "{name}: {key} holds the subnormal {v:e}"
                );
            }
            assert!(
                values.iter().all(|&v| v == 0.0),
                "{name}: {key} decayed to {values:?}"
            );
        }
    }
}
