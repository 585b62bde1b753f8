//! Running a model graph ([`Graph`]): inference here, the cached forward and backward passes
//! of training in `training.rs`. A chain is the graph whose every node reads the one before
//! it; there is no other code path for it.
//!
//! Everything here is generic only over the element type, not over the model, so each new
//! model shape re-uses this code; the per-layer kernels are the monomorphized part. Splitting
//! a training batch across threads is `shards.rs`'s business, on top of these passes (the
//! first dense layer's share of it: `layers/row_split.rs`, `kernels/packed_parts.rs`).

#[allow(unused_imports)]
use crate::prelude::*;

use core::ops::Deref;

use crate::graph::{Graph, Op};
use crate::layers::{Layer, Mode};
use crate::{Float, Tensor};

#[cfg(feature = "std")]
mod passes;
#[cfg(feature = "std")]
mod shards;
#[cfg(feature = "std")]
mod split;
#[cfg(feature = "std")]
mod training;
#[cfg(feature = "std")]
pub use passes::Passes;
#[cfg(feature = "std")]
pub(crate) use split::cached_rows;
#[cfg(feature = "std")]
use training::SplitShard;
#[cfg(feature = "std")]
pub use training::{Objective, Workspace};
/// Without `std` there is no training: nothing to compile ahead.
#[cfg(not(feature = "std"))]
#[doc(hidden)]
pub trait Passes {}
#[cfg(not(feature = "std"))]
impl Passes for f32 {}
#[cfg(not(feature = "std"))]
impl Passes for f64 {}

/// Where a model's inputs and outputs sit in their flat per-sample records: a tuple of
/// arrays is one record, each part at its offset (see [`crate::Tensor::part_offsets`]).
#[derive(Clone, Copy, Debug)]
pub struct Records {
    /// Elements per input record.
    pub input_size: usize,
    /// The offset of each input in the record.
    pub input_offsets: &'static [usize],
    /// Elements per output record.
    pub output_size: usize,
    /// The offset of each output in the record.
    pub output_offsets: &'static [usize],
    /// The shape of each output.
    pub output_shapes: &'static [&'static [usize]],
}

impl Records {
    /// The records of inputs `I` and outputs `O` (a model's `Input` and `Output`).
    pub fn of<T: Float, I: Tensor<T>, O: Tensor<T>>() -> Self {
        Records {
            input_size: I::SIZE,
            input_offsets: I::part_offsets(),
            output_size: O::SIZE,
            output_offsets: O::part_offsets(),
            output_shapes: O::part_shapes(),
        }
    }

    /// The width of output `j`'s last axis (classes, for a classifier).
    pub fn last_axis(&self, j: usize) -> usize {
        self.output_shapes[j].last().copied().unwrap_or(1)
    }
}

/// Elements of scratch [`predict_with`] needs for `batch` samples: one buffer per slot, each
/// as wide as the widest node.
pub fn scratch_len(graph: &Graph, batch: usize) -> usize {
    graph.slots * graph.widest() * batch
}

/// Inference on a batch: `x` holds whole input records, `out` the matching output records.
pub fn predict<T: Float, L: Deref<Target = D>, D: Layer<T> + ?Sized>(
    graph: &Graph,
    records: &Records,
    layers: &[L],
    x: &[T],
    out: &mut [T],
) {
    let batch = x.len() / records.input_size.max(1);
    let len = scratch_len(graph, batch);
    // Kept per thread: zeroing a fresh 300 KB for the 784-300-10 MLP's batch of 128 was 0.7%
    // of its one-thread `predict_batch`.
    #[cfg(feature = "std")]
    T::with_scratch(crate::kernels::Scratch::Activations, len, |scratch| {
        predict_with(graph, records, layers, x, out, scratch)
    });
    #[cfg(not(feature = "std"))]
    predict_with(graph, records, layers, x, out, &mut vec![T::zero(); len]);
}

/// Copies part `offset..offset + width` of each `record`-long row of `src` into `dst`.
pub(super) fn gather_part<T: Float>(
    dst: &mut [T],
    src: &[T],
    record: usize,
    offset: usize,
    width: usize,
) {
    for (d, s) in dst.chunks_exact_mut(width).zip(src.chunks_exact(record)) {
        d.copy_from_slice(&s[offset..offset + width]);
    }
}

/// Copies each `width`-long row of `src` into part `offset..` of the rows of `dst`.
pub(super) fn scatter_part<T: Float>(
    dst: &mut [T],
    src: &[T],
    record: usize,
    offset: usize,
    width: usize,
) {
    for (d, s) in dst.chunks_exact_mut(record).zip(src.chunks_exact(width)) {
        d[offset..offset + width].copy_from_slice(s);
    }
}

