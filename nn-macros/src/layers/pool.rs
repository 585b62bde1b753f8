//! `MaxPool2D<P>` and `AvgPool2D<P>`: Keras's poolings (average `same` divides by the real
//! cells of each window).

use quote::{format_ident, quote};

use super::window::{Padding, Window};
use super::{rank_error, Emitted, LayerKind};
use crate::args::{pair, pretty, Args, Errors, Shape};
use crate::parse::LayerCall;

struct Pool {
    max: bool,
    window: Window,
}

pub fn parse(call: &LayerCall, errors: &mut Errors) -> Option<std::rc::Rc<dyn LayerKind>> {
    let name = call.name.to_string();
    let mut args = Args::new(call);
    let pool = args
        .positional
        .first()
        .map_or(Some((2, 2)), |v| pair(v, "the pool size", errors));
    let stride = args.option("stride").map(|v| pair(v, "the stride", errors));
    let padding = Padding::read(&mut args, errors);
    args.finish(1, &format!("`{name}<P>`"), &["stride", "padding"], errors);
    let pool = pool?;
    let stride = match stride {
        None => pool,
        Some(s) => s?,
    };
    if pool.0 == 0 || pool.1 == 0 || stride.0 == 0 || stride.1 == 0 {
        errors.at(
            &call.tokens,
            format!(
                "`{}`: pool size and stride must be at least 1",
                pretty(&call.tokens)
            ),
        );
        return None;
    }
    Some(std::rc::Rc::new(Pool {
        max: name == "MaxPool2D",
        window: Window {
            size: pool,
            stride,
            padding,
        },
    }))
}

impl LayerKind for Pool {
    fn class(&self) -> String {
        if self.max {
            "MaxPooling2D"
        } else {
            "AveragePooling2D"
        }
        .into()
    }
    fn base_name(&self) -> String {
        if self.max {
            "max_pooling2d"
        } else {
            "average_pooling2d"
        }
        .into()
    }
    fn output_shape(&self, layer: &str, input: &[usize]) -> Result<Shape, String> {
        let [h, w, c] = input else {
            return Err(rank_error(
                layer,
                input,
                "an (H, W, C)",
                "; start the chain with `Input<H, W, C>`",
            ));
        };
        match self.window.output(*h, *w) {
            Some((oh, ow)) => Ok(vec![oh, ow, *c]),
            None => Err(format!(
                "`{layer}`: pooling window {}x{} does not fit the {h}x{w} input of this layer (padding = Valid)",
                self.window.size.0, self.window.size.1
            )),
        }
    }
    fn emit(&self, input: &[usize], output: &[usize]) -> Emitted {
        let g = self.window.geometry(input, output);
        let name = format_ident!("{}", if self.max { "MaxPool2D" } else { "AvgPool2D" });
        Emitted {
            ty: quote!(::typed_nn::layers::#name<#(#g),*>),
            ctor: quote!(::typed_nn::layers::#name::new()),
        }
    }
}
