//! `ModelCheckpoint`: save the model after epochs, or only when a value improves.

use std::path::PathBuf;

use super::monitor::{Monitor, MonitorMode};
use super::{say, UpdateFreq};
use crate::train::{Callback, Control, Logs};
use crate::Error;

/// Keras's `ModelCheckpoint(filepath, monitor="val_loss", verbose=0, save_best_only=False,
/// mode="auto", save_freq="epoch", initial_value_threshold=None)`, saving safetensors files
/// atomically.
///
/// `{epoch}` in the path becomes the 1-based epoch (`{epoch:02}` pads it), and with
/// `save_freq` a number of batches, `{batch}` the 1-based batch within it. With
/// `save_best_only`, a save happens on a strict improvement of the monitored value (the first
/// epoch, or one beating `initial_value_threshold`), or when the value is missing from the logs
/// (a batch's logs hold only the running training values). A failed save stops `fit` with that
/// error.
#[derive(Clone, Debug)]
pub struct ModelCheckpoint {
    path: String,
    key: String,
    mode: MonitorMode,
    save_best_only: bool,
    initial_value_threshold: Option<f64>,
    verbose: u8,
    save_freq: UpdateFreq,
    monitor: Monitor,
    /// Where the batch count stands: the epoch, the last batch seen in it, and the batches
    /// since the last save (Keras's `_batches_seen_since_last_saving`).
    epoch: usize,
    last_batch: usize,
    unsaved_batches: usize,
    /// Whether the run has warned that the monitored value is missing.
    warned: bool,
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
            save_freq: UpdateFreq::Epoch,
            monitor: Monitor::new("val_loss", MonitorMode::Auto, 0.0),
            epoch: 0,
            last_batch: 0,
            unsaved_batches: 0,
            warned: false,
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
    /// When to save: after every epoch ([`UpdateFreq::Epoch`], the default) or after every
    /// this many training batches, counted across epochs (`.save_freq(100)`, as Keras's
    /// `save_freq=100`). Each `fit` counts from zero; Keras carries the count over.
    pub fn save_freq(mut self, freq: impl Into<UpdateFreq>) -> Self {
        self.save_freq = freq.into();
        self
    }
    /// The files written so far, in order.
    pub fn saved(&self) -> &[PathBuf] {
        &self.saved
    }

    /// The path of a save after `epoch`, or after `batch` of it (both from 0).
    fn path_for(&self, epoch: usize, batch: Option<usize>) -> PathBuf {
        let mut path = fill(&self.path, "epoch", epoch + 1);
        if let Some(batch) = batch {
            path = fill(&path, "batch", batch + 1);
        }
        PathBuf::from(path)
    }

    /// Saves after `epoch`, or after `batch` of it, unless `save_best_only` finds no
    /// improvement in `logs`.
    fn save(&mut self, epoch: usize, batch: Option<usize>, logs: &Logs, control: &mut Control<'_>) {
        let path = self.path_for(epoch, batch);
        let mut improved = None;
        if self.save_best_only {
            match logs.get(&self.monitor.key).copied() {
                Some(current) => {
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
                // Keras saves, with a warning (Python shows it once).
                None if !self.warned => {
                    self.warned = true;
                    eprintln!(
                        "warning: ModelCheckpoint can save the best model only with {} \
                         available; saving anyway",
                        self.monitor.key
                    );
                }
                None => {}
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

/// `template` with `{name}` and `{name:0W}` (or `{name:0Wd}`, zero-padded to width W) replaced
/// by `n`.
fn fill(template: &str, name: &str, n: usize) -> String {
    let mut path = template.replace(&format!("{{{name}}}"), &n.to_string());
    let open = format!("{{{name}:");
    while let Some(start) = path.find(&open) {
        let Some(len) = path[start..].find('}') else {
            break;
        };
        let spec = path[start + open.len()..start + len]
            .trim_end_matches('d')
            .trim_start_matches('0');
        let width: usize = spec.parse().unwrap_or(0);
        path.replace_range(start..=start + len, &format!("{n:0width$}"));
    }
    path
}

impl Callback for ModelCheckpoint {
    fn on_train_begin(&mut self, control: &mut Control<'_>) {
        self.monitor = Monitor::new(&self.key, self.mode, 0.0);
        self.monitor.best = self.initial_value_threshold;
        (self.epoch, self.last_batch, self.unsaved_batches) = (0, 0, 0);
        self.warned = false;
        let problem = match self.save_freq {
            UpdateFreq::Batches(0) => Some("save_freq must be at least one batch"),
            UpdateFreq::Epoch if self.path.contains("{batch") => {
                Some("the path names {batch}, but saves come after epochs (see save_freq)")
            }
            _ => None,
        };
        if let Some(problem) = problem {
            control.fail(Error::InvalidConfig(format!(
                "ModelCheckpoint({}): {problem}",
                self.path
            )));
        }
    }
    fn on_epoch_begin(&mut self, epoch: usize, _control: &mut Control<'_>) {
        self.epoch = epoch;
    }
    fn on_train_batch_end(&mut self, batch: usize, logs: &Logs, control: &mut Control<'_>) {
        let UpdateFreq::Batches(every) = self.save_freq else {
            return;
        };
        // Keras's count: a batch index not above the last one seen starts a new epoch.
        self.unsaved_batches += if batch <= self.last_batch {
            batch + 1
        } else {
            batch - self.last_batch
        };
        self.last_batch = batch;
        if self.unsaved_batches >= every {
            self.unsaved_batches = 0;
            self.save(self.epoch, Some(batch), logs, control);
        }
    }
    fn on_epoch_end(&mut self, epoch: usize, logs: &mut Logs, control: &mut Control<'_>) {
        if self.save_freq == UpdateFreq::Epoch {
            self.save(epoch, None, logs, control);
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
