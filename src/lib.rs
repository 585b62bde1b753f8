//! # typed-nn
//!
//! Keras-style models, chains or graphs, compiled into shape-checked, monomorphized Rust.
//!
//! ```
//! use typed_nn::prelude::*;
//!
//! model! {
//!     /// The MNIST classifier of the README.
//!     pub struct Mnist {
//!         Input<28, 28> => Flatten => Dense<300, Relu> => Dropout<0.5> => Dense<10, Softmax>
//!     }
//! }
//!
//! let net = Mnist::new(42);
//! assert_eq!(Mnist::PARAMS, 238_510);
//! let probabilities: [f32; 10] = net.predict(&[[0.0; 28]; 28]);
//! assert!((probabilities.iter().sum::<f32>() - 1.0).abs() < 1e-5);
//! ```
//!
//! The `model!` macro infers every shape while the crate compiles: a chain that cannot work is
//! a compile error pointing at the bad layer. The generated struct has one public field per
//! layer (named as Keras names layers: `dense`, `dense_1`, ...) and implements [`Model`], which
//! provides `predict`, `predict_batch`, `get_weights` / `set_weights` (Keras order),
//! `summary`, `train_step`, `fit` and `evaluate`.
//!
//! ## The DSL
//!
//! `Input<N>`, `Input<H, W>` or `Input<H, W, C>` first, then any of `Flatten`,
//! `Dense<UNITS>` / `Dense<UNITS, ACT>` (options `init = GlorotUniform | GlorotNormal |
//! HeNormal | HeUniform | LecunNormal | Zeros`, `l1 = x`, `l2 = x`), `Dropout<RATE>`,
//! `Conv2D<FILTERS, K>` / `Conv2D<FILTERS, K, ACT>` with `K` = `k` or `(kh, kw)` (options
//! `stride = s | (sh, sw)`, `padding = Valid | Same` with TensorFlow's rule, `init`, `l1`,
//! `l2`), `MaxPool2D<P>` and `AvgPool2D<P>` (options `stride`, default `P`, and `padding`),
//! `BatchNorm` (options `momentum = 0.99`, `epsilon = 0.001`), and the activation layers
//! `Relu`, `LeakyRelu<ALPHA>` (0.3), `Elu<ALPHA>` (1.0), `Sigmoid`, `Tanh`, `Softmax`,
//! `Linear`. Images are channels last: `Input<H, W, C>`.
//!
//! ## Graphs
//!
//! A body of `let` bindings ending in the output(s) is Keras's functional API: several
//! inputs and outputs (tuples of arrays), the merges `Add`, `Subtract`, `Multiply`,
//! `Average`, `Maximum`, `Minimum` and `Concatenate<axis = ..>`, and shared layers (a layer
//! bound without input, applied wherever it is named):
//!
//! ```
//! use typed_nn::prelude::*;
//!
//! model! {
//!     pub struct Residual {
//!         let x = Input<8>;
//!         let y = x => Dense<8, Relu> => Dense<8>;
//!         Add(x, y) => Relu => Dense<3, Softmax>
//!     }
//! }
//! let probabilities: [f32; 3] = Residual::new(1).predict(&[0.5; 8]);
//! assert!((probabilities.iter().sum::<f32>() - 1.0).abs() < 1e-5);
//! ```
//!
//! A type of your own implementing [`Layer`] and [`CustomLayer`] is named in `model!` like a
//! built-in (see [`CustomLayer`]).
//!
//! ## Element types
//!
//! Models are `f32` unless asked otherwise: `Mnist::new(seed)` needs no annotation. The same
//! struct is generic over [`Float`]; `Mnist::<f64>::new(seed)` (through the [`Model`] trait)
//! builds an `f64` model for gradient checks.
//!
//! ## Threads
//!
//! Batch work (`predict_batch`, `evaluate`) runs on a pool of `TYPED_NN_THREADS` threads when
//! that environment variable is set, otherwise one per core; single-sample `predict` runs on
//! the calling thread.

extern crate self as typed_nn;

/// The README's examples, compiled as doctests so they cannot drift from the API.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;

pub use nn_core::{activation, data, layers, loss, metrics, optim, train};
pub use nn_core::{
    plot_model, Error, Float, Initializer, Model, Regularizer, Result, Scores, Tensor,
};
pub use nn_macros::model;

// Shortcuts to the modules' most used names (the prelude has them all).
#[doc(no_inline)]
pub use nn_core::{
    add_channel, classification_report, confusion_matrix, load_mnist, one_hot, parse_csv,
    parse_idx_bytes, read_csv, read_idx, stratified_split, train_test_split, Activation, Adagrad,
    Adam, BinaryCrossentropy, Callback, CategoricalCrossentropy, ClassScores, ClassificationReport,
    ConfusionMatrix, Control, CsvLogger, CsvOptions, CustomLayer, EarlyStopping, Elu, Fit, History,
    ImageAugmentation, LabelColumn, Layer, LeakyRelu, LearningRate, LearningRateScheduler, Linear,
    Logs, Loss, MeanAbsoluteError, MeanSquaredError, Metric, MinMaxScaler, MnistData,
    ModelCheckpoint, MonitorMode, Optimizer, ReduceLROnPlateau, Relu, RmsProp, Sgd, Sigmoid,
    Softmax, SparseCategoricalCrossentropy, Split, StandardScaler, Table, Tanh, TensorBoard,
    TerminateOnNaN, UpdateFreq, Verbosity, WeightSpec,
};

/// The matrix kernels (the `kernels` feature), for benchmarks and experiments.
#[cfg(feature = "kernels")]
pub use nn_core::kernels;

#[doc(hidden)]
pub use nn_core::__private;

/// Everything a typical program needs: `use typed_nn::prelude::*;`.
pub mod prelude {
    #[doc(no_inline)]
    pub use crate::activation::{Elu, LeakyRelu, Linear, Relu, Sigmoid, Softmax, Tanh};
    #[doc(no_inline)]
    pub use crate::data::{
        add_channel, load_mnist, one_hot, read_csv, read_idx, stratified_split, train_test_split,
        Column, ColumnTransformer, CsvOptions, DataFrame, ImageAugmentation, Impute, LabelColumn,
        LabelEncoder, MinMaxScaler, MnistData, OneHotEncoder, Split, StandardScaler, Table,
        Unknown,
    };
    #[doc(no_inline)]
    pub use crate::layers::{
        AvgPool2D, BatchNorm, Conv2D, CustomLayer, Dense, Dropout, Flatten, Layer, MaxPool2D,
    };
    #[doc(no_inline)]
    pub use crate::loss::{
        BinaryCrossentropy, CategoricalCrossentropy, Loss, MeanAbsoluteError, MeanSquaredError,
        SparseCategoricalCrossentropy,
    };
    #[doc(no_inline)]
    pub use crate::metrics::Metric;
    #[doc(no_inline)]
    pub use crate::metrics::{
        classification_report, confusion_matrix, ClassificationReport, ConfusionMatrix,
    };
    #[doc(no_inline)]
    pub use crate::optim::{Adagrad, Adam, LearningRate, Optimizer, RmsProp, Sgd};
    #[doc(no_inline)]
    pub use crate::train::{
        Callback, Control, CsvLogger, EarlyStopping, Fit, History, LearningRateScheduler, Logs,
        ModelCheckpoint, MonitorMode, ReduceLROnPlateau, TensorBoard, TerminateOnNaN, UpdateFreq,
        Verbosity,
    };
    #[doc(no_inline)]
    pub use crate::{
        model, plot_model, Error, Float, Initializer, Model, Regularizer, Scores, Tensor,
    };
}
