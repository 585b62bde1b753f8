//! Losses, reduced as Keras reduces them: a per-row loss (mean over the last axis, or a sum
//! over classes for cross-entropies), then the mean over all rows of the batch
//! (`sum_over_batch_size`).
//!
//! Cross-entropies on a softmax or sigmoid output work on the logits, as Keras does on the
//! TensorFlow backend: no clipping, and the gradient reaching the logits is `(p - y) / B`.

#[allow(unused_imports)]
use crate::prelude::*;

use crate::activation::{sigmoid, softmax_row, LogitsKind};
use crate::{Float, Tensor};

mod targets;

pub(crate) use targets::{KeptSoftmax, LossFn, LossParts, TargetSet, Targets, EPSILON};
#[cfg(feature = "std")]
pub(crate) use targets::{OwnedTargets, TargetRows};

/// A loss usable with a model whose output is `O`; it fixes the type of the targets.
///
/// A model with several outputs takes a tuple of losses, one per output, whose targets are the
/// tuple of the losses' targets: `(BinaryCrossentropy, MeanSquaredError)` on outputs
/// `([f32; 1], [f32; 1])` takes targets `([f32; 1], [f32; 1])`. One loss other than the sparse
/// one also serves every output, as in Keras, with targets shaped like the outputs' tuple.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a loss for a model whose output is `{O}`",
    label = "expected a loss such as `&CategoricalCrossentropy` or `&MeanSquaredError`",
    note = "SparseCategoricalCrossentropy needs a one-axis output and `usize` targets; the other losses take targets shaped like the output; a model with several outputs takes a tuple of losses, one per output"
)]
pub trait Loss<T: Float, O: Tensor<T>>: LossParts<T> + TakesTargets<Self::Target, T, O> {
    /// One sample's target.
    type Target: Copy + Send + Sync + 'static;
}

/// The targets `Y` a loss takes for a model whose output is `O`: `usize` (a class index) for
/// [`SparseCategoricalCrossentropy`], the output's own type for the other losses, a tuple of
/// each loss's targets for a tuple of losses ([`Loss::Target`] names it). `train_step`, `fit`
/// and `evaluate` take their targets through it: each loss takes one type, which Rust then
/// expects of the targets, so that targets of another type are an error that says which type
/// the loss needs (`expected usize, found [f32; 3]`).
#[diagnostic::on_unimplemented(
    message = "`{Self}` does not take targets of type `{Y}` (the model's output is `{O}`)",
    label = "targets of the wrong type for this loss",
    note = "SparseCategoricalCrossentropy takes class indices (`usize`); CategoricalCrossentropy, BinaryCrossentropy, MeanSquaredError and MeanAbsoluteError take targets shaped like the output (`{O}`), one-hot rows for a classifier; a tuple of losses takes a tuple of targets"
)]
pub trait TakesTargets<Y, T: Float, O: Tensor<T>> {
    /// The targets of every output: borrowed from `ys` for one output, gathered per output
    /// from a tuple.
    fn target_set(ys: &[Y]) -> TargetSet<'_, T>;
}

macro_rules! dense_target_loss {
    ($($name:ident),*) => {$(
        impl<T: Float> LossParts<T> for $name {
            fn part(&self, _: usize) -> &dyn LossFn<T> {
                self
            }
        }

        impl<T: Float, O: Tensor<T>> Loss<T, O> for $name {
            type Target = O;
        }

        impl<T: Float, O: Tensor<T>> TakesTargets<O, T, O> for $name {
            fn target_set(ys: &[O]) -> TargetSet<'_, T> {
                TargetSet::One(Targets::Dense(O::flatten_slice(ys)))
            }
        }
    )*};
}

/// A tuple of losses for a model with as many outputs.
macro_rules! tuple_loss {
    ($($out:ident $loss:ident $target:ident $index:tt),+) => {
        impl<T: Float, $($loss: LossParts<T>),+> LossParts<T> for ($($loss,)+) {
            fn part(&self, i: usize) -> &dyn LossFn<T> {
                [$(self.$index.part(0)),+][i]
            }
        }

        impl<T: Float, $($out: Tensor<T>, $loss: Loss<T, $out>),+> Loss<T, ($($out,)+)>
            for ($($loss,)+)
        {
            type Target = ($($loss::Target,)+);
        }

        impl<T: Float, $($out: Tensor<T>, $target: Copy, $loss: TakesTargets<$target, T, $out>),+>
            TakesTargets<($($target,)+), T, ($($out,)+)> for ($($loss,)+)
        {
            fn target_set(ys: &[($($target,)+)]) -> TargetSet<'_, T> {
                TargetSet::Many(vec![$({
                    let part: Vec<$target> = ys.iter().map(|y| y.$index).collect();
                    $loss::target_set(&part).part(0).to_owned()
                }),+])
            }
        }
    };
}

