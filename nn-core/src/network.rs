//! Running a chain of layers: inference, and the cached forward and backward passes of training.
//!
//! Everything here is generic only over the element type, not over the model, so each new
//! model shape re-uses this code; the per-layer kernels are the monomorphized part.

#[allow(unused_imports)]
use crate::prelude::*;

use core::ops::{Deref, DerefMut};

use rand::RngCore;

use crate::layers::{Layer, Mode, RowSplit, ShardProducts, Upstream};
use crate::loss::{LossFn, Targets};
use crate::optim::Optimizer;
use crate::Float;

/// Elements of scratch [`predict_with`] needs for `batch` samples: two buffers of the widest
/// layer output, between which the activations ping-pong.
pub fn scratch_len<T: Float, L: Deref<Target = D>, D: Layer<T> + ?Sized>(
    layers: &[L],
    batch: usize,
) -> usize {
    2 * batch * layers.iter().map(|l| l.output_size()).max().unwrap_or(0)
}

/// Inference on a batch: `x` holds whole input samples, `out` the matching outputs.
pub fn predict<T: Float, L: Deref<Target = D>, D: Layer<T> + ?Sized>(
    layers: &[L],
    x: &[T],
    out: &mut [T],
) {
    let batch = layers.first().map_or(0, |l| x.len() / l.input_size());
    let len = scratch_len(layers, batch);
    // Kept per thread: zeroing a fresh 300 KB for the card MLP's batch of 128 was 0.7% of
    // its one-thread `predict_batch`.
    #[cfg(feature = "std")]
    T::with_scratch(crate::float::Scratch::Activations, len, |scratch| {
        predict_with(layers, x, out, scratch)
    });
    #[cfg(not(feature = "std"))]
    predict_with(layers, x, out, &mut vec![T::zero(); len]);
}

/// [`predict`] with caller-provided scratch of at least [`scratch_len`] elements; allocates
/// nothing itself (single-sample layers compute without allocating either).
pub fn predict_with<T: Float, L: Deref<Target = D>, D: Layer<T> + ?Sized>(
    layers: &[L],
    x: &[T],
    out: &mut [T],
    scratch: &mut [T],
) {
    let Some(first) = layers.first() else {
        out.copy_from_slice(x);
        return;
    };
    let batch = x.len() / first.input_size();
    let half = scratch_len(layers, batch) / 2;
    let (front, back) = scratch[..2 * half].split_at_mut(half);
    let last = layers.len() - 1;
    for (i, layer) in layers.iter().enumerate() {
        let (src, dst) = if i % 2 == 0 {
            (&*back, &mut *front)
        } else {
            (&*front, &mut *back)
        };
        let input = if i == 0 {
            x
        } else {
            &src[..batch * layer.input_size()]
        };
        if i == last {
            layer.forward(input, out, &mut [], Mode::Predict);
        } else {
            layer.forward(
                input,
                &mut dst[..batch * layer.output_size()],
                &mut [],
                Mode::Predict,
            );
        }
    }
}

/// Buffers for the cached passes, kept between steps so that training does not reallocate.
#[derive(Clone, Debug, Default)]
pub struct Workspace<T> {
    outputs: Vec<Vec<T>>,
    caches: Vec<Vec<T>>,
    grads: Vec<Vec<T>>,
    deltas: [Vec<T>; 2],
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
struct SplitShard<'a, T> {
    /// The index of the layer cut by rows, and the layer.
    layer: usize,
    split: &'a dyn RowSplit<T>,
    /// The shard's share of the parts' products.
    products: ShardProducts<'a, T>,
    /// Where the shard's gradient w.r.t. the layer's product goes.
    dz: &'a mut [T],
}

/// Elements per task when summing the shards' gradients in parallel.
#[cfg(feature = "std")]
const REDUCE_CHUNK: usize = 16 * 1024;

impl<T: Float> Workspace<T> {
    /// An empty workspace; buffers grow to the first batch's needs.
    pub fn new() -> Self {
        Self {
            outputs: Vec::new(),
            caches: Vec::new(),
            grads: Vec::new(),
            deltas: [Vec::new(), Vec::new()],
            shards: Vec::new(),
            value: T::zero(),
            partials: Vec::new(),
            product_grads: Vec::new(),
        }
    }

