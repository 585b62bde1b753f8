//! Activations: as a layer of their own (`Relu`, `LeakyRelu<0.1>`, `Activation<Swish>`) and
//! as the `ACT` argument of `Dense` and `Conv2D`. A name that is no built-in activation and
//! not a near miss of one names the user's own `typed_nn::Activation` type.

use proc_macro2::TokenStream;
use quote::quote;

use super::{float_lit, last, lit, near_miss, size, starts_upper, Emitted, LayerKind};
use crate::args::{float, suggest, Args, Errors, Shape};
use crate::parse::{LayerCall, Value};

/// The names the DSL accepts for built-in activations.
pub const ACTIVATIONS: [&str; 7] = [
    "Relu",
    "LeakyRelu",
    "Elu",
    "Sigmoid",
    "Tanh",
    "Softmax",
    "Linear",
];

/// An activation function with its parameter.
#[derive(Clone, Debug, PartialEq)]
pub enum Act {
    Linear,
    Relu,
    LeakyRelu(f64),
    Elu(f64),
    Sigmoid,
    Tanh,
    Softmax,
    /// The user's own type implementing `typed_nn::Activation` and `Default`.
    Custom(syn::Ident),
}

/// Reads an activation name (`Relu`, `LeakyRelu<0.1>`, `Swish`, ...).
pub fn parse_act(call: &LayerCall, errors: &mut Errors) -> Option<Act> {
    let name = call.name.to_string();
    let param = |default: f64, errors: &mut Errors| -> Option<f64> {
        let mut args = Args::new(call);
        let value = match args.positional.first() {
            Some(v) => float(v, &format!("the parameter of `{name}`"), errors)?,
            None => args
                .option("alpha")
                .map_or(Some(default), |v| float(v, "alpha", errors))?,
        };
        args.finish(1, &format!("`{name}<ALPHA>`"), &["alpha"], errors);
        Some(value)
    };
    let plain = |act: Act, errors: &mut Errors| {
        Args::new(call).finish(0, &format!("`{name}`"), &[], errors);
        Some(act)
    };
    match name.as_str() {
        "Relu" => plain(Act::Relu, errors),
        "Sigmoid" => plain(Act::Sigmoid, errors),
        "Tanh" => plain(Act::Tanh, errors),
        "Softmax" => plain(Act::Softmax, errors),
        "Linear" => plain(Act::Linear, errors),
        "LeakyRelu" => {
            let a = param(0.3, errors)?;
            if !(a >= 0.0 && a.is_finite()) {
                errors.at(
                    &call.tokens,
                    format!("`LeakyRelu<{a}>`: the negative slope must be a non-negative number"),
                );
                return None;
            }
            Some(Act::LeakyRelu(a))
        }
        "Elu" => {
            let a = param(1.0, errors)?;
            if !(a > 0.0 && a.is_finite()) {
                errors.at(&call.tokens, format!("`Elu<{a}>`: alpha must be positive"));
                return None;
            }
            Some(Act::Elu(a))
        }
        other if near_miss(other, &ACTIVATIONS).is_none() && starts_upper(other) => {
            plain(Act::Custom(call.name.clone()), errors)
        }
        other => {
            errors.at(
                &call.tokens,
                format!(
                    "unknown activation `{other}`{}",
                    suggest(other, &ACTIVATIONS)
                ),
            );
            None
        }
    }
}

/// The activation given positionally at `index` or as `activation = ...` (default linear).
pub fn optional_act(args: &mut Args<'_>, index: usize, errors: &mut Errors) -> Act {
    let value = args
        .positional
        .get(index)
        .copied()
        .or_else(|| args.option("activation"));
    match value {
        None => Act::Linear,
        Some(Value::Name(call)) => parse_act(call, errors).unwrap_or(Act::Linear),
        Some(other) => {
            errors.at(
                other.tokens(),
                "expected an activation such as `Relu` or `Softmax`",
            );
            Act::Linear
        }
    }
}

/// The activation's type and a value of it.
pub fn emit_act(act: &Act) -> (TokenStream, TokenStream) {
    let path = quote!(::typed_nn::activation);
    match act {
        Act::Linear => (quote!(#path::Linear), quote!(#path::Linear)),
        Act::Relu => (quote!(#path::Relu), quote!(#path::Relu)),
        Act::Sigmoid => (quote!(#path::Sigmoid), quote!(#path::Sigmoid)),
        Act::Tanh => (quote!(#path::Tanh), quote!(#path::Tanh)),
        Act::Softmax => (quote!(#path::Softmax), quote!(#path::Softmax)),
        Act::LeakyRelu(a) => {
            let a = float_lit(*a);
            (quote!(#path::LeakyRelu), quote!(#path::LeakyRelu::new(#a)))
        }
        Act::Elu(a) => {
            let a = float_lit(*a);
            (quote!(#path::Elu), quote!(#path::Elu::new(#a)))
        }
        Act::Custom(ty) => (
            quote!(#ty),
            quote!(<#ty as ::core::default::Default>::default()),
        ),
    }
}

/// An activation layer.
struct ActivationLayer(Act);

/// `Relu`, `LeakyRelu<0.1>`, ... as layers, and `Activation<NAME>` (Keras's `Activation`).
pub fn parse_layer(call: &LayerCall, errors: &mut Errors) -> Option<std::rc::Rc<dyn LayerKind>> {
    let act = if call.name == "Activation" {
        let args = Args::new(call);
        let value = args.positional.first().copied();
        args.finish(1, "`Activation<NAME>`", &[], errors);
        match value {
            Some(Value::Name(inner)) => parse_act(inner, errors)?,
            _ => {
                errors.at(
                    &call.tokens,
                    "`Activation` takes an activation: `Activation<Relu>` or `Activation<MyActivation>`",
                );
                return None;
            }
        }
    } else {
        parse_act(call, errors)?
    };
    Some(std::rc::Rc::new(ActivationLayer(act)))
}

impl LayerKind for ActivationLayer {
    fn class(&self) -> String {
        match self.0 {
            Act::Relu => "ReLU",
            Act::LeakyRelu(_) => "LeakyReLU",
            Act::Elu(_) => "ELU",
            Act::Softmax => "Softmax",
            _ => "Activation",
        }
        .into()
    }
    fn base_name(&self) -> String {
        match self.0 {
            Act::Relu => "re_lu",
            Act::LeakyRelu(_) => "leaky_re_lu",
            Act::Elu(_) => "elu",
            Act::Softmax => "softmax",
            _ => "activation",
        }
        .into()
    }
    fn output_shape(&self, _layer: &str, input: &[usize]) -> Result<Shape, String> {
        Ok(input.to_vec())
    }
    fn emit(&self, input: &[usize], _output: &[usize]) -> Emitted {
        let (ty, value) = emit_act(&self.0);
        let (n, last) = (lit(size(input)), lit(last(input)));
        let layers = quote!(::typed_nn::layers);
        Emitted {
            ty: quote!(#layers::ActivationLayer<#ty, #n, #last>),
            ctor: quote!(#layers::ActivationLayer::new(#value)),
        }
    }
}
