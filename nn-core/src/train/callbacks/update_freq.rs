//! `UpdateFreq`: how often a callback acts during training, Keras's `"epoch"` or a number of
//! batches.

/// How often a callback acts during training: [`TensorBoard`](super::TensorBoard) writing the
/// training logs (Keras's `update_freq`), [`ModelCheckpoint`](super::ModelCheckpoint) saving
/// (`save_freq`). A number converts to [`UpdateFreq::Batches`], as Keras takes an integer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UpdateFreq {
    /// At each epoch's end (Keras's `"epoch"`, the default).
    Epoch,
    /// Every this many training batches (`0`: TensorBoard writes no batch values,
    /// ModelCheckpoint refuses it).
    Batches(usize),
}

impl From<usize> for UpdateFreq {
    fn from(batches: usize) -> Self {
        UpdateFreq::Batches(batches)
    }
}
