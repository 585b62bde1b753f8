//! A custom activation and a custom layer with trainable weights, as a user writes them in
//! their own crate.

use typed_nn::layers::{Mode, RngCore, Upstream};
use typed_nn::prelude::*;
use typed_nn::{Activation, WeightSpec};

/// Softsign, `x / (1 + |x|)`: a weightless activation is a `Copy + Default` type with its
/// forward pass and its derivative written from the output (`1 - |y|` squared).
#[derive(Clone, Copy, Debug, Default)]
pub struct Softsign;

impl Activation for Softsign {
    const NAME: &'static str = "softsign";
    const ELEMENTWISE: bool = true;

    fn forward<T: Float>(&self, row: &mut [T]) {
        row.iter_mut().for_each(|v| *v /= T::one() + v.abs());
    }

    fn backward<T: Float>(&self, y: &[T], dy: &mut [T]) {
        for (d, &y) in dy.iter_mut().zip(y) {
            let s = T::one() - y.abs();
            *d *= s * s;
        }
    }
}

/// Keras's `PReLU`: `x` where positive, `alpha * x` elsewhere, with one trained `alpha` per
/// input element, initialised to zero as Keras does. `IN` and `OUT` are the elements per
/// sample `model!` gives it; the `Layer` impl accepts only `IN == OUT`, so a model that
/// declares another output shape does not compile.
#[derive(Clone, Debug)]
pub struct ParametricRelu<T, const IN: usize, const OUT: usize> {
    alpha: Vec<T>,
}

impl<T: Float, const N: usize> Layer<T> for ParametricRelu<T, N, N> {
    fn input_size(&self) -> usize {
        N
    }
    fn output_size(&self) -> usize {
        N
    }
    fn weight_specs(&self) -> Vec<WeightSpec> {
        vec![WeightSpec {
            name: "alpha",
            shape: vec![N],
            trainable: true,
        }]
    }
    fn weights(&self) -> &[T] {
        &self.alpha
    }
    fn weights_mut(&mut self) -> &mut [T] {
        &mut self.alpha
    }
    fn initialize(&mut self, _rng: &mut dyn RngCore) {
        self.alpha.fill(T::zero());
    }
    fn forward(&self, x: &[T], y: &mut [T], _cache: &mut [T], _mode: Mode<'_>) {
        for (xs, ys) in x.chunks_exact(N).zip(y.chunks_exact_mut(N)) {
            for ((&x, y), &a) in xs.iter().zip(ys).zip(&self.alpha) {
                *y = if x > T::zero() { x } else { a * x };
            }
        }
    }
    fn backward(
        &self,
        x: &[T],
        _y: &[T],
        _cache: &mut [T],
        upstream: Upstream<'_, T>,
        dx: Option<&mut [T]>,
        grad: &mut [T],
    ) {
        let dy = upstream.output();
        grad.fill(T::zero());
        for (xs, dys) in x.chunks_exact(N).zip(dy.chunks_exact(N)) {
            for ((g, &x), &d) in grad.iter_mut().zip(xs).zip(dys) {
                if x <= T::zero() {
                    *g += d * x;
                }
            }
        }
        if let Some(dx) = dx {
            for (i, (dx, (&x, &d))) in dx.iter_mut().zip(x.iter().zip(dy.iter())).enumerate() {
                *dx = if x > T::zero() {
                    d
                } else {
                    self.alpha[i % N] * d
                };
            }
        }
    }
}

impl<T: Float, const N: usize> CustomLayer<T> for ParametricRelu<T, N, N> {
    const PARAMS: usize = N;
    fn new() -> Self {
        Self {
            alpha: vec![T::zero(); N],
        }
    }
}
