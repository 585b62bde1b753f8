//! `nn-core`: the numeric half of typed-nn.
//!
//! Tensors, layers, kernels, losses, optimizers, the training loop and data helpers, as plain
//! generic Rust that can be tested and benchmarked on its own. The `model!` macro (in
//! `nn-macros`) only parses a layer chain, checks its shapes and emits a struct whose fields
//! are the layer types defined here, with every size a const generic.

#![warn(missing_docs)]

pub mod activation;
pub mod confusion;
pub mod data;
mod error;
mod float;
pub mod init;
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
pub mod threads;
pub mod train;

pub use activation::{Activation, Elu, LeakyRelu, Linear, Relu, Sigmoid, Softmax, Tanh};
pub use confusion::{
    classification_report, confusion_matrix, ClassificationReport, ConfusionMatrix,
};
pub use data::{
    add_channel, load_mnist, one_hot, parse_csv, parse_idx_bytes, read_csv, read_idx,
    stratified_split, train_test_split, CsvOptions, ImageAugmentation, LabelColumn, MinMaxScaler,
    MnistData, Split, StandardScaler, Table,
};
pub use error::{Error, Result};
pub use float::Float;
pub use init::Initializer;
pub use layers::{Layer, WeightSpec};
pub use loss::{
    BinaryCrossentropy, CategoricalCrossentropy, Loss, MeanAbsoluteError, MeanSquaredError,
    SparseCategoricalCrossentropy,
};
pub use metrics::Metric;
pub use model::{Model, Runtime, Scores};
pub use optim::{Adagrad, Adam, LearningRate, Optimizer, RmsProp, Sgd};
pub use regularizer::Regularizer;
pub use summary::LayerInfo;
pub use tensor::Tensor;
pub use train::{
    Callback, Control, CsvLogger, EarlyStopping, Fit, History, LearningRateScheduler, Logs,
    ModelCheckpoint, MonitorMode, ReduceLROnPlateau, TerminateOnNaN, Verbosity,
};
