//! `BatchNorm`: Keras's `BatchNormalization` over the last axis.

#[allow(unused_imports)]
use crate::prelude::*;

use rand::RngCore;

use super::{output_gradient, Layer, Mode, Upstream, WeightSpec};
use crate::Float;

/// Normalises each of the `C` channels (the last axis) of `N`-element samples.
///
/// Weights in Keras order: gamma, beta (trainable), moving_mean, moving_variance (not).
/// Training uses the batch's mean and biased variance and moves the moving statistics by
/// `momentum` once per batch; inference uses the moving statistics.
#[derive(Clone, Debug)]
pub struct BatchNorm<T, const N: usize, const C: usize> {
    weights: Box<[T]>,
    momentum: f64,
    epsilon: f64,
}

impl<T: Float, const N: usize, const C: usize> BatchNorm<T, N, C> {
    /// A layer with Keras's initial weights (gamma 1, beta 0, mean 0, variance 1).
    pub fn new(momentum: f64, epsilon: f64) -> Self {
        let mut layer = Self {
            weights: vec![T::zero(); 4 * C].into_boxed_slice(),
            momentum,
            epsilon,
        };
        layer.reset();
        layer
    }

    fn reset(&mut self) {
        let (trained, stats) = self.weights.split_at_mut(2 * C);
        trained[..C].iter_mut().for_each(|g| *g = T::one());
        trained[C..].iter_mut().for_each(|b| *b = T::zero());
        stats[..C].iter_mut().for_each(|m| *m = T::zero());
        stats[C..].iter_mut().for_each(|v| *v = T::one());
    }

    /// Per-channel mean and biased variance of `x`.
    fn batch_stats(x: &[T]) -> (Vec<T>, Vec<T>) {
        let rows = x.len() / C;
        let count = T::of(rows.max(1) as f64);
        let mut mean = vec![T::zero(); C];
        for row in x.chunks_exact(C) {
            mean.iter_mut().zip(row).for_each(|(m, &v)| *m += v);
        }
        mean.iter_mut().for_each(|m| *m /= count);
        let mut var = vec![T::zero(); C];
        for row in x.chunks_exact(C) {
            for ((s, &v), &m) in var.iter_mut().zip(row).zip(&mean) {
                *s += (v - m) * (v - m);
            }
        }
        var.iter_mut().for_each(|s| *s /= count);
        (mean, var)
    }
}

