//! Training: the `fit` loop, its settings, callbacks, history and progress output.

mod callback;
mod callbacks;
mod checkpoint;
mod fit;
mod history;
mod plot;
mod progress;
mod trainee;

pub use callback::{Callback, Control, Logs, WeightAccess};
pub use callbacks::{
    CsvLogger, EarlyStopping, LearningRateScheduler, ModelCheckpoint, MonitorMode,
    ReduceLROnPlateau, TensorBoard, TerminateOnNaN, UpdateFreq,
};
pub(crate) use fit::{fit_loop, run_fit, FitData, FitSettings};
pub use fit::{Fit, NoValidation, Validation, ValidationSet};
pub use history::History;
pub use progress::Verbosity;
pub(crate) use trainee::Trainee;
