//! The one error type for everything that can go wrong with user data, files and settings.

#[cfg(feature = "std")]
use std::path::PathBuf;

use alloc::string::String;

/// What went wrong, in words that name the file, the field or the value at fault.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Reading or writing a file failed.
    #[cfg(feature = "std")]
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// A data file is not in the format it claims to be.
    #[cfg(feature = "std")]
    #[error("{path}: {reason}")]
    Format {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// A flat weight vector does not have the model's length.
    #[error("set_weights: expected {expected} weights for this model, got {actual}")]
    WeightCount {
        /// The model's weight count (`get_weights().len()`).
        expected: usize,
        /// The length given.
        actual: usize,
    },
    /// Inputs and targets have different lengths.
    #[error("{what}: {inputs} inputs but {targets} targets")]
    LengthMismatch {
        /// Which call.
        what: &'static str,
        /// Number of inputs.
        inputs: usize,
        /// Number of targets.
        targets: usize,
    },
    /// A class label is not below the number of classes.
    #[error("{what}: label {label} at index {index} is out of range for {classes} classes")]
    LabelOutOfRange {
        /// Which call.
        what: &'static str,
        /// Position of the sample.
        index: usize,
        /// The label found.
        label: usize,
        /// The number of classes (output width).
        classes: usize,
    },
    /// Data contains NaN or infinity.
    #[error("{what}: sample {index} contains a non-finite value ({value})")]
    NonFinite {
        /// Which data set.
        what: &'static str,
        /// Position of the sample.
        index: usize,
        /// The value found.
        value: f64,
    },
    /// A target lies outside the range its loss accepts.
    #[error("{what}: {loss} needs targets in [{low}, {high}], but sample {index} has {value}")]
    TargetOutOfRange {
        /// Which data set.
        what: &'static str,
        /// The loss (Keras's name).
        loss: &'static str,
        /// Position of the sample.
        index: usize,
        /// The value found.
        value: f64,
        /// The least target allowed.
        low: f64,
        /// The greatest target allowed.
        high: f64,
    },
    /// A data set that needs samples has none.
    #[error("{what} needs at least one sample, got none")]
    NoSamples {
        /// Which call.
        what: &'static str,
    },
    /// The training loss became NaN or infinite (`TerminateOnNaN::new().raise_error(true)`).
    #[error(
        "NaN or Inf loss encountered at epoch {}, batch {} (counted from 1): loss {loss}",
        .epoch + 1,
        .batch + 1
    )]
    InvalidLoss {
        /// The epoch, from 0 (the message counts from 1, as the progress lines do).
        epoch: usize,
        /// The batch within the epoch, from 0 (the message counts from 1).
        batch: usize,
        /// The epoch's running mean loss after that batch.
        loss: f64,
    },
    /// A setting is out of its range or inconsistent with the data.
    #[error("invalid setting: {0}")]
    InvalidConfig(String),
}

#[cfg(feature = "std")]
impl Error {
    /// Wraps an I/O error with the path it concerns.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }

    /// A format error for a file.
    pub fn format(path: impl Into<PathBuf>, reason: impl Into<String>) -> Self {
        Error::Format {
            path: path.into(),
            reason: reason.into(),
        }
    }
}

/// `Result` with typed-nn's [`Error`].
pub type Result<T, E = Error> = core::result::Result<T, E>;
