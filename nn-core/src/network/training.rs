//! The cached forward and backward passes of training over a model graph: forward in node
//! order keeping what each layer's backward needs, each output's weighted loss, backward in
//! reverse order (a node read by several others sums their gradients, a layer applied at
//! several nodes sums its weight gradients), then the optimizer.

#[allow(unused_imports)]
use crate::prelude::*;

use core::ops::{Deref, DerefMut};

use rand::RngCore;

#[cfg(feature = "std")]
use super::split;
use super::{gather_part, run_node, source, Records};
use crate::graph::{Graph, Op};
use crate::layers::{Layer, Mode, Upstream};
use crate::layers::{RowSplit, ShardProducts};
use crate::loss::{KeptSoftmax, LossParts, TargetRows};
use crate::optim::Optimizer;
use crate::Float;

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

/// Buffers for the cached passes, kept between steps so that training does not reallocate.
#[derive(Clone, Debug, Default)]
pub struct Workspace<T> {
    /// Each node's output (empty for an input read straight from the batch, and stale for a
    /// reshape read through [`Workspace::sources`]).
    pub(super) outputs: Vec<Vec<T>>,
    /// Each node's [`source`]: the node whose buffer holds its output. A reshape whose source
    /// is another node is not run; its readers read that node's output.
    pub(super) sources: Vec<usize>,
    /// Each layer node's cache.
    pub(super) caches: Vec<Vec<T>>,
    /// Each layer's weight gradient, summed over the nodes that apply it.
    pub(super) grads: Vec<Vec<T>>,
    /// Each node's output gradient, summed over the nodes that read it (grown, never shrunk:
    /// used through slices of the batch's size).
    pub(super) deltas: Vec<Vec<T>>,
    /// Whether a node's delta holds this step's gradient yet.
    pub(super) delta_set: Vec<bool>,
    /// Whether a layer's gradient holds this step's gradient yet.
    pub(super) grad_set: Vec<bool>,
    /// Whether a node's output needs a gradient (a trainable layer lies at or below it).
    pub(super) needs: Vec<bool>,
    /// Whether a node's delta is w.r.t. its logits (see [`Layer::logits`]).
    pub(super) logits: Vec<bool>,
    /// Where a second gradient for a node or a layer goes before it is added.
    pub(super) spare: Vec<T>,
    pub(super) spare_grad: Vec<T>,
    /// Each output's unweighted loss from the last pass.
    pub(super) losses: Vec<T>,
    /// The graph's output nodes, for [`Workspace::output`].
    pub(super) output_nodes: &'static [usize],
    pub(super) batch: usize,
    /// One workspace per shard of a batch split across threads.
    pub(super) shards: Vec<Workspace<T>>,
    /// The weighted loss of this shard's last step (shards only).
    pub(super) value: T,
    /// A row-split step's products of the parts, each over the whole batch (`RowSplit`).
    pub(super) partials: Vec<T>,
    /// A row-split step's gradient w.r.t. the split layer's product, shard after shard.
    pub(super) product_grads: Vec<T>,
}

/// What a shard of a row-split step needs besides its samples (see [`RowSplit`]); or, without
/// products, what a whole-batch step whose first layer fuses its update needs.
pub(crate) struct SplitShard<'a, T> {
    /// The node cut by rows; with products, the reshapes below it are skipped.
    pub(super) node: usize,
    pub(super) split: &'a dyn RowSplit<T>,
    /// The shard's share of the parts' products; `None` where the node's forward pass runs
    /// as usual and only its backward pass stops at the product gradient.
    pub(super) products: Option<ShardProducts<'a, T>>,
    /// Where the shard's gradient w.r.t. the layer's product goes.
    pub(super) dz: &'a mut [T],
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
        T::resize_zeroed(buffer, len);
    }
    &mut buffer[..len]
}

