//! How a training step splits its batch across threads (how many shards, and whether the
//! first layer is cut by rows instead), and how many samples one pass should take for its
//! activations to stay in cache. `shards.rs` runs the split this decides.

use core::ops::Deref;

use crate::graph::{Graph, Op};
use crate::layers::{Layer, RowSplit};
use crate::Float;

/// The fewest samples worth a shard of their own in a training step.
const MIN_SHARD: usize = 32;

/// A shard's activations and caches should fit in about this many bytes: past it, the
/// backward pass finds what the forward pass left already evicted, and a batch runs faster as
/// several shards in turn on each thread (BENCHMARKS.md has LeNet's figures). Batched
/// inference and evaluation cut their chunks to the same size.
const SHARD_BYTES: usize = 2 << 20;

/// The fewest samples a shard or chunk is cut down to for [`SHARD_BYTES`].
const MIN_CACHED_SHARD: usize = 16;

/// The most samples one pass through the graph should take at once for its activations and
/// caches to stay within [`SHARD_BYTES`] (but never fewer than 16).
pub(crate) fn cached_rows<T: Float, L: Deref<Target = D>, D: Layer<T> + ?Sized>(
    graph: &Graph,
    layers: &[L],
) -> usize {
    (SHARD_BYTES / sample_bytes(graph, layers, None).max(1)).max(MIN_CACHED_SHARD)
}

/// The bytes of activations and caches one sample takes in a pass through the graph: in a
/// training step, given which nodes `needs` a gradient ([`mark_needs`]), else in a forward pass
/// alone, where no cache keeps room for an input gradient.
fn sample_bytes<T: Float, L: Deref<Target = D>, D: Layer<T> + ?Sized>(
    graph: &Graph,
    layers: &[L],
    needs: Option<&[bool]>,
) -> usize {
    let elements: usize = graph
        .nodes
        .iter()
        .map(|n| match n.op {
            Op::Input => 0,
            Op::Layer(l) => {
                let input_gradient = needs.is_some_and(|needs| needs[n.inputs[0]]);
                n.size + cache_len(&*layers[l], 1, input_gradient)
            }
            Op::Merge(_) => n.size,
        })
        .sum();
    elements * core::mem::size_of::<T>()
}

/// Marks in `needs` (one entry per node) whether each node's output needs a gradient in
/// training: a trainable layer lies at or below it.
pub(crate) fn mark_needs<T: Float, L: Deref<Target = D>, D: Layer<T> + ?Sized>(
    graph: &Graph,
    layers: &[L],
    needs: &mut Vec<bool>,
) {
    needs.clear();
    for node in graph.nodes {
        let trainable = matches!(node.op, Op::Layer(l) if layers[l].trainable_len() > 0);
        let below = node.inputs.iter().any(|&k| needs[k]);
        needs.push(trainable || below);
    }
}

/// A layer's cache for a pass of `batch` samples, with or without room for its input gradient.
pub(crate) fn cache_len<T: Float, D: Layer<T> + ?Sized>(
    layer: &D,
    batch: usize,
    input_gradient: bool,
) -> usize {
    if input_gradient {
        layer.cache_len(batch)
    } else {
        layer.cache_len_without_input_gradient(batch)
    }
}

/// How many shards a training step of `rows` samples runs in (1: no splitting): one per
/// thread, or more, a whole number per thread, where that keeps each shard's workspace
/// within [`SHARD_BYTES`]. A layer that couples samples (batch statistics) keeps the batch
/// whole. `needs` is [`mark_needs`]'s for the graph.
pub(crate) fn shard_count<T: Float, L: Deref<Target = D>, D: Layer<T> + ?Sized>(
    graph: &Graph,
    layers: &[L],
    needs: &[bool],
    rows: usize,
) -> usize {
    if layers.iter().any(|l| l.couples_samples()) {
        return 1;
    }
    let threads = crate::threads::thread_count();
    let per_thread = threads.min(rows / MIN_SHARD).max(1);
    let for_cache = (rows * sample_bytes(graph, layers, Some(needs))).div_ceil(SHARD_BYTES);
    if for_cache <= per_thread {
        return per_thread;
    }
    let most = (rows / MIN_CACHED_SHARD).max(1);
    for_cache
        .div_ceil(threads)
        .saturating_mul(threads)
        .min(most)
        .max(per_thread)
}

/// The node a split training step cuts by rows ([`RowSplit`]), with its layer: the first
/// node with a trainable layer, when that layer offers to be cut, is applied nowhere else,
/// and reads the model's one input through nothing but reshapes that feed nothing else.
pub(crate) fn row_split<'a, T: Float, L: Deref<Target = D>, D: Layer<T> + ?Sized + 'a>(
    graph: &Graph,
    layers: &'a [L],
) -> Option<(usize, usize, &'a dyn RowSplit<T>)> {
    if graph.inputs.len() != 1 {
        return None;
    }
    let (node, l) = graph
        .nodes
        .iter()
        .enumerate()
        .find_map(|(i, n)| match n.op {
            Op::Layer(l) if layers[l].trainable_len() > 0 => Some((i, l)),
            _ => None,
        })?;
    let applied_once = graph.nodes.iter().filter(|n| n.op == Op::Layer(l)).count() == 1;
    let mut k = graph.nodes[node].inputs[0];
    while graph.nodes[k].op != Op::Input {
        let reshape = matches!(graph.nodes[k].op, Op::Layer(r) if layers[r].only_reshapes());
        if !reshape || graph.consumers(k) != 1 {
            return None;
        }
        k = graph.nodes[k].inputs[0];
    }
    if !applied_once {
        return None;
    }
    layers[l].row_split().map(|split| (node, l, split))
}
