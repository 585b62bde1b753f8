//! Saving and loading models: safetensors files and atomic writes; TensorBoard's event files.

mod atomic;
mod safetensors;
pub mod tfevents;

pub use atomic::write_atomic;
pub(crate) use safetensors::TrainingState;
pub(crate) use safetensors::{load_layers, load_layers_from_bytes, save_layers};
