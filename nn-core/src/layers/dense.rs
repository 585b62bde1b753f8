//! `Dense`: `y = act(x · W + b)` on one-axis samples, with Keras's kernel layout `(in, out)`.

#[allow(unused_imports)]
use crate::prelude::*;

use rand::RngCore;

use super::epilogue::{activate, bias_gradient, finish_forward, pre_activation_gradient};
#[cfg(feature = "std")]
use super::epilogue::{is_relu, pre_activation_gradient_into};
#[cfg(feature = "std")]
use super::{ElementwiseStep, RowSplit, ShardProducts};
use super::{Layer, Logits, Mode, Upstream, WeightSpec};
use crate::activation::{Activation, LogitsKind};
use crate::init::Initializer;
#[cfg(feature = "std")]
use crate::kernels::packed_cache::PackedCache;
#[cfg(feature = "std")]
use crate::kernels::packed_parts::{self, RowParts};
use crate::kernels::{affine_sized, gemm, vec_mat, Mat};
#[cfg(feature = "std")]
use crate::kernels::{gemm_update, PackedB};
#[cfg(feature = "std")]
use crate::optim::halve;
use crate::regularizer::Regularizer;
use crate::Float;

/// Up to this many samples, a forward pass without a packed kernel (training, or a CPU without
/// one) multiplies row by row: the general product would pack the whole kernel on every call.
/// Small layers' compiled-size product ([`affine_sized`]) is also used up to this many.
const SMALL_BATCH: usize = 4;

/// Kernels up to this many weights get a single-sample product compiled for their exact
/// sizes ([`affine_sized`]); larger ones spend their time on memory, not loop control.
const SIZED_LIMIT: usize = 4096;

/// Kernels from this many weights on are packed in row parts for a split training step
/// ([`Layer::prepare_shards`]). Below it the parts' fixed costs (a round of calls on every
/// thread before the shards, a second product per shard) outweigh what they save: LeNet-5's
/// 400 x 120 kernel (48K weights) made its two-thread step 4-9% slower, while the MNIST example's
/// 784 x 300 (235K) gained ~10% with Adam and broke even with SGD. The same size decides
/// which first layers take the optimizer's step inside their weight gradient's product.
#[cfg(feature = "std")]
const ROW_PARTS_MIN: usize = 128 * 1024;

/// A fully connected layer from `IN` to `OUT` units with activation `A`.
///
/// The weights live on the heap from the start (one boxed slice: the `(IN, OUT)` row-major
/// kernel, then the `OUT` biases), so a large layer never passes through the stack.
#[derive(Clone, Debug)]
pub struct Dense<T, const IN: usize, const OUT: usize, A> {
    weights: Box<[T]>,
    activation: A,
    init: Initializer,
    regularizer: Regularizer,
    /// The kernel packed for inference ([`PackedB`]): for batches, and on AVX2 for single
    /// samples too, where it is packed with the layer so that `predict` never allocates. Stale
    /// whenever the weights may change, and packed again in its storage on the next use.
    #[cfg(feature = "std")]
    packed: PackedCache<T>,
    /// The kernel packed by rows for a training step split across threads
    /// ([`Layer::prepare_shards`]), stale whenever the weights change.
    #[cfg(feature = "std")]
    row_parts: RowParts<T>,
}

impl<T: Float, const IN: usize, const OUT: usize, A: Activation> Dense<T, IN, OUT, A> {
    /// The number of weights: kernel and bias.
    pub const PARAMS: usize = IN * OUT + OUT;

    /// A layer with zero weights; [`Layer::initialize`] fills the kernel with `init`.
    pub fn new(activation: A, init: Initializer, regularizer: Regularizer) -> Self {
        let weights = vec![T::zero(); IN * OUT + OUT].into_boxed_slice();
        Self {
            // Small kernels' single samples run `affine_sized`.
            #[cfg(feature = "std")]
            packed: if IN * OUT > SIZED_LIMIT {
                PackedCache::new(&weights[..IN * OUT], IN, OUT)
            } else {
                PackedCache::default()
            },
            weights,
            activation,
            init,
            regularizer,
            #[cfg(feature = "std")]
            row_parts: RowParts::default(),
        }
    }

