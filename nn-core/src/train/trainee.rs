//! What the training loop (`fit.rs`) and checkpoints (`checkpoint.rs`) need of a model, as a
//! trait object: `fit` is written once, not per model type.

use rand_chacha::ChaCha8Rng;

use super::callback::WeightAccess;
use crate::io::TrainingState;
use crate::loss::TargetRows;
use crate::metrics::MetricState;
use crate::network::Objective;
use crate::optim::Optimizer;
use crate::{Error, Float};

/// What the training loop needs from a model, without knowing its type.
pub(crate) trait Trainee<T: Float>: WeightAccess {
    /// Elements per input sample.
    fn input_size(&self) -> usize;
    /// The shape of an input sample.
    fn input_shape(&self) -> &'static [usize];
    /// The name of each output, for per-output logs.
    fn output_names(&self) -> &'static [&'static str];
    /// One optimizer step; returns the pre-update loss (with penalties), writes each output's
    /// unweighted loss into `losses` and adds the step's training-mode outputs to `metrics`.
    fn step(
        &mut self,
        opt: &mut dyn Optimizer<T>,
        objective: &Objective<'_, T>,
        x: &[T],
        t: TargetRows<'_, T>,
        metrics: &mut [MetricState],
        losses: &mut [f64],
    ) -> T;
    /// The mean loss over a data set in inference mode, updating `metrics` and writing each
    /// output's mean unweighted loss into `losses`.
    fn evaluate_flat(
        &self,
        objective: &Objective<'_, T>,
        x: &[T],
        t: TargetRows<'_, T>,
        metrics: &mut [MetricState],
        losses: &mut [f64],
    ) -> T;
    /// Saves weights plus training state, atomically.
    fn save_checkpoint(&self, path: &std::path::Path, state: &TrainingState) -> Result<(), Error>;
    /// Loads weights (all or nothing) and returns the training state saved with them.
    fn load_checkpoint(&mut self, path: &std::path::Path) -> Result<TrainingState, Error>;
    /// The random stream for dropout, as it stands.
    fn training_rng(&mut self) -> ChaCha8Rng;
    /// Replaces the random stream for dropout.
    fn set_training_rng(&mut self, rng: ChaCha8Rng);
    /// Re-seeds training randomness (dropout).
    fn reseed(&mut self, seed: u64);
    /// Sets the weight of each output's loss (checked).
    fn set_loss_weights(&mut self, weights: &[f64]) -> Result<(), Error>;
    /// The weight of each output's loss.
    fn loss_weights(&self) -> Vec<f64>;
    /// Draws a seed from the training random stream.
    fn next_seed(&mut self) -> u64;
}
