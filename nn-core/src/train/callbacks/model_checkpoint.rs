//! `ModelCheckpoint`: save the model after epochs, or only when a value improves.

use std::path::PathBuf;

use super::monitor::{Monitor, MonitorMode};
use super::say;
use crate::train::{Callback, Control, Logs};

/// Keras's `ModelCheckpoint(filepath, monitor="val_loss", verbose=0, save_best_only=False,
/// mode="auto", initial_value_threshold=None)`, saving safetensors files atomically.
///
/// `{epoch}` in the path becomes the 1-based epoch (`{epoch:02}` pads it). With
/// `save_best_only`, a save happens on a strict improvement of the monitored value (the first
/// epoch, or one beating `initial_value_threshold`), or when the value is missing from the logs.
/// A failed save stops `fit` with that error.
#[derive(Clone, Debug)]
pub struct ModelCheckpoint {
    path: String,
    key: String,
    mode: MonitorMode,
    save_best_only: bool,
    initial_value_threshold: Option<f64>,
    verbose: u8,
    monitor: Monitor,
    saved: Vec<PathBuf>,
}

impl ModelCheckpoint {
    /// Saves to `path` after every epoch.
    pub fn new(path: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            key: "val_loss".into(),
            mode: MonitorMode::Auto,
            save_best_only: false,
            initial_value_threshold: None,
            verbose: 0,
            monitor: Monitor::new("val_loss", MonitorMode::Auto, 0.0),
            saved: Vec::new(),
        }
    }
    /// The log key deciding what "best" is.
    pub fn monitor(mut self, key: &str) -> Self {
        self.key = key.into();
        self
    }
    /// Whether the value should go down or up.
    pub fn mode(mut self, mode: MonitorMode) -> Self {
        self.mode = mode;
        self
    }
    /// Save only on improvement.
    pub fn save_best_only(mut self, yes: bool) -> Self {
        self.save_best_only = yes;
        self
    }
    /// The value the first save must beat.
    pub fn initial_value_threshold(mut self, value: f64) -> Self {
        self.initial_value_threshold = Some(value);
        self
    }
    /// Above 0, says each save, and each epoch that did not improve with `save_best_only`.
    pub fn verbose(mut self, verbose: u8) -> Self {
        self.verbose = verbose;
        self
    }
    /// The files written so far, in order.
    pub fn saved(&self) -> &[PathBuf] {
        &self.saved
    }

    fn path_for(&self, epoch: usize) -> PathBuf {
        let n = epoch + 1;
        let mut path = self.path.replace("{epoch}", &n.to_string());
        // `{epoch:0W}` / `{epoch:0Wd}`: zero-padded to width W.
        while let Some(start) = path.find("{epoch:") {
            let Some(len) = path[start..].find('}') else {
                break;
            };
            let spec = path[start + 7..start + len]
                .trim_end_matches('d')
                .trim_start_matches('0');
            let width: usize = spec.parse().unwrap_or(0);
            path.replace_range(start..=start + len, &format!("{n:0width$}"));
        }
        PathBuf::from(path)
    }
}

impl Callback for ModelCheckpoint {
    fn on_train_begin(&mut self, _control: &mut Control<'_>) {
        self.monitor = Monitor::new(&self.key, self.mode, 0.0);
        self.monitor.best = self.initial_value_threshold;
    }
    fn on_epoch_end(&mut self, epoch: usize, logs: &mut Logs, control: &mut Control<'_>) {
        let path = self.path_for(epoch);
        let mut improved = None;
        if self.save_best_only {
            if let Some(current) = logs.get(&self.monitor.key).copied() {
                let best = self.monitor.best_or_start();
                if !self.monitor.improved(current) {
                    say(self.verbose, || {
                        not_improved_message(epoch, &self.monitor.key, best)
                    });
                    return;
                }
                self.monitor.best = Some(current);
                improved = Some((best, current));
            }
        }
        say(self.verbose, || {
            saving_message(epoch, &self.monitor.key, improved, &path)
        });
        match control.save(&path) {
            Ok(()) => self.saved.push(path),
            Err(e) => control.fail(e),
        }
    }
}

/// Keras's message for a save after `epoch` (from 0) to `path`; with `improved`, the monitored
/// `key`'s best value before and its new one.
pub(super) fn saving_message(
    epoch: usize,
    key: &str,
    improved: Option<(f64, f64)>,
    path: &std::path::Path,
) -> String {
    let path = path.display();
    match improved {
        Some((best, current)) => format!(
            "Epoch {}: {key} improved from {best:.5} to {current:.5}, saving model to {path}",
            epoch + 1
        ),
        None => format!("Epoch {}: saving model to {path}", epoch + 1),
    }
}

/// Keras's message for an epoch whose `key` did not beat `best`, with `save_best_only`.
pub(super) fn not_improved_message(epoch: usize, key: &str, best: f64) -> String {
    format!("Epoch {}: {key} did not improve from {best:.5}", epoch + 1)
}
