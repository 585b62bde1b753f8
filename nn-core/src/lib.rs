//! `nn-core`: the numeric half of typed-nn.
//!
//! Tensors, layers, kernels, losses, optimizers, the training loop and data helpers, as plain
//! generic Rust that can be tested and benchmarked on its own. The `model!` macro (in
//! `nn-macros`) only parses a layer chain, checks its shapes and emits a struct whose fields
//! are the layer types defined here, with every size a const generic.

#![cfg_attr(not(feature = "std"), no_std)]
#![warn(missing_docs)]

extern crate alloc;

/// The `alloc` names the `std` prelude would give, for modules that also build without `std`.
#[allow(unused_imports)]
mod prelude {
    pub use alloc::boxed::Box;
    pub use alloc::string::{String, ToString};
    pub use alloc::vec::Vec;
    pub use alloc::{format, vec};
}

pub mod activation;
pub mod confusion;
#[cfg(feature = "std")]
pub mod data;
pub mod diagram;
mod error;
mod float;
pub mod graph;
pub mod init;
#[cfg(feature = "std")]
pub mod io;
pub mod kernels;
pub mod layers;
pub mod loss;
pub mod metrics;
mod model;
pub mod network;
pub mod optim;
pub mod regularizer;
pub mod summary;
mod tensor;
#[cfg(feature = "std")]
pub mod threads;
#[cfg(feature = "std")]
pub mod train;

pub use activation::{Activation, Elu, LeakyRelu, Linear, Relu, Sigmoid, Softmax, Tanh};
pub use confusion::{
    classification_report, confusion_matrix, ClassificationReport, ConfusionMatrix,
};
#[cfg(feature = "std")]
pub use data::{
    add_channel, load_mnist, one_hot, parse_csv, parse_idx_bytes, read_csv, read_idx,
    stratified_split, train_test_split, CsvOptions, ImageAugmentation, LabelColumn, MinMaxScaler,
    MnistData, Split, StandardScaler, Table,
};
#[cfg(feature = "std")]
pub use diagram::plot_model;
pub use error::{Error, Result};
pub use float::Float;
#[cfg(feature = "std")]
pub use float::Scratch;
pub use init::Initializer;
pub use layers::{CustomLayer, Layer, Merge, WeightSpec};
pub use loss::{
    BinaryCrossentropy, CategoricalCrossentropy, Loss, MeanAbsoluteError, MeanSquaredError,
    SparseCategoricalCrossentropy,
};
pub use metrics::Metric;
pub use model::{Model, Runtime, Scores};
pub use optim::{Adagrad, Adam, LearningRate, Optimizer, RmsProp, Sgd};
pub use regularizer::Regularizer;
pub use summary::{LayerInfo, SummaryRow};
pub use tensor::Tensor;
#[cfg(feature = "std")]
pub use train::{
    Callback, Control, CsvLogger, EarlyStopping, Fit, History, LearningRateScheduler, Logs,
    ModelCheckpoint, MonitorMode, ReduceLROnPlateau, TensorBoard, TerminateOnNaN, UpdateFreq,
    Verbosity,
};
