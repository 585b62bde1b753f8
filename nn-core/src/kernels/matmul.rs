//! A bounds-checked, safe front for the strided matrix product.

use super::blocked;
use super::narrow;
use super::operands::{Mat, Update};
use super::Element;

/// `C = alpha * A * B + beta * C`, with `A` of shape `m x k`, `B` of shape `k x n` and `C` a
/// row-major `m x n` matrix. With `beta == 0`, `C` is only written, never read.
///
/// # Panics
/// If a view does not have the shape the product needs or does not fit its slice.
#[inline]
pub fn gemm<T: Element>(alpha: T, a: Mat<'_, T>, b: Mat<'_, T>, beta: T, c: &mut [T]) {
    T::gemm(alpha, a, b, beta, c)
}

/// [`gemm`]'s body, instantiated by [`Element::gemm`].
pub(super) fn product<T: Element>(alpha: T, a: Mat<'_, T>, b: Mat<'_, T>, beta: T, c: &mut [T]) {
    let (m, k, n) = (a.rows, a.cols, b.cols);
    assert_eq!(b.rows, k, "gemm: inner dimensions differ");
    assert_eq!(c.len(), m * n, "gemm: output has the wrong size");
    a.check("A");
    b.check("B");
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        c.iter_mut().for_each(|v| {
            *v = if beta == T::zero() {
                T::zero()
            } else {
                *v * beta
            }
        });
        return;
    }
    if alpha == T::one()
        && beta == T::zero()
        && (narrow::try_gemm(m, k, n, a.strided(), b.strided(), c)
            || blocked::try_gemm(m, k, n, a.strided(), b.strided(), c))
    {
        return;
    }
    // SAFETY: the checks above keep every index of A, B and C inside its slice.
    unsafe {
        T::gemm_raw(
            m,
            k,
            n,
            alpha,
            (
                a.data.as_ptr(),
                a.row_stride as isize,
                a.col_stride as isize,
            ),
            (
                b.data.as_ptr(),
                b.row_stride as isize,
                b.col_stride as isize,
            ),
            beta,
            (c.as_mut_ptr(), n as isize, 1),
        )
    }
}

/// `W = rule(W, G)` with the gradient `G = A · B` (`m x k` by `k x n`): an optimizer's update
/// fused into the weight gradient's product, for weights `w` (row-major `m x n`) and the
/// optimizer's `slots` for them (each as long, or empty). The weights and slots come out
/// exactly as from [`gemm`] into `grad` followed by the rule (for a finite gradient: where a
/// mostly zero `A` has its zero steps skipped, the two may skip different ones, which only
/// shows where `B` holds an infinity or NaN). Where the blocked kernel takes the product
/// whole (see `blocked::try_gemm_update`), the gradient never goes through memory; elsewhere
/// it goes through `grad` (`m x n`, scratch: its contents afterwards are unspecified).
///
/// # Panics
/// As [`gemm`], or if `w`, `grad` or a non-empty slot does not hold `m * n` elements.
pub fn gemm_update<T: Element>(
    a: Mat<'_, T>,
    b: Mat<'_, T>,
    grad: &mut [T],
    w: &mut [T],
    rule: &Update<T>,
    slots: [&mut [T]; 3],
) {
    T::gemm_update(a, b, grad, w, rule, slots)
}

/// [`gemm_update`]'s body.
pub(super) fn product_update<T: Element>(
    a: Mat<'_, T>,
    b: Mat<'_, T>,
    grad: &mut [T],
    w: &mut [T],
    rule: &Update<T>,
    [s0, s1, s2]: [&mut [T]; 3],
) {
    let (m, k, n) = (a.rows, a.cols, b.cols);
    assert_eq!(b.rows, k, "gemm_update: inner dimensions differ");
    assert_eq!(
        grad.len(),
        m * n,
        "gemm_update: gradient has the wrong size"
    );
    assert_eq!(w.len(), m * n, "gemm_update: weights of the wrong size");
    for slot in [&*s0, &*s1, &*s2] {
        assert!(
            slot.is_empty() || slot.len() == m * n,
            "gemm_update: a slot of the wrong size"
        );
    }
    a.check("A");
    b.check("B");
    // The products `gemm` gives the narrow kernel keep their own sums, so that the weights
    // stay exactly those of `gemm` and then the rule.
    let narrow = b.col_stride == 1 && n <= narrow::max_columns::<T>();
    if !narrow
        && blocked::try_gemm_update(
            (m, k, n),
            a.strided(),
            b.strided(),
            w,
            rule,
            [&mut *s0, &mut *s1, &mut *s2],
        )
    {
        return;
    }
    product(T::one(), a, b, T::zero(), grad);
    T::update(rule, w, grad, [s0, s1, s2])
}

