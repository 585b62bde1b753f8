//! The kernels' test reference: the naive product, a transpose, and operands whose products
//! are exact.
//!
//! Small integers and halves keep every sum exact in `f32` and `f64` whatever the summation
//! order, so a kernel must match the naive product bit for bit on these operands.

#[allow(unused_imports)]
use crate::prelude::*;

use super::Element;

/// A maker of test operands `(A, B)` for an `m x k x n` product.
pub(crate) type Operands<T> = fn(usize, usize, usize) -> (Vec<T>, Vec<T>);

/// `A` (`m x k`) and `B` (`k x n`), row-major, of small integers and halves.
pub(crate) fn operands<T: Element>(m: usize, k: usize, n: usize) -> (Vec<T>, Vec<T>) {
    let a = (0..m * k)
        .map(|i| T::from((i * 7 % 13) as f64 - 6.0).unwrap())
        .collect();
    let b = (0..k * n)
        .map(|i| T::from((i * 5 % 11) as f64 * 0.5 - 2.0).unwrap())
        .collect();
    (a, b)
}

/// [`operands`] with `A` mostly zero, the way images and ReLU outputs are, so that the kernels
/// skip steps ([`super::zero_steps`]): each row is live at every fifth step (shifting every
/// other row), every eleventh row is live throughout, and rows whose `r / 6` is 2 modulo 4 are
/// zero throughout, so tiles run complete, partial and empty lists of steps.
pub(crate) fn sparse_operands<T: Element>(m: usize, k: usize, n: usize) -> (Vec<T>, Vec<T>) {
    let (mut a, b) = operands::<T>(m, k, n);
    for (i, x) in a.iter_mut().enumerate() {
        let (r, p) = (i / k, i % k);
        let live = if r % 11 == 10 {
            true
        } else {
            (r / 6) % 4 != 2 && (p + r / 2) % 5 == 0
        };
        if !live {
            *x = T::zero();
        } else if *x == T::zero() {
            *x = T::one();
        }
    }
    (a, b)
}

/// `A · B` for row-major `A` (`m x k`) and `B` (`k x n`), by the definition.
pub(crate) fn naive<T: Element>(m: usize, k: usize, n: usize, a: &[T], b: &[T]) -> Vec<T> {
    (0..m * n)
        .map(|x| (0..k).map(|p| a[x / n * k + p] * b[p * n + x % n]).sum())
        .collect()
}

/// The row-major transpose of a row-major `rows x cols` matrix.
pub(crate) fn transpose<T: Copy>(rows: usize, cols: usize, x: &[T]) -> Vec<T> {
    (0..rows * cols)
        .map(|i| x[(i % rows) * cols + i / rows])
        .collect()
}

/// `x` in the element type (test values are small and exact in both).
pub(crate) fn of<T: Element>(x: f64) -> T {
    T::from(x).expect("a finite test value")
}
