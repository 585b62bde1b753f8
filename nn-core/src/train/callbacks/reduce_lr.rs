//! `ReduceLROnPlateau`: multiply the learning rate by `factor` when a value stops improving.

use super::monitor::{Monitor, MonitorMode};
use super::say;
use crate::train::{Callback, Control, Logs};
use crate::Error;

/// Keras's `ReduceLROnPlateau(monitor="val_loss", factor=0.1, patience=10, mode="auto",
/// min_delta=1e-4, cooldown=0, min_lr=0)`.
///
/// At each epoch end it logs the current `learning_rate`, then: during cooldown the wait is
/// reset; an improvement resets it too; otherwise, after `patience` epochs without one, the
/// rate becomes `max(lr * factor, min_lr)` and a cooldown of `cooldown` epochs starts.
#[derive(Clone, Debug)]
pub struct ReduceLROnPlateau {
    key: String,
    mode: MonitorMode,
    factor: f64,
    patience: usize,
    min_delta: f64,
    cooldown: usize,
    min_lr: f64,
    verbose: u8,
    monitor: Monitor,
    wait: usize,
    cooldown_counter: usize,
}

impl Default for ReduceLROnPlateau {
    fn default() -> Self {
        Self::new()
    }
}

impl ReduceLROnPlateau {
    /// Keras's defaults.
    pub fn new() -> Self {
        Self {
            key: "val_loss".into(),
            mode: MonitorMode::Auto,
            factor: 0.1,
            patience: 10,
            min_delta: 1e-4,
            cooldown: 0,
            min_lr: 0.0,
            verbose: 0,
            monitor: Monitor::new("val_loss", MonitorMode::Auto, 1e-4),
            wait: 0,
            cooldown_counter: 0,
        }
    }
    /// The log key to watch.
    pub fn monitor(mut self, key: &str) -> Self {
        self.key = key.into();
        self
    }
    /// Whether the value should go down or up.
    pub fn mode(mut self, mode: MonitorMode) -> Self {
        self.mode = mode;
        self
    }
    /// The multiplier applied to the rate (must be below 1).
    pub fn factor(mut self, factor: f64) -> Self {
        self.factor = factor;
        self
    }
    /// Epochs without improvement before reducing.
    pub fn patience(mut self, patience: usize) -> Self {
        self.patience = patience;
        self
    }
    /// The smallest change that counts as an improvement.
    pub fn min_delta(mut self, min_delta: f64) -> Self {
        self.min_delta = min_delta;
        self
    }
    /// Epochs to wait after a reduction before counting again.
    pub fn cooldown(mut self, cooldown: usize) -> Self {
        self.cooldown = cooldown;
        self
    }
    /// The rate is never reduced below this.
    pub fn min_lr(mut self, min_lr: f64) -> Self {
        self.min_lr = min_lr;
        self
    }
    /// Above 0, says each reduction of the learning rate.
    pub fn verbose(mut self, verbose: u8) -> Self {
        self.verbose = verbose;
        self
    }
}

impl Callback for ReduceLROnPlateau {
    fn on_train_begin(&mut self, control: &mut Control<'_>) {
        if self.factor >= 1.0 {
            control.fail(Error::InvalidConfig(format!(
                "ReduceLROnPlateau does not support a factor >= 1, got {}",
                self.factor
            )));
        }
        self.monitor = Monitor::new(&self.key, self.mode, self.min_delta);
        self.wait = 0;
        self.cooldown_counter = 0;
    }
    fn add_epoch_logs(&mut self, _epoch: usize, logs: &mut Logs, control: &Control<'_>) {
        logs.insert("learning_rate".into(), control.learning_rate());
    }
    fn on_epoch_end(&mut self, epoch: usize, logs: &mut Logs, control: &mut Control<'_>) {
        let lr = control.learning_rate();
        let Some(current) = self.monitor.read(logs, "ReduceLROnPlateau") else {
            return;
        };
        if self.cooldown_counter > 0 {
            self.cooldown_counter -= 1;
            self.wait = 0;
        }
        if self.monitor.improved(current) {
            self.monitor.best = Some(current);
            self.wait = 0;
        } else if self.cooldown_counter == 0 {
            self.wait += 1;
            // Keras compares with min_lr as a float32.
            if self.wait >= self.patience && lr > self.min_lr as f32 as f64 {
                let new_lr = (lr * self.factor).max(self.min_lr);
                control.set_learning_rate(new_lr);
                say(self.verbose, || reducing_message(epoch, new_lr));
                self.cooldown_counter = self.cooldown;
                self.wait = 0;
            }
        }
    }
}

/// Keras's message for the learning rate lowered to `new_lr` after `epoch` (from 0).
pub(super) fn reducing_message(epoch: usize, new_lr: f64) -> String {
    format!(
        "Epoch {}: ReduceLROnPlateau reducing learning rate to {new_lr}.",
        epoch + 1
    )
}
