//! Keras's built-in callbacks, each in its own file, with Keras's decision rules.

mod csv_logger;
mod early_stopping;
mod lr_scheduler;
mod model_checkpoint;
mod monitor;
mod reduce_lr;
mod tensorboard;
mod terminate_on_nan;
mod update_freq;

pub use csv_logger::CsvLogger;
pub use early_stopping::EarlyStopping;
pub use lr_scheduler::LearningRateScheduler;
pub use model_checkpoint::ModelCheckpoint;
pub use monitor::MonitorMode;
pub use reduce_lr::ReduceLROnPlateau;
pub use tensorboard::TensorBoard;
pub use terminate_on_nan::TerminateOnNaN;
pub use update_freq::UpdateFreq;

/// Prints a callback's message to stdout when its `verbose` is above 0, as Keras's callbacks do.
fn say(verbose: u8, message: impl FnOnce() -> String) {
    if verbose > 0 {
        println!("{}", message());
    }
}

#[cfg(test)]
mod tests;
