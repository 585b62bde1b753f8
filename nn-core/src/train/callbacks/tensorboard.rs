//! `TensorBoard`: event files TensorBoard reads, laid out as Keras 3 writes them.

use std::path::PathBuf;

use super::UpdateFreq;
use crate::io::tfevents::{EventWriter, Histogram, SummaryValue};
use crate::train::{Callback, Control, Logs};
use crate::Error;

/// Keras's `TensorBoard(log_dir, histogram_freq=0, update_freq="epoch")`.
///
/// Training values go to `<log_dir>/train` as `epoch_<name>` at step = the epoch (from 0),
/// validation values, without their `val_` prefix, to `<log_dir>/validation`; the learning
/// rate is `epoch_learning_rate` under `train`. With `histogram_freq = n`, every `n` epochs each
/// weight array's histogram goes under `train`, tagged by its path and `/histogram`
/// (`mnist/dense/kernel/histogram`). Files are flushed at each epoch's end, so TensorBoard
/// shows a run as it trains; writing errors stop `fit` with the error.
#[derive(Debug)]
pub struct TensorBoard {
    log_dir: PathBuf,
    histogram_freq: usize,
    update_freq: UpdateFreq,
    train: Option<EventWriter>,
    validation: Option<EventWriter>,
}

impl std::fmt::Debug for EventWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventWriter")
            .field("path", &self.path())
            .finish()
    }
}

impl TensorBoard {
    /// Logs under `log_dir` (made if missing).
    pub fn new(log_dir: impl Into<PathBuf>) -> Self {
        Self {
            log_dir: log_dir.into(),
            histogram_freq: 0,
            update_freq: UpdateFreq::Epoch,
            train: None,
            validation: None,
        }
    }
    /// Writes histograms of every weight every `epochs` epochs (0, the default: never).
    pub fn histogram_freq(mut self, epochs: usize) -> Self {
        self.histogram_freq = epochs;
        self
    }
    /// How often to write the training logs: [`UpdateFreq::Epoch`] (the default), or also
    /// every this many batches, as `batch_<name>` at the optimizer's step count (`0`: never).
    pub fn update_freq(mut self, freq: impl Into<UpdateFreq>) -> Self {
        self.update_freq = freq.into();
        self
    }

    /// The run directory's writer, made on first use.
    fn writer(slot: &mut Option<EventWriter>, dir: PathBuf) -> Result<&mut EventWriter, Error> {
        if slot.is_none() {
            *slot = Some(EventWriter::create(&dir)?);
        }
        Ok(slot.as_mut().expect("just made"))
    }

    fn epoch_end(&mut self, epoch: usize, logs: &Logs, control: &Control<'_>) -> Result<(), Error> {
        let step = epoch as i64;
        let train = Self::writer(&mut self.train, self.log_dir.join("train"))?;
        for (key, &value) in logs.iter().filter(|(k, _)| !k.starts_with("val_")) {
            train.scalar(&format!("epoch_{key}"), step, value)?;
        }
        if !logs.contains_key("learning_rate") {
            train.scalar("epoch_learning_rate", step, control.learning_rate())?;
        }
        if self.histogram_freq > 0 && epoch.is_multiple_of(self.histogram_freq) {
            let weights = control.weights();
            let mut rest = &weights[..];
            let mut values = Vec::new();
            for (path, len) in control.weight_paths() {
                let (mine, tail) = rest.split_at(len);
                rest = tail;
                values.push(SummaryValue {
                    tag: format!("{path}/histogram"),
                    simple_value: None,
                    histo: Some(Histogram::of(mine)),
                });
            }
            train.summary(step, values)?;
        }
        train.flush()?;
        let validation: Vec<(&str, f64)> = logs
            .iter()
            .filter_map(|(k, &v)| k.strip_prefix("val_").map(|k| (k, v)))
            .collect();
        if !validation.is_empty() {
            let writer = Self::writer(&mut self.validation, self.log_dir.join("validation"))?;
            for (key, value) in validation {
                writer.scalar(&format!("epoch_{key}"), step, value)?;
            }
            writer.flush()?;
        }
        Ok(())
    }
}

impl Callback for TensorBoard {
    fn on_train_begin(&mut self, control: &mut Control<'_>) {
        if let Err(e) = Self::writer(&mut self.train, self.log_dir.join("train")) {
            control.fail(e);
        }
    }

    fn on_train_batch_end(&mut self, _batch: usize, logs: &Logs, control: &mut Control<'_>) {
        let UpdateFreq::Batches(every) = self.update_freq else {
            return;
        };
        let step = control.iterations();
        if every == 0 || !step.is_multiple_of(every as u64) {
            return;
        }
        let written = Self::writer(&mut self.train, self.log_dir.join("train")).and_then(|w| {
            for (key, &value) in logs {
                w.scalar(&format!("batch_{key}"), step as i64, value)?;
            }
            // On disk at once: a run that fails after this batch keeps its last values.
            w.flush()?;
            Ok(())
        });
        if let Err(e) = written {
            control.fail(e);
        }
    }

    fn on_epoch_end(&mut self, epoch: usize, logs: &mut Logs, control: &mut Control<'_>) {
        if let Err(e) = self.epoch_end(epoch, logs, control) {
            control.fail(e);
        }
    }

    fn on_train_end(&mut self, control: &mut Control<'_>) {
        for writer in [&mut self.train, &mut self.validation]
            .into_iter()
            .flatten()
        {
            if let Err(e) = writer.flush() {
                control.fail(e);
            }
        }
    }
}