/// The output of node `k`: the batch itself for an input read directly, else the buffer of
/// its source (`sources`, see [`Workspace::sources`]).
fn node_output<'a, T>(
    outputs: &'a [Vec<T>],
    sources: &[usize],
    x: &'a [T],
    direct: Option<usize>,
    k: usize,
) -> &'a [T] {
    let k = sources[k];
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
    /// (dropout on, batch statistics), in inference mode without. No backward pass follows, so
    /// no cache keeps room for an input gradient.
    pub fn forward<L: Deref<Target = D>, D: Layer<T> + ?Sized>(
        &mut self,
        graph: &Graph,
        records: &Records,
        layers: &[L],
        x: &[T],
        rng: Option<&mut dyn RngCore>,
    ) {
        self.needs.clear();
        self.needs.resize(graph.nodes.len(), false);
        self.forward_from(graph, records, layers, x, rng, None)
    }

    /// [`Workspace::forward`], or in a shard of a row-split step from the split layer's
    /// product: the reshapes below it are skipped. A layer's cache keeps room for its input
    /// gradient where `self.needs` marks the input.
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
                T::resize_zeroed(buffer, batch * size);
                gather_part(buffer, x, records.input_size, offset, size);
            }
        }
        let mut rng = rng;
        let cut = split.filter(|s| s.products.is_some());
        self.sources.clear();
        let nodes = 0..graph.nodes.len();
        (self.sources).extend(nodes.map(|k| source(graph, layers, k)));
        for (i, node) in graph.nodes.iter().enumerate() {
            let skipped = node.op == Op::Input || self.sources[i] != i;
            if skipped || cut.is_some_and(|s| below(graph, s.node, i)) {
                continue;
            }
            let mut out = core::mem::take(&mut self.outputs[i]);
            T::resize_zeroed(&mut out, batch * node.size);
            let cache = &mut self.caches[i];
            if let Op::Layer(l) = node.op {
                let input_gradient = self.needs[node.inputs[0]];
                let len = split::cache_len(&*layers[l], batch, input_gradient);
                T::resize_zeroed(cache, len);
            }
            if let Some((split, products)) = cut
                .filter(|s| s.node == i)
                .and_then(|s| Some((s.split, s.products?)))
            {
                split.finish_forward(products, &mut out, cache);
            } else {
                let (outputs, sources) = (&self.outputs, &self.sources);
                let read = |k: usize| node_output(outputs, sources, x, direct, k);
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
                    let input =
                        node_output(&self.outputs, &self.sources, x, direct, node.inputs[0]);
                    layers[l].logits(input, &self.caches[k])
                }
                _ => None,
            };
            let (value, from_logits) = match logits {
                Some(logits) => {
                    let kept = KeptSoftmax {
                        sums: logits.row_sums,
                        probs: output,
                    };
                    match loss.compute_from_logits(logits.kind, logits.values, kept, t, last, g) {
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
    /// With `split`, the split layer's gradient stops at its product: in `split.dz` (zero
    /// where no gradient reached the layer).
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
        split::mark_needs(graph, layers, &mut self.needs);
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
        self.grads.resize_with(layers.len(), Vec::new);
        for (grad, layer) in self.grads.iter_mut().zip(layers) {
            T::resize_zeroed(grad, layer.weights().len());
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
                        // The split layer's weight gradient comes later, from the product
                        // gradient of the whole batch: after the shards, into the first
                        // shard's buffer, or inside the optimizer's step where it is fused
                        // (`grads[l]` is scratch then). Nothing to clear here.
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
                        T::resize_zeroed(&mut spare, layers[l].weights().len());
                        spare
                    };
                    let input_len = batch * nodes[k].size;
                    layers[l].backward(
                        node_output(&self.outputs, &self.sources, x, direct, k),
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
                        T::add_into(&mut self.grads[l], &grad);
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
                        let (outputs, sources) = (&self.outputs, &self.sources);
                        m.backward(
                            node.inputs.len(),
                            &|j| node_output(outputs, sources, x, direct, node.inputs[j]),
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
        if let Some(split) = split {
            if !self.delta_set[split.node] {
                split.dz.iter_mut().for_each(|g| *g = T::zero());
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
            T::add_into(&mut self.deltas[k][..len], &dx[..len]);
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
        let rows = x.len() / records.input_size.max(1);
        #[cfg(feature = "std")]
        let shards = {
            split::mark_needs(graph, layers, &mut self.needs);
            split::shard_count(graph, layers, &self.needs, rows)
        };
        #[cfg(not(feature = "std"))]
        let shards = 1;
        // The first layer's update applied inside its weight gradient's product, where the
        // layer and the optimizer allow it: the gradient never goes through memory. A step
        // split into shards on one thread has no row split to leave the gradient to.
        #[cfg(feature = "std")]
        let fused = split::row_split(graph, layers)
            .map(|(node, l, _)| (node, l))
            .filter(|&(_, l)| layers[l].fuses_update())
            .filter(|_| shards <= 1 || crate::threads::thread_count() > 1)
            .filter(|&(_, l)| {
                let len = layers[l].trainable_len();
                optimizer.elementwise_step(l, len).is_some()
            });
        #[cfg(not(feature = "std"))]
        let fused: Option<(usize, usize)> = None;
        let mut step = || {
            let mut value = match shards {
                #[cfg(feature = "std")]
                s if s > 1 => self.sharded_gradients(
                    graph,
                    records,
                    layers,
                    x,
                    objective,
                    targets,
                    rng,
                    s,
                    fused.is_some(),
                ),
                _ => {
                    let whole = T::one();
                    let mut dz = core::mem::take(&mut self.product_grads);
                    let split = fused.map(|(node, l)| SplitShard {
                        node,
                        split: layers[l].row_split().expect("found by `row_split`"),
                        products: None,
                        dz: sized(&mut dz, rows * layers[l].output_size()),
                    });
                    let value = self.gradients(
                        graph, records, layers, x, objective, targets, rng, whole, split,
                    );
                    self.product_grads = dz;
                    value
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
                if fused.is_some_and(|(_, l)| l == i) {
                    let step = optimizer
                        .elementwise_step(i, trainable)
                        .expect("offered before the step");
                    let dz = &self.product_grads[..rows * layer.output_size()];
                    let grad = &mut self.grads[i];
                    let layer: &mut D = layer;
                    // In row parts on the pool's threads, as the separate update would cut it
                    // (on a split step, each part on the thread that computed its product).
                    #[cfg(feature = "std")]
                    {
                        let parts = crate::threads::thread_count();
                        if parts > 1 {
                            crate::threads::pool().install(|| {
                                layer.update_from_product_gradient(parts, x, dz, grad, step)
                            });
                            continue;
                        }
                    }
                    layer.update_from_product_gradient(1, x, dz, grad, step);
                } else if trainable > 0 {
                    optimizer.update(
                        i,
                        &mut layer.weights_mut()[..trainable],
                        &self.grads[i][..trainable],
                    );
                }
            }
            optimizer.finish_step();
            value
        };
        // A split step, update included, runs with the pool's threads kept awake between its
        // hand-offs.
        #[cfg(feature = "std")]
        if shards > 1 {
            return crate::threads::awake(step);
        }
        step()
    }
}
