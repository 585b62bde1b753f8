//! A layer whose product a split training step cuts by input rows rather than by samples.
//!
//! A training step split by samples has every core multiply its shard by the whole kernel,
//! so every core reads every weight, and the step's end sums each shard's whole weight
//! gradient. For a large first layer that traffic between cores was most of what a two-thread
//! step of the 784-300-10 MLP spent beyond two half steps: packing kernel rows the other core
//! had read cost about three times as much as packing this core's own, and the gradient's
//! sum came on top.
//!
//! Cut by rows, part `p` of the kernel's input rows belongs to one thread, the one that
//! updates those weights (numbered as `optim::elementwise` cuts them): before the shards it
//! multiplies the whole batch's matching input columns by its rows; each shard adds the parts'
//! products for its samples and goes on as before; after the shards the same thread computes
//! its rows of the weight gradient from the whole batch. No core reads another's weights or
//! gradient rows, nothing is summed, and the cores exchange only the partial products and the
//! gradient w.r.t. the product (each `batch x out`).
//!
//! Where the layer takes the optimizer's step inside its weight gradient's product
//! (`Layer::fuses_update`), that last pass is `Layer::update_from_product_gradient` instead
//! of [`RowSplit::weight_gradient`]; a whole-batch step then uses
//! [`RowSplit::product_gradient`] alone, to stop its backward pass at the product.

use super::Upstream;
use crate::Float;

/// The four steps of a layer cut by input rows in a split training step (see the module
/// documentation); `network` calls them only for the first layer with weights, with the
/// batch that reaches it unchanged (and [`RowSplit::product_gradient`] alone in a
/// whole-batch step whose update is fused).
pub trait RowSplit<T: Float>: Sync {
    /// Before the shards, on the worker pool: for each of `parts` parts of the input rows,
    /// that part's product over the whole batch `x` into its `batch * output_size` slice of
    /// `partials` (part after part), on the thread that updates those rows' weights.
    fn forward_parts(&self, parts: usize, x: &[T], partials: &mut [T]);
    /// In a shard: sums the parts' `products` for the shard's samples into `y` and finishes
    /// the forward pass (bias, activation, `cache` for `backward`).
    fn finish_forward(&self, products: ShardProducts<'_, T>, y: &mut [T], cache: &mut [T]);
    /// In a shard: the gradient w.r.t. the product into `dz`, from `upstream` (which may be
    /// overwritten) and the shard's output `y`.
    fn product_gradient(&self, y: &[T], upstream: Upstream<'_, T>, dz: &mut [T]);
    /// After the shards, on the worker pool: the weight gradient of the whole batch (all of
    /// `grad`, overwritten) from its input `x` and product gradient `dz`, each part's rows on
    /// the thread that computed its product.
    fn weight_gradient(&self, parts: usize, x: &[T], dz: &[T], grad: &mut [T]);
}

/// One shard's share of the parts' products ([`RowSplit::forward_parts`]): in each part's
/// block of `block` elements (one after another in `partials`), the shard's from `start` on.
#[derive(Clone, Copy, Debug)]
pub struct ShardProducts<'a, T> {
    partials: &'a [T],
    block: usize,
    start: usize,
}

impl<'a, T: Float> ShardProducts<'a, T> {
    /// The shard's share from element `start` of each `block`-element part in `partials`.
    #[cfg_attr(not(feature = "std"), allow(dead_code))]
    pub(crate) fn new(partials: &'a [T], block: usize, start: usize) -> Self {
        Self {
            partials,
            block,
            start,
        }
    }

    /// `y = (p_0 + p_1 + ...) + bias` for the shard's rows of `bias.len()` elements, in that
    /// order, as summing the parts and then adding the bias would round it, but row by row:
    /// one pass over `y` instead of one per part and one for the bias.
    ///
    /// # Panics
    /// If the parts are too short for `y`.
    pub fn sum_with_bias(&self, y: &mut [T], bias: &[T]) {
        let width = bias.len();
        for (r, row) in y.chunks_exact_mut(width).enumerate() {
            let at = self.start + r * width;
            let mut parts = self
                .partials
                .chunks_exact(self.block)
                .map(|part| &part[at..at + width]);
            row.copy_from_slice(parts.next().expect("at least one part"));
            for part in parts {
                T::add_into(row, part);
            }
            T::add_into(row, bias);
        }
    }
}
