//! Finding the first NaN or infinity in a batch, which every training step and evaluation
//! checks before it runs.

use super::isa::on_this_cpu;
use super::Element;

/// The index of the first NaN or infinity in `xs`, compiled for the CPU's widest registers:
/// every training step checks its batch, and the baseline's four lanes made the scan a
/// noticeable part of a small step. Instantiated by [`Element::first_non_finite`].
pub(super) fn first_non_finite<T: Element>(xs: &[T]) -> Option<usize> {
    on_this_cpu::<T, _>(
        #[inline(always)]
        || scan_for_non_finite(xs),
    )
}

/// Scans blocks with a loop that vectorises (`v * 0` is zero exactly when `v` is finite), in
/// 32 lanes: four AVX2 registers of `f32` sums (eight of `f64`), enough that the additions
/// do not wait on each other.
#[inline(always)]
fn scan_for_non_finite<T: Element>(xs: &[T]) -> Option<usize> {
    const LANES: usize = 32;
    let mut start = 0;
    for block in xs.chunks(1024) {
        let mut acc = [T::zero(); LANES];
        let mut lanes = block.chunks_exact(LANES);
        for c in &mut lanes {
            for (a, &v) in acc.iter_mut().zip(c) {
                *a += v * T::zero();
            }
        }
        let tail_ok = lanes.remainder().iter().all(|v| v.is_finite());
        if !tail_ok || acc.iter().any(|&a| a != T::zero()) {
            return block.iter().position(|v| !v.is_finite()).map(|i| start + i);
        }
        start += block.len();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::{first_non_finite, scan_for_non_finite, Element};

    /// The scan this CPU runs and the portable one, on both types, at either end of a
    /// register, a block and the tail.
    #[test]
    fn the_blocked_scan_finds_the_first_non_finite_value_anywhere() {
        fn check<T: Element>(scan: fn(&[T]) -> Option<usize>) {
            let clean = vec![T::from(0.5).unwrap(); 2000];
            assert_eq!(scan(&clean), None);
            assert_eq!(scan(&[]), None);
            for &at in &[0, 15, 16, 31, 32, 1023, 1024, 1500, 1983, 1984, 1999] {
                for bad in [T::nan(), T::infinity(), T::neg_infinity()] {
                    let mut xs = clean.clone();
                    xs[at] = bad;
                    if at + 7 < xs.len() {
                        xs[at + 7] = T::nan();
                    }
                    assert_eq!(scan(&xs), Some(at), "{bad:?} at {at}");
                }
            }
        }
        check::<f32>(first_non_finite);
        check::<f64>(first_non_finite);
        check::<f32>(scan_for_non_finite);
        check::<f64>(scan_for_non_finite);
    }
}
