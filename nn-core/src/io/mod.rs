//! Saving and loading models: safetensors files and atomic writes; TensorBoard's event files.

mod atomic;
mod safetensors;
pub(crate) mod tfevents;
mod training_state;

pub(crate) use atomic::write_atomic;
pub(crate) use safetensors::{load_layers, load_layers_from_bytes, save_layers};
pub(crate) use training_state::TrainingState;