tuple_loss!(A LA YA 0, B LB YB 1);
tuple_loss!(A LA YA 0, B LB YB 1, C LC YC 2);
tuple_loss!(A LA YA 0, B LB YB 1, C LC YC 2, D LD YD 3);

/// Mean squared error: `mean((y - p)^2)` over the last axis.
#[derive(Clone, Copy, Debug, Default)]
pub struct MeanSquaredError;

/// Mean absolute error: `mean(|y - p|)` over the last axis.
#[derive(Clone, Copy, Debug, Default)]
pub struct MeanAbsoluteError;

/// Binary cross-entropy on probabilities (clipped to `[1e-7, 1 - 1e-7]`), or on logits after
/// a sigmoid output.
#[derive(Clone, Copy, Debug, Default)]
pub struct BinaryCrossentropy;

/// Categorical cross-entropy with one-hot (or soft) targets shaped like the output.
#[derive(Clone, Copy, Debug, Default)]
pub struct CategoricalCrossentropy;

/// Categorical cross-entropy with integer class targets (`usize`).
#[derive(Clone, Copy, Debug, Default)]
pub struct SparseCategoricalCrossentropy;

dense_target_loss!(
    MeanSquaredError,
    MeanAbsoluteError,
    BinaryCrossentropy,
    CategoricalCrossentropy
);

impl<T: Float> LossParts<T> for SparseCategoricalCrossentropy {
    fn part(&self, _: usize) -> &dyn LossFn<T> {
        self
    }
}

impl<T: Float, const N: usize> Loss<T, [T; N]> for SparseCategoricalCrossentropy {
    type Target = usize;
}

impl<T: Float, const N: usize> TakesTargets<usize, T, [T; N]> for SparseCategoricalCrossentropy {
    fn target_set(ys: &[usize]) -> TargetSet<'_, T> {
        TargetSet::One(Targets::Sparse(ys))
    }
}

fn dense<'a, T>(targets: Targets<'a, T>, loss: &str) -> &'a [T] {
    match targets {
        Targets::Dense(t) => t,
        Targets::Sparse(_) => panic!("{loss} needs targets shaped like the output"),
    }
}

fn sparse<'a, T>(targets: Targets<'a, T>) -> &'a [usize] {
    match targets {
        Targets::Sparse(t) => t,
        Targets::Dense(_) => panic!("sparse_categorical_crossentropy needs class indices"),
    }
}

/// Sums `f(pred, target) -> (loss term, gradient)` element-wise; the result is the mean over
/// all elements, which equals Keras's mean over the last axis then over rows.
fn elementwise<T: Float>(
    pred: &[T],
    target: &[T],
    grad: Option<&mut [T]>,
    f: impl Fn(T, T) -> (f64, T),
) -> T {
    assert_eq!(
        pred.len(),
        target.len(),
        "predictions and targets differ in size"
    );
    let n = pred.len().max(1);
    let scale = T::one() / T::of(n as f64);
    let mut total = 0.0;
    match grad {
        Some(grad) => {
            for ((&p, &y), g) in pred.iter().zip(target).zip(grad.iter_mut()) {
                let (l, d) = f(p, y);
                total += l;
                *g = d * scale;
            }
        }
        None => pred
            .iter()
            .zip(target)
            .for_each(|(&p, &y)| total += f(p, y).0),
    }
    T::of(total / n as f64)
}

impl<T: Float> LossFn<T> for MeanSquaredError {
    fn name(&self) -> &'static str {
        "mean_squared_error"
    }
    fn compute(&self, pred: &[T], t: Targets<'_, T>, _last: usize, grad: Option<&mut [T]>) -> T {
        elementwise(pred, dense(t, "mean_squared_error"), grad, |p, y| {
            let d = p - y;
            ((d * d).as_f64(), d + d)
        })
    }
}

