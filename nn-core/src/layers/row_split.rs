//! A layer whose product a split training step cuts by input rows rather than by samples.
//!
//! A training step split by samples has every core multiply its shard by the whole kernel,
//! so every core reads every weight, and the step's end sums each shard's whole weight
//! gradient. For a large first layer that traffic between cores was most of what a two-thread
//! step of the card MLP spent beyond two half steps: packing the kernel's rows took 45-50 µs
//! in the step against ~14 µs with the lines already this core's, since the other core had
//! read them; summing the 784 x 300 gradient took 24-28 µs.
//!
//! Cut by rows, part `p` of the kernel's input rows belongs to one thread, the one that
//! updates those weights (numbered as `optim::elementwise` cuts them): before the shards it
//! multiplies the whole batch's matching input columns by its rows; each shard adds the parts'
//! products for its samples and goes on as before; after the shards the same thread computes
//! its rows of the weight gradient from the whole batch. No core reads another's weights or
//! gradient rows, nothing is summed, and the cores exchange only the partial products and the
//! gradient w.r.t. the product (each `batch x out`).

use super::Upstream;
use crate::Float;

/// The four steps of a layer cut by input rows in a split training step (see the module
/// documentation); `network` calls them only for the first layer with weights, with the
/// batch that reaches it unchanged.
pub trait RowSplit<T: Float>: Sync {
    /// Before the shards, on the worker pool: for each of `parts` parts of the input rows,
    /// that part's product over the whole batch `x` into its `batch * output_size` slice of
    /// `partials` (part after part), on the thread that updates those rows' weights.
    fn forward_parts(&self, parts: usize, x: &[T], partials: &mut [T]);
    /// In a shard: `y` arrives holding the shard's product (the parts' products summed); the
    /// layer finishes its forward pass in place (bias, activation, `cache` for `backward`).
    fn finish_forward(&self, y: &mut [T], cache: &mut [T]);
    /// In a shard: the gradient w.r.t. the product into `dz`, from `upstream` (which may be
    /// overwritten) and the shard's output `y`.
    fn product_gradient(&self, y: &[T], upstream: Upstream<'_, T>, dz: &mut [T]);
    /// After the shards, on the worker pool: the weight gradient of the whole batch (all of
    /// `grad`, overwritten) from its input `x` and product gradient `dz`, each part's rows on
    /// the thread that computed its product.
    fn weight_gradient(&self, parts: usize, x: &[T], dz: &[T], grad: &mut [T]);
}
