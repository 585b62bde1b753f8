//! Layers of the user's own, named in `model!` like built-ins: Keras's subclassed layers and
//! `Lambda`, in Rust's idiom.
//!
//! A custom layer is a type `Name<T, const IN: usize, const OUT: usize>` (elements per sample
//! in and out) that implements [`Layer`] for the sizes it accepts and [`CustomLayer`]. In
//! `model!` it is written by name, `=> Name` (its output has its input's shape) or
//! `=> Name<output = (16,)>`; where its `Layer` impl does not cover the sizes the model gives
//! it, the model does not compile. A weightless activation needs less: implement
//! [`crate::Activation`] (and `Default`) and write `Activation<Name>` or `Dense<8, Name>`.

use super::Layer;
use crate::Float;

/// A layer type of the user's own (see the module docs).
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a custom layer over `{T}`",
    note = "a custom layer is a type `Name<T, IN, OUT>` implementing `Layer<T>` and `CustomLayer<T>`; where the model gives it other sizes than its `Layer` impl accepts, it does not fit there"
)]
pub trait CustomLayer<T: Float>: Layer<T> + Sized {
    /// Its number of weights (Keras's "Param #"), trainable or not.
    const PARAMS: usize;
    /// The layer before initialisation (`model!` then calls [`Layer::initialize`]).
    fn new() -> Self;
}
