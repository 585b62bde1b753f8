//! Saving and loading models: safetensors files and atomic writes; TensorBoard's event files.

mod atomic;
mod safetensors;
mod training_state;
pub(crate) mod tfevents;

pub(crate) use atomic::write_atomic;
pub(crate) use training_state::TrainingState;
pub(crate) use safetensors::{load_layers, load_layers_from_bytes, save_layers};
