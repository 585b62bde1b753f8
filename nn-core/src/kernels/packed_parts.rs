//! A kernel packed in parts by rows, each part by the worker thread that will update those
//! rows, for the forward passes of a training step split across threads.
//!
//! Each shard of a split step multiplies by the whole kernel. Packed by every shard, the
//! kernel was read by every core, and the optimizer's writes then had to take each line away
//! from the other core first, which made the update several times slower (`cargo bench
//! --bench shared_update` isolates the effect). Packed here instead, part `p` by the thread
//! that updates the weights' piece `p` (`optim::elementwise` cuts them the same way), every
//! weight is read by one core only; the shards share the packed parts, which nobody writes
//! while they are read.

use core::ops::Range;
use core::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{PoisonError, RwLock};

use super::Element;
use super::PackedB;

/// The most parts a kernel is packed in (threads in the pool); more threads fall back to each
/// shard packing the kernel itself.
const MAX_PARTS: usize = 8;

/// A `k x n` row-major kernel packed as up to [`MAX_PARTS`] blocks of consecutive rows.
///
/// Packing a part in the step costs several times more than packing it alone, since the
/// other cores read the parts' lines in the step before. Two sets used in turn, so that lines
/// were rewritten two steps after they were read, packed no faster and were not kept. A
/// step's first layer is cut by rows instead (`layers/row_split.rs`), and its parts are not packed
/// here at all.
#[derive(Debug, Default)]
pub(crate) struct RowParts<T> {
    parts: [RwLock<Option<PackedB<T>>>; MAX_PARTS],
    /// Parts the kernel is cut into (the last `prepare`'s `parts`; 0 before any).
    count: AtomicUsize,
    /// Parts packed from the current weights; [`RowParts::forget`] resets it.
    ready: AtomicUsize,
}

impl<T> Clone for RowParts<T> {
    /// A copy packs afresh: its parts belong to the threads of its own steps.
    fn clone(&self) -> Self {
        Self {
            parts: Default::default(),
            count: AtomicUsize::new(0),
            ready: AtomicUsize::new(0),
        }
    }
}

/// The rows of part `part` of `parts` of `k`.
pub(crate) fn rows(part: usize, parts: usize, k: usize) -> Range<usize> {
    part * k / parts..(part + 1) * k / parts
}

impl<T: Element> RowParts<T> {
    /// Packs part `part` of `parts` of `kernel` (`k x n`), reusing the last step's buffer.
    /// Each part is packed by one thread; threads pack different parts at once.
    pub(crate) fn prepare(&self, kernel: &[T], k: usize, n: usize, part: usize, parts: usize) {
        if !(2..=MAX_PARTS).contains(&parts) || part >= parts {
            return;
        }
        let rows = rows(part, parts, k);
        let mut slot = self.parts[part]
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        match slot.as_mut() {
            Some(packed) if packed.k() == rows.len() => packed.repack_rows(kernel, rows),
            _ => *slot = PackedB::for_rows(kernel, n, rows),
        }
        drop(slot);
        self.count.store(parts, Ordering::Release);
        self.ready.fetch_add(1, Ordering::AcqRel);
    }

    /// Marks every part stale; called whenever the weights change.
    pub(crate) fn forget(&mut self) {
        *self.ready.get_mut() = 0;
    }

