//! The layer trait and the layers the `model!` macro chains.
//!
//! A layer works on a batch of flat rows: `x` holds `batch * input_size()` elements, `y`
//! `batch * output_size()`, each sample's elements in row-major (channels-last) order. Layers
//! are generic over their sizes (const generics set by the macro), so every loop below has
//! constant trip counts after monomorphization; the trait itself is object-safe so that the
//! training loop, written once, can walk any chain as `&[&dyn Layer<T>]`.

#[allow(unused_imports)]
use crate::prelude::*;

mod activation_layer;
mod batch_norm;
mod conv2d;
mod custom;
mod dense;
mod dropout;
mod epilogue;
mod flatten;
#[cfg(test)]
mod gradient_check;
pub(crate) mod merge;
mod pool;
mod row_split;

pub use activation_layer::ActivationLayer;
pub use batch_norm::BatchNorm;
pub use conv2d::Conv2D;
pub use custom::CustomLayer;
pub use dense::Dense;
pub use dropout::Dropout;
pub use flatten::Flatten;
pub(crate) use merge::Merge;
pub use pool::{AvgPool2D, MaxPool2D};

/// The random source [`Layer::initialize`] draws from (re-exported, so that a custom layer
/// needs no `rand` dependency of its own).
pub use rand::RngCore;

use crate::activation::LogitsKind;
use crate::optim::ElementwiseStep;
use crate::Float;
pub(crate) use row_split::RowSplit;
#[cfg(feature = "std")]
pub(crate) use row_split::ShardProducts;

/// How a forward pass runs.
pub enum Mode<'a> {
    /// Inference, nothing kept (`predict`).
    Predict,
    /// Inference that fills the cache so that a loss can read logits (`evaluate`).
    Evaluate,
    /// Training: dropout on, batch statistics, and the cache filled for `backward`.
    Train(&'a mut dyn RngCore),
}

impl Mode<'_> {
    /// Whether layers behave as in training (dropout on, batch statistics).
    pub fn is_training(&self) -> bool {
        matches!(self, Mode::Train(_))
    }
}

/// The gradient arriving at a layer from above, which the layer may overwrite in place.
pub enum Upstream<'a, T> {
    /// The gradient of the loss w.r.t. the layer's output.
    Output(&'a mut [T]),
    /// The gradient w.r.t. the layer's logits (see [`Layer::logits`]): the output activation
    /// is skipped, as Keras does for softmax or sigmoid followed by a cross-entropy.
    Logits(&'a mut [T]),
}

impl<'a, T> Upstream<'a, T> {
    /// The gradient w.r.t. the output, for a layer whose [`Layer::logits`] is `None` (which
    /// therefore never receives [`Upstream::Logits`]).
    ///
    /// # Panics
    /// On [`Upstream::Logits`].
    pub fn output(self) -> &'a mut [T] {
        output_gradient(self)
    }
}

/// A layer's pre-activation output, which a cross-entropy loss uses instead of probabilities.
pub struct Logits<'a, T> {
    /// The activation that turned these logits into the layer's output.
    pub kind: LogitsKind,
    /// `batch * output_size()` logits.
    pub values: &'a [T],
    /// For a softmax, each row's sum of `exp(z - max)` as the forward pass computed it, where
    /// the layer keeps them (else empty): a cross-entropy then takes the probabilities from
    /// the layer's output instead of computing the exponentials again.
    pub row_sums: &'a [T],
}

/// One weight array of a layer, in Keras's `get_weights()` order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WeightSpec {
    /// Keras's name (`"kernel"`, `"bias"`, `"gamma"`, `"moving_mean"`, ...).
    pub name: &'static str,
    /// Keras's shape (`(in, out)` for a `Dense` kernel).
    pub shape: Vec<usize>,
    /// Whether the optimizer updates it.
    pub trainable: bool,
}

impl WeightSpec {
    /// The number of elements.
    pub fn len(&self) -> usize {
        self.shape.iter().product()
    }

    /// Whether the array has no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// One layer of a model: forward and backward passes on flat batches, and its weights.
///
/// A user's own layer implements this trait to take part in the same training loop.
/// Weights are one flat slice in Keras's `get_weights()` order, trainable arrays first, so that
/// the optimizer updates `weights_mut()[..trainable_len()]` and saving or Keras import can walk
/// [`Layer::weight_specs`].
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a layer over `{T}`",
    note = "layers implement `typed_nn::Layer<T>`: forward, backward and Keras-ordered weights"
)]
pub trait Layer<T: Float>: Send + Sync {
    /// Elements per sample going in.
    fn input_size(&self) -> usize;
    /// Elements per sample coming out.
    fn output_size(&self) -> usize;

    /// The weight arrays, in Keras order; the trainable ones come first.
    fn weight_specs(&self) -> Vec<WeightSpec> {
        Vec::new()
    }
    /// All weights, flat, in the order of [`Layer::weight_specs`].
    fn weights(&self) -> &[T] {
        &[]
    }
    /// All weights, writable.
    fn weights_mut(&mut self) -> &mut [T] {
        &mut []
    }
    /// How many of the leading weights the optimizer trains.
    fn trainable_len(&self) -> usize {
        self.weights().len()
    }
    /// Sets the weights to their initial values (Keras's initializers) from `rng`.
    fn initialize(&mut self, _rng: &mut dyn RngCore) {}

