//! A layer of the user's own: `Custom<Name>`, or just `Name` where the name is no built-in
//! and not a near miss of one, names a type `Name<T, const IN: usize, const OUT: usize>`
//! implementing `typed_nn::CustomLayer<T>` (the Rust answer to Keras's subclassed layers and
//! `Lambda`). Its output shape is its input's unless the call says otherwise with
//! `output = (..)`; the type's `Layer` impl then decides which sizes it accepts, so a mismatch
//! is a compile error.

use quote::{quote, quote_spanned};

use super::{lit, size, Emitted, LayerKind, Weight};
use crate::args::{shape, Args, Errors, Shape};
use crate::parse::{LayerCall, Value};

struct Custom {
    ty: syn::Ident,
    output: Option<Shape>,
}

pub fn parse(call: &LayerCall, errors: &mut Errors) -> Option<std::rc::Rc<dyn LayerKind>> {
    let mut args = Args::new(call);
    let explicit = call.name == "Custom";
    let ty = if explicit {
        match args.positional.first() {
            Some(Value::Name(inner)) if inner.args.is_empty() => inner.name.clone(),
            _ => {
                errors.at(
                    &call.tokens,
                    "`Custom` takes your layer's type name: `Custom<MyLayer>` or \
                     `Custom<MyLayer, output = (16,)>`",
                );
                return None;
            }
        }
    } else {
        call.name.clone()
    };
    let output = args
        .option("output")
        .map(|v| shape(v, "the output shape", errors));
    args.finish(
        usize::from(explicit),
        &format!("`{ty}` or `{ty}<output = (..)>`"),
        &["output"],
        errors,
    );
    let output = match output {
        Some(shape) => Some(shape?),
        None => None,
    };
    Some(std::rc::Rc::new(Custom { ty, output }))
}

/// `LeNet5` -> `le_net5`, Keras's style of automatic names.
pub fn snake_case(name: &str) -> String {
    let mut out = String::new();
    for (i, c) in name.chars().enumerate() {
        if c.is_uppercase() {
            if i > 0 {
                out.push('_');
            }
            out.extend(c.to_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

impl LayerKind for Custom {
    fn class(&self) -> String {
        self.ty.to_string()
    }
    fn base_name(&self) -> String {
        snake_case(&self.ty.to_string())
    }
    fn output_shape(&self, _layer: &str, input: &[usize]) -> Result<Shape, String> {
        Ok(self.output.clone().unwrap_or_else(|| input.to_vec()))
    }
    fn weights(&self, _input: &[usize]) -> Option<Vec<Weight>> {
        None
    }
    fn emit(&self, input: &[usize], output: &[usize]) -> Emitted {
        let ty = &self.ty;
        let (n, m) = (lit(size(input)), lit(size(output)));
        let full = quote_spanned!(ty.span()=> #ty<T, #n, #m>);
        Emitted {
            ctor: quote!(<#full as ::typed_nn::CustomLayer<T>>::new()),
            ty: full,
        }
    }
}
