//! What a training checkpoint holds besides the weights, as `io::safetensors` stores it.

use std::collections::HashMap;

/// What a checkpoint holds besides the weights: named f64 arrays (under `optimizer/` in the file)
/// and string metadata.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TrainingState {
    /// Optimizer slot arrays by name.
    pub arrays: Vec<(String, Vec<f64>)>,
    /// Epoch, random-stream positions and the like.
    pub metadata: HashMap<String, String>,
}
