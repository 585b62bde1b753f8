use typed_nn::layers::{Mode, Upstream};
use typed_nn::prelude::*;

/// A layer that keeps its input's shape: its `Layer` impl exists only for `IN == OUT`.
struct Keep<T, const IN: usize, const OUT: usize>(core::marker::PhantomData<T>);

impl<T: Float, const N: usize> Layer<T> for Keep<T, N, N> {
    fn input_size(&self) -> usize { N }
    fn output_size(&self) -> usize { N }
    fn forward(&self, x: &[T], y: &mut [T], _: &mut [T], _: Mode<'_>) { y.copy_from_slice(x) }
    fn backward(&self, _: &[T], _: &[T], _: &mut [T], up: Upstream<'_, T>, dx: Option<&mut [T]>, _: &mut [T]) {
        if let Some(dx) = dx { dx.copy_from_slice(up.output()) }
    }
}

impl<T: Float, const N: usize> CustomLayer<T> for Keep<T, N, N> {
    const PARAMS: usize = 0;
    fn new() -> Self { Keep(core::marker::PhantomData) }
}

model! {
    struct Widened { Input<4> => Keep<output = (5,)> => Dense<2> }
}

fn main() {}