    /// Marks the packed kernels stale; called by everything that can change the weights.
    fn weights_changed(&mut self) {
        #[cfg(feature = "std")]
        {
            self.packed.forget();
            self.row_parts.forget();
        }
    }

    /// The kernel, `(IN, OUT)` row-major: `kernel()[i * OUT + o]` connects input `i` to unit `o`.
    pub fn kernel(&self) -> &[T] {
        &self.weights[..IN * OUT]
    }

    /// The biases.
    pub fn bias(&self) -> &[T] {
        &self.weights[IN * OUT..]
    }

    /// The activation.
    pub fn activation(&self) -> A {
        self.activation
    }
}

impl<T: Float, const IN: usize, const OUT: usize, A: Activation> Layer<T> for Dense<T, IN, OUT, A> {
    fn input_size(&self) -> usize {
        IN
    }
    fn output_size(&self) -> usize {
        OUT
    }
    fn weight_specs(&self) -> Vec<WeightSpec> {
        vec![
            WeightSpec {
                name: "kernel",
                shape: vec![IN, OUT],
                trainable: true,
            },
            WeightSpec {
                name: "bias",
                shape: vec![OUT],
                trainable: true,
            },
        ]
    }
    fn weights(&self) -> &[T] {
        &self.weights
    }
    fn weights_mut(&mut self) -> &mut [T] {
        self.weights_changed();
        &mut self.weights
    }
    fn initialize(&mut self, rng: &mut dyn RngCore) {
        self.weights_changed();
        let (kernel, bias) = self.weights.split_at_mut(IN * OUT);
        self.init.fill(kernel, IN, OUT, rng);
        bias.iter_mut().for_each(|b| *b = T::zero());
    }
    /// Softmax and sigmoid outputs keep their logits for the cross-entropy shortcut, a softmax
    /// also each row's sum of exponentials ([`Logits::row_sums`]).
    fn cache_len(&self, batch: usize) -> usize {
        match self.activation.logits_kind() {
            Some(LogitsKind::Softmax) => batch * OUT + batch,
            Some(LogitsKind::Sigmoid) => batch * OUT,
            None => 0,
        }
    }
    fn forward(&self, x: &[T], y: &mut [T], cache: &mut [T], mode: Mode<'_>) {
        let batch = x.len() / IN;
        let (kernel, bias) = self.weights.split_at(IN * OUT);
        let logits = (!matches!(mode, Mode::Predict)).then_some(cache);
        // The size test is a constant, so a larger layer does not compile the sized product.
        if const { IN * OUT <= SIZED_LIMIT } && batch <= SMALL_BATCH {
            for (x, y) in x.chunks_exact(IN).zip(y.chunks_exact_mut(OUT)) {
                affine_sized::<T, IN, OUT>(x, kernel, bias, y);
            }
            return activate(y, OUT, &self.activation, logits);
        }
        #[cfg(feature = "std")]
        let done = match mode {
            // Inference keeps the kernel packed between calls (training changes it every
            // step) and uses it from two samples on: one pass over the weights serves every
            // row, where row by row would stream them once per sample (three times faster at
            // four samples of the 784-300-10 MLP). A lone sample's product would be
            // latency-bound in the packed tiles; it has a kernel of its own (below) or `vec_mat`.
            Mode::Predict | Mode::Evaluate if batch > 1 => {
                if let Some(packed) = self.packed.get(kernel, IN, OUT) {
                    // The bias, and a ReLU whose input no loss reads, are applied to each tile
                    // of the product right after it is stored.
                    let relu = is_relu::<A>() && logits.as_ref().is_none_or(|l| l.is_empty());
                    packed.multiply_then(x, y, bias, relu);
                    if !relu {
                        activate(y, OUT, &self.activation, logits);
                    }
                    return;
                }
                false
            }
            // A lone sample reads the panels where they beat Keras's layout (AVX2, wide
            // outputs, inputs under a quarter zero: `PackedB::try_multiply_row`).
            Mode::Predict | Mode::Evaluate if batch == 1 && PackedB::<T>::multiplies_rows(OUT) => {
                self.packed
                    .get(kernel, IN, OUT)
                    .is_some_and(|packed| packed.try_multiply_row(x, y))
            }
            // A shard of a split training step multiplies by the parts its threads packed.
            Mode::Train(_) if batch > SMALL_BATCH => self.row_parts.multiply(x, IN, y),
            _ => false,
        };
        #[cfg(not(feature = "std"))]
        let done = false;
        if done {
            // `y` holds the product already.
        } else if batch <= SMALL_BATCH {
            for (x, y) in x.chunks_exact(IN).zip(y.chunks_exact_mut(OUT)) {
                vec_mat(x, kernel, y);
            }
        } else {
            gemm(
                T::one(),
                Mat::rows(x, batch, IN),
                Mat::rows(kernel, IN, OUT),
                T::zero(),
                y,
            );
        }
        finish_forward::<T, A, OUT>(y, bias, &self.activation, logits);
    }
    /// Packs this thread's rows of the kernel for the step's shards, for kernels the
    /// optimizer updates in pieces on several threads: each core then reads only the weights
    /// it writes (see `kernels/packed_parts.rs`).
    #[cfg(feature = "std")]
    fn prepare_shards(&self, part: usize, parts: usize) {
        if self.prepares_shards() {
            self.row_parts
                .prepare(&self.weights[..IN * OUT], IN, OUT, part, parts);
        }
    }
    /// Kernels of 128K weights or more (`ROW_PARTS_MIN`), updated in pieces on several threads.
    #[cfg(feature = "std")]
    fn prepares_shards(&self) -> bool {
        IN * OUT >= ROW_PARTS_MIN && crate::optim::updated_in_pieces(Self::PARAMS)
    }
    fn logits<'a>(&self, x: &'a [T], cache: &'a [T]) -> Option<Logits<'a, T>> {
        let kind = self.activation.logits_kind()?;
        let (values, row_sums) = cache.split_at(x.len() / IN * OUT);
        Some(Logits {
            kind,
            values,
            row_sums,
        })
    }
    fn backward(
        &self,
        x: &[T],
        y: &[T],
        _cache: &mut [T],
        upstream: Upstream<'_, T>,
        dx: Option<&mut [T]>,
        grad: &mut [T],
    ) {
        let batch = x.len() / IN;
        let dz = pre_activation_gradient(upstream, y, &self.activation, OUT);
        let (g_kernel, g_bias) = grad.split_at_mut(IN * OUT);
        // dW = xᵀ · dz, db = column sums of dz, dx = dz · Wᵀ.
        gemm(
            T::one(),
            Mat::transposed(x, batch, IN),
            Mat::rows(dz, batch, OUT),
            T::zero(),
            g_kernel,
        );
        bias_gradient::<T, OUT>(dz, g_bias);
        if let Some(dx) = dx {
            let kernel = &self.weights[..IN * OUT];
            gemm(
                T::one(),
                Mat::rows(dz, batch, OUT),
                Mat::transposed(kernel, IN, OUT),
                T::zero(),
                dx,
            );
        }
    }
    /// Kernels of `ROW_PARTS_MIN` weights or more offer the row split when first: a step split
    /// across threads cuts them by rows, and a whole-batch step stops their backward pass at
    /// the product gradient when their update is fused ([`Layer::fuses_update`]).
    #[cfg(feature = "std")]
    fn row_split(&self) -> Option<&dyn RowSplit<T>> {
        (IN * OUT >= ROW_PARTS_MIN).then_some(self as &dyn RowSplit<T>)
    }
    /// A penalty's gradient would have to join the product's, so a regularized kernel keeps
    /// the separate update.
    #[cfg(feature = "std")]
    fn fuses_update(&self) -> bool {
        IN * OUT >= ROW_PARTS_MIN && !self.regularizer.is_active()
    }
    #[cfg(feature = "std")]
    fn update_from_product_gradient(
        &mut self,
        parts: usize,
        x: &[T],
        dz: &[T],
        grad: &mut [T],
        step: ElementwiseStep<'_, T>,
    ) {
        let batch = x.len() / IN;
        let ElementwiseStep { rule, slots } = step;
        let (kernel, bias) = self.weights.split_at_mut(IN * OUT);
        let (g_kernel, g_bias) = grad.split_at_mut(IN * OUT);
        let [(k0, b0), (k1, b1), (k2, b2)] = slots.map(|s| halve(s, IN * OUT));
        let parts = parts.max(1);
        let part = |p: usize, w: &mut [T], g: &mut [T], slots: [&mut [T]; 3]| {
            let rows = packed_parts::rows(p, parts, IN);
            // These rows of dW = xᵀ · dz: columns `rows` of `x`, transposed.
            gemm_update(
                Mat::view(&x[rows.start..], rows.len(), batch, 1, IN),
                Mat::rows(dz, batch, OUT),
                g,
                w,
                &rule,
                slots,
            );
        };
        let shape = (parts, IN, OUT);
        row_parts_of(0..parts, shape, kernel, g_kernel, [k0, k1, k2], &part);
        bias_gradient::<T, OUT>(dz, g_bias);
        T::update(&rule, bias, g_bias, [b0, b1, b2]);
        self.weights_changed();
    }
    fn penalty(&self) -> T {
        self.regularizer.penalty(&self.weights[..IN * OUT])
    }
    fn add_penalty_gradient(&self, grad: &mut [T]) {
        self.regularizer
            .add_gradient(&self.weights[..IN * OUT], &mut grad[..IN * OUT]);
    }
}

