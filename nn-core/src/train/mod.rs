//! Training: the `fit` loop, its settings, callbacks, history and progress output.

mod callback;
mod fit;
mod history;
mod lr_scheduler;
mod progress;

pub use callback::{Callback, Control, Logs, WeightAccess};
pub(crate) use fit::{run_fit, FitData, Trainee};
pub use fit::{Fit, NoValidation, Validation, ValidationSet};
pub use history::History;
pub use lr_scheduler::LearningRateScheduler;
pub use progress::Verbosity;
