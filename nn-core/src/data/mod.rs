//! Data sets and helpers: IDX files (MNIST), one-hot encoding, image augmentation.

mod augment;
mod idx;
mod mnist;
mod one_hot;

pub use augment::ImageAugmentation;
pub use idx::{read_idx, IdxArray};
pub use mnist::{load_mnist, MnistData};
pub use one_hot::one_hot;
