//! Running an optimizer's per-weight update over large arrays on all worker threads.
//!
//! Every update rule (`kernels/update.rs`) is element by element, so a weight array and its slot arrays can be
//! cut at the same points and the pieces updated in parallel with identical results. Left on
//! one thread, the update of a 784 x 300 kernel was a tenth of a training step on two cores.

use crate::kernels::Update;
use crate::Float;

/// Arrays shorter than this are updated on the calling thread.
#[cfg(feature = "std")]
const PARALLEL_MIN: usize = 32 * 1024;

/// Whether an array of `len` weights is updated in pieces on several worker threads (the
/// `i`-th of `n` pieces on the `i`-th thread of a join tree, as
/// `Layer::prepare_shards` numbers them).
#[cfg(feature = "std")]
pub(crate) fn updated_in_pieces(len: usize) -> bool {
    crate::threads::thread_count() > 1 && len >= PARALLEL_MIN
}

/// Runs `rule` on matching pieces of `w`, `g` and the slot arrays (each either as long as `w`
/// or empty), in parallel on the worker pool when the arrays are large.
pub(crate) fn elementwise<T: Float>(w: &mut [T], g: &[T], slots: [&mut [T]; 3], rule: &Update<T>) {
    debug_assert!(slots.iter().all(|s| s.is_empty() || s.len() == w.len()));
    #[cfg(feature = "std")]
    if updated_in_pieces(w.len()) {
        let threads = crate::threads::thread_count();
        let piece = w.len().div_ceil(threads).max(PARALLEL_MIN / 2);
        crate::threads::pool().install(|| split(w, g, slots, piece, rule));
        return;
    }
    T::update(rule, w, g, slots)
}

/// Halves the arrays until the pieces are at most `piece` long, running the halves with
/// `threads::join` (no allocation).
#[cfg(feature = "std")]
fn split<T: Float>(w: &mut [T], g: &[T], slots: [&mut [T]; 3], piece: usize, rule: &Update<T>) {
    if w.len() <= piece {
        return T::update(rule, w, g, slots);
    }
    let mid = w.len() / 2;
    let (w0, w1) = w.split_at_mut(mid);
    let (g0, g1) = g.split_at(mid);
    let [a, b, c] = slots;
    let ((a0, a1), (b0, b1), (c0, c1)) = (halve(a, mid), halve(b, mid), halve(c, mid));
    crate::threads::join(
        w1.len() <= piece,
        || split(w0, g0, [a0, b0, c0], piece, rule),
        || split(w1, g1, [a1, b1, c1], piece, rule),
    );
}

/// Splits a slot array at `mid`, or gives two empty halves for an unused (empty) one.
#[cfg(feature = "std")]
pub(crate) fn halve<T>(s: &mut [T], mid: usize) -> (&mut [T], &mut [T]) {
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
        use crate::kernels::Momentum;
        // Momentum 1 and a learning rate of -1: v = v + g and w = w + v, so each element that
        // is updated exactly once ends with w = 1 + g and v = g.
        let n = 100_003;
        let mut w = vec![1.0f32; n];
        let g: Vec<f32> = (0..n).map(|i| i as f32).collect();
        let mut v = vec![0.0f32; n];
        let rule = Update::Momentum(Momentum {
            lr: -1.0,
            momentum: 1.0,
            nesterov: false,
        });
        elementwise(&mut w, &g, [&mut v, &mut [], &mut []], &rule);
        assert!(w.iter().zip(&g).all(|(w, g)| *w == g + 1.0));
        assert!(v.iter().zip(&g).all(|(v, g)| v == g));
    }
}
