//! `TerminateOnNaN`: stop as soon as the running training loss is NaN or infinite.

use crate::train::{Callback, Control, Logs};

/// Keras's `TerminateOnNaN`: after each training batch, if the epoch's running `loss` is NaN
/// or infinite, training stops; the epoch still closes (logs, validation, callbacks).
#[derive(Clone, Copy, Debug, Default)]
pub struct TerminateOnNaN;

impl TerminateOnNaN {
    /// The callback; it has no options (the bare value `TerminateOnNaN` is the same).
    pub const fn new() -> Self {
        TerminateOnNaN
    }
}

impl Callback for TerminateOnNaN {
    fn on_train_batch_end(&mut self, batch: usize, logs: &Logs, control: &mut Control<'_>) {
        if let Some(loss) = logs.get("loss") {
            if !loss.is_finite() {
                eprintln!("batch {batch}: invalid loss {loss}, terminating training");
                control.stop_training();
            }
        }
    }
}
