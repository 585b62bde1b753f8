//! The optimizers' element-wise update rules (SGD with or without momentum, Adam, RMSprop,
//! Adagrad), run on matching pieces of the weights, their gradients and up to three slot
//! arrays. `optim` keeps each optimizer's settings and state and builds its rule per step;
//! the loop over the weights lives here so that [`Element::update`] compiles it once per
//! element type in this crate, on AVX2 registers where the CPU has them, instead of in every
//! crate that trains a model (where a debug build would run it unoptimised).

use super::isa::on_this_cpu;
use super::operands::{Accumulate, Average, Moments, Momentum, Plain, Update};
use super::Element;

/// An optimizer's update rule, element by element over matching pieces of the weights, their
/// gradients and up to three slot arrays (each as long as the weights, or empty).
///
/// A type rather than a closure, with `apply` marked `#[inline(always)]` in every
/// implementation, so that the rule is compiled into the AVX2 copy of the loop: closures were
/// inlined there only while small, and Adam's, grown by a few instructions, fell back to four
/// lanes and ran several times slower.
pub trait Rule<T>: Sync {
    /// Updates `w` in place.
    fn apply(&self, w: &mut [T], g: &[T], slots: [&mut [T]; 3]);
}

impl<T: Element> Rule<T> for Update<T> {
    #[inline(always)]
    fn apply(&self, w: &mut [T], g: &[T], slots: [&mut [T]; 3]) {
        match self {
            Update::Plain(rule) => rule.apply(w, g, slots),
            Update::Momentum(rule) => rule.apply(w, g, slots),
            Update::Adam(rule) => rule.apply(w, g, slots),
            Update::RmsProp(rule) => rule.apply(w, g, slots),
            Update::Adagrad(rule) => rule.apply(w, g, slots),
        }
    }
}

/// [`Element::update`]'s body: `rule` on one piece of the arrays.
pub(super) fn update_here<T: Element>(
    rule: &Update<T>,
    w: &mut [T],
    g: &[T],
    slots: [&mut [T]; 3],
) {
    on_wide_registers(w, g, slots, rule)
}

/// Runs `rule` compiled for the CPU's widest registers, so that an update rule runs on eight
/// or sixteen `f32` lanes instead of the baseline's four (Adam's square root and division are
/// most of its arithmetic). The results are the same bits: roots, quotients, sums and products
/// are correctly rounded either way, and Rust never fuses a multiply with an add.
pub(super) fn on_wide_registers<T: Element, R: Rule<T>>(
    w: &mut [T],
    g: &[T],
    slots: [&mut [T]; 3],
    rule: &R,
) {
    // The rule's `apply` is `#[inline(always)]`: compiled into the closure, for each set.
    on_this_cpu::<T, _>(
        #[inline(always)]
        || rule.apply(w, g, slots),
    )
}

/// `x`, or zero where it is subnormal (nonzero but below the smallest normal magnitude).
///
/// Optimizer state that decays geometrically (Adam's moments, RMSprop's averages, momentum)
/// sinks through the subnormal range for every weight whose gradient stays zero (an MNIST
/// border pixel's), and arithmetic on subnormals is many times slower: after 1000 steps of
/// the MNIST example's model, 40% of Adam's first moments were subnormal and its update of the
/// 784 x 300 kernel took twice as long. TensorFlow runs its CPU kernels with
/// subnormals flushed to zero, so Keras holds zeros there too.
#[inline(always)]
pub(crate) fn flush_subnormal<T: Element>(x: T) -> T {
    if x.abs() < T::min_positive_value() {
        T::zero()
    } else {
        x
    }
}

impl<T: Element> Rule<T> for Plain<T> {
    #[inline(always)]
    fn apply(&self, w: &mut [T], g: &[T], _: [&mut [T]; 3]) {
        w.iter_mut().zip(g).for_each(|(w, &g)| *w -= self.lr * g)
    }
}