    /// `y = x · kernel` for rows of `x` of `k` elements, from the parts packed from the
    /// current weights; `false` (and `y` untouched) when they are not all there.
    pub(crate) fn multiply(&self, x: &[T], k: usize, y: &mut [T]) -> bool {
        let parts = self.count.load(Ordering::Acquire);
        if parts < 2 || self.ready.load(Ordering::Acquire) < parts {
            return false;
        }
        let guards: [_; MAX_PARTS] = core::array::from_fn(|p| {
            (p < parts).then(|| self.parts[p].read().unwrap_or_else(PoisonError::into_inner))
        });
        if guards[..parts]
            .iter()
            .any(|g| g.as_ref().is_none_or(|g| g.is_none()))
        {
            return false;
        }
        for (part, guard) in guards[..parts].iter().enumerate() {
            let packed = guard
                .as_ref()
                .and_then(|g| g.as_ref())
                .expect("checked above");
            let start = rows(part, parts, k).start;
            packed.multiply_rows(&x[start..], k, y, part > 0);
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A `k x n` kernel and `m` rows of input with small integer values, so that every sum
    /// is exact whatever its order.
    fn operands(m: usize, k: usize, n: usize) -> (Vec<f64>, Vec<f64>) {
        let kernel = (0..k * n).map(|i| ((i * 7) % 11) as f64 - 5.0).collect();
        let x = (0..m * k).map(|i| ((i * 5) % 9) as f64 - 4.0).collect();
        (kernel, x)
    }

    fn naive(x: &[f64], kernel: &[f64], k: usize, n: usize) -> Vec<f64> {
        x.chunks(k)
            .flat_map(|row| {
                (0..n).map(move |j| {
                    row.iter()
                        .enumerate()
                        .map(|(p, v)| v * kernel[p * n + j])
                        .sum()
                })
            })
            .collect()
    }

    #[test]
    fn parts_multiply_like_the_whole_kernel() {
        let (m, k, n) = (9, 41, 37);
        let (kernel, x) = operands(m, k, n);
        for parts in 2..=4 {
            let row_parts = RowParts::default();
            for part in 0..parts {
                row_parts.prepare(&kernel, k, n, part, parts);
            }
            let mut y = vec![f64::NAN; m * n];
            if !row_parts.multiply(&x, k, &mut y) {
                return; // no vector kernel on this CPU: nothing is packed
            }
            assert_eq!(y, naive(&x, &kernel, k, n), "{parts} parts");
        }
    }

    #[test]
    fn parts_are_used_only_when_all_are_packed_from_the_current_weights() {
        let (m, k, n) = (6, 20, 16);
        let (mut kernel, x) = operands(m, k, n);
        let mut row_parts = RowParts::default();
        let mut y = vec![f64::NAN; m * n];
        row_parts.prepare(&kernel, k, n, 0, 2);
        assert!(!row_parts.multiply(&x, k, &mut y), "one part of two");
        row_parts.prepare(&kernel, k, n, 1, 2);
        if !row_parts.multiply(&x, k, &mut y) {
            return; // no vector kernel on this CPU
        }
        // The weights change: the parts are stale until both are packed again.
        kernel.iter_mut().for_each(|w| *w += 1.0);
        row_parts.forget();
        y.fill(f64::NAN);
        assert!(!row_parts.multiply(&x, k, &mut y), "stale parts");
        assert!(
            y.iter().all(|v| v.is_nan()),
            "a refused product leaves y alone"
        );
        for part in 0..2 {
            row_parts.prepare(&kernel, k, n, part, 2);
        }
        assert!(row_parts.multiply(&x, k, &mut y));
        assert_eq!(y, naive(&x, &kernel, k, n));
        // Another step: the buffers are repacked in place.
        kernel.iter_mut().for_each(|w| *w -= 3.0);
        row_parts.forget();
        for part in 0..2 {
            row_parts.prepare(&kernel, k, n, part, 2);
        }
        assert!(row_parts.multiply(&x, k, &mut y));
        assert_eq!(y, naive(&x, &kernel, k, n));
    }

    #[test]
    fn too_many_parts_are_left_to_the_shards() {
        let (kernel, x) = operands(5, 30, 8);
        let row_parts = RowParts::default();
        for part in 0..MAX_PARTS + 1 {
            row_parts.prepare(&kernel, 30, 8, part, MAX_PARTS + 1);
        }
        assert!(!row_parts.multiply(&x, 30, &mut [0.0; 40]));
    }
}
