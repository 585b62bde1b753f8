//! `Dense<UNITS, ACT>`: `act(x . kernel + bias)` on a 1-D input; kernel `(in, out)`, bias `(out)`.

use quote::quote;

use super::activation::{emit_act, optional_act, Act};
use super::{last, lit, rank_error, size, Emitted, KernelOptions, LayerKind, Weight};
use crate::args::{int, pretty, Args, Errors, Shape};
use crate::parse::LayerCall;

struct Dense {
    units: usize,
    act: Act,
    kernel: KernelOptions,
}

pub fn parse(call: &LayerCall, errors: &mut Errors) -> Option<std::rc::Rc<dyn LayerKind>> {
    let mut args = Args::new(call);
    let Some(units) = args
        .positional
        .first()
        .and_then(|v| int(v, "the number of units of `Dense`", errors))
    else {
        if args.positional.is_empty() {
            errors.at(
                &call.tokens,
                "`Dense` needs its number of units: `Dense<UNITS>` or `Dense<UNITS, ACT>`",
            );
        }
        return None;
    };
    if units == 0 {
        errors.at(
            &call.tokens,
            format!(
                "`{}`: a Dense layer needs at least one unit",
                pretty(&call.tokens)
            ),
        );
    }
    let act = optional_act(&mut args, 1, errors);
    let kernel = KernelOptions::read(&mut args, errors);
    args.finish(
        2,
        "`Dense<UNITS, ACT>`",
        &["activation", "init", "l1", "l2"],
        errors,
    );
    if units == 0 {
        return None;
    }
    Some(std::rc::Rc::new(Dense { units, act, kernel }))
}

impl LayerKind for Dense {
    fn class(&self) -> String {
        "Dense".into()
    }
    fn base_name(&self) -> String {
        "dense".into()
    }
    fn output_shape(&self, layer: &str, input: &[usize]) -> Result<Shape, String> {
        if input.len() != 1 {
            return Err(rank_error(
                layer,
                input,
                "a 1-D",
                "; add `Flatten` before it",
            ));
        }
        Ok(vec![self.units])
    }
    fn weights(&self, input: &[usize]) -> Option<Vec<Weight>> {
        Some(vec![
            Weight {
                name: "kernel",
                shape: vec![last(input), self.units],
                trainable: true,
            },
            Weight {
                name: "bias",
                shape: vec![self.units],
                trainable: true,
            },
        ])
    }
    fn emit(&self, input: &[usize], _output: &[usize]) -> Emitted {
        let (ty, value) = emit_act(&self.act);
        let (n, out) = (lit(size(input)), lit(self.units));
        let options = self.kernel.emit();
        Emitted {
            ty: quote!(::typed_nn::layers::Dense<T, #n, #out, #ty>),
            ctor: quote!(::typed_nn::layers::Dense::new(#value, #options)),
        }
    }
}