impl<T: Float> LossFn<T> for MeanAbsoluteError {
    fn name(&self) -> &'static str {
        "mean_absolute_error"
    }
    fn compute(&self, pred: &[T], t: Targets<'_, T>, _last: usize, grad: Option<&mut [T]>) -> T {
        elementwise(pred, dense(t, "mean_absolute_error"), grad, |p, y| {
            let d = p - y;
            let sign = if d > T::zero() {
                T::one()
            } else if d < T::zero() {
                -T::one()
            } else {
                T::zero()
            };
            (d.abs().as_f64(), sign)
        })
    }
}

/// `clip(p, eps, 1 - eps)` and whether `p` was inside (where TensorFlow passes the gradient).
fn clip<T: Float>(p: T) -> (T, bool) {
    let (lo, hi) = (T::of(EPSILON), T::one() - T::of(EPSILON));
    if p < lo {
        (lo, false)
    } else if p > hi {
        (hi, false)
    } else {
        (p, true)
    }
}

impl<T: Float> LossFn<T> for BinaryCrossentropy {
    fn target_range(&self) -> Option<(f64, f64)> {
        Some((0.0, 1.0))
    }
    fn name(&self) -> &'static str {
        "binary_crossentropy"
    }
    fn compute(&self, pred: &[T], t: Targets<'_, T>, _last: usize, grad: Option<&mut [T]>) -> T {
        elementwise(pred, dense(t, "binary_crossentropy"), grad, |p, y| {
            let (p, inside) = clip(p);
            let one = T::one();
            let l = -(y * p.ln() + (one - y) * (one - p).ln());
            let d = if inside {
                -y / p + (one - y) / (one - p)
            } else {
                T::zero()
            };
            (l.as_f64(), d)
        })
    }
    fn compute_from_logits(
        &self,
        kind: LogitsKind,
        z: &[T],
        _kept: KeptSoftmax<'_, T>,
        t: Targets<'_, T>,
        _last: usize,
        grad: Option<&mut [T]>,
    ) -> Option<T> {
        if kind != LogitsKind::Sigmoid {
            return None;
        }
        Some(elementwise(
            z,
            dense(t, "binary_crossentropy"),
            grad,
            |z, y| {
                // max(z, 0) - z y + ln(1 + e^-|z|), the stable form TensorFlow uses.
                let l = z.max(T::zero()) - z * y + (-z.abs()).exp().ln_1p();
                (l.as_f64(), sigmoid(z) - y)
            },
        ))
    }
}

impl<T: Float> LossFn<T> for CategoricalCrossentropy {
    fn name(&self) -> &'static str {
        "categorical_crossentropy"
    }
    fn compute(&self, pred: &[T], t: Targets<'_, T>, last: usize, mut grad: Option<&mut [T]>) -> T {
        let target = dense(t, "categorical_crossentropy");
        assert_eq!(
            pred.len(),
            target.len(),
            "predictions and targets differ in size"
        );
        let rows = pred.len() / last;
        let inv_rows = T::one() / T::of(rows.max(1) as f64);
        let mut total = 0.0;
        for r in 0..rows {
            let (p, y) = (
                &pred[r * last..(r + 1) * last],
                &target[r * last..(r + 1) * last],
            );
            // Keras: p / sum(p), then clip, then -sum(y ln p).
            let sum: T = p.iter().copied().sum();
            let mut loss = T::zero();
            for (&pk, &yk) in p.iter().zip(y) {
                loss -= yk * clip(pk / sum).0.ln();
            }
            total += loss.as_f64();
            if let Some(grad) = grad.as_deref_mut() {
                // g_k = dL/dq_k for q = p / sum (zero where clipped); dL/dp_j = (g_j - <g, q>) / sum.
                let g = &mut grad[r * last..(r + 1) * last];
                let mut dot = T::zero();
                for ((gk, &pk), &yk) in g.iter_mut().zip(p).zip(y) {
                    let (q, inside) = clip(pk / sum);
                    *gk = if inside { -yk / q } else { T::zero() };
                    dot += *gk * (pk / sum);
                }
                g.iter_mut()
                    .for_each(|gk| *gk = (*gk - dot) / sum * inv_rows);
            }
        }
        T::of(total / rows.max(1) as f64)
    }
    fn compute_from_logits(
        &self,
        kind: LogitsKind,
        z: &[T],
        kept: KeptSoftmax<'_, T>,
        t: Targets<'_, T>,
        last: usize,
        mut grad: Option<&mut [T]>,
    ) -> Option<T> {
        if kind != LogitsKind::Softmax {
            return None;
        }
        let target = dense(t, "categorical_crossentropy");
        let rows = z.len() / last;
        let inv_rows = T::one() / T::of(rows.max(1) as f64);
        let mut total = 0.0;
        for r in 0..rows {
            let y = &target[r * last..(r + 1) * last];
            let g = grad
                .as_deref_mut()
                .map(|g| &mut g[r * last..(r + 1) * last]);
            let (lse, probs) = softmax_row_of(z, kept, r, last, g);
            let z = &z[r * last..(r + 1) * last];
            total += y
                .iter()
                .zip(z)
                .map(|(&yk, &zk)| (yk * (lse - zk)).as_f64())
                .sum::<f64>();
            if let Some(g) = probs {
                let y_sum: T = y.iter().copied().sum();
                for (gk, &yk) in g.iter_mut().zip(y) {
                    *gk = (*gk * y_sum - yk) * inv_rows;
                }
            }
        }
        Some(T::of(total / rows.max(1) as f64))
    }
}

