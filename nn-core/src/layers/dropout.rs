//! `Dropout`: inverted dropout in training, the identity at inference.

#[allow(unused_imports)]
use crate::prelude::*;

use rand::{Rng, RngCore};

use super::{output_gradient, Layer, Mode, Upstream};
use crate::kernels::{KeepDraws, KeepRule};
use crate::Float;

/// Elements per block of draws taken from the generator in training (a word each at most).
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

impl KeepRule {
    /// How training decides which elements survive `rate`.
    ///
    /// An element survives when its uniform draw `u / 2^32` is at least `rate`, as in Keras:
    /// when `u >= t` with `t = ceil(rate * 2^32)`. Where `t` is a multiple of `2^(32 - b)`, that
    /// is the same test on the draw's top `b` bits, `u >> (32 - b) >= t >> (32 - b)`, with the
    /// same probability: a rate of 0.5 needs one random bit an element, 0.25 or 0.75 two. The
    /// layer then draws `b` bits an element (`b` rounded up to a power of two) instead of 32,
    /// and the generator's time shrinks with them (`BENCHMARKS.md`, "Design measurements").
    fn of(rate: f64) -> Self {
        let t = num_traits::Float::ceil(rate * 4_294_967_296.0) as u64;
        if t >= 1 << 32 {
            return Self {
                bits: 1,
                threshold: 1,
                keeps_any: false,
            };
        }
        let needed = 32 - t.trailing_zeros().min(32);
        let bits = needed.max(1).next_power_of_two();
        Self {
            bits,
            threshold: (t >> (32 - bits)) as u32,
            keeps_any: true,
        }
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
                let rule = KeepRule::of(self.rate);
                // The draws come a block at a time: one call through the `dyn` generator per
                // element cost more than the layer's arithmetic.
                let mut words = [0u32; DRAW_BLOCK];
                for ((y, x), mask) in y
                    .chunks_mut(DRAW_BLOCK)
                    .zip(x.chunks(DRAW_BLOCK))
                    .zip(mask.chunks_mut(DRAW_BLOCK))
                {
                    let words = &mut words[..(y.len() * rule.bits as usize).div_ceil(32)];
                    fill_draws(rng, words);
                    T::dropout(x, KeepDraws { words, rule }, scale, y, mask);
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
        for rate in [0.05, 0.5, 0.95, 0.25, 0.75, 0.3, 0.125] {
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
    fn rates_on_a_power_of_two_grid_draw_fewer_bits() {
        let rule = |bits, threshold| KeepRule {
            bits,
            threshold,
            keeps_any: true,
        };
        assert_eq!(KeepRule::of(0.5), rule(1, 1));
        assert_eq!(KeepRule::of(0.25), rule(2, 1));
        assert_eq!(KeepRule::of(0.75), rule(2, 3));
        // Three bits needed, four drawn: 2 / 16 = 0.125.
        assert_eq!(KeepRule::of(0.125), rule(4, 2));
        assert_eq!(KeepRule::of(0.3), rule(32, 1_288_490_189));
        assert!(!KeepRule::of(1.0 - 1e-12).keeps_any);
    }

    /// Each element's draw is its own `bits` of the words, from the low bits up, and it keeps
    /// the element exactly when the 32-bit draw with those bits on top would: `u >= t`.
    #[test]
    fn packed_draws_decide_as_full_draws_with_the_same_top_bits() {
        use rand::Rng;
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        for rate in [
            0.5,
            0.25,
            0.75,
            0.125,
            0.0625,
            0.3,
            0.99,
            1e-10,
            1.0 - 1e-12,
        ] {
            let rule = KeepRule::of(rate);
            let t = num_traits::Float::ceil(rate * 4_294_967_296.0) as u64;
            // Not a whole number of words: the last one is partly used.
            let n = 251;
            let bits = rule.bits as usize;
            let words: Vec<u32> = (0..(n * bits).div_ceil(32)).map(|_| rng.gen()).collect();
            let draws = KeepDraws {
                words: &words,
                rule,
            };
            let (x, mut y, mut mask) = (vec![1.0f32; n], vec![0.0f32; n], vec![0.0f32; n]);
            <f32 as crate::kernels::Element>::dropout(&x, draws, 2.0, &mut y, &mut mask);
            for i in 0..n {
                let (w, shift) = (words[i * bits / 32], (i * bits % 32) as u32);
                let v = u64::from(w >> shift) & ((1u64 << bits) - 1);
                let kept = v << (32 - bits) >= t;
                assert_eq!(
                    mask[i],
                    if kept { 2.0 } else { 0.0 },
                    "rate {rate}, element {i}"
                );
                assert_eq!(y[i], mask[i]);
            }
        }
    }

    #[test]
    fn passes_the_gradient_check_with_a_fixed_mask() {
        check_layer(&mut Dropout::<6>::new(0.5), 3);
        check_layer(&mut Dropout::<6>::new(0.0), 3);
    }
}
