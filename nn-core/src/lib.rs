//! `nn-core`: the numeric half of typed-nn.
//!
//! Tensors, layers, kernels, losses, optimizers, the training loop and data helpers, as plain
//! generic Rust that can be tested and benchmarked on its own. The `model!` macro (in
//! `nn-macros`) only parses a layer chain, checks its shapes and emits a struct whose fields
//! are the layer types defined here, with every size a const generic.

#![cfg_attr(not(feature = "std"), no_std)]
#![warn(missing_docs)]
#![deny(unsafe_op_in_unsafe_fn)]
#![warn(clippy::undocumented_unsafe_blocks)]

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
mod confusion;
#[cfg(feature = "std")]
pub mod data;
mod diagram;
mod error;
mod float;
mod graph;
mod init;
#[cfg(feature = "std")]
mod io;
#[cfg(feature = "kernels")]
pub mod kernels;
#[cfg(not(feature = "kernels"))]
#[allow(dead_code, unreachable_pub)]
mod kernels;
pub mod layers;
pub mod loss;
pub mod metrics;
mod model;
mod network;
pub mod optim;
mod regularizer;
mod summary;
mod tensor;
#[cfg(feature = "std")]
mod threads;
#[cfg(feature = "std")]
pub mod train;

/// What the code `model!` generates (and the crate's own tests) reach for; not an API.
#[doc(hidden)]
pub mod __private {
    pub use crate::graph::{Graph, Node, Op};
    #[cfg(feature = "std")]
    pub use crate::io::tfevents::{read_events, Event};
    pub use crate::kernels::Isa;
    #[cfg(feature = "std")]
    pub use crate::kernels::MAX_ISA_ENV;
    pub use crate::layers::merge::Merge;
    pub use crate::model::Runtime;
    pub use crate::network::{predict_with, Records};
    pub use crate::summary::{LayerInfo, SummaryRow};
    #[cfg(feature = "std")]
    pub use crate::threads::{pool, thread_count, THREADS_ENV};
}

pub use error::{Error, Result};
pub use float::Float;
pub use init::Initializer;
#[cfg(feature = "std")]
pub use model::plot_model;
pub use model::{Model, Scores};
pub use regularizer::Regularizer;
pub use tensor::Tensor;

// Shortcuts to the modules' most used names (the prelude has them all).
#[doc(no_inline)]
pub use activation::{Activation, Elu, LeakyRelu, Linear, Relu, Sigmoid, Softmax, Tanh};
#[cfg(feature = "std")]
#[doc(no_inline)]
pub use data::{
    add_channel, load_mnist, one_hot, parse_csv, parse_idx_bytes, read_csv, read_idx,
    stratified_split, train_test_split, CsvOptions, ImageAugmentation, LabelColumn, MinMaxScaler,
    MnistData, Split, StandardScaler, Table,
};
#[doc(no_inline)]
pub use layers::{CustomLayer, Layer, WeightSpec};
#[doc(no_inline)]
pub use loss::{
    BinaryCrossentropy, CategoricalCrossentropy, Loss, MeanAbsoluteError, MeanSquaredError,
    SparseCategoricalCrossentropy,
};
#[doc(no_inline)]
pub use metrics::{
    classification_report, confusion_matrix, ClassScores, ClassificationReport, ConfusionMatrix,
    Metric,
};
#[doc(no_inline)]
pub use optim::{Adagrad, Adam, LearningRate, Optimizer, RmsProp, Sgd};
#[cfg(feature = "std")]
#[doc(no_inline)]
pub use train::{
    Callback, Control, CsvLogger, EarlyStopping, Fit, History, LearningRateScheduler, Logs,
    ModelCheckpoint, MonitorMode, ReduceLROnPlateau, TensorBoard, TerminateOnNaN, UpdateFreq,
    Verbosity,
};
