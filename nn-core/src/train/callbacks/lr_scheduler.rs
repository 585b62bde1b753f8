//! `LearningRateScheduler`: sets the learning rate before every epoch from a function of the
//! epoch and the current rate (Keras's callback of the same name).

use crate::train::{Callback, Control, Logs};

/// Calls `schedule(epoch, current_lr)` (epoch from 0) at the start of every epoch and makes
/// the result the optimizer's learning rate; logs it as `learning_rate` at the epoch's end.
pub struct LearningRateScheduler<F> {
    schedule: F,
}

impl<F: FnMut(usize, f64) -> f64> LearningRateScheduler<F> {
    /// A scheduler with this schedule.
    pub fn new(schedule: F) -> Self {
        Self { schedule }
    }
}

impl<F: FnMut(usize, f64) -> f64> Callback for LearningRateScheduler<F> {
    fn on_epoch_begin(&mut self, epoch: usize, control: &mut Control<'_>) {
        let lr = (self.schedule)(epoch, control.learning_rate());
        control.set_learning_rate(lr);
    }
    fn add_epoch_logs(&mut self, _epoch: usize, logs: &mut Logs, control: &Control<'_>) {
        logs.insert("learning_rate".into(), control.learning_rate());
    }
}