/// Runs `part` on each of `parts` (of `count` parts of a kernel of `rows` rows, each `width`
/// wide: see `packed_parts::rows`) with its rows of the kernel, `w` from the first part's
/// first row on, of its gradient `g` and of the slots (each as long as `w`, or empty), the
/// halves on `threads::join`.
#[cfg(feature = "std")]
#[allow(clippy::type_complexity)]
fn row_parts_of<T: Float>(
    parts: core::ops::Range<usize>,
    (count, rows, width): (usize, usize, usize),
    w: &mut [T],
    g: &mut [T],
    slots: [&mut [T]; 3],
    part: &(dyn Fn(usize, &mut [T], &mut [T], [&mut [T]; 3]) + Sync),
) {
    if parts.len() == 1 {
        return part(parts.start, w, g, slots);
    }
    let mid = parts.start + parts.len() / 2;
    let first_row = |p: usize| packed_parts::rows(p, count, rows).start;
    let cut = (first_row(mid) - first_row(parts.start)) * width;
    let (w0, w1) = w.split_at_mut(cut);
    let (g0, g1) = g.split_at_mut(cut);
    let [(a0, a1), (b0, b1), (c0, c1)] = slots.map(|s| halve(s, cut));
    let (left, right) = (parts.start..mid, mid..parts.end);
    crate::threads::join(
        right.len() == 1,
        || row_parts_of(left, (count, rows, width), w0, g0, [a0, b0, c0], part),
        || row_parts_of(right, (count, rows, width), w1, g1, [a1, b1, c1], part),
    );
}

