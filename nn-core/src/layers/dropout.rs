//! `Dropout`: inverted dropout in training, the identity at inference.

#[allow(unused_imports)]
use crate::prelude::*;

use rand::{Rng, RngCore};

use super::{output_gradient, Layer, Mode, Upstream};
use crate::kernels::{KeepDraws, KeepRule};
use crate::Float;

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

    /// The `u32` words that hold the draws of `elements` elements.
    pub(crate) fn words(&self, elements: usize) -> usize {
        (elements * self.bits as usize).div_ceil(32)
    }
}

/// Fills `draws` with uniform `u32`s from `rng`: a plain function, so compiled here rather
/// than with each model's `Dropout` (where a debug build ran rand's fill loop unoptimised).
fn fill_draws(rng: &mut dyn RngCore, draws: &mut [u32]) {
    rng.fill(draws);
}

/// `cache` as the `u32` words it holds.
fn words_of<T: Float>(cache: &mut [T]) -> &mut [u32] {
    let len = cache.len() * (size_of::<T>() / size_of::<u32>());
    // SAFETY: `T` is `f32` or `f64` (`Float` is sealed): its size is a whole number of `u32`s
    // and its alignment at least theirs, so the words cover exactly the cache's bytes; any bits
    // are a valid `u32`, and any `u32`s written are valid `T` bits when the cache is read as
    // `T`s again. The words borrow the cache mutably, so nothing else reads it meanwhile.
    unsafe { core::slice::from_raw_parts_mut(cache.as_mut_ptr().cast::<u32>(), len) }
}

impl<T: Float, const N: usize> Layer<T> for Dropout<N> {
    fn input_size(&self) -> usize {
        N
    }
    fn output_size(&self) -> usize {
        N
    }
    /// The cache holds a training pass's draws, which the backward pass multiplies by again
    /// (so `backward` follows a forward pass in `Mode::Train`, as in every training step): one
    /// bit an element at a rate of 0.5, where a mask of `T`s cost every shard of the MNIST
    /// example's step a write and a read of its 77 KB from beyond L2.
    fn cache_len(&self, batch: usize) -> usize {
        if self.rate > 0.0 {
            let bytes = size_of::<u32>() * KeepRule::of(self.rate).words(batch * N);
            bytes.div_ceil(size_of::<T>())
        } else {
            0
        }
    }
    fn forward(&self, x: &[T], y: &mut [T], cache: &mut [T], mode: Mode<'_>) {
        match mode {
            Mode::Train(rng) if self.rate > 0.0 => {
                let rule = KeepRule::of(self.rate);
                let words = &mut words_of(cache)[..rule.words(x.len())];
                fill_draws(rng, words);
                T::dropout(x, KeepDraws { words, rule }, self.scale(), y);
            }
            Mode::Predict | Mode::Evaluate | Mode::Train(_) => y.copy_from_slice(x),
        }
    }
    fn backward(
        &self,
        _x: &[T],
        _y: &[T],
        cache: &mut [T],
        upstream: Upstream<'_, T>,
        dx: Option<&mut [T]>,
        _grad: &mut [T],
    ) {
        if let Some(dx) = dx {
            let dy = output_gradient(upstream);
            if self.rate > 0.0 {
                let rule = KeepRule::of(self.rate);
                let words = &words_of(cache)[..rule.words(dy.len())];
                T::dropout(dy, KeepDraws { words, rule }, self.scale(), dx);
            } else {
                dx.copy_from_slice(dy);
            }
        }
    }
}

impl<const N: usize> Dropout<N> {
    /// What a kept element is multiplied by: `1 / (1 - rate)`.
    fn scale<T: Float>(&self) -> T {
        T::of(1.0 / (1.0 - self.rate))
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
        let mut cache = vec![0.0f32; Layer::<f32>::cache_len(&layer, 1)];
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        layer.forward(&x, &mut y, &mut cache, Mode::Train(&mut rng));
        let dropped = y.iter().filter(|&&v| v == 0.0).count();
        assert!((250..350).contains(&dropped), "{dropped} dropped");
        assert!(y.iter().all(|&v| v == 0.0 || (v - 1.0 / 0.7).abs() < 1e-6));
        layer.forward(&x, &mut y, &mut [], Mode::Predict);
        assert_eq!(y, x);
    }

    /// The backward pass multiplies by the draws its forward pass took, kept in the cache: a
    /// bit an element at a rate of 0.5, a word at 0.3.
    #[test]
    fn the_dropped_fraction_follows_the_rate_and_the_backward_pass_drops_the_same() {
        const N: usize = 100_003;
        let x = vec![1.0f64; N];
        let dy: Vec<f64> = (0..N).map(|i| 1.0 + (i % 7) as f64).collect();
        let (mut y, mut dx) = (vec![0.0; N], vec![0.0; N]);
        for rate in [0.05, 0.5, 0.95, 0.25, 0.75, 0.3, 0.125, 1.0 - 1e-12] {
            let layer = Dropout::<N>::new(rate);
            let mut cache = vec![0.0; Layer::<f64>::cache_len(&layer, 1)];
            let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
            layer.forward(&x, &mut y, &mut cache, Mode::Train(&mut rng));
            let dropped = y.iter().filter(|&&v| v == 0.0).count() as f64;
            // Within five standard deviations of the binomial count.
            let sd = (N as f64 * rate * (1.0 - rate)).sqrt();
            assert!(
                (dropped - N as f64 * rate).abs() < 5.0 * sd,
                "rate {rate}: {dropped}"
            );
            let scale = 1.0 / (1.0 - rate);
            assert!(y.iter().all(|&v| v == 0.0 || v == scale), "rate {rate}");
            let upstream = Upstream::Output(&mut dy.clone());
            layer.backward(&x, &y, &mut cache, upstream, Some(&mut dx), &mut []);
            for i in 0..N {
                assert_eq!(dx[i], dy[i] * y[i], "rate {rate}, element {i}");
            }
        }
        let bits = |rate| Layer::<f32>::cache_len(&Dropout::<1024>::new(rate), 1);
        assert_eq!((bits(0.5), bits(0.25), bits(0.3)), (32, 64, 1024));
        assert_eq!(Layer::<f64>::cache_len(&Dropout::<1024>::new(0.5), 1), 16);
        assert_eq!(Layer::<f32>::cache_len(&Dropout::<1024>::new(0.0), 8), 0);
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
            let (x, mut y) = (vec![1.0f32; n], vec![0.0f32; n]);
            <f32 as crate::kernels::Element>::dropout(&x, draws, 2.0, &mut y);
            for i in 0..n {
                let (w, shift) = (words[i * bits / 32], (i * bits % 32) as u32);
                let v = u64::from(w >> shift) & ((1u64 << bits) - 1);
                let kept = v << (32 - bits) >= t;
                assert_eq!(
                    y[i],
                    if kept { 2.0 } else { 0.0 },
                    "rate {rate}, element {i}"
                );
            }
        }
    }

    #[test]
    fn passes_the_gradient_check_with_fixed_draws() {
        check_layer(&mut Dropout::<6>::new(0.5), 3);
        check_layer(&mut Dropout::<6>::new(0.0), 3);
    }
}
