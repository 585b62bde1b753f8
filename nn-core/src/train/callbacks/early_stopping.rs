//! `EarlyStopping`: stop when a monitored value stops improving.

use super::monitor::{Monitor, MonitorMode};
use super::say;
use crate::train::{Callback, Control, Logs};

/// Keras's `EarlyStopping(monitor="val_loss", min_delta=0, patience=0, verbose=0, mode="auto",
/// baseline=None, restore_best_weights=False, start_from_epoch=0)`.
///
/// Each epoch that does not improve on the best value counts; after `patience` of them in a
/// row training stops (never on an improving epoch, never after the first). An improvement
/// resets the count only if it also beats `baseline`. With `restore_best_weights`, the best
/// epoch's weights are put back when training ends, also when it ran to the last epoch.
#[derive(Clone, Debug)]
pub struct EarlyStopping {
    key: String,
    mode: MonitorMode,
    min_delta: f64,
    patience: usize,
    baseline: Option<f64>,
    restore_best_weights: bool,
    start_from_epoch: usize,
    verbose: u8,
    monitor: Monitor,
    wait: usize,
    best_weights: Option<Vec<f64>>,
    best_epoch: Option<usize>,
    stopped_epoch: Option<usize>,
}

impl Default for EarlyStopping {
    fn default() -> Self {
        Self::new()
    }
}

impl EarlyStopping {
    /// Keras's defaults: monitor `val_loss`, patience 0.
    pub fn new() -> Self {
        Self {
            key: "val_loss".into(),
            mode: MonitorMode::Auto,
            min_delta: 0.0,
            patience: 0,
            baseline: None,
            restore_best_weights: false,
            start_from_epoch: 0,
            verbose: 0,
            monitor: Monitor::new("val_loss", MonitorMode::Auto, 0.0),
            wait: 0,
            best_weights: None,
            best_epoch: None,
            stopped_epoch: None,
        }
    }
    /// The log key to watch (`"val_loss"`, `"val_accuracy"`, `"loss"`, ...).
    pub fn monitor(mut self, key: &str) -> Self {
        self.key = key.into();
        self
    }
    /// Whether the value should go down or up.
    pub fn mode(mut self, mode: MonitorMode) -> Self {
        self.mode = mode;
        self
    }
    /// The smallest change that counts as an improvement.
    pub fn min_delta(mut self, min_delta: f64) -> Self {
        self.min_delta = min_delta;
        self
    }
    /// Non-improving epochs tolerated before stopping.
    pub fn patience(mut self, patience: usize) -> Self {
        self.patience = patience;
        self
    }
    /// A value the monitored quantity must beat for an improvement to reset the count.
    pub fn baseline(mut self, baseline: f64) -> Self {
        self.baseline = Some(baseline);
        self
    }
    /// Put the best epoch's weights back at the end of training.
    pub fn restore_best_weights(mut self, restore: bool) -> Self {
        self.restore_best_weights = restore;
        self
    }
    /// Epochs (from 0) before this one are not watched.
    pub fn start_from_epoch(mut self, epoch: usize) -> Self {
        self.start_from_epoch = epoch;
        self
    }
    /// Above 0, says when training stops early and when the best weights are restored.
    pub fn verbose(mut self, verbose: u8) -> Self {
        self.verbose = verbose;
        self
    }
    /// The epoch (from 0) after which training stopped, if it did.
    pub fn stopped_epoch(&self) -> Option<usize> {
        self.stopped_epoch
    }
    /// The epoch (from 0) with the best value.
    pub fn best_epoch(&self) -> Option<usize> {
        self.best_epoch
    }
    /// The best value seen.
    pub fn best(&self) -> Option<f64> {
        self.monitor.best
    }
}

impl Callback for EarlyStopping {
    fn on_train_begin(&mut self, _control: &mut Control<'_>) {
        self.monitor = Monitor::new(&self.key, self.mode, self.min_delta);
        self.wait = 0;
        self.best_weights = None;
        self.best_epoch = None;
        self.stopped_epoch = None;
    }
    fn on_epoch_end(&mut self, epoch: usize, logs: &mut Logs, control: &mut Control<'_>) {
        let Some(current) = self.monitor.read(logs, "EarlyStopping") else {
            return;
        };
        if epoch < self.start_from_epoch {
            return;
        }
        if self.restore_best_weights && self.best_weights.is_none() {
            self.best_weights = Some(control.weights());
        }
        self.wait += 1;
        if self.monitor.improved(current) {
            self.monitor.best = Some(current);
            self.best_epoch = Some(epoch);
            if self.restore_best_weights {
                self.best_weights = Some(control.weights());
            }
            if self.baseline.is_none() || self.monitor.improves_on(current, self.baseline) {
                self.wait = 0;
            }
            return;
        }
        if self.wait >= self.patience && epoch > 0 {
            self.stopped_epoch = Some(epoch);
            control.stop_training();
        }
    }
    fn on_train_end(&mut self, control: &mut Control<'_>) {
        if let Some(epoch) = self.stopped_epoch {
            say(self.verbose, || stopped_message(epoch));
        }
        if let Some(weights) = self.best_weights.take() {
            if let Some(best) = self.best_epoch {
                say(self.verbose, || restoring_message(best));
            }
            if let Err(e) = control.set_weights(&weights) {
                control.fail(e);
            }
        }
    }
}

/// Keras's message for training stopped after `epoch` (from 0).
pub(super) fn stopped_message(epoch: usize) -> String {
    format!("Epoch {}: early stopping", epoch + 1)
}

/// Keras's message for the best epoch's weights put back.
pub(super) fn restoring_message(best_epoch: usize) -> String {
    format!(
        "Restoring model weights from the end of the best epoch: {}.",
        best_epoch + 1
    )
}
