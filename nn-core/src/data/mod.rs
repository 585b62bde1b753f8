//! Data sets and helpers: IDX (MNIST) and CSV files, scaling, splitting, one-hot encoding,
//! image augmentation.

mod augment;
mod csv;
mod idx;
mod mnist;
mod one_hot;
mod scale;
mod split;

pub use augment::ImageAugmentation;
pub use csv::{read_csv, CsvOptions, LabelColumn, Table};
pub use idx::{read_idx, IdxArray};
pub use mnist::{load_mnist, MnistData};
pub use one_hot::one_hot;
pub use scale::{MinMaxScaler, StandardScaler};
pub use split::{stratified_split, train_test_split, Split};
