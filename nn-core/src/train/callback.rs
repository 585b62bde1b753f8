//! The `Callback` trait: hooks into `fit` that can read logs, change the learning rate, read or
//! replace the weights, and stop training (Keras's `keras.callbacks.Callback`).

use std::collections::BTreeMap;

use crate::optim::LearningRate;
use crate::Error;

/// Per-epoch (or running per-batch) values by key: `loss`, `accuracy`, `val_loss`, ...
pub type Logs = BTreeMap<String, f64>;

/// Access to a model's weights without knowing its type; weights travel as `f64`, which holds
/// every `f32` exactly.
pub trait WeightAccess {
    /// All weights in Keras order.
    fn weights_f64(&self) -> Vec<f64>;
    /// Replaces all weights; a wrong length is an error.
    fn set_weights_f64(&mut self, weights: &[f64]) -> Result<(), Error>;
    /// Saves the model (see `Model::save`).
    fn save_to(&self, path: &std::path::Path) -> Result<(), Error>;
    /// Each weight array's path (`model/layer/weight`) and length, in Keras order.
    fn weight_paths(&self) -> Vec<(String, usize)>;
}

/// What a callback may do to the training run it is called from.
pub struct Control<'a> {
    pub(crate) stop: bool,
    pub(crate) error: Option<Error>,
    pub(crate) optimizer: &'a mut dyn LearningRate,
    pub(crate) model: &'a mut dyn WeightAccess,
}

impl Control<'_> {
    /// Asks `fit` to stop after the current epoch (Keras's `model.stop_training = True`).
    pub fn stop_training(&mut self) {
        self.stop = true;
    }
    /// Stops training with an error, which `fit` returns (a failed save, a bad setting). The
    /// callbacks after this one are not called for the same event. After a training batch
    /// `fit` returns at once; otherwise it trains no further batch, and `on_train_end` runs.
    pub fn fail(&mut self, error: Error) {
        self.stop = true;
        self.error.get_or_insert(error);
    }
    /// Whether some callback asked to stop.
    pub fn is_stopping(&self) -> bool {
        self.stop
    }
    /// The optimizer's learning rate.
    pub fn learning_rate(&self) -> f64 {
        self.optimizer.learning_rate()
    }
    /// Changes the optimizer's learning rate from the next update on.
    pub fn set_learning_rate(&mut self, lr: f64) {
        self.optimizer.set_learning_rate(lr)
    }
    /// Optimizer steps taken so far.
    pub fn iterations(&self) -> u64 {
        self.optimizer.iterations()
    }
    /// The model's weights, in Keras order.
    pub fn weights(&self) -> Vec<f64> {
        self.model.weights_f64()
    }
    /// Replaces the model's weights.
    pub fn set_weights(&mut self, weights: &[f64]) -> Result<(), Error> {
        self.model.set_weights_f64(weights)
    }
    /// Each weight array's path (`mnist/dense/kernel`) and length, in the order of
    /// [`Control::weights`].
    pub fn weight_paths(&self) -> Vec<(String, usize)> {
        self.model.weight_paths()
    }
    /// Saves the model to a safetensors file, atomically.
    pub fn save(&self, path: &std::path::Path) -> Result<(), Error> {
        self.model.save_to(path)
    }
}

/// A hook into `fit`. Every method has a do-nothing default; at each epoch end callbacks run
/// in the order given, then the history records the logs.
pub trait Callback {
    /// Before the first epoch.
    fn on_train_begin(&mut self, _control: &mut Control<'_>) {}
    /// Before an epoch's first batch (`epoch` counts from 0).
    fn on_epoch_begin(&mut self, _epoch: usize, _control: &mut Control<'_>) {}
    /// After each training batch; `logs` holds the running means of the epoch so far.
    fn on_train_batch_end(&mut self, _batch: usize, _logs: &Logs, _control: &mut Control<'_>) {}
    /// After an epoch and its validation, before any callback's `on_epoch_end`: adds the
    /// values this callback reports (`learning_rate`), so that every callback sees the same
    /// logs whatever their order.
    fn add_epoch_logs(&mut self, _epoch: usize, _logs: &mut Logs, _control: &Control<'_>) {}
    /// After an epoch and its validation; may add keys to `logs`.
    fn on_epoch_end(&mut self, _epoch: usize, _logs: &mut Logs, _control: &mut Control<'_>) {}
    /// After the last epoch (also when stopped early, or after a callback failed anywhere but
    /// after a training batch).
    fn on_train_end(&mut self, _control: &mut Control<'_>) {}
}