impl<T: Element> Rule<T> for Momentum<T> {
    #[inline(always)]
    fn apply(&self, w: &mut [T], g: &[T], [v, _, _]: [&mut [T]; 3]) {
        let (lr, m) = (self.lr, self.momentum);
        for ((w, &g), v) in w.iter_mut().zip(g).zip(v.iter_mut()) {
            *v = flush_subnormal(m * *v - lr * g);
            *w += if self.nesterov { m * *v - lr * g } else { *v };
        }
    }
}

impl<T: Element> Moments<T> {
    /// The moments after gradient `g`.
    #[inline(always)]
    fn after(&self, m: T, v: T, g: T) -> (T, T) {
        (
            flush_subnormal(m + (g - m) * self.b1),
            v + (g * g - v) * self.b2,
        )
    }
}

impl<T: Element> Rule<T> for Moments<T> {
    #[inline(always)]
    fn apply(&self, w: &mut [T], g: &[T], [m, v, v_hat]: [&mut [T]; 3]) {
        let moments = w.iter_mut().zip(g).zip(m.iter_mut().zip(v.iter_mut()));
        if v_hat.is_empty() {
            for ((w, &g), (m, v)) in moments {
                let (m_next, v_next) = self.after(*m, *v, g);
                (*m, *v) = (m_next, v_next);
                *w -= m_next * self.alpha / (v_next.sqrt() + self.eps);
            }
        } else {
            for (((w, &g), (m, v)), vh) in moments.zip(v_hat.iter_mut()) {
                let (m_next, v_next) = self.after(*m, *v, g);
                (*m, *v) = (m_next, v_next);
                *vh = vh.max(v_next);
                *w -= m_next * self.alpha / (vh.sqrt() + self.eps);
            }
        }
    }
}

impl<T: Element> Rule<T> for Average<T> {
    #[inline(always)]
    fn apply(&self, w: &mut [T], g: &[T], [v, mg, m]: [&mut [T]; 3]) {
        let (lr, rho, eps, mu, one) = (self.lr, self.rho, self.eps, self.momentum, T::one());
        // Every slice cut to the same length up front, so that the loop has no bounds checks
        // and vectorises.
        let n = w.len();
        let (g, v) = (&g[..n], &mut v[..n]);
        let mg = if mg.is_empty() { mg } else { &mut mg[..n] };
        let m = if m.is_empty() { m } else { &mut m[..n] };
        for i in 0..n {
            v[i] = flush_subnormal(rho * v[i] + (one - rho) * g[i] * g[i]);
            let denominator = if mg.is_empty() {
                v[i] + eps
            } else {
                mg[i] = flush_subnormal(rho * mg[i] + (one - rho) * g[i]);
                v[i] - mg[i] * mg[i] + eps
            };
            let step = lr * g[i] / denominator.sqrt();
            if m.is_empty() {
                w[i] -= step;
            } else {
                m[i] = flush_subnormal(mu * m[i] + step);
                w[i] -= m[i];
            }
        }
    }
}

impl<T: Element> Rule<T> for Accumulate<T> {
    #[inline(always)]
    fn apply(&self, w: &mut [T], g: &[T], [acc, _, _]: [&mut [T]; 3]) {
        for ((w, &g), a) in w.iter_mut().zip(g).zip(acc.iter_mut()) {
            *a += g * g;
            *w -= self.lr * g / (*a + self.eps).sqrt();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flushing_zeroes_only_subnormals() {
        assert_eq!(flush_subnormal(f32::MIN_POSITIVE / 2.0), 0.0);
        assert_eq!(flush_subnormal(-f32::MIN_POSITIVE / 4.0), 0.0);
        assert_eq!(flush_subnormal(f32::MIN_POSITIVE), f32::MIN_POSITIVE);
        assert_eq!(flush_subnormal(-1.5f32), -1.5);
        assert_eq!(flush_subnormal(f64::MIN_POSITIVE / 2.0), 0.0);
        assert!(flush_subnormal(f32::NAN).is_nan());
        assert_eq!(flush_subnormal(f32::INFINITY), f32::INFINITY);
    }
}
