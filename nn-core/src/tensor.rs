//! Fixed-shape tensors: the nested arrays a model takes and returns.
//!
//! A model's input and output are plain nested arrays (`[T; N]`, `[[T; W]; H]`,
//! `[[[T; C]; W]; H]`, channels last). They are contiguous, so a slice of them can be viewed as
//! one flat slice of elements without copying; the layers work on those flat rows.

use crate::Float;

/// A nested array of `T` with a shape fixed at compile time.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a tensor of `{T}`",
    label = "expected a nested array of the model's element type",
    note = "model inputs, outputs and targets are `[T; N]`, `[[T; W]; H]` or `[[[T; C]; W]; H]` (channels last)"
)]
pub trait Tensor<T: Float>: Copy + Send + Sync + 'static {
    /// The shape, outermost axis first (Keras's shape without the batch axis).
    const SHAPE: &'static [usize];
    /// The number of elements.
    const SIZE: usize;

    /// The elements in row-major (C) order.
    fn as_flat(&self) -> &[T];
    /// The elements in row-major (C) order, writable.
    fn as_flat_mut(&mut self) -> &mut [T];
    /// A slice of tensors as one flat slice of `len * SIZE` elements, without copying.
    fn flatten_slice(items: &[Self]) -> &[T];
    /// A mutable slice of tensors as one flat slice, without copying.
    fn flatten_slice_mut(items: &mut [Self]) -> &mut [T];

    /// A tensor of zeros.
    fn zeros() -> Self;

    /// Copies `SIZE` elements from a flat row-major slice.
    ///
    /// # Panics
    /// If `flat.len() != SIZE`.
    fn from_flat(flat: &[T]) -> Self {
        let mut t = Self::zeros();
        t.as_flat_mut().copy_from_slice(flat);
        t
    }
}

impl<T: Float, const N: usize> Tensor<T> for [T; N] {
    const SHAPE: &'static [usize] = &[N];
    const SIZE: usize = N;
    fn as_flat(&self) -> &[T] {
        self
    }
    fn as_flat_mut(&mut self) -> &mut [T] {
        self
    }
    fn flatten_slice(items: &[Self]) -> &[T] {
        items.as_flattened()
    }
    fn flatten_slice_mut(items: &mut [Self]) -> &mut [T] {
        items.as_flattened_mut()
    }
    fn zeros() -> Self {
        [T::zero(); N]
    }
}

impl<T: Float, const H: usize, const W: usize> Tensor<T> for [[T; W]; H] {
    const SHAPE: &'static [usize] = &[H, W];
    const SIZE: usize = H * W;
    fn as_flat(&self) -> &[T] {
        self.as_flattened()
    }
    fn as_flat_mut(&mut self) -> &mut [T] {
        self.as_flattened_mut()
    }
    fn flatten_slice(items: &[Self]) -> &[T] {
        items.as_flattened().as_flattened()
    }
    fn flatten_slice_mut(items: &mut [Self]) -> &mut [T] {
        items.as_flattened_mut().as_flattened_mut()
    }
    fn zeros() -> Self {
        [[T::zero(); W]; H]
    }
}

impl<T: Float, const H: usize, const W: usize, const C: usize> Tensor<T> for [[[T; C]; W]; H] {
    const SHAPE: &'static [usize] = &[H, W, C];
    const SIZE: usize = H * W * C;
    fn as_flat(&self) -> &[T] {
        self.as_flattened().as_flattened()
    }
    fn as_flat_mut(&mut self) -> &mut [T] {
        self.as_flattened_mut().as_flattened_mut()
    }
    fn flatten_slice(items: &[Self]) -> &[T] {
        items.as_flattened().as_flattened().as_flattened()
    }
    fn flatten_slice_mut(items: &mut [Self]) -> &mut [T] {
        items
            .as_flattened_mut()
            .as_flattened_mut()
            .as_flattened_mut()
    }
    fn zeros() -> Self {
        [[[T::zero(); C]; W]; H]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_arrays_flatten_in_row_major_order() {
        let x: [[[f32; 2]; 3]; 2] = [
            [[0.0, 1.0], [2.0, 3.0], [4.0, 5.0]],
            [[6.0, 7.0], [8.0, 9.0], [10.0, 11.0]],
        ];
        let flat = x.as_flat();
        assert_eq!(flat.len(), 12);
        assert!(flat.iter().enumerate().all(|(i, v)| *v == i as f32));
        assert_eq!(<[[[f32; 2]; 3]; 2]>::SHAPE, &[2, 3, 2]);
        let both = [x, x];
        assert_eq!(<[[[f32; 2]; 3]; 2]>::flatten_slice(&both).len(), 24);
        assert_eq!(<[[[f32; 2]; 3]; 2]>::from_flat(flat), x);
    }
}
