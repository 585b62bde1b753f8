//! Running a chain of layers: inference, and the cached forward and backward passes of training.
//!
//! Everything here is generic only over the element type, not over the model, so each new
//! model shape re-uses this code; the per-layer kernels are the monomorphized part.

#[allow(unused_imports)]
use crate::prelude::*;

use core::ops::{Deref, DerefMut};

use rand::RngCore;

use crate::layers::{Layer, Mode, Upstream};
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
    let mut scratch = vec![T::zero(); scratch_len(layers, batch)];
    predict_with(layers, x, out, &mut scratch);
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
}

impl<T: Float> Workspace<T> {
    /// An empty workspace; buffers grow to the first batch's needs.
    pub fn new() -> Self {
        Self {
            outputs: Vec::new(),
            caches: Vec::new(),
            grads: Vec::new(),
            deltas: [Vec::new(), Vec::new()],
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
        let n = layers.len();
        self.outputs.resize_with(n, Vec::new);
        self.caches.resize_with(n, Vec::new);
        let Some(first) = layers.first() else { return };
        let batch = x.len() / first.input_size();
        let mut rng = rng;
        for (i, layer) in layers.iter().enumerate() {
            let (done, rest) = self.outputs.split_at_mut(i);
            let input = if i == 0 { x } else { done[i - 1].as_slice() };
            let out = &mut rest[0];
            out.resize(batch * layer.output_size(), T::zero());
            let cache = &mut self.caches[i];
            cache.resize(layer.cache_len(batch), T::zero());
            let mode = match rng.as_deref_mut() {
                Some(r) => Mode::Train(r),
                None => Mode::Evaluate,
            };
            layer.forward(input, out, cache, mode);
        }
    }

    /// The loss of the last cached forward pass plus the layers' penalties, and when
    /// `backprop` is set the gradient reaching the top layer (in `deltas[0]`). Uses the top
    /// layer's logits when the loss pairs with its activation, as Keras does.
    fn loss<L: Deref<Target = D>, D: Layer<T> + ?Sized>(
        &mut self,
        layers: &[L],
        x: &[T],
        loss: &dyn LossFn<T>,
        targets: Targets<'_, T>,
        last: usize,
        backprop: bool,
    ) -> (T, bool) {
        let top = layers.len() - 1;
        let output = self.outputs[top].as_slice();
        let grad = &mut self.deltas[0];
        grad.resize(output.len(), T::zero());
        let input = if top == 0 {
            x
        } else {
            self.outputs[top - 1].as_slice()
        };
        let from_logits = layers[top]
            .logits(input, &self.caches[top])
            .and_then(|logits| {
                let g = backprop.then_some(grad.as_mut_slice());
                loss.compute_from_logits(logits.kind, logits.values, targets, last, g)
            });
        let penalty: T = layers.iter().map(|l| l.penalty()).sum();
        match from_logits {
            Some(value) => (value + penalty, true),
            None => {
                let g = backprop.then_some(grad.as_mut_slice());
                (loss.compute(output, targets, last, g) + penalty, false)
            }
        }
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
        self.loss(layers, x, loss, targets, last, false).0
    }

    /// One optimizer step on a batch; returns the loss of the forward pass (with penalties)
    /// that produced the gradients. The batch's outputs stay in [`Workspace::output`].
    #[allow(clippy::too_many_arguments)]
    pub fn train_step<L: DerefMut<Target = D>, D: Layer<T> + ?Sized>(
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
        self.forward(layers, x, Some(rng));
        let (value, from_logits) = self.loss(layers, x, loss, targets, last, true);
        self.grads.resize_with(layers.len(), Vec::new);
        let mut from_logits = from_logits;
        for i in (0..layers.len()).rev() {
            let layer = &layers[i];
            let input = if i == 0 {
                x
            } else {
                self.outputs[i - 1].as_slice()
            };
            let [up, down] = &mut self.deltas;
            let dx = if i > 0 {
                down.resize(input.len(), T::zero());
                Some(down.as_mut_slice())
            } else {
                None
            };
            let upstream = if from_logits {
                Upstream::Logits(up.as_mut_slice())
            } else {
                Upstream::Output(up.as_mut_slice())
            };
            from_logits = false;
            let grad = &mut self.grads[i];
            grad.resize(layer.weights().len(), T::zero());
            layer.backward(input, &self.outputs[i], &self.caches[i], upstream, dx, grad);
            layer.add_penalty_gradient(grad);
            self.deltas.swap(0, 1);
        }
        for (i, layer) in layers.iter_mut().enumerate() {
            layer.finish_train_batch(&self.caches[i]);
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
