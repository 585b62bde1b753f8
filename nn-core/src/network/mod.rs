//! Running a model graph ([`Graph`]): inference, and the cached forward and backward passes of
//! training. A chain is the graph whose every node reads the one before it; there is no other
//! code path for it.
//!
//! Everything here is generic only over the element type, not over the model, so each new
//! model shape re-uses this code; the per-layer kernels are the monomorphized part. Splitting
//! a training batch across threads is `shards.rs`'s business, on top of these passes.

#[allow(unused_imports)]
use crate::prelude::*;

use core::ops::{Deref, DerefMut};

use rand::RngCore;

use crate::graph::{Graph, Op};
use crate::layers::{Layer, Mode, RowSplit, ShardProducts, Upstream};
use crate::loss::{LossParts, TargetRows};
use crate::optim::Optimizer;
use crate::Float;

#[cfg(feature = "std")]
mod shards;
#[cfg(feature = "std")]
pub(crate) use shards::cached_rows;

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
    /// The records of model `M`'s inputs and outputs.
    pub fn of<M: crate::Model>() -> Self {
        crate::model::records::<M>()
    }

    /// The width of output `j`'s last axis (classes, for a classifier).
    pub fn last_axis(&self, j: usize) -> usize {
        self.output_shapes[j].last().copied().unwrap_or(1)
    }
}

/// What training minimises: a loss per output, each weighted.
#[derive(Clone, Copy)]
pub struct Objective<'a, T> {
    /// The loss of each output.
    pub losses: &'a dyn LossParts<T>,
    /// The weight of each output's loss in the total (empty: all 1).
    pub weights: &'a [T],
}

impl<T: Float> Objective<'_, T> {
    fn weight(&self, j: usize) -> T {
        self.weights.get(j).copied().unwrap_or(T::one())
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
    T::with_scratch(crate::float::Scratch::Activations, len, |scratch| {
        predict_with(graph, records, layers, x, out, scratch)
    });
    #[cfg(not(feature = "std"))]
    predict_with(graph, records, layers, x, out, &mut vec![T::zero(); len]);
}

/// Copies part `offset..offset + width` of each `record`-long row of `src` into `dst`.
fn gather_part<T: Float>(dst: &mut [T], src: &[T], record: usize, offset: usize, width: usize) {
    for (d, s) in dst.chunks_exact_mut(width).zip(src.chunks_exact(record)) {
        d.copy_from_slice(&s[offset..offset + width]);
    }
}

/// Copies each `width`-long row of `src` into part `offset..` of the rows of `dst`.
fn scatter_part<T: Float>(dst: &mut [T], src: &[T], record: usize, offset: usize, width: usize) {
    for (d, s) in dst.chunks_exact_mut(record).zip(src.chunks_exact(width)) {
        d[offset..offset + width].copy_from_slice(s);
    }
}

/// Runs node `node` of `graph` into `y`, reading its inputs through `read`.
fn run_node<'a, T: Float, L: Deref<Target = D>, D: Layer<T> + ?Sized>(
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

