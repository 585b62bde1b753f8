//! Data sets and helpers: IDX (MNIST) and CSV files, tables with string columns and missing
//! values and their encoders, scaling, splitting, one-hot encoding, image augmentation.

mod augment;
mod csv;
mod encode;
mod frame;
mod huge_pages;
mod idx;
mod mnist;
mod one_hot;
mod scale;
mod split;

pub use augment::ImageAugmentation;
pub use csv::{parse_csv, read_csv, CsvOptions, LabelColumn, Table};
pub use encode::{
    ColumnTransformer, FittedTransformer, Impute, Imputer, LabelEncoder, OneHotEncoder, Unknown,
};
pub use frame::{Column, DataFrame};
pub use idx::{parse_idx_bytes, read_idx, IdxArray};
pub use mnist::{load_mnist, MnistData};
pub use one_hot::one_hot;
pub use scale::{MinMaxScaler, StandardScaler};
pub use split::{stratified_split, train_test_split, Split};

/// Grayscale images `(H, W)` as one-channel images `(H, W, 1)`, the shape `Conv2D` takes.
pub fn add_channel<T: Copy, const H: usize, const W: usize>(
    images: &[[[T; W]; H]],
) -> Vec<[[[T; 1]; W]; H]> {
    images
        .iter()
        .map(|img| img.map(|row| row.map(|p| [p])))
        .collect()
}