#[cfg(test)]
mod tests {
    use super::super::reference::{naive, operands, transpose};
    use super::*;

    #[test]
    fn all_three_layouts_match_the_naive_product_on_odd_sizes() {
        for &(m, k, n) in &[(1, 1, 1), (3, 7, 5), (17, 33, 9), (1, 300, 10), (65, 2, 31)] {
            let (a, b) = operands::<f64>(m, k, n);
            let want = naive(m, k, n, &a, &b);

            let mut c = vec![f64::NAN; m * n];
            gemm(1.0, Mat::rows(&a, m, k), Mat::rows(&b, k, n), 0.0, &mut c);
            assert_eq!(c, want);

            let at = transpose(m, k, &a);
            let bt = transpose(k, n, &b);
            let mut c2 = vec![1.0; m * n];
            gemm(
                1.0,
                Mat::transposed(&at, k, m),
                Mat::transposed(&bt, n, k),
                1.0,
                &mut c2,
            );
            let plus_one: Vec<f64> = want.iter().map(|v| v + 1.0).collect();
            assert_eq!(c2, plus_one);
        }
    }

    #[test]
    fn narrow_products_match_the_naive_product_in_every_layout() {
        // Widths around one to four registers of 8 and 16 lanes, odd depths, odd row counts.
        for n in [
            1, 2, 3, 4, 5, 6, 7, 8, 9, 11, 12, 13, 14, 15, 16, 17, 24, 25, 31, 32, 33, 47, 48, 63,
            64,
        ] {
            for &(m, k) in &[(1, 1), (7, 3), (13, 25), (50, 150), (3, 2), (9, 600)] {
                let (a, b) = operands::<f64>(m, k, n);
                let want = naive(m, k, n, &a, &b);
                let mut c = vec![f64::NAN; m * n];
                gemm(1.0, Mat::rows(&a, m, k), Mat::rows(&b, k, n), 0.0, &mut c);
                assert_eq!(c, want, "m={m} k={k} n={n}");
                // The weight-gradient form: A read transposed.
                let at = transpose(m, k, &a);
                let mut c = vec![f64::NAN; m * n];
                gemm(
                    1.0,
                    Mat::transposed(&at, k, m),
                    Mat::rows(&b, k, n),
                    0.0,
                    &mut c,
                );
                assert_eq!(c, want, "transposed A, m={m} k={k} n={n}");
                // f32, where registers hold twice as many lanes; B exactly as long as needed,
                // so the kernel must read its last rows exactly (no test sees an over-read).
                let (a32, b32): (Vec<f32>, Vec<f32>) = (
                    a.iter().map(|&v| v as f32).collect(),
                    b.iter().map(|&v| v as f32).collect(),
                );
                let mut c32 = vec![f32::NAN; m * n];
                gemm(
                    1.0,
                    Mat::rows(&a32, m, k),
                    Mat::rows(&b32, k, n),
                    0.0,
                    &mut c32,
                );
                let want32: Vec<f32> = want.iter().map(|&v| v as f32).collect();
                assert_eq!(c32, want32, "f32 m={m} k={k} n={n}");
            }
        }
    }

    #[test]
    fn large_transposed_operands_are_summed_slice_by_slice() {
        // Weight gradients whose transposed `A` outgrows L2 run in slices of `k`, each
        // continuing the sums of the last in `C`; partial registers and odd depths included.
        fn check<T: Element>(m: usize, k: usize, n: usize) {
            let (a, b) = operands::<T>(m, k, n);
            let want = naive(m, k, n, &a, &b);
            let at = transpose(m, k, &a);
            let mut c = vec![T::nan(); m * n];
            gemm(
                T::one(),
                Mat::transposed(&at, k, m),
                Mat::rows(&b, k, n),
                T::zero(),
                &mut c,
            );
            assert_eq!(c, want, "m={m} k={k} n={n}");
        }
        for &(m, k, n) in &[
            (25, 3001, 6),
            (27, 2900, 13),
            (150, 500, 16),
            (19, 3500, 32),
        ] {
            check::<f32>(m, k, n);
            check::<f64>(m, k, n);
        }
    }

    #[test]
    #[should_panic(expected = "inner dimensions")]
    fn mismatched_shapes_panic_instead_of_reading_out_of_bounds() {
        let a = [1.0f32; 6];
        let mut c = [0.0f32; 4];
        gemm(1.0, Mat::rows(&a, 2, 3), Mat::rows(&a, 2, 3), 0.0, &mut c);
    }
}
