//! `Dense`: `y = act(x · W + b)` on one-axis samples, with Keras's kernel layout `(in, out)`.

use rand::RngCore;

use super::{Layer, Logits, Mode, Upstream, WeightSpec};
use crate::activation::Activation;
use crate::init::Initializer;
use crate::kernels::{gemm, Mat};
use crate::regularizer::Regularizer;
use crate::Float;

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
}

impl<T: Float, const IN: usize, const OUT: usize, A: Activation> Dense<T, IN, OUT, A> {
    /// The number of weights: kernel and bias.
    pub const PARAMS: usize = IN * OUT + OUT;

    /// A layer with zero weights; [`Layer::initialize`] fills the kernel with `init`.
    pub fn new(activation: A, init: Initializer, regularizer: Regularizer) -> Self {
        Self {
            weights: vec![T::zero(); IN * OUT + OUT].into_boxed_slice(),
            activation,
            init,
            regularizer,
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
        &mut self.weights
    }
    fn initialize(&mut self, rng: &mut dyn RngCore) {
        let (kernel, bias) = self.weights.split_at_mut(IN * OUT);
        self.init.fill(kernel, IN, OUT, rng);
        bias.iter_mut().for_each(|b| *b = T::zero());
    }
    /// Softmax and sigmoid outputs keep their logits for the cross-entropy shortcut.
    fn cache_len(&self, batch: usize) -> usize {
        if self.activation.logits_kind().is_some() {
            batch * OUT
        } else {
            0
        }
    }
    fn forward(&self, x: &[T], y: &mut [T], cache: &mut [T], mode: Mode<'_>) {
        let batch = x.len() / IN;
        let (kernel, bias) = self.weights.split_at(IN * OUT);
        gemm(
            T::one(),
            Mat::rows(x, batch, IN),
            Mat::rows(kernel, IN, OUT),
            T::zero(),
            y,
        );
        for row in y.chunks_exact_mut(OUT) {
            row.iter_mut().zip(bias).for_each(|(v, &b)| *v += b);
        }
        if !matches!(mode, Mode::Predict) && !cache.is_empty() {
            cache.copy_from_slice(y);
        }
        y.chunks_exact_mut(OUT)
            .for_each(|row| self.activation.forward(row));
    }
    fn logits<'a>(&self, _x: &'a [T], cache: &'a [T]) -> Option<Logits<'a, T>> {
        let kind = self.activation.logits_kind()?;
        Some(Logits {
            kind,
            values: cache,
        })
    }
    fn backward(
        &self,
        x: &[T],
        y: &[T],
        _cache: &[T],
        upstream: Upstream<'_, T>,
        dx: Option<&mut [T]>,
        grad: &mut [T],
    ) {
        let batch = x.len() / IN;
        let dz: &[T] = match upstream {
            Upstream::Logits(dz) => dz,
            Upstream::Output(dy) => {
                for (d, y) in dy.chunks_exact_mut(OUT).zip(y.chunks_exact(OUT)) {
                    self.activation.backward(y, d);
                }
                dy
            }
        };
        let (g_kernel, g_bias) = grad.split_at_mut(IN * OUT);
        // dW = xᵀ · dz, db = column sums of dz, dx = dz · Wᵀ.
        gemm(
            T::one(),
            Mat::transposed(x, batch, IN),
            Mat::rows(dz, batch, OUT),
            T::zero(),
            g_kernel,
        );
        g_bias.iter_mut().for_each(|g| *g = T::zero());
        for row in dz.chunks_exact(OUT) {
            g_bias.iter_mut().zip(row).for_each(|(g, &d)| *g += d);
        }
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
    fn penalty(&self) -> T {
        self.regularizer.penalty(&self.weights[..IN * OUT])
    }
    fn add_penalty_gradient(&self, grad: &mut [T]) {
        self.regularizer
            .add_gradient(&self.weights[..IN * OUT], &mut grad[..IN * OUT]);
    }
}
