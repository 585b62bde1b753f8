//! A layer's kernel packed for inference ([`PackedB`]): made when first needed, and packed
//! again into the same storage after the weights change, so that only the first packing
//! allocates.

use std::sync::{Mutex, OnceLock, PoisonError};

use super::{Element, PackedB};

/// The packed form of a `k x n` kernel that changes between uses (training steps, loads).
#[derive(Debug, Default)]
pub(crate) struct PackedCache<T> {
    /// The packed kernel of the weights as they are, once made; `None` inside where the CPU
    /// has no packed kernel.
    current: OnceLock<Option<PackedB<T>>>,
    /// The storage of the last packing, kept when the weights changed, for the next.
    spare: Mutex<Option<PackedB<T>>>,
}

impl<T: Element> PackedCache<T> {
    /// A cache for `kernel` (`k x n`), packed now where single samples read the panels
    /// ([`PackedB::multiplies_rows`]), so that a single-sample product never allocates; empty
    /// elsewhere, until a batch first needs it.
    pub(crate) fn new(kernel: &[T], k: usize, n: usize) -> Self {
        let cache = Self::default();
        if PackedB::<T>::multiplies_rows(n) {
            cache.current.get_or_init(|| PackedB::new(kernel, k, n));
        }
        cache
    }

    /// `kernel` (`k x n`, the weights as they are now) packed, packing it first if the weights
    /// changed since the last call. `None` where the CPU has no packed kernel.
    pub(crate) fn get(&self, kernel: &[T], k: usize, n: usize) -> Option<&PackedB<T>> {
        self.current
            .get_or_init(|| {
                let spare = self
                    .spare
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .take();
                match spare {
                    Some(mut packed) => {
                        packed.repack_rows(kernel, 0..k);
                        Some(packed)
                    }
                    None => PackedB::new(kernel, k, n),
                }
            })
            .as_ref()
    }

    /// Marks the packing stale, the weights being about to change; its storage is kept.
    pub(crate) fn forget(&mut self) {
        if let Some(Some(packed)) = self.current.take() {
            let spare = self.spare.get_mut().unwrap_or_else(PoisonError::into_inner);
            *spare = Some(packed);
        }
    }
}

impl<T: Clone> Clone for PackedCache<T> {
    fn clone(&self) -> Self {
        let spare = self
            .spare
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        Self {
            current: self.current.clone(),
            spare: Mutex::new(spare),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_packing_follows_the_weights_in_the_same_storage() {
        let (k, n) = (3, 40);
        let mut kernel: Vec<f32> = (0..k * n).map(|i| i as f32).collect();
        let mut cache = PackedCache::new(&kernel, k, n);
        let Some(first) = cache.get(&kernel, k, n) else {
            return; // no packed kernel on this CPU
        };
        let storage = first.data.as_ptr();
        assert_eq!(first.data, PackedB::new(&kernel, k, n).unwrap().data);
        cache.forget();
        kernel.iter_mut().for_each(|w| *w = -*w);
        let again = cache.get(&kernel, k, n).unwrap();
        assert_eq!(again.data, PackedB::new(&kernel, k, n).unwrap().data);
        assert_eq!(again.data.as_ptr(), storage, "packed again in place");
        let copy = cache.clone();
        assert_eq!(copy.get(&kernel, k, n).unwrap().data, again.data);
    }
}