    /// The outputs of the last layer from the last cached forward pass.
    pub fn output(&self) -> &[T] {
        self.outputs.last().map_or(&[], |o| o.as_slice())
    }

    /// A forward pass that keeps every layer's output and cache.
    pub fn forward<L: Deref<Target = D>, D: Layer<T> + ?Sized>(
        &mut self,
        layers: &[L],
        x: &[T],
        rng: Option<&mut dyn RngCore>,
    ) {
        self.forward_from(layers, x, rng, None)
    }

    /// [`Workspace::forward`], or in a shard of a row-split step from the split layer's
    /// product: the layers below it (reshapes) are skipped.
    fn forward_from<L: Deref<Target = D>, D: Layer<T> + ?Sized>(
        &mut self,
        layers: &[L],
        x: &[T],
        rng: Option<&mut dyn RngCore>,
        split: Option<&SplitShard<'_, T>>,
    ) {
        let n = layers.len();
        self.outputs.resize_with(n, Vec::new);
        self.caches.resize_with(n, Vec::new);
        let Some(first) = layers.first() else { return };
        let batch = x.len() / first.input_size();
        let mut rng = rng;
        for (i, layer) in layers.iter().enumerate() {
            if split.is_some_and(|s| i < s.layer) {
                continue; // a reshape the split layer reads through
            }
            let (done, rest) = self.outputs.split_at_mut(i);
            let input = if i == 0 { x } else { done[i - 1].as_slice() };
            let out = &mut rest[0];
            out.resize(batch * layer.output_size(), T::zero());
            let cache = &mut self.caches[i];
            cache.resize(layer.cache_len(batch), T::zero());
            if let Some(split) = split.filter(|s| i == s.layer) {
                split.split.finish_forward(split.products, out, cache);
                continue;
            }
            let mode = match rng.as_deref_mut() {
                Some(r) => Mode::Train(r),
                None => Mode::Evaluate,
            };
            layer.forward(input, out, cache, mode);
        }
    }

    /// The data loss of the last cached forward pass and, when `backprop` is set, its
    /// gradient times `scale` reaching the top layer (in `deltas[0]`). Uses the top layer's
    /// logits when the loss pairs with its activation, as Keras does. Returns whether it did.
    #[allow(clippy::too_many_arguments)]
    fn loss<L: Deref<Target = D>, D: Layer<T> + ?Sized>(
        &mut self,
        layers: &[L],
        x: &[T],
        loss: &dyn LossFn<T>,
        targets: Targets<'_, T>,
        last: usize,
        backprop: bool,
        scale: T,
    ) -> (T, bool) {
        let top = layers.len() - 1;
        let output = self.outputs[top].as_slice();
        let grad = &mut self.deltas[0];
        if grad.len() < output.len() {
            grad.resize(output.len(), T::zero());
        }
        let grad = &mut grad[..output.len()];
        let input = if top == 0 {
            x
        } else {
            self.outputs[top - 1].as_slice()
        };
        let from_logits = layers[top]
            .logits(input, &self.caches[top])
            .and_then(|logits| {
                let g = backprop.then_some(&mut *grad);
                loss.compute_from_logits(logits.kind, logits.values, targets, last, g)
            });
        let (value, from_logits) = match from_logits {
            Some(value) => (value, true),
            None => {
                let g = backprop.then_some(&mut *grad);
                (loss.compute(output, targets, last, g), false)
            }
        };
        if backprop && scale != T::one() {
            grad.iter_mut().for_each(|g| *g *= scale);
        }
        (value, from_logits)
    }

    /// The loss (with penalties) of a batch in inference mode; the outputs stay in
    /// [`Workspace::output`].
    pub fn evaluate<L: Deref<Target = D>, D: Layer<T> + ?Sized>(
        &mut self,
        layers: &[L],
        x: &[T],
        loss: &dyn LossFn<T>,
        targets: Targets<'_, T>,
        last: usize,
    ) -> T {
        self.forward(layers, x, None);
        let penalty: T = layers.iter().map(|l| l.penalty()).sum();
        self.loss(layers, x, loss, targets, last, false, T::one()).0 + penalty
    }

