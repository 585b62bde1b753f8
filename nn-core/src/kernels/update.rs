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

    /// The step's numerator `m * alpha`, zero where it would fall below the normal range
    /// (`|m| < small`, with `small = MIN_POSITIVE / alpha`), as TensorFlow's kernels flush
    /// such results to zero.
    ///
    /// A first moment decaying by 0.9 a step (a zero gradient) spends some 65 steps where it is
    /// normal but its product with an `alpha` of 1e-3 is not, and on x86 every such product
    /// takes a microcode assist: in the MNIST example, up to a fifth of each thread's fused
    /// update of the first layer (`BENCHMARKS.md`). Zeroing `m` before the multiplication
    /// computes none. The quotient it replaces is below `MIN_POSITIVE / eps` (1e-31 with
    /// Keras's epsilon), which moves only a weight within about 1e-24 of zero.
    #[inline(always)]
    fn numerator(&self, m: T, small: T) -> T {
        let m = if m.abs() < small { T::zero() } else { m };
        m * self.alpha
    }
}

impl<T: Element> Rule<T> for Moments<T> {
    #[inline(always)]
    fn apply(&self, w: &mut [T], g: &[T], [m, v, v_hat]: [&mut [T]; 3]) {
        let moments = w.iter_mut().zip(g).zip(m.iter_mut().zip(v.iter_mut()));
        let small = T::min_positive_value() / self.alpha;
        if v_hat.is_empty() {
            for ((w, &g), (m, v)) in moments {
                let (m_next, v_next) = self.after(*m, *v, g);
                (*m, *v) = (m_next, v_next);
                *w -= self.numerator(m_next, small) / (v_next.sqrt() + self.eps);
            }
        } else {
            for (((w, &g), (m, v)), vh) in moments.zip(v_hat.iter_mut()) {
                let (m_next, v_next) = self.after(*m, *v, g);
                (*m, *v) = (m_next, v_next);
                *vh = vh.max(v_next);
                *w -= self.numerator(m_next, small) / (vh.sqrt() + self.eps);
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

    /// Lanes whose first moment `m` is normal but `m * alpha` is not leave their weight as it
    /// was (the step would have moved these weights, near zero); their moments and every
    /// other lane follow Keras's formula exactly. Through `Element::update`, on the widest
    /// registers this CPU has, a whole register and a tail.
    #[test]
    fn adam_takes_no_step_where_its_numerator_would_be_subnormal() {
        let (alpha, b1, b2, eps) = (1e-3f32, 0.1f32, 1e-3f32, 1e-7f32);
        let rule = Update::Adam(Moments { alpha, b1, b2, eps });
        let n = 37;
        let tiny = |i: usize| i.is_multiple_of(2);
        let w0: Vec<f32> = (0..n)
            .map(|i| {
                if tiny(i) {
                    1e-30
                } else {
                    0.5 - i as f32 * 0.01
                }
            })
            .collect();
        let m0: Vec<f32> = (0..n)
            .map(|i| if tiny(i) { 1e-36 } else { 1e-3 * i as f32 })
            .collect();
        let v0: Vec<f32> = (0..n).map(|i| if tiny(i) { 1e-12 } else { 1e-6 }).collect();
        let g: Vec<f32> = (0..n)
            .map(|i| if tiny(i) { 0.0 } else { 0.25 - i as f32 * 0.02 })
            .collect();
        let (mut w, mut m, mut v) = (w0.clone(), m0.clone(), v0.clone());
        f32::update(&rule, &mut w, &g, [&mut m, &mut v, &mut []]);
        for i in 0..n {
            let m1 = m0[i] + (g[i] - m0[i]) * b1;
            let v1 = v0[i] + (g[i] * g[i] - v0[i]) * b2;
            assert_eq!((m[i], v[i]), (m1, v1), "lane {i}: moments");
            let keras = w0[i] - m1 * alpha / (v1.sqrt() + eps);
            if tiny(i) {
                assert!((m1 * alpha).abs() < f32::MIN_POSITIVE && m1 >= f32::MIN_POSITIVE);
                assert_ne!(
                    keras, w0[i],
                    "lane {i}: the unflushed step moves this weight"
                );
                assert_eq!(w[i], w0[i], "lane {i}: no step");
            } else {
                assert_eq!(w[i], keras, "lane {i}: Keras's step");
            }
        }
    }
}