/// `Dense` cut by its kernel's rows in a split training step: part `p` multiplies the batch's
/// matching input columns by its rows, then computes the same rows of the kernel's gradient
/// (the last part also the bias's).
#[cfg(feature = "std")]
impl<T: Float, const IN: usize, const OUT: usize, A: Activation> RowSplit<T>
    for Dense<T, IN, OUT, A>
{
    fn forward_parts(&self, parts: usize, x: &[T], partials: &mut [T]) {
        let batch = x.len() / IN;
        let kernel = &self.weights[..IN * OUT];
        let each = batch * OUT;
        assert_eq!(
            partials.len(),
            parts * each,
            "Dense: partials of the wrong size"
        );
        // The general product packs each block of the rows just before using it, which ran
        // faster than packing the part whole first and multiplying by it.
        crate::threads::for_each_part_mut(0..parts, partials, &|p| p * each, &|part, y| {
            let rows = packed_parts::rows(part, parts, IN);
            gemm(
                T::one(),
                Mat::view(&x[rows.start..], batch, rows.len(), IN, 1),
                Mat::rows(&kernel[rows.start * OUT..], rows.len(), OUT),
                T::zero(),
                y,
            );
        });
    }
    /// As `forward` finishes in training: the cache is empty unless the logits are kept.
    fn finish_forward(&self, products: ShardProducts<'_, T>, y: &mut [T], cache: &mut [T]) {
        products.sum_with_bias(y, &self.weights[IN * OUT..]);
        activate(y, OUT, &self.activation, Some(cache));
    }
    fn product_gradient(&self, y: &[T], upstream: Upstream<'_, T>, dz: &mut [T]) {
        pre_activation_gradient_into(upstream, y, &self.activation, OUT, dz);
    }
    fn weight_gradient(&self, parts: usize, x: &[T], dz: &[T], grad: &mut [T]) {
        let batch = x.len() / IN;
        // Part `p` writes its rows of the kernel's gradient; the last part also the bias's.
        let start = |p: usize| {
            if p == parts {
                Self::PARAMS
            } else {
                packed_parts::rows(p, parts, IN).start * OUT
            }
        };
        crate::threads::for_each_part_mut(0..parts, grad, &start, &|part, g| {
            let rows = packed_parts::rows(part, parts, IN);
            let (g_kernel, g_bias) = g.split_at_mut(rows.len() * OUT);
            // These rows of dW = xᵀ · dz: columns `rows` of `x`, transposed.
            gemm(
                T::one(),
                Mat::view(&x[rows.start..], rows.len(), batch, 1, IN),
                Mat::rows(dz, batch, OUT),
                T::zero(),
                g_kernel,
            );
            if part + 1 == parts {
                bias_gradient::<T, OUT>(dz, g_bias);
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::super::gradient_check::check_layer;
    use super::*;
    use crate::activation::{Elu, LeakyRelu, Linear, Relu, Sigmoid, Softmax, Tanh};
    use rand::SeedableRng;

    #[test]
    fn every_activation_passes_the_gradient_check() {
        let none = Regularizer::NONE;
        let init = Initializer::GlorotUniform;
        check_layer(&mut Dense::<f64, 5, 3, Linear>::new(Linear, init, none), 4);
        check_layer(&mut Dense::<f64, 5, 3, Relu>::new(Relu, init, none), 4);
        check_layer(
            &mut Dense::<f64, 5, 3, LeakyRelu>::new(LeakyRelu::new(0.2), init, none),
            4,
        );
        check_layer(
            &mut Dense::<f64, 5, 3, Elu>::new(Elu::default(), init, none),
            4,
        );
        check_layer(
            &mut Dense::<f64, 5, 3, Sigmoid>::new(Sigmoid, init, none),
            4,
        );
        check_layer(&mut Dense::<f64, 5, 3, Tanh>::new(Tanh, init, none), 4);
        check_layer(
            &mut Dense::<f64, 5, 3, Softmax>::new(Softmax, init, none),
            4,
        );
    }

    #[test]
    fn forward_is_x_times_the_keras_kernel_plus_bias() {
        let mut d = Dense::<f64, 2, 3, Linear>::new(Linear, Initializer::Zeros, Regularizer::NONE);
        // Kernel (in=2, out=3) row-major, then bias.
        d.weights_mut()
            .copy_from_slice(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 0.5, -0.5, 1.0]);
        let mut y = [0.0; 3];
        d.forward(&[1.0, 10.0], &mut y, &mut [], Mode::Predict);
        assert_eq!(y, [41.5, 51.5, 64.0]);
        assert_eq!(d.kernel().len(), 6);
        assert_eq!(d.bias(), &[0.5, -0.5, 1.0]);
    }

    #[test]
    fn batched_inference_sees_every_change_of_the_weights() {
        // Inference batches of two or more use the packed kernel, cached between calls.
        let mut d = Dense::<f32, 5, 40, Linear>::new(Linear, Initializer::Zeros, Regularizer::NONE);
        let x: Vec<f32> = (0..8 * 5).map(|i| (i % 7) as f32 - 3.0).collect();
        let expect = |d: &Dense<f32, 5, 40, Linear>| -> Vec<f32> {
            let (k, b) = (d.kernel(), d.bias());
            (0..8 * 40)
                .map(|i| {
                    (0..5)
                        .map(|p| x[i / 40 * 5 + p] * k[p * 40 + i % 40])
                        .sum::<f32>()
                        + b[i % 40]
                })
                .collect()
        };
        let mut y = vec![0.0; 8 * 40];
        for round in 0..3 {
            d.weights_mut()
                .iter_mut()
                .enumerate()
                .for_each(|(i, w)| *w = ((i * (round + 2)) % 11) as f32 * 0.5 - 2.0);
            for mode in [Mode::Predict, Mode::Evaluate] {
                d.forward(&x, &mut y, &mut [], mode);
                assert_eq!(y, expect(&d), "round {round}");
            }
        }
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
        d.initialize(&mut rng);
        d.forward(&x, &mut y, &mut [], Mode::Predict);
        assert_eq!(y, expect(&d), "after initialize");
    }

    /// The weight gradient in row parts with the optimizer's step fused in leaves the weights
    /// and the optimizer's state, to the bit, as the parts' gradient and then the update, in
    /// one to five parts (some without rows), whatever the number of threads.
    #[cfg(feature = "std")]
    #[test]
    fn the_fused_update_in_parts_is_the_gradient_then_the_update() {
        use crate::optim::{Adam, Optimizer, Sgd};
        const IN: usize = 400;
        const OUT: usize = 330;
        type Layer400 = Dense<f64, IN, OUT, Tanh>;
        let batch = 13;
        let x: Vec<f64> = (0..batch * IN)
            .map(|i| ((i * 7) % 13) as f64 / 6.0 - 1.0)
            .collect();
        let dz: Vec<f64> = (0..batch * OUT)
            .map(|i| ((i * 5) % 11) as f64 / 5.0 - 1.0)
            .collect();
        type Make = fn() -> Box<dyn Optimizer<f64>>;
        let optimizers: [Make; 2] = [
            || Box::new(Sgd::new(0.1).momentum(0.9)),
            || Box::new(Adam::new(0.01).amsgrad(true)),
        ];
        for parts in 1..=5 {
            for (o, make) in optimizers.iter().enumerate() {
                let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(parts as u64);
                let mut fused = Layer400::new(Tanh, Initializer::GlorotUniform, Regularizer::NONE);
                fused.initialize(&mut rng);
                let mut separate = fused.clone();
                let (mut fused_opt, mut separate_opt) = (make(), make());
                let mut grad = vec![f64::NAN; Layer400::PARAMS];
                for _ in 0..2 {
                    let step = fused_opt.elementwise_step(0, Layer400::PARAMS).unwrap();
                    fused.update_from_product_gradient(parts, &x, &dz, &mut grad, step);
                    fused_opt.finish_step();
                    separate.weight_gradient(parts, &x, &dz, &mut grad);
                    separate_opt.update(0, separate.weights_mut(), &grad);
                    separate_opt.finish_step();
                }
                let case = format!("{parts} parts, optimizer {o}");
                assert!(fused.weights() == separate.weights(), "{case}");
                assert_eq!(fused_opt.state(), separate_opt.state(), "{case}");
            }
        }
    }

    /// The four row-split passes, put together as `network` does, give `forward`'s outputs
    /// and cache and `backward`'s gradient, in two to five parts (some without rows), with an
    /// activation that keeps its logits and one that does not.
    #[cfg(feature = "std")]
    #[test]
    fn row_split_passes_add_up_to_forward_and_backward() {
        fn check<const IN: usize, A: Activation>(activation: A, parts: usize) {
            const OUT: usize = 29;
            let batch = 11;
            let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(parts as u64);
            let mut d = Dense::<f64, IN, OUT, A>::new(
                activation,
                Initializer::GlorotUniform,
                Regularizer::NONE,
            );
            d.initialize(&mut rng);
            let x: Vec<f64> = (0..batch * IN)
                .map(|i| ((i * 7) % 13) as f64 / 6.0 - 1.0)
                .collect();
            let dy: Vec<f64> = (0..batch * OUT)
                .map(|i| ((i * 5) % 11) as f64 / 5.0 - 1.0)
                .collect();
            let cache_len = d.cache_len(batch);

            let mut y = vec![0.0; batch * OUT];
            let mut cache = vec![0.0; cache_len];
            d.forward(&x, &mut y, &mut cache, Mode::Train(&mut rng));
            let mut grad = vec![0.0; Dense::<f64, IN, OUT, A>::PARAMS];
            d.backward(
                &x,
                &y,
                &mut cache.clone(),
                Upstream::Output(&mut dy.clone()),
                None,
                &mut grad,
            );

            let mut partials = vec![f64::NAN; parts * batch * OUT];
            d.forward_parts(parts, &x, &mut partials);
            // Two shards, of 5 samples and the rest, each from its share of the parts.
            let mut split_y = vec![f64::NAN; batch * OUT];
            let mut split_cache = vec![f64::NAN; cache_len];
            let (y0, y1) = split_y.split_at_mut(5 * OUT);
            let (c0, c1) = split_cache.split_at_mut(cache_len / batch * 5);
            for (start, y, cache) in [(0, y0, c0), (5, y1, c1)] {
                let products = ShardProducts::new(&partials, batch * OUT, start * OUT);
                RowSplit::finish_forward(&d, products, y, cache);
            }
            let close = |a: &[f64], b: &[f64], what: &str| {
                assert_eq!(a.len(), b.len(), "{what}");
                for (a, b) in a.iter().zip(b) {
                    assert!(
                        (a - b).abs() < 1e-12,
                        "{what} with {parts} parts: {a} vs {b}"
                    );
                }
            };
            close(&split_y, &y, "output");
            // Each shard's cache holds its own rows' logits (and a softmax's row sums).
            let kept = |x: &[f64], c: &[f64]| {
                d.logits(x, c)
                    .map(|l| (l.values.to_vec(), l.row_sums.to_vec()))
            };
            let (s0, s1) = split_cache.split_at(cache_len / batch * 5);
            let shards = [kept(&x[..5 * IN], s0), kept(&x[5 * IN..], s1)];
            match (kept(&x, &cache), shards) {
                (Some((v, s)), [Some((v0, s0)), Some((v1, s1))]) => {
                    close(&[v0, v1].concat(), &v, "logits");
                    close(&[s0, s1].concat(), &s, "row sums");
                }
                (None, [None, None]) => {}
                _ => panic!("logits kept by the whole batch or by the shards only"),
            }
            let mut dz = vec![f64::NAN; batch * OUT];
            d.product_gradient(&split_y, Upstream::Output(&mut dy.clone()), &mut dz);
            let mut split_grad = vec![f64::NAN; grad.len()];
            d.weight_gradient(parts, &x, &dz, &mut split_grad);
            close(&split_grad, &grad, "gradient");
        }
        for parts in [2, 3, 5] {
            check::<37, _>(Relu, parts);
            check::<37, _>(Softmax, parts);
        }
        // Fewer inputs than parts: some parts have no rows.
        check::<2, _>(Relu, 3);
    }

    #[test]
    fn every_batch_size_gives_each_sample_its_own_product_in_every_mode() {
        // Linear, ReLU (applied by the packed product to each tile it stores) and Tanh (the
        // bias added there, the activation after).
        every_batch_size_agrees(Linear);
        every_batch_size_agrees(Relu);
        every_batch_size_agrees(Tanh);
    }

    fn every_batch_size_agrees<A: Activation>(activation: A) {
        // A kernel above SIZED_LIMIT: one sample runs `vec_mat`, inference batches the packed
        // kernel, small training batches `vec_mat` row by row, larger ones the general product.
        // All of them sum each output in input order, so they agree exactly. The inputs are
        // dense, then half zero in the same places in every sample (image background), which
        // the products skip: `vec_mat` lists the nonzero inputs, the batched products the
        // zero steps.
        const IN: usize = 70;
        const OUT: usize = 100;
        let mut d =
            Dense::<f32, IN, OUT, A>::new(activation, Initializer::Zeros, Regularizer::NONE);
        d.weights_mut()
            .iter_mut()
            .enumerate()
            .for_each(|(i, w)| *w = ((i * 37) % 23) as f32 * 0.1 - 1.1);
        let dense: Vec<f32> = (0..9 * IN)
            .map(|i| ((i * 11) % 13) as f32 * 0.3 - 1.7)
            .collect();
        let background: Vec<f32> = dense
            .iter()
            .enumerate()
            .map(|(i, &v)| if (i % IN).is_multiple_of(2) { 0.0 } else { v })
            .collect();
        for x in [dense, background] {
            agrees_on(&d, &x);
        }
    }

    /// [`every_batch_size_agrees`] on the inputs `x`, nine samples.
    fn agrees_on<A: Activation, const IN: usize, const OUT: usize>(
        d: &Dense<f32, IN, OUT, A>,
        x: &[f32],
    ) {
        let activation = d.activation();
        let mut want = vec![0.0; 9 * OUT];
        for (x, y) in x.chunks(IN).zip(want.chunks_mut(OUT)) {
            d.forward(x, y, &mut [], Mode::Predict);
        }
        let (k, b) = (d.kernel(), d.bias());
        let mut naive = (0..OUT)
            .map(|j| (0..IN).fold(b[j], |s, p| s + x[p] * k[p * OUT + j]))
            .collect::<Vec<f32>>();
        activation.forward(&mut naive);
        assert!(naive.iter().zip(&want).all(|(a, b)| (a - b).abs() < 1e-4));
        // Without AVX2 + FMA the batched products go to `matrixmultiply`, whose kernels round
        // differently (they may fuse where the portable `vec_mat` does not, and add the bias
        // last): there the samples agree to a few ulp, not to the bit.
        let exact = crate::kernels::Isa::detect() != crate::kernels::Isa::Portable;
        let agree = |y: &[f32], want: &[f32], what: &str| {
            if exact {
                assert_eq!(y, want, "{what}");
            } else {
                let close = |(a, b): (&f32, &f32)| (a - b).abs() <= 1e-5 * a.abs().max(1.0);
                assert!(
                    y.iter().zip(want).all(close),
                    "{what}: {y:?} against {want:?}"
                );
            }
        };
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        for batch in 1..=9 {
            let (x, want) = (&x[..batch * IN], &want[..batch * OUT]);
            let mut y = vec![f32::NAN; batch * OUT];
            d.forward(x, &mut y, &mut [], Mode::Predict);
            agree(&y, want, &format!("predict, batch {batch}"));
            let mut y = vec![f32::NAN; batch * OUT];
            d.forward(x, &mut y, &mut [], Mode::Evaluate);
            agree(&y, want, &format!("evaluate, batch {batch}"));
            let mut y = vec![f32::NAN; batch * OUT];
            d.forward(x, &mut y, &mut [], Mode::Train(&mut rng));
            agree(&y, want, &format!("train, batch {batch}"));
        }
    }

    #[test]
    fn initialization_fills_the_kernel_within_glorot_limits_and_zeroes_the_bias() {
        let mut d = Dense::<f32, 30, 20, Linear>::new(
            Linear,
            Initializer::GlorotUniform,
            Regularizer::NONE,
        );
        d.weights_mut().iter_mut().for_each(|w| *w = 9.0);
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        d.initialize(&mut rng);
        let limit = (6.0f32 / 50.0).sqrt();
        assert!(d.kernel().iter().all(|w| w.abs() <= limit));
        assert!(d.kernel().iter().any(|w| w.abs() > limit / 2.0));
        assert!(d.bias().iter().all(|&b| b == 0.0));
    }

    #[test]
    fn the_penalty_gradient_touches_only_the_kernel() {
        let d =
            Dense::<f64, 2, 2, Linear>::new(Linear, Initializer::Zeros, Regularizer::new(0.0, 0.5));
        let mut d = d;
        d.weights_mut()
            .copy_from_slice(&[1.0, -2.0, 3.0, 0.0, 7.0, 7.0]);
        assert_eq!(d.penalty(), 0.5 * 14.0);
        let mut g = [0.0; 6];
        d.add_penalty_gradient(&mut g);
        assert_eq!(g, [1.0, -2.0, 3.0, 0.0, 0.0, 0.0]);
    }
}
