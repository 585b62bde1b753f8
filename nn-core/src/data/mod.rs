//! Data sets and helpers: IDX files (MNIST), scaling, one-hot encoding.

mod idx;
mod mnist;
mod one_hot;

pub use idx::{read_idx, IdxArray};
pub use mnist::{load_mnist, MnistData};
pub use one_hot::one_hot;
