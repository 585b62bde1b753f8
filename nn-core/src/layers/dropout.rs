//! `Dropout`: inverted dropout in training, the identity at inference.

#[allow(unused_imports)]
use crate::prelude::*;

use rand::{Rng, RngCore};

use super::{output_gradient, Layer, Mode, Upstream};
use crate::Float;

/// Uniform draws taken from the generator per call in training.
const DRAW_BLOCK: usize = 256;

/// Zeroes each of the `N` elements of a sample with probability `rate` in training and scales
/// the survivors by `1 / (1 - rate)`, as Keras does; passes data through unchanged otherwise.
#[derive(Clone, Copy, Debug)]
pub struct Dropout<const N: usize> {
    rate: f64,
}

impl<const N: usize> Dropout<N> {
    /// A dropout layer; the macro has checked `0 <= rate < 1`.
    ///
    /// # Panics
    /// If `rate` is outside `[0, 1)`.
    pub fn new(rate: f64) -> Self {
        assert!(
            (0.0..1.0).contains(&rate),
            "Dropout rate must be in [0, 1), got {rate}"
        );
        Self { rate }
    }

    /// The drop probability.
    pub fn rate(&self) -> f64 {
        self.rate
    }
}

/// Fills `draws` with uniform `u32`s from `rng`: a plain function, so compiled here rather
/// than with each model's `Dropout` (where a debug build ran rand's fill loop unoptimised).
fn fill_draws(rng: &mut dyn RngCore, draws: &mut [u32]) {
    rng.fill(draws);
}

impl<T: Float, const N: usize> Layer<T> for Dropout<N> {
    fn input_size(&self) -> usize {
        N
    }
    fn output_size(&self) -> usize {
        N
    }
    /// The cache holds the mask: 0 for a dropped element, `1 / (1 - rate)` for a kept one.
    fn cache_len(&self, batch: usize) -> usize {
        batch * N
    }
    fn forward(&self, x: &[T], y: &mut [T], mask: &mut [T], mode: Mode<'_>) {
        match mode {
            Mode::Train(rng) if self.rate > 0.0 => {
                let scale = T::of(1.0 / (1.0 - self.rate));
                // An element survives when its uniform draw `u / 2^32` is at least `rate`, as in
                // Keras. The draws come a block at a time: one call through the `dyn` generator
                // per element cost more than the layer's arithmetic.
                let threshold = num_traits::Float::ceil(self.rate * 4_294_967_296.0) as u64;
                // Compared as `u32`, which vectorises (the `u64` compare took ~7 instructions an
                // element); a threshold of 2^32 (a rate within 2^-32 of 1) keeps nothing.
                let keeps_any = threshold <= u64::from(u32::MAX);
                let threshold = threshold.min(u64::from(u32::MAX)) as u32;
                let mut draws = [0u32; DRAW_BLOCK];
                for ((y, x), mask) in y
                    .chunks_mut(DRAW_BLOCK)
                    .zip(x.chunks(DRAW_BLOCK))
                    .zip(mask.chunks_mut(DRAW_BLOCK))
                {
                    let draws = &mut draws[..y.len()];
                    fill_draws(rng, draws);
                    T::dropout(x, draws, threshold, keeps_any, scale, y, mask);
                }
            }
            Mode::Predict => y.copy_from_slice(x),
            Mode::Evaluate | Mode::Train(_) => {
                y.copy_from_slice(x);
                mask.iter_mut().for_each(|m| *m = T::one());
            }
        }
    }
    fn backward(
        &self,
        _x: &[T],
        _y: &[T],
        mask: &mut [T],
        upstream: Upstream<'_, T>,
        dx: Option<&mut [T]>,
        _grad: &mut [T],
    ) {
        if let Some(dx) = dx {
            let dy = output_gradient(upstream);
            T::multiply(dy, mask, dx);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::gradient_check::check_layer;
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn training_drops_about_rate_and_scales_survivors_inference_is_identity() {
        let layer = Dropout::<1000>::new(0.3);
        let x = vec![1.0f32; 1000];
        let mut y = vec![0.0f32; 1000];
        let mut mask = vec![0.0f32; 1000];
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        layer.forward(&x, &mut y, &mut mask, Mode::Train(&mut rng));
        let dropped = y.iter().filter(|&&v| v == 0.0).count();
        assert!((250..350).contains(&dropped), "{dropped} dropped");
        assert!(y.iter().all(|&v| v == 0.0 || (v - 1.0 / 0.7).abs() < 1e-6));
        layer.forward(&x, &mut y, &mut [], Mode::Predict);
        assert_eq!(y, x);
    }

    #[test]
    fn the_dropped_fraction_follows_the_rate_across_draw_blocks() {
        const N: usize = 100_003;
        let x = vec![1.0f64; N];
        let (mut y, mut mask) = (vec![0.0; N], vec![0.0; N]);
        for rate in [0.05, 0.5, 0.95] {
            let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
            Dropout::<N>::new(rate).forward(&x, &mut y, &mut mask, Mode::Train(&mut rng));
            let dropped = y.iter().filter(|&&v| v == 0.0).count() as f64;
            // Within five standard deviations of the binomial count.
            let sd = (N as f64 * rate * (1.0 - rate)).sqrt();
            assert!(
                (dropped - N as f64 * rate).abs() < 5.0 * sd,
                "rate {rate}: {dropped}"
            );
            assert_eq!(y, mask, "the mask is what multiplied the ones");
        }
    }

    #[test]
    fn passes_the_gradient_check_with_a_fixed_mask() {
        check_layer(&mut Dropout::<6>::new(0.5), 3);
        check_layer(&mut Dropout::<6>::new(0.0), 3);
    }
}