    /// Scratch elements kept between `forward` and `backward` for a batch of this size.
    fn cache_len(&self, _batch: usize) -> usize {
        0
    }
    /// [`Layer::cache_len`] where `backward` will be given no `dx` (no trainable layer lies
    /// below this one): what only the input gradient needs can be left out.
    fn cache_len_without_input_gradient(&self, batch: usize) -> usize {
        self.cache_len(batch)
    }
    /// Computes `y` from `x`. `cache` has `cache_len(batch)` elements (or
    /// `cache_len_without_input_gradient(batch)`, then `backward` gets no `dx`), except in
    /// [`Mode::Predict`] where it is empty.
    fn forward(&self, x: &[T], y: &mut [T], cache: &mut [T], mode: Mode<'_>);
    /// The pre-activation values, when the output is a softmax or sigmoid of them.
    fn logits<'a>(&self, _x: &'a [T], _cache: &'a [T]) -> Option<Logits<'a, T>> {
        None
    }
    /// Back-propagates: writes the weight gradient into `grad` (`weights().len()` elements,
    /// overwritten) and, when asked, the gradient w.r.t. the input into `dx` (overwritten too:
    /// it arrives holding whatever an earlier layer left there, not zeros). `cache` holds
    /// what `forward` left there; the layer may reuse the parts it has finished with as scratch
    /// (so that training allocates nothing per step), as long as what
    /// [`Layer::finish_train_batch`] reads stays intact.
    fn backward(
        &self,
        x: &[T],
        y: &[T],
        cache: &mut [T],
        upstream: Upstream<'_, T>,
        dx: Option<&mut [T]>,
        grad: &mut [T],
    );

    /// Before a training step whose batch is split into shards across `parts` worker
    /// threads, each thread calls this once with its `part`, numbered as the optimizer's
    /// update later cuts the weights into pieces (the first `1/parts` of the weights is piece
    /// 0, and so on), before any shard's forward pass. A layer may prepare here, from the
    /// piece of its weights that thread will update, what all shards' forward passes share:
    /// [`Dense`] packs its kernel's rows, so that no core reads weights another core writes.
    fn prepare_shards(&self, _part: usize, _parts: usize) {}
    /// Whether [`Layer::prepare_shards`] does anything for this layer (when no layer's does,
    /// a split step skips the round of calls).
    fn prepares_shards(&self) -> bool {
        false
    }

    /// This layer's passes for a split training step that cuts its product by input rows
    /// instead of by samples ([`RowSplit`]), if it offers them; `network` uses them only when
    /// the layer is the first with weights and only reshapes lie below it (in a whole-batch
    /// step too, where the update is fused: [`Layer::fuses_update`]). The runner's business:
    /// a custom layer leaves it `None`.
    #[doc(hidden)]
    fn row_split(&self) -> Option<&dyn RowSplit<T>> {
        None
    }
    /// Whether this layer, where `network` could use its [`Layer::row_split`] passes, takes
    /// the optimizer's element-wise step inside its weight gradient's product
    /// ([`Layer::update_from_product_gradient`]) instead of leaving a gradient for
    /// [`Optimizer::update`](crate::optim::Optimizer::update): on one thread the backward pass
    /// stops at its product gradient, on several the parts' weight gradient is skipped. The
    /// runner's business: a custom layer leaves it `false`.
    #[doc(hidden)]
    fn fuses_update(&self) -> bool {
        false
    }
    /// Where [`Layer::fuses_update`]: the weight gradient of the whole batch `x` from its
    /// product gradient `dz` ([`RowSplit`]), applied to the weights by `step` as the product
    /// computes it, in `parts` parts of the kernel's rows on the worker pool (as
    /// [`RowSplit::weight_gradient`] cuts them). `grad` (`weights().len()` elements) is
    /// scratch. The weights come out as from `weight_gradient` then the optimizer's update.
    #[doc(hidden)]
    fn update_from_product_gradient(
        &mut self,
        _parts: usize,
        _x: &[T],
        _dz: &[T],
        _grad: &mut [T],
        _step: ElementwiseStep<'_, T>,
    ) {
        unreachable!("only layers that fuse their update are asked to")
    }
    /// Whether the layer only reshapes: its output is its input, element for element
    /// (`Flatten`). A row-split layer may sit behind such layers and read the batch directly.
    fn only_reshapes(&self) -> bool {
        false
    }

    /// The regularization penalty this layer adds to the loss.
    fn penalty(&self) -> T {
        T::zero()
    }
    /// Adds the penalty's gradient to `grad`.
    fn add_penalty_gradient(&self, _grad: &mut [T]) {}
    /// Called once after each training batch's forward pass (batch-norm moving statistics).
    /// Only layers that couple samples get it, since only their batches are never split.
    fn finish_train_batch(&mut self, _cache: &[T]) {}
    /// Whether the output of one sample depends on the other samples of the batch (batch
    /// statistics), so that a training batch must not be split across threads.
    fn couples_samples(&self) -> bool {
        false
    }
}

/// The gradient w.r.t. the output when a layer cannot take logits.
///
/// # Panics
/// On [`Upstream::Logits`]: only layers whose [`Layer::logits`] returns `Some` receive it.
pub(crate) fn output_gradient<'a, T>(upstream: Upstream<'a, T>) -> &'a mut [T] {
    match upstream {
        Upstream::Output(dy) => dy,
        Upstream::Logits(_) => panic!("this layer has no logits"),
    }
}