    /// Forward and backward passes on (part of) a batch in training mode: leaves the weight
    /// gradients of `scale` times the data loss in `grads` and returns the unscaled loss.
    #[allow(clippy::too_many_arguments)]
    fn gradients<L: Deref<Target = D>, D: Layer<T> + ?Sized>(
        &mut self,
        layers: &[L],
        x: &[T],
        loss: &dyn LossFn<T>,
        targets: Targets<'_, T>,
        last: usize,
        rng: &mut dyn RngCore,
        scale: T,
        mut split: Option<SplitShard<'_, T>>,
    ) -> T {
        self.forward_from(layers, x, Some(rng), split.as_ref());
        let (value, from_logits) = self.loss(layers, x, loss, targets, last, true, scale);
        self.grads.resize_with(layers.len(), Vec::new);
        for (grad, layer) in self.grads.iter_mut().zip(layers) {
            grad.resize(layer.weights().len(), T::zero());
        }
        // Below the first trainable layer no gradient is wanted: that layer needs no input
        // gradient and the layers under it no backward pass (a leading `Flatten` would
        // otherwise cost the first `Dense` a product as large as its forward one).
        let Some(first_trainable) = layers.iter().position(|l| l.trainable_len() > 0) else {
            return value;
        };
        let mut from_logits = from_logits;
        for i in (first_trainable..layers.len()).rev() {
            let layer = &layers[i];
            let input = if i == 0 {
                x
            } else {
                self.outputs[i - 1].as_slice()
            };
            let [up, down] = &mut self.deltas;
            // The two buffers only grow (to the largest layer's size) and are used through
            // slices of each layer's size: resizing them to each layer in turn refilled the
            // larger one with zeros every step, which `backward` overwrites anyway.
            let dx = if i > first_trainable {
                if down.len() < input.len() {
                    down.resize(input.len(), T::zero());
                }
                Some(&mut down[..input.len()])
            } else {
                None
            };
            let up = &mut up[..self.outputs[i].len()];
            let upstream = if from_logits {
                Upstream::Logits(up)
            } else {
                Upstream::Output(up)
            };
            from_logits = false;
            if let Some(split) = split.as_mut().filter(|s| s.layer == i) {
                // The split layer's weight gradient comes after the shards, from all of them.
                split
                    .split
                    .product_gradient(&self.outputs[i], upstream, split.dz);
                break;
            }
            let grad = &mut self.grads[i];
            layer.backward(
                input,
                &self.outputs[i],
                &mut self.caches[i],
                upstream,
                dx,
                grad,
            );
            self.deltas.swap(0, 1);
        }
        value
    }

