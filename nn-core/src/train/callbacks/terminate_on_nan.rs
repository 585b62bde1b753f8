//! `TerminateOnNaN`: stop as soon as the running training loss is NaN or infinite.

use crate::train::{Callback, Control, Logs};
use crate::Error;

/// Keras's `TerminateOnNaN(raise_error=False)`: after each training batch, if the epoch's
/// running `loss` is NaN or infinite, training stops. By default the epoch still closes (logs,
/// validation, callbacks) and `fit` returns its history; with [`raise_error`] `fit` returns
/// [`Error::InvalidLoss`] at once, no callback running again.
///
/// [`raise_error`]: TerminateOnNaN::raise_error
#[derive(Clone, Copy, Debug, Default)]
pub struct TerminateOnNaN {
    raise_error: bool,
    epoch: usize,
}

/// The callback with Keras's defaults, as a value: `TerminateOnNaN` is `TerminateOnNaN::new()`
/// (it was a unit struct before it had an option).
#[allow(non_upper_case_globals)]
pub const TerminateOnNaN: TerminateOnNaN = TerminateOnNaN::new();

impl TerminateOnNaN {
    /// The callback, stopping training gracefully.
    pub const fn new() -> Self {
        TerminateOnNaN {
            raise_error: false,
            epoch: 0,
        }
    }
    /// Whether a non-finite loss makes `fit` fail at once with [`Error::InvalidLoss`] instead
    /// of closing the epoch and returning the history (Keras's `raise_error`, default false).
    pub const fn raise_error(mut self, raise_error: bool) -> Self {
        self.raise_error = raise_error;
        self
    }
}

impl Callback for TerminateOnNaN {
    fn on_epoch_begin(&mut self, epoch: usize, _control: &mut Control<'_>) {
        self.epoch = epoch;
    }
    fn on_train_batch_end(&mut self, batch: usize, logs: &Logs, control: &mut Control<'_>) {
        let Some(&loss) = logs.get("loss") else {
            return;
        };
        if loss.is_finite() {
            return;
        }
        if self.raise_error {
            control.fail(Error::InvalidLoss {
                epoch: self.epoch,
                batch,
                loss,
            });
        } else {
            // Keras's message, printed whatever the verbosity.
            println!("Batch {batch}: Invalid loss, terminating training");
            control.stop_training();
        }
    }
}