/// [`predict`] with caller-provided scratch of at least [`scratch_len`] elements; allocates
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
    for (n, node) in nodes.iter().enumerate() {
        if node.op == Op::Input {
            continue;
        }
        let len = batch * node.size;
        if direct_out == Some(n) {
            let scratch = &*scratch;
            let read = |k: usize| -> &[T] {
                if direct_in == Some(k) {
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
            if direct_in == Some(k) {
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

/// Buffers for the cached passes, kept between steps so that training does not reallocate.
#[derive(Clone, Debug, Default)]
pub struct Workspace<T> {
    /// Each node's output (empty for an input read straight from the batch).
    outputs: Vec<Vec<T>>,
    /// Each layer node's cache.
    caches: Vec<Vec<T>>,
    /// Each layer's weight gradient, summed over the nodes that apply it.
    grads: Vec<Vec<T>>,
    /// Each node's output gradient, summed over the nodes that read it (grown, never shrunk:
    /// used through slices of the batch's size).
    deltas: Vec<Vec<T>>,
    /// Whether a node's delta holds this step's gradient yet.
    delta_set: Vec<bool>,
    /// Whether a layer's gradient holds this step's gradient yet.
    grad_set: Vec<bool>,
    /// Whether a node's output needs a gradient (a trainable layer lies at or below it).
    needs: Vec<bool>,
    /// Whether a node's delta is w.r.t. its logits (see [`Layer::logits`]).
    logits: Vec<bool>,
    /// Where a second gradient for a node or a layer goes before it is added.
    spare: Vec<T>,
    spare_grad: Vec<T>,
    /// Each output's unweighted loss from the last pass.
    losses: Vec<T>,
    /// The graph's output nodes, for [`Workspace::output`].
    output_nodes: &'static [usize],
    batch: usize,
    /// One workspace per shard of a batch split across threads.
    #[cfg_attr(not(feature = "std"), allow(dead_code))]
    shards: Vec<Workspace<T>>,
    /// The weighted loss of this shard's last step (shards only).
    #[cfg_attr(not(feature = "std"), allow(dead_code))]
    value: T,
    /// A row-split step's products of the parts, each over the whole batch (`RowSplit`).
    #[cfg_attr(not(feature = "std"), allow(dead_code))]
    partials: Vec<T>,
    /// A row-split step's gradient w.r.t. the split layer's product, shard after shard.
    #[cfg_attr(not(feature = "std"), allow(dead_code))]
    product_grads: Vec<T>,
}

/// What a shard of a row-split step needs besides its samples (see [`RowSplit`]).
#[cfg_attr(not(feature = "std"), allow(dead_code))]
pub(crate) struct SplitShard<'a, T> {
    /// The node cut by rows; the reshapes below it are skipped.
    node: usize,
    split: &'a dyn RowSplit<T>,
    /// The shard's share of the parts' products.
    products: ShardProducts<'a, T>,
    /// Where the shard's gradient w.r.t. the layer's product goes.
    dz: &'a mut [T],
}

/// Whether node `i` lies on the chain of reshapes below node `node` (which a row-split
/// shard skips: the split layer reads the batch itself).
fn below(graph: &Graph, node: usize, i: usize) -> bool {
    let mut k = graph.nodes[node].inputs[0];
    loop {
        if k == i {
            return true;
        }
        match graph.nodes[k].op {
            Op::Input => return false,
            _ => k = graph.nodes[k].inputs[0],
        }
    }
}

/// `buffer[..len]`, growing the buffer (never shrinking it) when it is shorter.
fn sized<T: Float>(buffer: &mut Vec<T>, len: usize) -> &mut [T] {
    if buffer.len() < len {
        buffer.resize(len, T::zero());
    }
    &mut buffer[..len]
}

fn add_into<T: Float>(sum: &mut [T], part: &[T]) {
    sum.iter_mut().zip(part).for_each(|(s, &p)| *s += p);
}

/// The output of node `k`: the batch itself for an input read directly, else its buffer.
fn node_output<'a, T>(
    outputs: &'a [Vec<T>],
    x: &'a [T],
    direct: Option<usize>,
    k: usize,
) -> &'a [T] {
    if direct == Some(k) {
        x
    } else {
        &outputs[k]
    }
}

impl<T: Float> Workspace<T> {
    /// An empty workspace; buffers grow to the first batch's needs.
    pub fn new() -> Self {
        Self {
            value: T::zero(),
            ..Default::default()
        }
    }

    /// Output `j` of the last cached forward pass, a flat batch.
    pub fn output(&self, j: usize) -> &[T] {
        self.output_nodes
            .get(j)
            .map_or(&[], |&k| self.outputs[k].as_slice())
    }

    /// Output `j`'s unweighted data loss in the last pass.
    pub fn output_loss(&self, j: usize) -> T {
        self.losses.get(j).copied().unwrap_or(T::zero())
    }

    /// A forward pass that keeps every node's output and cache: in training mode with `rng`
    /// (dropout on, batch statistics), in inference mode without.
    pub fn forward<L: Deref<Target = D>, D: Layer<T> + ?Sized>(
        &mut self,
        graph: &Graph,
        records: &Records,
        layers: &[L],
        x: &[T],
        rng: Option<&mut dyn RngCore>,
    ) {
        self.forward_from(graph, records, layers, x, rng, None)
    }

    /// [`Workspace::forward`], or in a shard of a row-split step from the split layer's
    /// product: the reshapes below it are skipped.
    fn forward_from<L: Deref<Target = D>, D: Layer<T> + ?Sized>(
        &mut self,
        graph: &Graph,
        records: &Records,
        layers: &[L],
        x: &[T],
        rng: Option<&mut dyn RngCore>,
        split: Option<&SplitShard<'_, T>>,
    ) {
        let n = graph.nodes.len();
        self.outputs.resize_with(n, Vec::new);
        self.caches.resize_with(n, Vec::new);
        self.output_nodes = graph.outputs;
        let batch = x.len() / records.input_size.max(1);
        self.batch = batch;
        let direct = (graph.inputs.len() == 1).then(|| graph.inputs[0]);
        if direct.is_none() {
            for (&k, &offset) in graph.inputs.iter().zip(records.input_offsets) {
                let size = graph.nodes[k].size;
                let buffer = &mut self.outputs[k];
                buffer.resize(batch * size, T::zero());
                gather_part(buffer, x, records.input_size, offset, size);
            }
        }
        let mut rng = rng;
        for (i, node) in graph.nodes.iter().enumerate() {
            if node.op == Op::Input || split.is_some_and(|s| below(graph, s.node, i)) {
                continue;
            }
            let mut out = core::mem::take(&mut self.outputs[i]);
            out.resize(batch * node.size, T::zero());
            let cache = &mut self.caches[i];
            if let Op::Layer(l) = node.op {
                cache.resize(layers[l].cache_len(batch), T::zero());
            }
            if let Some(split) = split.filter(|s| s.node == i) {
                split.split.finish_forward(split.products, &mut out, cache);
            } else {
                let outputs = &self.outputs;
                let read = |k: usize| node_output(outputs, x, direct, k);
                let mode = match rng.as_deref_mut() {
                    Some(r) => Mode::Train(r),
                    None => Mode::Evaluate,
                };
                run_node(graph, layers, i, &read, &mut out, cache, mode);
            }
            self.outputs[i] = out;
        }
    }

    /// The weighted data loss of the last cached forward pass (each output's own in
    /// `losses`) and, when `backprop` is set, its gradient times `scale` reaching each output
    /// node. An output read by no other node takes the gradient w.r.t. its layer's logits when
    /// the loss pairs with its activation, as Keras does.
    #[allow(clippy::too_many_arguments)]
    fn loss<L: Deref<Target = D>, D: Layer<T> + ?Sized>(
        &mut self,
        graph: &Graph,
        records: &Records,
        layers: &[L],
        x: &[T],
        objective: &Objective<'_, T>,
        targets: TargetRows<'_, T>,
        backprop: bool,
        scale: T,
    ) -> T {
        let n = graph.nodes.len();
        let batch = self.batch;
        self.deltas.resize_with(n, Vec::new);
        self.delta_set.clear();
        self.delta_set.resize(n, false);
        self.logits.clear();
        self.logits.resize(n, false);
        self.losses.clear();
        let direct = (graph.inputs.len() == 1).then(|| graph.inputs[0]);
        let mut total = T::zero();
        for (j, &k) in graph.outputs.iter().enumerate() {
            let node = &graph.nodes[k];
            let (loss, t, last) = (
                objective.losses.part(j),
                targets.part(j),
                records.last_axis(j),
            );
            let weight = objective.weight(j);
            let len = batch * node.size;
            let (mut grad, first) = self.take_delta(k);
            let g = backprop.then(|| sized(&mut grad, len));
            let output = self.outputs[k].as_slice();
            let logits = match node.op {
                Op::Layer(l) if first && graph.consumers(k) == 0 => {
                    let input = node_output(&self.outputs, x, direct, node.inputs[0]);
                    layers[l].logits(input, &self.caches[k])
                }
                _ => None,
            };
            let (value, from_logits) = match logits {
                Some(logits) => {
                    match loss.compute_from_logits(logits.kind, logits.values, t, last, g) {
                        Some(value) => (value, true),
                        None => {
                            let g = backprop.then(|| sized(&mut grad, len));
                            (loss.compute(output, t, last, g), false)
                        }
                    }
                }
                None => (loss.compute(output, t, last, g), false),
            };
            if backprop {
                let g = &mut grad[..len];
                let factor = scale * weight;
                if factor != T::one() {
                    g.iter_mut().for_each(|v| *v *= factor);
                }
                self.give_delta(k, grad, len, first);
                self.logits[k] = from_logits;
            } else if first {
                self.deltas[k] = grad;
            } else {
                self.spare = grad;
            }
            self.losses.push(value);
            total += weight * value;
        }
        total
    }

    /// The loss (with penalties) of a batch in inference mode; the outputs stay in
    /// [`Workspace::output`].
    pub fn evaluate<L: Deref<Target = D>, D: Layer<T> + ?Sized>(
        &mut self,
        graph: &Graph,
        records: &Records,
        layers: &[L],
        x: &[T],
        objective: &Objective<'_, T>,
        targets: TargetRows<'_, T>,
    ) -> T {
        self.forward(graph, records, layers, x, None);
        let penalty: T = layers.iter().map(|l| l.penalty()).sum();
        self.loss(
            graph,
            records,
            layers,
            x,
            objective,
            targets,
            false,
            T::one(),
        ) + penalty
    }

    /// Forward and backward passes on (part of) a batch in training mode: leaves the weight
    /// gradients of `scale` times the data loss in `grads` and returns the unscaled loss.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn gradients<L: Deref<Target = D>, D: Layer<T> + ?Sized>(
        &mut self,
        graph: &Graph,
        records: &Records,
        layers: &[L],
        x: &[T],
        objective: &Objective<'_, T>,
        targets: TargetRows<'_, T>,
        rng: &mut dyn RngCore,
        scale: T,
        split: Option<SplitShard<'_, T>>,
    ) -> T {
        self.forward_from(graph, records, layers, x, Some(rng), split.as_ref());
        let value = self.loss(graph, records, layers, x, objective, targets, true, scale);
        self.backward(graph, layers, x, split);
        value
    }

    /// Walks the nodes backwards from the outputs' gradients. Only nodes with a trainable
    /// layer at or below them are visited: below the first trainable layer no gradient is
    /// wanted (a leading `Flatten` would otherwise cost the first `Dense` a product as large as
    /// its forward one). A node read by several others sums what they send back, and a layer
    /// applied at several nodes sums its weight gradients.
    fn backward<L: Deref<Target = D>, D: Layer<T> + ?Sized>(
        &mut self,
        graph: &Graph,
        layers: &[L],
        x: &[T],
        mut split: Option<SplitShard<'_, T>>,
    ) {
        let nodes = graph.nodes;
        let batch = self.batch;
        let direct = (graph.inputs.len() == 1).then(|| graph.inputs[0]);
        self.needs.clear();
        for node in nodes {
            let trainable = matches!(node.op, Op::Layer(l) if layers[l].trainable_len() > 0);
            let needs = trainable || node.inputs.iter().any(|&k| self.needs[k]);
            self.needs.push(needs);
        }
        self.grads.resize_with(layers.len(), Vec::new);
        for (grad, layer) in self.grads.iter_mut().zip(layers) {
            grad.resize(layer.weights().len(), T::zero());
        }
        self.grad_set.clear();
        self.grad_set.resize(layers.len(), false);
        for i in (0..nodes.len()).rev() {
            if !self.needs[i] || !self.delta_set[i] {
                continue;
            }
            let node = &nodes[i];
            let len = batch * node.size;
            let mut dy = core::mem::take(&mut self.deltas[i]);
            match node.op {
                Op::Input => {}
                Op::Layer(l) => {
                    let upstream = if self.logits[i] {
                        Upstream::Logits(&mut dy[..len])
                    } else {
                        Upstream::Output(&mut dy[..len])
                    };
                    if let Some(split) = split.as_mut().filter(|s| s.node == i) {
                        // The split layer's weight gradient comes after the shards, from all
                        // of them, into the first shard's buffer: nothing to clear here.
                        split
                            .split
                            .product_gradient(&self.outputs[i], upstream, split.dz);
                        self.grad_set[l] = true;
                        self.deltas[i] = dy;
                        continue;
                    }
                    let k = node.inputs[0];
                    let mut dx = self.needs[k].then(|| self.take_delta(k));
                    let first_grad = !self.grad_set[l];
                    let mut grad = if first_grad {
                        core::mem::take(&mut self.grads[l])
                    } else {
                        let mut spare = core::mem::take(&mut self.spare_grad);
                        spare.resize(layers[l].weights().len(), T::zero());
                        spare
                    };
                    let input_len = batch * nodes[k].size;
                    layers[l].backward(
                        node_output(&self.outputs, x, direct, k),
                        &self.outputs[i],
                        &mut self.caches[i],
                        upstream,
                        dx.as_mut().map(|(d, _)| sized(d, input_len)),
                        &mut grad,
                    );
                    if first_grad {
                        self.grads[l] = grad;
                        self.grad_set[l] = true;
                    } else {
                        add_into(&mut self.grads[l], &grad);
                        self.spare_grad = grad;
                    }
                    if let Some((dx, first)) = dx {
                        self.give_delta(k, dx, input_len, first);
                    }
                }
                Op::Merge(m) => {
                    for (which, &k) in node.inputs.iter().enumerate() {
                        if !self.needs[k] {
                            continue;
                        }
                        let (mut dx, first) = self.take_delta(k);
                        let input_len = batch * nodes[k].size;
                        let outputs = &self.outputs;
                        m.backward(
                            node.inputs.len(),
                            &|j| node_output(outputs, x, direct, node.inputs[j]),
                            &self.outputs[i],
                            &dy[..len],
                            which,
                            sized(&mut dx, input_len),
                            batch,
                        );
                        self.give_delta(k, dx, input_len, first);
                    }
                }
            }
            self.deltas[i] = dy;
        }
        // A trainable layer no gradient reached (its outputs feed nothing) does not move.
        for (l, grad) in self.grads.iter_mut().enumerate() {
            if !self.grad_set[l] {
                grad.iter_mut().for_each(|g| *g = T::zero());
            }
        }
    }

    /// A buffer for a gradient w.r.t. node `k`'s output: the node's own delta while none has
    /// reached it in this pass (`true`), else the spare one, whose sum [`Workspace::give_delta`]
    /// adds to the delta (`false`).
    fn take_delta(&mut self, k: usize) -> (Vec<T>, bool) {
        if self.delta_set[k] {
            (core::mem::take(&mut self.spare), false)
        } else {
            (core::mem::take(&mut self.deltas[k]), true)
        }
    }

    /// Hands node `k` a gradient `dx` (its first `len` elements) in the buffer
    /// [`Workspace::take_delta`] gave: kept as its delta when it is the first, else added to it.
    fn give_delta(&mut self, k: usize, dx: Vec<T>, len: usize, first: bool) {
        if first {
            self.deltas[k] = dx;
            self.delta_set[k] = true;
        } else {
            add_into(&mut self.deltas[k][..len], &dx[..len]);
            self.spare = dx;
        }
    }

    /// One optimizer step on a batch; returns the loss of the forward pass (with penalties)
    /// that produced the gradients. The batch's outputs stay in [`Workspace::output`].
    ///
    /// With the `std` feature, a large batch is split into shards across threads (see
    /// `shards.rs`); results are reproducible for a given thread count.
    #[allow(clippy::too_many_arguments)]
    pub fn train_step<L: DerefMut<Target = D> + Sync, D: Layer<T> + ?Sized>(
        &mut self,
        graph: &Graph,
        records: &Records,
        layers: &mut [L],
        x: &[T],
        objective: &Objective<'_, T>,
        targets: TargetRows<'_, T>,
        optimizer: &mut dyn Optimizer<T>,
        rng: &mut dyn RngCore,
    ) -> T {
        if layers.is_empty() {
            return T::zero();
        }
        #[cfg(feature = "std")]
        let shards = shards::shard_count(graph, layers, x.len() / records.input_size.max(1));
        #[cfg(not(feature = "std"))]
        let shards = 1;
        let mut value = match shards {
            #[cfg(feature = "std")]
            s if s > 1 => {
                self.sharded_gradients(graph, records, layers, x, objective, targets, rng, s)
            }
            _ => {
                let whole = T::one();
                self.gradients(
                    graph, records, layers, x, objective, targets, rng, whole, None,
                )
            }
        };
        value += layers.iter().map(|l| l.penalty()).sum();
        for (i, layer) in layers.iter_mut().enumerate() {
            layer.add_penalty_gradient(&mut self.grads[i]);
            if shards <= 1 {
                if let Some(node) = graph.node_of_layer(i) {
                    layer.finish_train_batch(&self.caches[node]);
                }
            }
            let trainable = layer.trainable_len();
            if trainable > 0 {
                optimizer.update(
                    i,
                    &mut layer.weights_mut()[..trainable],
                    &self.grads[i][..trainable],
                );
            }
        }
        optimizer.finish_step();
        value
    }
}

#[cfg(test)]
pub(crate) mod tests;
