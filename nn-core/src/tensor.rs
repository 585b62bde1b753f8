//! Fixed-shape tensors: the nested arrays a model takes and returns.
//!
//! A model's input and output are plain nested arrays (`[T; N]`, `[[T; W]; H]`,
//! `[[[T; C]; W]; H]`, channels last). They are contiguous, so a slice of them can be viewed as
//! one flat slice of elements without copying; the layers work on those flat rows.
//!
//! A graph with several inputs or outputs takes or returns a tuple of such arrays. A tuple of
//! arrays of `T` has no padding, so it too is one flat record of elements; Rust may order the
//! fields in memory as it likes, so each part's place in the record is read from the layout
//! (`offset_of!`) rather than assumed.

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

    /// The shape of each part: one for an array, one per element for a tuple of arrays.
    fn part_shapes() -> &'static [&'static [usize]] {
        const { &[Self::SHAPE] }
    }
    /// Where each part starts in the flat record, in elements.
    fn part_offsets() -> &'static [usize] {
        &[0]
    }

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

/// Tuples of tensors: the inputs or outputs of a graph with several of them. `SHAPE` is the
/// flat record (`[SIZE]`); [`Tensor::part_shapes`] and [`Tensor::part_offsets`] give the parts.
macro_rules! tuple_tensor {
    ($($part:ident $index:tt),+) => {
        impl<T: Float, $($part: Tensor<T>),+> Tensor<T> for ($($part,)+) {
            const SHAPE: &'static [usize] = &[Self::SIZE];
            const SIZE: usize = 0 $(+ $part::SIZE)+;

            fn as_flat(&self) -> &[T] {
                Self::flatten_slice(core::slice::from_ref(self))
            }
            fn as_flat_mut(&mut self) -> &mut [T] {
                Self::flatten_slice_mut(core::slice::from_mut(self))
            }
            fn flatten_slice(items: &[Self]) -> &[T] {
                const { assert!(core::mem::size_of::<Self>() == Self::SIZE * core::mem::size_of::<T>()) };
                // SAFETY: every part is an array of `T`, so the tuple has `T`'s alignment and,
                // as the assertion above checks, no padding: `items` is `len * SIZE`
                // initialised `T`s in a row.
                unsafe { core::slice::from_raw_parts(items.as_ptr().cast::<T>(), items.len() * Self::SIZE) }
            }
            fn flatten_slice_mut(items: &mut [Self]) -> &mut [T] {
                const { assert!(core::mem::size_of::<Self>() == Self::SIZE * core::mem::size_of::<T>()) };
                // SAFETY: as in `flatten_slice`; any bit pattern is a valid `T`.
                unsafe {
                    core::slice::from_raw_parts_mut(items.as_mut_ptr().cast::<T>(), items.len() * Self::SIZE)
                }
            }
            fn zeros() -> Self {
                ($($part::zeros(),)+)
            }
            fn part_shapes() -> &'static [&'static [usize]] {
                const { &[$($part::SHAPE),+] }
            }
            fn part_offsets() -> &'static [usize] {
                const { &[$(core::mem::offset_of!(Self, $index) / core::mem::size_of::<T>()),+] }
            }
        }
    };
}

tuple_tensor!(A 0, B 1);
tuple_tensor!(A 0, B 1, C 2);
tuple_tensor!(A 0, B 1, C 2, D 3);

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

    #[test]
    fn a_tuple_is_one_flat_record_whose_parts_sit_where_the_layout_puts_them() {
        type Pair = ([f32; 3], [[f32; 2]; 2]);
        let pair: Pair = ([1.0, 2.0, 3.0], [[4.0, 5.0], [6.0, 7.0]]);
        assert_eq!(Pair::SIZE, 7);
        assert_eq!(Pair::part_shapes(), &[&[3][..], &[2, 2][..]]);
        let flat = pair.as_flat();
        let offsets = Pair::part_offsets();
        assert_eq!(&flat[offsets[0]..][..3], pair.0.as_flat());
        assert_eq!(&flat[offsets[1]..][..4], pair.1.as_flat());
        let both = [pair, pair];
        assert_eq!(Pair::flatten_slice(&both).len(), 14);
        assert_eq!(<[f32; 4]>::part_offsets(), &[0]);
        assert_eq!(<[f32; 4]>::part_shapes(), &[&[4][..]]);
    }
}
