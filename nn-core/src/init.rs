//! Kernel initializers, with Keras's formulas (`keras.initializers`).

use rand::Rng;
use rand_distr::{Distribution, StandardNormal};

use crate::Float;

/// How a layer's kernel is filled by `new(seed)`. Biases always start at zero, as in Keras.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Initializer {
    /// `U(-l, l)`, `l = sqrt(6 / (fan_in + fan_out))` (Keras's default).
    #[default]
    GlorotUniform,
    /// Truncated normal with std `sqrt(2 / (fan_in + fan_out))`.
    GlorotNormal,
    /// Truncated normal with std `sqrt(2 / fan_in)`.
    HeNormal,
    /// `U(-l, l)`, `l = sqrt(6 / fan_in)`.
    HeUniform,
    /// Truncated normal with std `sqrt(1 / fan_in)`.
    LecunNormal,
    /// All zeros.
    Zeros,
}

/// The standard deviation of N(0, 1) truncated to [-2, 2]; Keras divides by it so that the
/// truncated distribution has the requested standard deviation.
const TRUNCATED_STD: f64 = 0.879_625_661_034_239_8;

impl Initializer {
    /// Every initializer, in the order the DSL lists them.
    pub const ALL: [Initializer; 6] = [
        Initializer::GlorotUniform,
        Initializer::GlorotNormal,
        Initializer::HeNormal,
        Initializer::HeUniform,
        Initializer::LecunNormal,
        Initializer::Zeros,
    ];

    /// Keras's variance-scaling `scale / n` for a kernel with these fans.
    fn variance(self, fan_in: usize, fan_out: usize) -> f64 {
        let avg = ((fan_in + fan_out) as f64 / 2.0).max(1.0);
        let fin = (fan_in as f64).max(1.0);
        match self {
            Initializer::GlorotUniform | Initializer::GlorotNormal => 1.0 / avg,
            Initializer::HeNormal | Initializer::HeUniform => 2.0 / fin,
            Initializer::LecunNormal => 1.0 / fin,
            Initializer::Zeros => 0.0,
        }
    }

    /// Fills `kernel` for a layer with the given fans (Keras: rank 2 `(in, out)` gives
    /// `fan_in = in`, `fan_out = out`; a conv kernel `(kh, kw, in, out)` multiplies both by
    /// `kh * kw`).
    pub fn fill<T: Float, R: Rng + ?Sized>(
        self,
        kernel: &mut [T],
        fan_in: usize,
        fan_out: usize,
        rng: &mut R,
    ) {
        let s = self.variance(fan_in, fan_out);
        match self {
            Initializer::Zeros => kernel.iter_mut().for_each(|w| *w = T::zero()),
            Initializer::GlorotUniform | Initializer::HeUniform => {
                let limit = num_traits::Float::sqrt(3.0 * s);
                kernel
                    .iter_mut()
                    .for_each(|w| *w = T::of(rng.gen_range(-limit..=limit)));
            }
            Initializer::GlorotNormal | Initializer::HeNormal | Initializer::LecunNormal => {
                let std = num_traits::Float::sqrt(s) / TRUNCATED_STD;
                for w in kernel.iter_mut() {
                    let z = loop {
                        let z: f64 = StandardNormal.sample(rng);
                        if z.abs() <= 2.0 {
                            break z;
                        }
                    };
                    *w = T::of(z * std);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn moments(init: Initializer, fan_in: usize, fan_out: usize) -> (f64, f64, f64) {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        let mut w = vec![0.0f64; 200_000];
        init.fill(&mut w, fan_in, fan_out, &mut rng);
        let mean = w.iter().sum::<f64>() / w.len() as f64;
        let var = w.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / w.len() as f64;
        let max = w.iter().fold(0.0f64, |m, x| m.max(x.abs()));
        (mean, var.sqrt(), max)
    }

    #[test]
    fn standard_deviations_and_limits_follow_keras() {
        let (fi, fo) = (784, 300);
        let cases = [
            (
                Initializer::GlorotUniform,
                (2.0 / (fi + fo) as f64).sqrt(),
                (6.0 / (fi + fo) as f64).sqrt(),
            ),
            (
                Initializer::HeUniform,
                (2.0 / fi as f64).sqrt(),
                (6.0 / fi as f64).sqrt(),
            ),
            (
                Initializer::GlorotNormal,
                (2.0 / (fi + fo) as f64).sqrt(),
                0.0,
            ),
            (Initializer::HeNormal, (2.0 / fi as f64).sqrt(), 0.0),
            (Initializer::LecunNormal, (1.0 / fi as f64).sqrt(), 0.0),
        ];
        for (init, std, limit) in cases {
            let (mean, got_std, max) = moments(init, fi, fo);
            assert!(mean.abs() < 0.01 * std, "{init:?} mean {mean}");
            assert!(
                (got_std / std - 1.0).abs() < 0.01,
                "{init:?} std {got_std} want {std}"
            );
            let bound = if limit > 0.0 {
                limit
            } else {
                2.0 * std / TRUNCATED_STD
            };
            assert!(
                max <= bound * (1.0 + 1e-12),
                "{init:?} max {max} above {bound}"
            );
        }
        assert_eq!(moments(Initializer::Zeros, fi, fo), (0.0, 0.0, 0.0));
    }
}
