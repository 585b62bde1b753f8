//! `Flatten`: row-major (C order) over all input axes, as Keras.

use quote::quote;

use super::{lit, size, Emitted, LayerKind};
use crate::args::{Args, Errors, Shape};
use crate::parse::LayerCall;

struct Flatten;

pub fn parse(call: &LayerCall, errors: &mut Errors) -> Option<std::rc::Rc<dyn LayerKind>> {
    Args::new(call).finish(0, "`Flatten`", &[], errors);
    Some(std::rc::Rc::new(Flatten))
}

impl LayerKind for Flatten {
    fn class(&self) -> String {
        "Flatten".into()
    }
    fn base_name(&self) -> String {
        "flatten".into()
    }
    fn output_shape(&self, _layer: &str, input: &[usize]) -> Result<Shape, String> {
        Ok(vec![size(input)])
    }
    fn emit(&self, input: &[usize], _output: &[usize]) -> Emitted {
        let n = lit(size(input));
        Emitted {
            ty: quote!(::typed_nn::layers::Flatten<#n>),
            ctor: quote!(::typed_nn::layers::Flatten::new()),
        }
    }
}