/// Row `r` (of `last` logits) of a softmax output, for a cross-entropy on its logits `z`: its
/// log-sum-exp, `max + ln(sum(exp(z - max)))`, and, given a row `p` for them, its
/// probabilities written there. Both come from what the forward pass `kept` where it kept them
/// (its sums and output), else from [`softmax_row`], the forward's own function: the same
/// bits either way, and a gradient costs no second exponential per element.
fn softmax_row_of<'p, T: Float>(
    z: &[T],
    kept: KeptSoftmax<'_, T>,
    r: usize,
    last: usize,
    p: Option<&'p mut [T]>,
) -> (T, Option<&'p mut [T]>) {
    let z = &z[r * last..(r + 1) * last];
    let max = z.iter().copied().fold(T::neg_infinity(), T::max);
    let (sum, p) = match (kept.sums.get(r), p) {
        (Some(&sum), Some(p)) => {
            p.copy_from_slice(&kept.probs[r * last..(r + 1) * last]);
            (sum, Some(p))
        }
        (Some(&sum), None) => (sum, None),
        (None, Some(p)) => {
            p.copy_from_slice(z);
            (softmax_row(p), Some(p))
        }
        (None, None) => (z.iter().map(|&v| (v - max).exp()).sum(), None),
    };
    (max + sum.ln(), p)
}

fn check_label(label: usize, last: usize) -> usize {
    assert!(
        label < last,
        "label {label} is out of range for {last} classes"
    );
    label
}

