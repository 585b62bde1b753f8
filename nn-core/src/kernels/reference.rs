//! The kernels' test reference: the naive product, a transpose, and operands whose products
//! are exact.
//!
//! Small integers and halves keep every sum exact in `f32` and `f64` whatever the summation
//! order, so a kernel must match the naive product bit for bit on these operands.

#[allow(unused_imports)]
use crate::prelude::*;

use crate::Float;

/// `A` (`m x k`) and `B` (`k x n`), row-major, of small integers and halves.
pub(crate) fn operands<T: Float>(m: usize, k: usize, n: usize) -> (Vec<T>, Vec<T>) {
    let a = (0..m * k)
        .map(|i| T::of((i * 7 % 13) as f64 - 6.0))
        .collect();
    let b = (0..k * n)
        .map(|i| T::of((i * 5 % 11) as f64 * 0.5 - 2.0))
        .collect();
    (a, b)
}

/// `A · B` for row-major `A` (`m x k`) and `B` (`k x n`), by the definition.
pub(crate) fn naive<T: Float>(m: usize, k: usize, n: usize, a: &[T], b: &[T]) -> Vec<T> {
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
