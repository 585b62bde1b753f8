//! Keras's merge layers: `Add`, `Subtract`, `Multiply`, `Average`, `Maximum`, `Minimum`
//! (element-wise over inputs of one shape) and `Concatenate` (along one axis).
//!
//! A merge has no weights and several inputs, so it is not a [`super::Layer`]: the graph
//! runner calls it with a way to read each input (`input(i)`, a flat batch) and sums the
//! gradients it sends back into each input's.

#[allow(unused_imports)]
use crate::prelude::*;

use crate::Float;

/// How a merge node combines its inputs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Merge {
    /// The element-wise sum.
    Add,
    /// The first input minus the second (exactly two inputs).
    Subtract,
    /// The element-wise product.
    Multiply,
    /// The element-wise mean.
    Average,
    /// The element-wise maximum; where inputs tie, the gradient goes to the first of them.
    Maximum,
    /// The element-wise minimum; where inputs tie, the gradient goes to the first of them.
    Minimum,
    /// The inputs joined along one axis. Each sample is `outer` blocks (the product of the
    /// axes before the joined one); each input gives every block its own run of elements, in
    /// input order.
    Concatenate {
        /// Blocks per sample.
        outer: usize,
    },
}

impl Merge {
    /// Computes `y` (a flat batch of `batch` samples) from the `n` inputs that `input` reads.
    pub fn forward<'a, T: Float>(
        self,
        n: usize,
        input: &dyn Fn(usize) -> &'a [T],
        y: &mut [T],
        batch: usize,
    ) {
        if let Merge::Concatenate { outer } = self {
            let blocks = batch * outer;
            let width = y.len() / blocks.max(1);
            let mut column = 0;
            for i in 0..n {
                let x = input(i);
                let w = x.len() / blocks.max(1);
                for (dst, src) in y.chunks_exact_mut(width).zip(x.chunks_exact(w)) {
                    dst[column..column + w].copy_from_slice(src);
                }
                column += w;
            }
            return;
        }
        y.copy_from_slice(input(0));
        for i in 1..n {
            let x = input(i);
            let each = |f: fn(T, T) -> T, y: &mut [T]| {
                y.iter_mut().zip(x).for_each(|(a, &b)| *a = f(*a, b));
            };
            match self {
                Merge::Add | Merge::Average => each(|a, b| a + b, y),
                Merge::Subtract => each(|a, b| a - b, y),
                Merge::Multiply => each(|a, b| a * b, y),
                // Strict comparisons keep the earlier input on ties (and on NaN, as `tf.maximum`
                // would not: NaN is rejected in the data before it reaches a model).
                Merge::Maximum => each(|a, b| if b > a { b } else { a }, y),
                Merge::Minimum => each(|a, b| if b < a { b } else { a }, y),
                Merge::Concatenate { .. } => unreachable!(),
            }
        }
        if self == Merge::Average {
            let n = T::of(n as f64);
            y.iter_mut().for_each(|v| *v /= n);
        }
    }

    /// Writes into `dx` (overwriting it) the gradient w.r.t. input `which`, given the gradient
    /// `dy` w.r.t. the output `y` of [`Merge::forward`].
    #[allow(clippy::too_many_arguments)]
    pub fn backward<'a, T: Float>(
        self,
        n: usize,
        input: &dyn Fn(usize) -> &'a [T],
        y: &[T],
        dy: &[T],
        which: usize,
        dx: &mut [T],
        batch: usize,
    ) {
        match self {
            Merge::Add => dx.copy_from_slice(dy),
            Merge::Subtract => {
                if which == 0 {
                    dx.copy_from_slice(dy)
                } else {
                    dx.iter_mut().zip(dy).for_each(|(d, &g)| *d = -g)
                }
            }
            Merge::Average => {
                let n = T::of(n as f64);
                dx.iter_mut().zip(dy).for_each(|(d, &g)| *d = g / n);
            }
            Merge::Multiply => {
                dx.copy_from_slice(dy);
                for i in (0..n).filter(|&i| i != which) {
                    dx.iter_mut().zip(input(i)).for_each(|(d, &x)| *d *= x);
                }
            }
            Merge::Maximum | Merge::Minimum => {
                // The element reached `y` from the first input that equals it.
                let mine = input(which);
                for (e, d) in dx.iter_mut().enumerate() {
                    let won = mine[e] == y[e] && (0..which).all(|i| input(i)[e] != y[e]);
                    *d = if won { dy[e] } else { T::zero() };
                }
            }
            Merge::Concatenate { outer } => {
                let blocks = batch * outer;
                let width = dy.len() / blocks.max(1);
                let column: usize = (0..which).map(|i| input(i).len() / blocks.max(1)).sum();
                let w = dx.len() / blocks.max(1);
                for (dst, src) in dx.chunks_exact_mut(w).zip(dy.chunks_exact(width)) {
                    dst.copy_from_slice(&src[column..column + w]);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each merge's gradient against central differences of `sum(y * r)` in `f64`.
    #[test]
    fn every_merge_passes_a_finite_difference_check() {
        let batch = 2;
        let a: Vec<f64> = (0..12).map(|i| (i as f64 * 0.37).sin()).collect();
        let b: Vec<f64> = (0..12).map(|i| (i as f64 * 0.91 + 1.0).cos()).collect();
        let c: Vec<f64> = (0..12).map(|i| 0.3 - i as f64 * 0.07).collect();
        let narrow: Vec<f64> = (0..6).map(|i| 0.3 - i as f64 * 0.2).collect();
        let cases: [(Merge, Vec<Vec<f64>>, usize); 8] = [
            (Merge::Add, vec![a.clone(), b.clone(), c.clone()], 12),
            (Merge::Subtract, vec![a.clone(), b.clone()], 12),
            (Merge::Multiply, vec![a.clone(), b.clone(), c.clone()], 12),
            (Merge::Average, vec![a.clone(), b.clone(), c.clone()], 12),
            (Merge::Maximum, vec![a.clone(), b.clone(), c.clone()], 12),
            (Merge::Minimum, vec![a.clone(), b.clone(), c.clone()], 12),
            // Two samples of (3, 2) and (3, 1) along the last axis: (3, 3).
            (
                Merge::Concatenate { outer: 3 },
                vec![a.clone(), narrow.clone()],
                18,
            ),
            // Two samples of (2, 3) and (1, 3) along the first axis: (3, 3).
            (
                Merge::Concatenate { outer: 1 },
                vec![a.clone(), narrow.clone()],
                18,
            ),
        ];
        for (merge, inputs, out) in cases {
            let r: Vec<f64> = (0..out).map(|i| 1.0 + (i as f64 * 0.53).sin()).collect();
            let value = |inputs: &[Vec<f64>]| {
                let mut y = vec![0.0; out];
                merge.forward(inputs.len(), &|i| inputs[i].as_slice(), &mut y, batch);
                y.iter().zip(&r).map(|(y, r)| y * r).sum::<f64>()
            };
            let mut y = vec![0.0; out];
            merge.forward(inputs.len(), &|i| inputs[i].as_slice(), &mut y, batch);
            for which in 0..inputs.len() {
                let mut dx = vec![f64::NAN; inputs[which].len()];
                let read = |i: usize| inputs[i].as_slice();
                merge.backward(inputs.len(), &read, &y, &r, which, &mut dx, batch);
                for (e, &analytic) in dx.iter().enumerate() {
                    let h = 1e-6;
                    let mut plus = inputs.clone();
                    plus[which][e] += h;
                    let mut minus = inputs.clone();
                    minus[which][e] -= h;
                    let numeric = (value(&plus) - value(&minus)) / (2.0 * h);
                    assert!(
                        (numeric - analytic).abs() < 1e-6,
                        "{merge:?} input {which}[{e}]: {numeric} vs {analytic}"
                    );
                }
            }
        }
    }

    #[test]
    fn a_tie_sends_the_gradient_to_the_first_input_only() {
        let (a, b) = ([1.0f64, 2.0], [1.0f64, 3.0]);
        let xs = [&a[..], &b[..]];
        for merge in [Merge::Maximum, Merge::Minimum] {
            let mut y = [0.0; 2];
            merge.forward(2, &|i| xs[i], &mut y, 1);
            let (mut da, mut db) = ([0.0; 2], [0.0; 2]);
            merge.backward(2, &|i| xs[i], &y, &[1.0, 1.0], 0, &mut da, 1);
            merge.backward(2, &|i| xs[i], &y, &[1.0, 1.0], 1, &mut db, 1);
            assert_eq!(da[0] + db[0], 1.0, "{merge:?}");
            assert_eq!(da[0], 1.0, "{merge:?}");
        }
    }

    #[test]
    fn values_follow_keras() {
        let a = [1.0f32, -2.0, 3.0, 4.0];
        let b = [2.0f32, -2.0, 1.0, 0.5];
        let run = |m: Merge| {
            let xs = [&a[..], &b[..]];
            let mut y = [0.0f32; 4];
            m.forward(2, &|i| xs[i], &mut y, 1);
            y
        };
        assert_eq!(run(Merge::Add), [3.0, -4.0, 4.0, 4.5]);
        assert_eq!(run(Merge::Subtract), [-1.0, 0.0, 2.0, 3.5]);
        assert_eq!(run(Merge::Multiply), [2.0, 4.0, 3.0, 2.0]);
        assert_eq!(run(Merge::Average), [1.5, -2.0, 2.0, 2.25]);
        assert_eq!(run(Merge::Maximum), [2.0, -2.0, 3.0, 4.0]);
        assert_eq!(run(Merge::Minimum), [1.0, -2.0, 1.0, 0.5]);
        // One sample of (2, 2) and (2, 2) joined on the last axis: rows interleave.
        let xs = [&a[..], &b[..]];
        let mut y = [0.0f32; 8];
        Merge::Concatenate { outer: 2 }.forward(2, &|i| xs[i], &mut y, 1);
        assert_eq!(y, [1.0, -2.0, 2.0, -2.0, 3.0, 4.0, 1.0, 0.5]);
    }
}