impl<T: Float> LossFn<T> for SparseCategoricalCrossentropy {
    fn name(&self) -> &'static str {
        "sparse_categorical_crossentropy"
    }
    fn compute(&self, pred: &[T], t: Targets<'_, T>, last: usize, mut grad: Option<&mut [T]>) -> T {
        let labels = sparse(t);
        let rows = pred.len() / last;
        assert_eq!(rows, labels.len(), "predictions and labels differ in count");
        let inv_rows = T::one() / T::of(rows.max(1) as f64);
        let mut total = 0.0;
        for (r, &label) in labels.iter().enumerate() {
            let c = check_label(label, last);
            let p = &pred[r * last..(r + 1) * last];
            // Keras: clip first, then renormalise: -ln(clip(p_c) / sum_k clip(p_k)).
            let sum: T = p.iter().map(|&v| clip(v).0).sum();
            let (pc, _) = clip(p[c]);
            total += (sum.ln() - pc.ln()).as_f64();
            if let Some(grad) = grad.as_deref_mut() {
                let g = &mut grad[r * last..(r + 1) * last];
                for (k, (gk, &pk)) in g.iter_mut().zip(p).enumerate() {
                    let (q, inside) = clip(pk);
                    let d = if k == c {
                        T::one() / sum - T::one() / q
                    } else {
                        T::one() / sum
                    };
                    *gk = if inside { d * inv_rows } else { T::zero() };
                }
            }
        }
        T::of(total / rows.max(1) as f64)
    }
    fn compute_from_logits(
        &self,
        kind: LogitsKind,
        z: &[T],
        kept: KeptSoftmax<'_, T>,
        t: Targets<'_, T>,
        last: usize,
        mut grad: Option<&mut [T]>,
    ) -> Option<T> {
        if kind != LogitsKind::Softmax {
            return None;
        }
        let labels = sparse(t);
        let rows = z.len() / last;
        let inv_rows = T::one() / T::of(rows.max(1) as f64);
        let mut total = 0.0;
        for (r, &label) in labels.iter().enumerate() {
            let c = check_label(label, last);
            let g = grad
                .as_deref_mut()
                .map(|g| &mut g[r * last..(r + 1) * last]);
            let (lse, probs) = softmax_row_of(z, kept, r, last, g);
            total += (lse - z[r * last + c]).as_f64();
            if let Some(g) = probs {
                for (k, gk) in g.iter_mut().enumerate() {
                    let onehot = if k == c { T::one() } else { T::zero() };
                    *gk = (*gk - onehot) * inv_rows;
                }
            }
        }
        Some(T::of(total / rows.max(1) as f64))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::activation::{Activation, Sigmoid, Softmax};

    const LAST: usize = 4;
    const PRED: [f64; 8] = [0.1, 0.6, 0.2, 0.1, 0.05, 0.05, 0.3, 0.6];
    const DENSE: [f64; 8] = [0.0, 1.0, 0.0, 0.0, 0.2, 0.0, 0.3, 0.5];
    const LABELS: [usize; 2] = [1, 3];

    /// Central differences of `loss(pred)` against the analytic gradient.
    fn check(name: &str, x: &[f64], f: impl Fn(&[f64], Option<&mut [f64]>) -> f64) {
        let mut grad = vec![0.0; x.len()];
        f(x, Some(&mut grad));
        let h = 1e-6;
        for i in 0..x.len() {
            let (mut a, mut b) = (x.to_vec(), x.to_vec());
            a[i] += h;
            b[i] -= h;
            let numeric = (f(&a, None) - f(&b, None)) / (2.0 * h);
            assert!(
                (numeric - grad[i]).abs() < 1e-6 * (1.0 + numeric.abs()),
                "{name}: d/dp[{i}] analytic {} numeric {numeric}",
                grad[i]
            );
        }
    }

    #[test]
    fn probability_losses_pass_finite_difference_checks() {
        let d = Targets::Dense(&DENSE[..]);
        let s = Targets::Sparse(&LABELS[..]);
        check("mse", &PRED, |p, g| MeanSquaredError.compute(p, d, LAST, g));
        check("mae", &PRED, |p, g| {
            MeanAbsoluteError.compute(p, d, LAST, g)
        });
        check("bce", &PRED, |p, g| {
            BinaryCrossentropy.compute(p, d, LAST, g)
        });
        check("cce", &PRED, |p, g| {
            CategoricalCrossentropy.compute(p, d, LAST, g)
        });
        check("scce", &PRED, |p, g| {
            SparseCategoricalCrossentropy.compute(p, s, LAST, g)
        });
    }

    #[test]
    fn logit_losses_pass_finite_difference_checks_and_equal_the_probability_form() {
        let z = [1.5, -0.3, 0.2, 2.0, -1.0, 0.7, 0.1, -2.5];
        let d = Targets::Dense(&DENSE[..]);
        let s = Targets::Sparse(&LABELS[..]);
        let soft = |z: &[f64]| {
            let mut p = z.to_vec();
            p.chunks_exact_mut(LAST).for_each(|r| Softmax.forward(r));
            p
        };
        let sig = |z: &[f64]| {
            let mut p = z.to_vec();
            Sigmoid.forward(&mut p);
            p
        };
        fn logit<'a>(
            l: &'a dyn LossFn<f64>,
            k: LogitsKind,
            t: Targets<'a, f64>,
        ) -> impl Fn(&[f64], Option<&mut [f64]>) -> f64 + 'a {
            move |z, g| {
                l.compute_from_logits(k, z, KeptSoftmax::NONE, t, LAST, g)
                    .unwrap()
            }
        }
        check(
            "bce logits",
            &z,
            logit(&BinaryCrossentropy, LogitsKind::Sigmoid, d),
        );
        check(
            "cce logits",
            &z,
            logit(&CategoricalCrossentropy, LogitsKind::Softmax, d),
        );
        check(
            "scce logits",
            &z,
            logit(&SparseCategoricalCrossentropy, LogitsKind::Softmax, s),
        );
        let close = |a: f64, b: f64| assert!((a - b).abs() < 1e-12, "{a} vs {b}");
        close(
            BinaryCrossentropy
                .compute_from_logits(LogitsKind::Sigmoid, &z, KeptSoftmax::NONE, d, LAST, None)
                .unwrap(),
            BinaryCrossentropy.compute(&sig(&z), d, LAST, None),
        );
        close(
            CategoricalCrossentropy
                .compute_from_logits(LogitsKind::Softmax, &z, KeptSoftmax::NONE, d, LAST, None)
                .unwrap(),
            CategoricalCrossentropy.compute(&soft(&z), d, LAST, None),
        );
        close(
            SparseCategoricalCrossentropy
                .compute_from_logits(LogitsKind::Softmax, &z, KeptSoftmax::NONE, s, LAST, None)
                .unwrap(),
            SparseCategoricalCrossentropy.compute(&soft(&z), s, LAST, None),
        );
        assert!(MeanSquaredError
            .compute_from_logits(LogitsKind::Softmax, &z, KeptSoftmax::NONE, d, LAST, None)
            .is_none());
        assert!(BinaryCrossentropy
            .compute_from_logits(LogitsKind::Softmax, &z, KeptSoftmax::NONE, d, LAST, None)
            .is_none());
    }

    /// On logits, the gradient is `(softmax(z) - y) / B` with the very softmax the model's
    /// output layer computes (Keras's gradient), and the loss value does not depend on
    /// whether a gradient is asked for.
    #[test]
    fn logit_gradients_are_the_softmax_output_minus_the_targets() {
        let z: Vec<f32> = (0..3 * LAST)
            .map(|i| (i as f32 * 0.77).sin() * 4.0)
            .collect();
        let mut p = z.clone();
        let sums: Vec<f32> = p
            .chunks_exact_mut(LAST)
            .map(crate::activation::softmax_row)
            .collect();
        let labels = [2, 0, 3];
        let onehot: Vec<f32> = (0..z.len())
            .map(|i| f32::from(u8::from(labels[i / LAST] == i % LAST)))
            .collect();
        let inv_rows = 1.0f32 / 3.0;
        let want: Vec<f32> = p
            .iter()
            .zip(&onehot)
            .map(|(p, y)| (p - y) * inv_rows)
            .collect();
        let (s, d) = (Targets::Sparse(&labels[..]), Targets::Dense(&onehot[..]));
        let losses: [(&dyn LossFn<f32>, Targets<'_, f32>); 2] = [
            (&SparseCategoricalCrossentropy, s),
            (&CategoricalCrossentropy, d),
        ];
        for (loss, t) in losses {
            let mut g = vec![f32::NAN; z.len()];
            let with = loss.compute_from_logits(
                LogitsKind::Softmax,
                &z,
                KeptSoftmax::NONE,
                t,
                LAST,
                Some(&mut g),
            );
            let without =
                loss.compute_from_logits(LogitsKind::Softmax, &z, KeptSoftmax::NONE, t, LAST, None);
            assert_eq!(g, want, "{}", loss.name());
            assert_eq!(with, without, "{}", loss.name());
            // From what the forward pass kept (its sums and output): the same bits.
            let kept = KeptSoftmax {
                sums: &sums,
                probs: &p,
            };
            let mut g_kept = vec![f32::NAN; z.len()];
            let from_kept =
                loss.compute_from_logits(LogitsKind::Softmax, &z, kept, t, LAST, Some(&mut g_kept));
            assert_eq!(g_kept, want, "{}", loss.name());
            assert_eq!(
                from_kept.map(f32::to_bits),
                with.map(f32::to_bits),
                "{}",
                loss.name()
            );
        }
    }

    #[test]
    fn values_match_hand_computed_keras_numbers() {
        let d = Targets::Dense(&DENSE[..]);
        // MSE = mean over all 8 elements.
        let mse: f64 = PRED
            .iter()
            .zip(&DENSE)
            .map(|(p, y)| (p - y).powi(2))
            .sum::<f64>()
            / 8.0;
        assert!((MeanSquaredError.compute(&PRED, d, LAST, None) - mse).abs() < 1e-15);
        // CCE row 1: -ln 0.6; row 2: -(0.2 ln .05 + .3 ln .3 + .5 ln .6).
        let cce =
            (-(0.6f64).ln() - (0.2 * 0.05f64.ln() + 0.3 * 0.3f64.ln() + 0.5 * 0.6f64.ln())) / 2.0;
        assert!((CategoricalCrossentropy.compute(&PRED, d, LAST, None) - cce).abs() < 1e-12);
        // BCE clips: a confident wrong prediction costs -ln(1e-7) = 16.118.
        let bce = BinaryCrossentropy.compute(&[0.0f64], Targets::Dense(&[1.0]), 1, None);
        assert!((bce - 16.118_095_650_958_32).abs() < 1e-6, "{bce}");
    }
}