    /// One optimizer step on a batch; returns the loss of the forward pass (with penalties)
    /// that produced the gradients. The batch's outputs stay in [`Workspace::output`].
    ///
    /// With the `std` feature, a large batch is split into contiguous shards (unless a layer
    /// couples samples, as `BatchNorm` does): one per worker thread, or a few per thread where
    /// one shard's activations would outgrow the cache (see `shard_count`). Each shard runs
    /// forward and backward on its own, with dropout drawn from a stream derived from `rng`,
    /// and the weight gradients are summed, each shard's loss gradient weighted by its share
    /// of the batch. Results are reproducible for a given thread count.
    #[allow(clippy::too_many_arguments)]
    pub fn train_step<L: DerefMut<Target = D> + Sync, D: Layer<T> + ?Sized>(
        &mut self,
        layers: &mut [L],
        x: &[T],
        loss: &dyn LossFn<T>,
        targets: Targets<'_, T>,
        last: usize,
        optimizer: &mut dyn Optimizer<T>,
        rng: &mut dyn RngCore,
    ) -> T {
        if layers.is_empty() {
            return T::zero();
        }
        #[cfg(feature = "std")]
        let shards = shard_count(layers, x.len() / layers[0].input_size());
        #[cfg(feature = "std")]
        let mut value = if shards > 1 {
            self.sharded_gradients(layers, x, loss, targets, last, rng, shards)
        } else {
            self.gradients(layers, x, loss, targets, last, rng, T::one(), None)
        };
        #[cfg(not(feature = "std"))]
        let (shards, mut value) = (
            1,
            self.gradients(layers, x, loss, targets, last, rng, T::one(), None),
        );
        value += layers.iter().map(|l| l.penalty()).sum();
        for (i, layer) in layers.iter_mut().enumerate() {
            layer.add_penalty_gradient(&mut self.grads[i]);
            if shards <= 1 {
                layer.finish_train_batch(&self.caches[i]);
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

    /// [`Workspace::gradients`] over `shards` contiguous parts of the batch on the worker pool;
    /// the summed gradients land in `self.grads` and the outputs, in order, in the last
    /// output buffer.
    #[cfg(feature = "std")]
    #[allow(clippy::too_many_arguments)]
    fn sharded_gradients<L: Deref<Target = D> + Sync, D: Layer<T> + ?Sized>(
        &mut self,
        layers: &[L],
        x: &[T],
        loss: &dyn LossFn<T>,
        targets: Targets<'_, T>,
        last: usize,
        rng: &mut dyn RngCore,
        shards: usize,
    ) -> T {
        use rand::SeedableRng;
        use rayon::prelude::*;

        let width = layers[0].input_size();
        let rows = x.len() / width;
        let per = rows.div_ceil(shards);
        let seed = rng.next_u64();
        let parts = crate::threads::thread_count();
        let split = row_split(layers);
        let out = split.map_or(0, |(f, _)| layers[f].output_size());
        if split.is_some() {
            self.partials.resize(parts * rows * out, T::zero());
            // A whole `per` for every shard, so that shards and chunks pair up one to one.
            self.product_grads.resize(shards * per * out, T::zero());
        }
        self.shards.resize_with(shards, Workspace::new);
        let (workspaces, partials, dz) = (
            &mut self.shards,
            &mut self.partials,
            &mut self.product_grads,
        );
        let split_layer = split.map(|(f, _)| f);
        crate::threads::pool().install(|| {
            let prepares = |i: usize, l: &L| split_layer != Some(i) && l.prepares_shards();
            if layers.iter().enumerate().any(|(i, l)| prepares(i, l)) {
                crate::threads::for_each_part(0..parts, &|part| {
                    for (i, l) in layers.iter().enumerate() {
                        if prepares(i, l) {
                            l.prepare_shards(part, parts);
                        }
                    }
                });
            }
            if let Some((_, layer)) = split {
                layer.forward_parts(parts, x, partials);
            }
            let partials = &*partials;
            let shard = |s: usize, ws: &mut Workspace<T>, dz: Option<&mut [T]>| {
                let (start, end) = (s * per, ((s + 1) * per).min(rows));
                let mut shard_rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
                shard_rng.set_stream(s as u64);
                let weight = T::of((end - start) as f64 / rows as f64);
                let t = targets.samples(start, end, rows);
                let split = split.zip(dz).map(|((layer, split), dz)| SplitShard {
                    layer,
                    split,
                    products: ShardProducts::new(partials, rows * out, start * out),
                    dz: &mut dz[..(end - start) * out],
                });
                ws.value = weight
                    * ws.gradients(
                        layers,
                        &x[start * width..end * width],
                        loss,
                        t,
                        last,
                        &mut shard_rng,
                        weight,
                        split,
                    );
            };
            if split.is_some() {
                let chunks = dz.par_chunks_mut(per * out);
                workspaces
                    .par_iter_mut()
                    .zip(chunks)
                    .enumerate()
                    .for_each(|(s, (ws, dz))| shard(s, ws, Some(dz)));
            } else {
                workspaces
                    .par_iter_mut()
                    .enumerate()
                    .for_each(|(s, ws)| shard(s, ws, None));
            }
            if let Some((f, layer)) = split {
                layer.weight_gradient(parts, x, &dz[..rows * out], &mut workspaces[0].grads[f]);
            }
            // Sum the other layers' gradients into the first shard's buffers, chunk by chunk.
            let (first, others) = workspaces.split_at_mut(1);
            for (i, grad) in first[0].grads.iter_mut().enumerate() {
                if split_layer == Some(i) {
                    continue;
                }
                grad.par_chunks_mut(REDUCE_CHUNK)
                    .enumerate()
                    .for_each(|(c, sum)| {
                        for other in others.iter() {
                            let part = &other.grads[i][c * REDUCE_CHUNK..][..sum.len()];
                            sum.iter_mut().zip(part).for_each(|(g, &d)| *g += d);
                        }
                    });
            }
        });
        // Take the summed buffers; the previous ones go back to the shard for the next step.
        core::mem::swap(&mut self.grads, &mut self.shards[0].grads);
        self.outputs.resize_with(layers.len(), Vec::new);
        let top = self.outputs.last_mut().expect("at least one layer");
        top.clear();
        self.shards
            .iter()
            .for_each(|s| top.extend_from_slice(s.output()));
        self.shards.iter().fold(T::zero(), |a, s| a + s.value)
    }
}

/// The layer a split training step cuts by rows ([`RowSplit`]), with its index: the first
/// layer with weights, when it offers to be cut and only reshapes lie below it.
#[cfg(feature = "std")]
fn row_split<'a, T: Float, L: Deref<Target = D>, D: Layer<T> + ?Sized + 'a>(
    layers: &'a [L],
) -> Option<(usize, &'a dyn RowSplit<T>)> {
    let first = layers.iter().position(|l| l.trainable_len() > 0)?;
    if !layers[..first].iter().all(|l| l.only_reshapes()) {
        return None;
    }
    layers[first].row_split().map(|split| (first, split))
}

/// The fewest samples worth a shard of their own in a training step.
#[cfg(feature = "std")]
const MIN_SHARD: usize = 32;

/// A shard's activations and caches should fit in about this many bytes: past it, the
/// backward pass finds what the forward pass left already evicted (LeNet keeps ~96 KB a
/// sample; 170 KB while its convolutions' input gradients still unrolled the patches'
/// gradient), and a batch runs faster as several shards in turn on each thread.
/// (LeNet's batch-128 step on one thread: 25-28 ms in one shard, 17-19 ms with 4 MiB, 16.5-18.6
/// ms with 2 MiB shards; its batch-64 step 10-12 -> 7-9 ms.) Batched inference and evaluation
/// cut their chunks to the same size.
#[cfg(feature = "std")]
const SHARD_BYTES: usize = 2 << 20;

/// The fewest samples a shard or chunk is cut down to for [`SHARD_BYTES`].
#[cfg(feature = "std")]
const MIN_CACHED_SHARD: usize = 16;

/// The most samples one pass through `layers` should take at once for its activations and
/// caches to stay within [`SHARD_BYTES`] (but never fewer than 16).
#[cfg(feature = "std")]
pub(crate) fn cached_rows<T: Float, L: Deref<Target = D>, D: Layer<T> + ?Sized>(
    layers: &[L],
) -> usize {
    (SHARD_BYTES / sample_bytes(layers).max(1)).max(MIN_CACHED_SHARD)
}

/// The bytes of activations and caches one sample takes in a pass through `layers`.
#[cfg(feature = "std")]
fn sample_bytes<T: Float, L: Deref<Target = D>, D: Layer<T> + ?Sized>(layers: &[L]) -> usize {
    let elements: usize = layers
        .iter()
        .map(|l| l.output_size() + l.cache_len(1))
        .sum();
    elements * core::mem::size_of::<T>()
}

/// How many shards a training step of `rows` samples runs in (1: no splitting): one per
/// thread, or more, a whole number per thread, where that keeps each shard's workspace
/// within [`SHARD_BYTES`].
#[cfg(feature = "std")]
fn shard_count<T: Float, L: Deref<Target = D>, D: Layer<T> + ?Sized>(
    layers: &[L],
    rows: usize,
) -> usize {
    if layers.iter().any(|l| l.couples_samples()) {
        return 1;
    }
    let threads = crate::threads::thread_count();
    let per_thread = threads.min(rows / MIN_SHARD).max(1);
    let for_cache = (rows * sample_bytes(layers)).div_ceil(SHARD_BYTES);
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

#[cfg(test)]
mod tests {
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    use super::*;
    use crate::activation::{Softmax, Tanh};
    use crate::init::Initializer;
    use crate::layers::Dense;
    use crate::loss::SparseCategoricalCrossentropy;
    use crate::regularizer::Regularizer;

    /// A 5-input tanh layer of `H` units and a 3-way softmax on top, initialised from `rng`.
    fn dense_pair<const H: usize>(
        rng: &mut ChaCha8Rng,
    ) -> (Dense<f64, 5, H, Tanh>, Dense<f64, H, 3, Softmax>) {
        let mut a = Dense::new(Tanh, Initializer::GlorotUniform, Regularizer::NONE);
        let mut b = Dense::new(Softmax, Initializer::GlorotUniform, Regularizer::NONE);
        a.initialize(rng);
        b.initialize(rng);
        (a, b)
    }

    /// A weightless identity layer that records each backward call and whether it got `dx`.
    struct Probe(std::sync::Mutex<Vec<bool>>);

    impl Layer<f64> for Probe {
        fn input_size(&self) -> usize {
            5
        }
        fn output_size(&self) -> usize {
            5
        }
        fn forward(&self, x: &[f64], y: &mut [f64], _: &mut [f64], _: Mode<'_>) {
            y.copy_from_slice(x);
        }
        fn backward(
            &self,
            _: &[f64],
            _: &[f64],
            _: &mut [f64],
            upstream: Upstream<'_, f64>,
            dx: Option<&mut [f64]>,
            _: &mut [f64],
        ) {
            self.0.lock().unwrap().push(dx.is_some());
            if let Some(dx) = dx {
                dx.copy_from_slice(crate::layers::output_gradient(upstream));
            }
        }
    }

    #[test]
    fn no_gradient_flows_below_the_first_trainable_layer() {
        let mut rng = ChaCha8Rng::seed_from_u64(2);
        let (below, between) = (Probe(Default::default()), Probe(Default::default()));
        let (a, b) = dense_pair::<5>(&mut rng);
        let x: Vec<f64> = (0..4 * 5).map(|_| rng.gen_range(-1.0..1.0)).collect();
        let labels = [0, 1, 2, 0];
        let gradients = |layers: &[&dyn Layer<f64>], last: usize| {
            let mut ws = Workspace::new();
            let loss = &SparseCategoricalCrossentropy;
            let targets = Targets::Sparse(&labels);
            ws.gradients(layers, &x, loss, targets, last, &mut rng.clone(), 1.0, None);
            ws.grads
        };
        let with_probes = gradients(&[&below, &a, &between, &b], 3);
        let without = gradients(&[&a, &b], 3);
        // The probe under `a` is never asked for a gradient, the one between passes it on.
        assert_eq!(*below.0.lock().unwrap(), Vec::<bool>::new());
        assert_eq!(*between.0.lock().unwrap(), vec![true]);
        assert!(with_probes[0].is_empty() && with_probes[2].is_empty());
        assert_eq!(with_probes[1], without[0]);
        assert_eq!(with_probes[3], without[1]);
        // A model with nothing to train runs no backward pass at all.
        gradients(&[&below], 5);
        assert_eq!(*below.0.lock().unwrap(), Vec::<bool>::new());
    }

    #[test]
    fn batches_split_per_thread_and_further_where_a_shard_would_outgrow_the_cache() {
        use crate::layers::Flatten;
        let threads = crate::threads::thread_count();
        // A one-layer model whose sample keeps `N` f32 activations (weightless identities).
        fn model<const N: usize>() -> [&'static dyn Layer<f32>; 1] {
            [&Flatten::<N>]
        }
        // 1 KB a sample: one shard per thread, none below 32 samples.
        assert_eq!(shard_count(&model::<256>(), 128), threads.min(4));
        assert_eq!(shard_count(&model::<256>(), 20), 1);
        // 20 KB a sample: 1024 samples take 10 shards of 2 MiB, rounded up to a whole number
        // per thread.
        assert_eq!(
            shard_count(&model::<5_000>(), 1024),
            10usize.div_ceil(threads) * threads
        );
        // 160 KB a sample: 128 samples would take 10, but no shard goes below 16 samples.
        assert_eq!(shard_count(&model::<40_000>(), 128), 8);
        assert_eq!(shard_count(&model::<40_000>(), 16), 1);
    }

    /// Splits a batch of `rows` into `shards` and checks the loss, the gradients and the
    /// outputs against one pass over the whole batch (the outputs exactly unless the step
    /// cuts a layer by rows).
    fn assert_shards_add_up(layers: &[&dyn Layer<f64>], rows: usize, shards: usize) {
        let mut rng = ChaCha8Rng::seed_from_u64(2);
        let x: Vec<f64> = (0..rows * layers[0].input_size())
            .map(|_| rng.gen_range(-1.0..1.0))
            .collect();
        let labels: Vec<usize> = (0..rows).map(|i| i % 3).collect();
        let targets = Targets::Sparse(&labels);
        let loss = &SparseCategoricalCrossentropy;

        let mut whole = Workspace::new();
        let value = whole.gradients(layers, &x, loss, targets, 3, &mut rng.clone(), 1.0, None);
        let mut split = Workspace::new();
        for step in 0..2 {
            // The second step reuses the first one's buffers.
            let sharded =
                split.sharded_gradients(layers, &x, loss, targets, 3, &mut rng.clone(), shards);
            assert!(
                (value - sharded).abs() < 1e-12,
                "step {step}: {value} vs {sharded}"
            );
            assert_eq!(whole.grads.len(), split.grads.len());
            for (g, h) in whole
                .grads
                .iter()
                .flatten()
                .zip(split.grads.iter().flatten())
            {
                assert!((g - h).abs() < 1e-12, "step {step}: {g} vs {h}");
            }
            if row_split(layers).is_none() {
                assert_eq!(whole.output(), split.output(), "step {step}");
                continue;
            }
            // Cut by rows, a product sums its parts in another order: equal to rounding.
            assert_eq!(whole.output().len(), split.output().len());
            for (y, z) in whole.output().iter().zip(split.output()) {
                assert!((y - z).abs() < 1e-12, "step {step}: {y} vs {z}");
            }
        }
    }

    #[test]
    fn sharded_gradients_equal_whole_batch_gradients() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let (a, b) = dense_pair::<7>(&mut rng);
        assert_shards_add_up(&[&a, &b], 70, 3);
    }

    #[test]
    fn steps_cut_by_rows_equal_whole_batch_gradients() {
        // 400 x 330 is past `ROW_PARTS_MIN`: with more than one thread the first `Dense`,
        // behind a `Flatten`, is cut by rows (`RowSplit`).
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let flatten = crate::layers::Flatten::<400>::new();
        let mut a =
            Dense::<f64, 400, 330, Tanh>::new(Tanh, Initializer::GlorotUniform, Regularizer::NONE);
        let mut b = Dense::<f64, 330, 3, Softmax>::new(
            Softmax,
            Initializer::GlorotUniform,
            Regularizer::NONE,
        );
        a.initialize(&mut rng);
        b.initialize(&mut rng);
        let layers: [&dyn Layer<f64>; 3] = [&flatten, &a, &b];
        assert_eq!(
            row_split(&layers).map(|(i, _)| i),
            (crate::threads::thread_count() > 1).then_some(1),
            "cut by rows exactly when the update runs in pieces"
        );
        assert_shards_add_up(&layers, 70, 3);
        // Not cut where a layer other than a reshape lies below it.
        let tanh = crate::layers::ActivationLayer::<Tanh, 400, 400>::new(Tanh);
        assert!(row_split(&[&tanh as &dyn Layer<f64>, &a, &b]).is_none());
    }
}
