//! Kernel regularizers `l1 = x` and `l2 = x`, with Keras's formulas (`keras.regularizers`).

use crate::Float;

/// `l1 * sum(|w|) + l2 * sum(w^2)` added to the training loss (no 1/2 on the L2 term, as Keras).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Regularizer {
    /// The L1 factor (0 for none).
    pub l1: f64,
    /// The L2 factor (0 for none).
    pub l2: f64,
}

impl Regularizer {
    /// No penalty.
    pub const NONE: Regularizer = Regularizer { l1: 0.0, l2: 0.0 };

    /// A penalty with both factors (either may be zero).
    pub const fn new(l1: f64, l2: f64) -> Self {
        Self { l1, l2 }
    }

    /// Whether this adds anything to the loss.
    pub fn is_active(&self) -> bool {
        self.l1 != 0.0 || self.l2 != 0.0
    }

    /// The penalty for these weights.
    pub fn penalty<T: Float>(&self, w: &[T]) -> T {
        if !self.is_active() {
            return T::zero();
        }
        let (l1, l2) = (T::of(self.l1), T::of(self.l2));
        let mut abs = T::zero();
        let mut sq = T::zero();
        for &v in w {
            abs += v.abs();
            sq += v * v;
        }
        l1 * abs + l2 * sq
    }

    /// Adds the penalty's gradient `l1 * sign(w) + 2 * l2 * w` to `grad`.
    pub fn add_gradient<T: Float>(&self, w: &[T], grad: &mut [T]) {
        if !self.is_active() {
            return;
        }
        let (l1, two_l2) = (T::of(self.l1), T::of(2.0 * self.l2));
        for (g, &v) in grad.iter_mut().zip(w) {
            let sign = if v > T::zero() {
                T::one()
            } else if v < T::zero() {
                -T::one()
            } else {
                T::zero()
            };
            *g += l1 * sign + two_l2 * v;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn penalty_and_gradient_follow_keras_and_finite_differences() {
        let r = Regularizer::new(0.01, 0.02);
        let w = [0.5f64, -1.5, 2.0, -0.25];
        let want = 0.01 * (0.5 + 1.5 + 2.0 + 0.25) + 0.02 * (0.25 + 2.25 + 4.0 + 0.0625);
        assert!((r.penalty(&w) - want).abs() < 1e-15);
        let mut g = [0.0f64; 4];
        r.add_gradient(&w, &mut g);
        for i in 0..4 {
            let h = 1e-6;
            let (mut a, mut b) = (w, w);
            a[i] += h;
            b[i] -= h;
            let numeric = (r.penalty(&a) - r.penalty(&b)) / (2.0 * h);
            assert!(
                (numeric - g[i]).abs() < 1e-8,
                "w[{i}]: {} vs {numeric}",
                g[i]
            );
        }
        assert_eq!(Regularizer::NONE.penalty(&w), 0.0);
    }
}
