//! Splitting a training batch across threads: contiguous shards of samples, each run forward
//! and backward by [`Workspace::gradients`] on its own, their weight gradients summed; and
//! the row split (`layers::RowSplit`), where the first trainable layer is cut by its input rows
//! instead of by samples.

use core::ops::Deref;

use rand::{RngCore, SeedableRng};
use rayon::prelude::*;

use super::split::row_split;
use super::{Objective, Records, SplitShard, Workspace};
use crate::graph::Graph;
use crate::layers::{Layer, ShardProducts};
use crate::loss::TargetRows;
use crate::Float;

/// Elements per task when summing the shards' gradients in parallel.
const REDUCE_CHUNK: usize = 16 * 1024;

impl<T: Float> Workspace<T> {
    /// [`Workspace::gradients`] over `shards` contiguous parts of the batch on the worker
    /// pool; the summed gradients land in `self.grads`, the outputs, in order, in the output
    /// buffers, and each output's loss, weighted by its shard's share, in `self.losses`.
    /// With `fused`, the row-split layer's weight gradient is left to the optimizer's step
    /// (`Layer::update_from_product_gradient`), from its product gradient in
    /// `self.product_grads`.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn sharded_gradients<L: Deref<Target = D> + Sync, D: Layer<T> + ?Sized>(
        &mut self,
        graph: &Graph,
        records: &Records,
        layers: &[L],
        x: &[T],
        objective: &Objective<'_, T>,
        targets: TargetRows<'_, T>,
        rng: &mut dyn RngCore,
        shards: usize,
        fused: bool,
    ) -> T {
        let width = records.input_size;
        let rows = x.len() / width;
        let per = rows.div_ceil(shards);
        let seed = rng.next_u64();
        let parts = crate::threads::thread_count();
        // On one thread the parts would be one product, as the shards' own.
        let split = (parts > 1).then(|| row_split(graph, layers)).flatten();
        let out = split.map_or(0, |(_, l, _)| layers[l].output_size());
        if split.is_some() {
            T::resize_zeroed(&mut self.partials, parts * rows * out);
            // A whole `per` for every shard, so that shards and chunks pair up one to one.
            T::resize_zeroed(&mut self.product_grads, shards * per * out);
        }
        self.shards.resize_with(shards, Workspace::new);
        let (workspaces, partials, dz) = (
            &mut self.shards,
            &mut self.partials,
            &mut self.product_grads,
        );
        let split_layer = split.map(|(_, l, _)| l);
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
            if let Some((_, _, layer)) = split {
                layer.forward_parts(parts, x, partials);
            }
            let partials = &*partials;
            let shard = |s: usize, ws: &mut Workspace<T>, dz: Option<&mut [T]>| {
                let (start, end) = (s * per, ((s + 1) * per).min(rows));
                let mut shard_rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
                shard_rng.set_stream(s as u64);
                let weight = T::of((end - start) as f64 / rows as f64);
                let split = split.zip(dz).map(|((node, _, split), dz)| SplitShard {
                    node,
                    split,
                    products: Some(ShardProducts::new(partials, rows * out, start * out)),
                    dz: &mut dz[..(end - start) * out],
                });
                ws.value = weight
                    * ws.gradients(
                        graph,
                        records,
                        layers,
                        &x[start * width..end * width],
                        objective,
                        targets.rows(start, end),
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
            if let Some((_, l, layer)) = split.filter(|_| !fused) {
                layer.weight_gradient(parts, x, &dz[..rows * out], &mut workspaces[0].grads[l]);
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
                            T::add_into(sum, part);
                        }
                    });
            }
        });
        // Take the summed buffers; the previous ones go back to the shard for the next step.
        core::mem::swap(&mut self.grads, &mut self.shards[0].grads);
        self.outputs.resize_with(graph.nodes.len(), Vec::new);
        self.output_nodes = graph.outputs;
        self.losses.clear();
        for (j, &k) in graph.outputs.iter().enumerate() {
            let top = &mut self.outputs[k];
            top.clear();
            self.shards
                .iter()
                .for_each(|s| top.extend_from_slice(s.output(j)));
            let loss = self.shards.iter().enumerate().fold(T::zero(), |a, (s, w)| {
                let (start, end) = (s * per, ((s + 1) * per).min(rows));
                a + T::of((end - start) as f64 / rows as f64) * w.output_loss(j)
            });
            self.losses.push(loss);
        }
        self.shards.iter().fold(T::zero(), |a, s| a + s.value)
    }
}
