//! `Dropout<RATE>`: identity at inference, inverted dropout in training.

use quote::quote;

use super::{float_lit, lit, size, Emitted, LayerKind};
use crate::args::{float, pretty, Args, Errors, Shape};
use crate::parse::LayerCall;

struct Dropout {
    rate: f64,
}

pub fn parse(call: &LayerCall, errors: &mut Errors) -> Option<std::rc::Rc<dyn LayerKind>> {
    let mut args = Args::new(call);
    let Some(rate) = args
        .positional
        .first()
        .copied()
        .or_else(|| args.option("rate"))
    else {
        errors.at(&call.tokens, "`Dropout` needs its rate: `Dropout<0.5>`");
        return None;
    };
    let rate = float(rate, "the rate of `Dropout`", errors)?;
    args.finish(1, "`Dropout<RATE>`", &["rate"], errors);
    if !(0.0..1.0).contains(&rate) {
        errors.at(
            &call.tokens,
            format!(
                "`{}`: the dropout rate must be in [0, 1), got {rate}",
                pretty(&call.tokens)
            ),
        );
        return None;
    }
    Some(std::rc::Rc::new(Dropout { rate }))
}

impl LayerKind for Dropout {
    fn class(&self) -> String {
        "Dropout".into()
    }
    fn base_name(&self) -> String {
        "dropout".into()
    }
    fn output_shape(&self, _layer: &str, input: &[usize]) -> Result<Shape, String> {
        Ok(input.to_vec())
    }
    fn emit(&self, input: &[usize], _output: &[usize]) -> Emitted {
        let (n, rate) = (lit(size(input)), float_lit(self.rate));
        Emitted {
            ty: quote!(::typed_nn::layers::Dropout<#n>),
            ctor: quote!(::typed_nn::layers::Dropout::new(#rate)),
        }
    }
}
