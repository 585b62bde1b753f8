//! Running an optimizer's per-weight update over large arrays on all worker threads.
//!
//! Every update rule here is element by element, so a weight array and its slot arrays can be
//! cut at the same points and the pieces updated in parallel with identical results. Left on
//! one thread, the update of a 784 x 300 kernel was a tenth of a training step on two cores.

use crate::Float;

/// Arrays shorter than this are updated on the calling thread.
#[cfg(feature = "std")]
const PARALLEL_MIN: usize = 32 * 1024;

/// Whether an array of `len` weights is updated in pieces on several worker threads (the
/// `i`-th of `n` pieces on the `i`-th thread of a `rayon::join` tree, as
/// `Layer::prepare_shards` numbers them).
#[cfg(feature = "std")]
pub(crate) fn updated_in_pieces(len: usize) -> bool {
    crate::threads::thread_count() > 1 && len >= PARALLEL_MIN
}

/// An optimizer's update rule, element by element over matching pieces of the weights, their
/// gradients and up to three slot arrays (each as long as the weights, or empty).
///
/// A type rather than a closure, with `apply` marked `#[inline(always)]` in every
/// implementation, so that the rule is compiled into the AVX2 copy of the loop: closures were
/// inlined there only while small, and Adam's, grown by a few instructions, fell back to four
/// lanes and ran several times slower.
pub(crate) trait Rule<T>: Sync {
    /// Updates `w` in place.
    fn apply(&self, w: &mut [T], g: &[T], slots: [&mut [T]; 3]);
}

/// Runs `rule` on matching pieces of `w`, `g` and the slot arrays (each either as long as `w`
/// or empty), in parallel on the worker pool when the arrays are large.
pub(crate) fn elementwise<T: Float, R: Rule<T>>(
    w: &mut [T],
    g: &[T],
    slots: [&mut [T]; 3],
    rule: &R,
) {
    debug_assert!(slots.iter().all(|s| s.is_empty() || s.len() == w.len()));
    #[cfg(feature = "std")]
    if updated_in_pieces(w.len()) {
        let threads = crate::threads::thread_count();
        let piece = w.len().div_ceil(threads).max(PARALLEL_MIN / 2);
        crate::threads::pool().install(|| split(w, g, slots, piece, rule));
        return;
    }
    on_wide_registers(w, g, slots, rule)
}

/// Runs `rule` compiled for AVX2 where the CPU has it, so that an update rule runs on eight
/// `f32` lanes instead of the baseline's four (Adam's square root and division are most of
/// its arithmetic). The results are the same bits: roots, quotients, sums and products are
/// correctly rounded either way, and Rust never fuses a multiply with an add.
#[inline(always)]
fn on_wide_registers<T: Float, R: Rule<T>>(w: &mut [T], g: &[T], slots: [&mut [T]; 3], rule: &R) {
    #[cfg(all(feature = "std", target_arch = "x86_64"))]
    if matches!(
        crate::kernels::Isa::detect(),
        crate::kernels::Isa::Avx2Fma | crate::kernels::Isa::Avx512
    ) {
        // SAFETY: the CPU has AVX2.
        return unsafe { avx2(w, g, slots, rule) };
    }
    rule.apply(w, g, slots)
}

/// `rule.apply` with AVX2 enabled; the rule is inlined into it.
#[cfg(all(feature = "std", target_arch = "x86_64"))]
#[target_feature(enable = "avx2")]
fn avx2<T: Float, R: Rule<T>>(w: &mut [T], g: &[T], slots: [&mut [T]; 3], rule: &R) {
    rule.apply(w, g, slots)
}

/// Halves the arrays until the pieces are at most `piece` long, running the halves with
/// `rayon::join` (no allocation).
#[cfg(feature = "std")]
fn split<T: Float, R: Rule<T>>(w: &mut [T], g: &[T], slots: [&mut [T]; 3], piece: usize, rule: &R) {
    if w.len() <= piece {
        return on_wide_registers(w, g, slots, rule);
    }
    let mid = w.len() / 2;
    let (w0, w1) = w.split_at_mut(mid);
    let (g0, g1) = g.split_at(mid);
    let [a, b, c] = slots;
    let ((a0, a1), (b0, b1), (c0, c1)) = (halve(a, mid), halve(b, mid), halve(c, mid));
    rayon::join(
        || split(w0, g0, [a0, b0, c0], piece, rule),
        || split(w1, g1, [a1, b1, c1], piece, rule),
    );
}

/// Splits a slot array at `mid`, or gives two empty halves for an unused (empty) one.
#[cfg(feature = "std")]
fn halve<T>(s: &mut [T], mid: usize) -> (&mut [T], &mut [T]) {
    if s.is_empty() {
        (&mut [], &mut [])
    } else {
        s.split_at_mut(mid)
    }
}

#[cfg(all(test, feature = "std"))]
mod tests {
    use super::*;

    #[test]
    fn pieces_cover_every_element_exactly_once() {
        let n = 100_003;
        let mut w = vec![1.0f32; n];
        let g: Vec<f32> = (0..n).map(|i| i as f32).collect();
        let mut m = vec![0.0f32; n];
        struct AddAndCount;
        impl Rule<f32> for AddAndCount {
            fn apply(&self, w: &mut [f32], g: &[f32], [m, _, _]: [&mut [f32]; 3]) {
                for ((w, &g), m) in w.iter_mut().zip(g).zip(m.iter_mut()) {
                    *w += g;
                    *m += 1.0;
                }
            }
        }
        elementwise(&mut w, &g, [&mut m, &mut [], &mut []], &AddAndCount);
        assert!(w.iter().zip(&g).all(|(w, g)| *w == g + 1.0));
        assert!(m.iter().all(|&m| m == 1.0));
    }
}
