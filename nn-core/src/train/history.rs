//! `History`: what `fit` returns, one value per epoch for every logged key.

use std::collections::BTreeMap;

/// Per-epoch values of the loss, the metrics and their `val_` twins (Keras's
/// `history.history`), plus the wall-clock seconds of each epoch.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct History {
    /// Values by key, one per completed epoch.
    pub history: BTreeMap<String, Vec<f64>>,
    /// Seconds each epoch took (training and validation).
    pub epoch_seconds: Vec<f64>,
}

impl History {
    /// The values logged under `key` (`"loss"`, `"val_accuracy"`, ...).
    pub fn get(&self, key: &str) -> Option<&[f64]> {
        self.history.get(key).map(|v| v.as_slice())
    }
    /// The training loss of each epoch.
    pub fn loss(&self) -> &[f64] {
        self.get("loss").unwrap_or(&[])
    }
    /// The validation loss of each epoch (empty without validation).
    pub fn val_loss(&self) -> &[f64] {
        self.get("val_loss").unwrap_or(&[])
    }
    /// The last value logged under `key`.
    pub fn last(&self, key: &str) -> Option<f64> {
        self.get(key).and_then(|v| v.last().copied())
    }
    /// The number of completed epochs.
    pub fn epochs(&self) -> usize {
        self.epoch_seconds.len()
    }
    /// The logged keys.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.history.keys().map(|k| k.as_str())
    }
    pub(crate) fn record(&mut self, logs: &super::Logs, seconds: f64) {
        for (key, value) in logs {
            self.history.entry(key.clone()).or_default().push(*value);
        }
        self.epoch_seconds.push(seconds);
    }
}
