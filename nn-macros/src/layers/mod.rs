//! One definition per layer kind: its arguments and defaults, its shape rule and errors, its
//! weights with Keras's names and shapes, and the `nn-core` type it becomes. Adding a layer
//! means a file here (and its runtime half in `nn-core/src/layers/`), plus its name in
//! [`parse`].

mod activation;
mod batch_norm;
mod conv2d;
pub mod custom;
mod dense;
mod dropout;
mod flatten;
pub mod input;
pub mod merge;
mod pool;
mod window;

use std::rc::Rc;

use proc_macro2::TokenStream;
use quote::{format_ident, quote};

pub use activation::ACTIVATIONS;

use crate::args::{float, near_miss, pretty, suggest, Args, Errors, Shape};
use crate::parse::{LayerCall, Value};

/// One weight array of a layer, as Keras keeps it.
#[derive(Clone, Debug, PartialEq)]
pub struct Weight {
    /// Keras's name (`kernel`, `bias`, `moving_mean`).
    pub name: &'static str,
    /// Keras's shape (`(in, out)` for a `Dense` kernel).
    pub shape: Shape,
    /// Whether the optimizer trains it.
    pub trainable: bool,
}

/// A layer's Rust type in the generated struct, and the expression that builds it.
pub struct Emitted {
    pub ty: TokenStream,
    pub ctor: TokenStream,
}

/// What the macro knows about one kind of layer with one input.
pub trait LayerKind {
    /// Keras's class name, as `summary()` prints it (`Dense`, `MaxPooling2D`).
    fn class(&self) -> String;
    /// Keras's base for automatic names (`dense`, `max_pooling2d`).
    fn base_name(&self) -> String;
    /// The output shape for `input`, or a message naming the layer (`layer`, as written)
    /// and the shapes.
    fn output_shape(&self, layer: &str, input: &[usize]) -> Result<Shape, String>;
    /// The weight arrays in Keras order, or `None` where only the layer's own type knows
    /// them (a custom layer).
    fn weights(&self, _input: &[usize]) -> Option<Vec<Weight>> {
        Some(Vec::new())
    }
    /// The `nn-core` type and its constructor for these shapes.
    fn emit(&self, input: &[usize], output: &[usize]) -> Emitted;
}

/// The built-in layer names (activations can be layers too).
pub const LAYERS: [&str; 9] = [
    "Flatten",
    "Dense",
    "Dropout",
    "Conv2D",
    "MaxPool2D",
    "AvgPool2D",
    "BatchNorm",
    "Activation",
    "Custom",
];

/// Reads a layer call into its kind; `None` after reporting an error that leaves nothing to
/// build. A name that is no built-in layer and not a near miss of one names the user's own
/// layer type ([`custom`]).
pub fn parse(call: &LayerCall, errors: &mut Errors) -> Option<Rc<dyn LayerKind>> {
    let name = call.name.to_string();
    Some(match name.as_str() {
        "Flatten" => flatten::parse(call, errors)?,
        "Dense" => dense::parse(call, errors)?,
        "Dropout" => dropout::parse(call, errors)?,
        "Conv2D" => conv2d::parse(call, errors)?,
        "MaxPool2D" | "AvgPool2D" => pool::parse(call, errors)?,
        "BatchNorm" => batch_norm::parse(call, errors)?,
        "Activation" => activation::parse_layer(call, errors)?,
        "Custom" => custom::parse(call, errors)?,
        act if ACTIVATIONS.contains(&act) => activation::parse_layer(call, errors)?,
        other => {
            let known: Vec<&str> = LAYERS
                .iter()
                .chain(ACTIVATIONS.iter())
                .chain(["Input"].iter())
                .chain(merge::MERGES.iter())
                .copied()
                .filter(|n| !["Activation", "Custom"].contains(n))
                .collect();
            if near_miss(other, &known).is_some() || !starts_upper(other) {
                let name = &call.name;
                let own = if starts_upper(other) {
                    format!(" (your own layer type: `Custom<{other}>`)")
                } else {
                    String::new()
                };
                errors.at(
                    &quote!(#name),
                    format!("unknown layer `{other}`{}{own}", suggest(other, &known)),
                );
                return None;
            }
            custom::parse(call, errors)?
        }
    })
}

/// Rust type names start with a capital; anything else cannot name a custom layer.
fn starts_upper(name: &str) -> bool {
    name.chars().next().is_some_and(|c| c.is_ascii_uppercase())
}

/// Kernel options shared by `Dense` and `Conv2D`.
#[derive(Clone, Debug, PartialEq)]
pub struct KernelOptions {
    pub init: String,
    pub l1: f64,
    pub l2: f64,
}

/// Kernel initializers.
pub const INITIALIZERS: [&str; 6] = [
    "GlorotUniform",
    "GlorotNormal",
    "HeNormal",
    "HeUniform",
    "LecunNormal",
    "Zeros",
];

impl KernelOptions {
    fn read(args: &mut Args<'_>, errors: &mut Errors) -> Self {
        let init = match args.option("init") {
            Some(Value::Name(c))
                if INITIALIZERS.contains(&c.name.to_string().as_str()) && c.args.is_empty() =>
            {
                c.name.to_string()
            }
            Some(v) => {
                let shown = pretty(v.tokens());
                errors.at(
                    v.tokens(),
                    format!(
                        "unknown initializer `{shown}`{}",
                        suggest(&shown, &INITIALIZERS)
                    ),
                );
                "GlorotUniform".into()
            }
            None => "GlorotUniform".into(),
        };
        let mut penalty = |key: &str, errors: &mut Errors| match args.option(key) {
            Some(v) => match float(v, key, errors) {
                Some(x) if x >= 0.0 && x.is_finite() => x,
                Some(x) => {
                    errors.at(
                        v.tokens(),
                        format!(
                            "`{key} = {x}`: a regularization factor must be a non-negative number"
                        ),
                    );
                    0.0
                }
                None => 0.0,
            },
            None => 0.0,
        };
        let l1 = penalty("l1", errors);
        let l2 = penalty("l2", errors);
        KernelOptions { init, l1, l2 }
    }

    /// `Initializer::X, Regularizer::new(l1, l2)`, the arguments the layers take.
    fn emit(&self) -> TokenStream {
        let init = format_ident!("{}", self.init);
        let (l1, l2) = (float_lit(self.l1), float_lit(self.l2));
        quote!(::typed_nn::Initializer::#init, ::typed_nn::Regularizer::new(#l1, #l2))
    }
}

pub fn lit(n: usize) -> proc_macro2::Literal {
    proc_macro2::Literal::usize_unsuffixed(n)
}

pub fn float_lit(x: f64) -> proc_macro2::Literal {
    proc_macro2::Literal::f64_suffixed(x)
}

/// Elements per sample of a shape.
pub fn size(shape: &[usize]) -> usize {
    shape.iter().product()
}

/// The width of a shape's last axis.
pub fn last(shape: &[usize]) -> usize {
    shape.last().copied().unwrap_or(1)
}

/// "`{layer}` needs {need} input, but receives shape {input}{hint}".
fn rank_error(layer: &str, input: &[usize], need: &str, hint: &str) -> String {
    format!(
        "`{layer}` needs {need} input, but receives shape {}{hint}",
        crate::args::show(input)
    )
}