impl<T: Float, const N: usize, const C: usize> Layer<T> for BatchNorm<T, N, C> {
    fn input_size(&self) -> usize {
        N
    }
    fn output_size(&self) -> usize {
        N
    }
    fn weight_specs(&self) -> Vec<WeightSpec> {
        let spec = |name, trainable| WeightSpec {
            name,
            shape: vec![C],
            trainable,
        };
        vec![
            spec("gamma", true),
            spec("beta", true),
            spec("moving_mean", false),
            spec("moving_variance", false),
        ]
    }
    fn weights(&self) -> &[T] {
        &self.weights
    }
    fn weights_mut(&mut self) -> &mut [T] {
        &mut self.weights
    }
    fn trainable_len(&self) -> usize {
        2 * C
    }
    fn initialize(&mut self, _rng: &mut dyn RngCore) {
        self.reset();
    }
    /// In training: the normalised inputs, then per channel the batch mean, variance and
    /// `1/sqrt(var + eps)`.
    fn cache_len(&self, batch: usize) -> usize {
        batch * N + 3 * C
    }
    fn forward(&self, x: &[T], y: &mut [T], cache: &mut [T], mode: Mode<'_>) {
        let (gamma, rest) = self.weights.split_at(C);
        let (beta, rest) = rest.split_at(C);
        let (moving_mean, moving_var) = rest.split_at(C);
        let eps = T::of(self.epsilon);
        if !mode.is_training() {
            // Inference reads the moving statistics and keeps nothing: only training passes
            // are differentiated, and this layer has no logits to offer.
            for (yr, xr) in y.chunks_exact_mut(C).zip(x.chunks_exact(C)) {
                for c in 0..C {
                    yr[c] = gamma[c] * (xr[c] - moving_mean[c]) / (moving_var[c] + eps).sqrt()
                        + beta[c];
                }
            }
            return;
        }
        let (mean, var) = Self::batch_stats(x);
        let inv_std: Vec<T> = var.iter().map(|&v| T::one() / (v + eps).sqrt()).collect();
        for (yr, xr) in y.chunks_exact_mut(C).zip(x.chunks_exact(C)) {
            for c in 0..C {
                yr[c] = gamma[c] * (xr[c] - mean[c]) * inv_std[c] + beta[c];
            }
        }
        let (normalised, stats) = cache.split_at_mut(x.len());
        for (nr, xr) in normalised.chunks_exact_mut(C).zip(x.chunks_exact(C)) {
            for c in 0..C {
                nr[c] = (xr[c] - mean[c]) * inv_std[c];
            }
        }
        stats[..C].copy_from_slice(&mean);
        stats[C..2 * C].copy_from_slice(&var);
        stats[2 * C..].copy_from_slice(&inv_std);
    }
    fn backward(
        &self,
        x: &[T],
        _y: &[T],
        cache: &mut [T],
        upstream: Upstream<'_, T>,
        dx: Option<&mut [T]>,
        grad: &mut [T],
    ) {
        let dy = output_gradient(upstream);
        let (normalised, stats) = cache.split_at(x.len());
        let inv_std = &stats[2 * C..];
        let gamma = &self.weights[..C];
        let (d_gamma, rest) = grad.split_at_mut(C);
        let (d_beta, d_stats) = rest.split_at_mut(C);
        d_gamma
            .iter_mut()
            .chain(d_beta.iter_mut())
            .chain(d_stats.iter_mut())
            .for_each(|g| *g = T::zero());
        for (dr, nr) in dy.chunks_exact(C).zip(normalised.chunks_exact(C)) {
            for c in 0..C {
                d_gamma[c] += dr[c] * nr[c];
                d_beta[c] += dr[c];
            }
        }
        if let Some(dx) = dx {
            // dx = gamma * inv_std / M * (M dy - sum(dy) - x_hat * sum(dy * x_hat)), per channel.
            let m = T::of((x.len() / C).max(1) as f64);
            for ((dxr, dr), nr) in dx
                .chunks_exact_mut(C)
                .zip(dy.chunks_exact(C))
                .zip(normalised.chunks_exact(C))
            {
                for c in 0..C {
                    dxr[c] =
                        gamma[c] * inv_std[c] / m * (m * dr[c] - d_beta[c] - nr[c] * d_gamma[c]);
                }
            }
        }
    }
    fn couples_samples(&self) -> bool {
        true
    }
    fn finish_train_batch(&mut self, cache: &[T]) {
        let stats = &cache[cache.len() - 3 * C..];
        let (mean, var) = (&stats[..C], &stats[C..2 * C]);
        let keep = T::of(self.momentum);
        let take = T::one() - keep;
        let (moving_mean, moving_var) = self.weights[2 * C..].split_at_mut(C);
        for c in 0..C {
            moving_mean[c] = moving_mean[c] * keep + mean[c] * take;
            moving_var[c] = moving_var[c] * keep + var[c] * take;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::gradient_check::check_layer;
    use super::*;

    #[test]
    fn training_mode_passes_the_gradient_check() {
        // After a Dense (one axis) and after a conv (channels last of a 2x2x3 sample).
        check_layer(&mut BatchNorm::<f64, 4, 4>::new(0.99, 1e-3), 5);
        check_layer(&mut BatchNorm::<f64, 12, 3>::new(0.9, 1e-3), 3);
    }

    #[test]
    fn batch_statistics_in_training_moving_statistics_at_inference() {
        let mut bn = BatchNorm::<f64, 2, 2>::new(0.99, 1e-3);
        let x = [1.0, 10.0, 3.0, 30.0];
        let mut y = [0.0; 4];
        let mut cache = vec![0.0; bn.cache_len(2)];
        let mut rng = rand::rngs::mock::StepRng::new(0, 1);
        bn.forward(&x, &mut y, &mut cache, Mode::Train(&mut rng));
        // Channel 0: mean 2, biased variance 1 -> (x - 2) / sqrt(1 + 1e-3).
        assert!(
            (y[0] + 1.0 / 1.001f64.sqrt()).abs() < 1e-12
                && (y[2] - 1.0 / 1.001f64.sqrt()).abs() < 1e-12
        );
        bn.finish_train_batch(&cache);
        let w = bn.weights();
        assert!(
            (w[4] - 0.02).abs() < 1e-12 && (w[5] - 0.2).abs() < 1e-12,
            "moving means {:?}",
            &w[4..6]
        );
        assert!(
            (w[6] - (0.99 + 0.01)).abs() < 1e-12 && (w[7] - (0.99 + 0.01 * 100.0)).abs() < 1e-12
        );
        bn.forward(&x, &mut y, &mut [], Mode::Predict);
        assert!((y[0] - (1.0 - 0.02) / (1.0f64 + 1e-3).sqrt()).abs() < 1e-12);
        assert_eq!(bn.trainable_len(), 4);
    }
}