/// Runs node `node` of `graph` into `y`, reading its inputs through `read`.
pub(super) fn run_node<'a, T: Float, L: Deref<Target = D>, D: Layer<T> + ?Sized>(
    graph: &Graph,
    layers: &[L],
    node: usize,
    read: &dyn Fn(usize) -> &'a [T],
    y: &mut [T],
    cache: &mut [T],
    mode: Mode<'_>,
) {
    let node = &graph.nodes[node];
    let batch = y.len() / node.size.max(1);
    match node.op {
        Op::Input => unreachable!("inputs are not run"),
        Op::Layer(l) => layers[l].forward(read(node.inputs[0]), y, cache, mode),
        Op::Merge(m) => m.forward(node.inputs.len(), &|i| read(node.inputs[i]), y, batch),
    }
}

/// `predict` with caller-provided scratch of at least `scratch_len` elements; allocates
/// nothing itself (single-sample layers compute without allocating either).
///
/// A model with one input reads it straight from `x`, and one with one output writes it
/// straight into `out`; otherwise the inputs are gathered into their slots first and the
/// outputs scattered into their records last.
pub fn predict_with<T: Float, L: Deref<Target = D>, D: Layer<T> + ?Sized>(
    graph: &Graph,
    records: &Records,
    layers: &[L],
    x: &[T],
    out: &mut [T],
    scratch: &mut [T],
) {
    let batch = x.len() / records.input_size.max(1);
    let width = graph.widest() * batch;
    let nodes = graph.nodes;
    let direct_in = (graph.inputs.len() == 1).then(|| graph.inputs[0]);
    let direct_out = (graph.outputs.len() == 1).then(|| graph.outputs[0]);
    if direct_in.is_none() {
        for (&k, &offset) in graph.inputs.iter().zip(records.input_offsets) {
            let size = nodes[k].size;
            let slot = &mut scratch[nodes[k].slot * width..][..batch * size];
            gather_part(slot, x, records.input_size, offset, size);
        }
    }
    // A layer that only reshapes the input read directly (`Flatten` first) is not run: its
    // readers read `x`, which nothing overwrites. (Other reshapes run: the slot of what they
    // reshape may be reused before their readers run.)
    let reads_x = |k: usize| direct_in == Some(source(graph, layers, k));
    for (n, node) in nodes.iter().enumerate() {
        if node.op == Op::Input || reads_x(n) {
            continue;
        }
        let len = batch * node.size;
        if direct_out == Some(n) {
            let scratch = &*scratch;
            let read = |k: usize| -> &[T] {
                if reads_x(k) {
                    x
                } else {
                    &scratch[nodes[k].slot * width..][..batch * nodes[k].size]
                }
            };
            run_node(graph, layers, n, &read, out, &mut [], Mode::Predict);
            continue;
        }
        let (before, rest) = scratch.split_at_mut(node.slot * width);
        let (mine, after) = rest.split_at_mut(width);
        let (before, after, out) = (&*before, &*after, &*out);
        let read = |k: usize| -> &[T] {
            let slot = nodes[k].slot;
            let len = batch * nodes[k].size;
            if reads_x(k) {
                x
            } else if direct_out == Some(k) {
                out
            } else if slot < node.slot {
                &before[slot * width..][..len]
            } else {
                &after[(slot - node.slot - 1) * width..][..len]
            }
        };
        run_node(
            graph,
            layers,
            n,
            &read,
            &mut mine[..len],
            &mut [],
            Mode::Predict,
        );
    }
    if direct_out.is_none() {
        for (&k, &offset) in graph.outputs.iter().zip(records.output_offsets) {
            let size = nodes[k].size;
            let slot = &scratch[nodes[k].slot * width..][..batch * size];
            scatter_part(out, slot, records.output_size, offset, size);
        }
    }
}

/// The node whose output holds node `k`'s data: `k` itself, or, for a layer that only
/// reshapes (`Flatten`) and is no output of the model, its input's source. Such a layer need
/// not run: its readers can read its source's output, element for element the same.
pub(super) fn source<T: Float, L: Deref<Target = D>, D: Layer<T> + ?Sized>(
    graph: &Graph,
    layers: &[L],
    k: usize,
) -> usize {
    let node = &graph.nodes[k];
    match node.op {
        Op::Layer(l) if layers[l].only_reshapes() && !graph.outputs.contains(&k) => {
            source(graph, layers, node.inputs[0])
        }
        _ => k,
    }
}

#[cfg(test)]
pub(crate) mod tests;
