//! `Conv2D<FILTERS, K, ACT>`: cross-correlation over an `(H, W, C)` input; kernel
//! `(kh, kw, in, filters)`, bias `(filters)`.

use quote::quote;

use super::activation::{emit_act, optional_act, Act};
use super::window::{Padding, Window};
use super::{lit, rank_error, Emitted, KernelOptions, LayerKind, Weight};
use crate::args::{int, pair, pretty, Args, Errors, Shape};
use crate::parse::LayerCall;

struct Conv2D {
    filters: usize,
    window: Window,
    act: Act,
    kernel: KernelOptions,
}

pub fn parse(call: &LayerCall, errors: &mut Errors) -> Option<std::rc::Rc<dyn LayerKind>> {
    let mut args = Args::new(call);
    let filters = args
        .positional
        .first()
        .and_then(|v| int(v, "the number of filters of `Conv2D`", errors));
    let kernel_size = args
        .positional
        .get(1)
        .and_then(|v| pair(v, "the kernel size of `Conv2D`", errors));
    let act = optional_act(&mut args, 2, errors);
    let stride = args
        .option("stride")
        .map_or(Some((1, 1)), |v| pair(v, "the stride", errors));
    let padding = Padding::read(&mut args, errors);
    let kernel = KernelOptions::read(&mut args, errors);
    args.finish(
        3,
        "`Conv2D<FILTERS, K, ACT>`",
        &["activation", "stride", "padding", "init", "l1", "l2"],
        errors,
    );
    let (Some(filters), Some(size), Some(stride)) = (filters, kernel_size, stride) else {
        if call.args.len() < 2 {
            errors.at(
                &call.tokens,
                "`Conv2D` needs its filters and kernel size: `Conv2D<FILTERS, K>`",
            );
        }
        return None;
    };
    if filters == 0 || size.0 == 0 || size.1 == 0 || stride.0 == 0 || stride.1 == 0 {
        errors.at(
            &call.tokens,
            format!(
                "`{}`: filters, kernel size and stride must all be at least 1",
                pretty(&call.tokens)
            ),
        );
        return None;
    }
    let window = Window {
        size,
        stride,
        padding,
    };
    Some(std::rc::Rc::new(Conv2D {
        filters,
        window,
        act,
        kernel,
    }))
}

impl LayerKind for Conv2D {
    fn class(&self) -> String {
        "Conv2D".into()
    }
    fn base_name(&self) -> String {
        "conv2d".into()
    }
    fn output_shape(&self, layer: &str, input: &[usize]) -> Result<Shape, String> {
        let [h, w, _] = input else {
            return Err(rank_error(
                layer,
                input,
                "an (H, W, C)",
                "; start the chain with `Input<H, W, C>`",
            ));
        };
        match self.window.output(*h, *w) {
            Some((oh, ow)) => Ok(vec![oh, ow, self.filters]),
            None => Err(format!(
                "`{layer}`: kernel {}x{} does not fit the {h}x{w} input of this layer (padding = Valid)",
                self.window.size.0, self.window.size.1
            )),
        }
    }
    fn weights(&self, input: &[usize]) -> Option<Vec<Weight>> {
        let (kh, kw) = self.window.size;
        Some(vec![
            Weight {
                name: "kernel",
                shape: vec![kh, kw, input[2], self.filters],
                trainable: true,
            },
            Weight {
                name: "bias",
                shape: vec![self.filters],
                trainable: true,
            },
        ])
    }
    fn emit(&self, input: &[usize], output: &[usize]) -> Emitted {
        let (ty, value) = emit_act(&self.act);
        let [h, w, c, kh, kw, sh, sw, pt, pl, oh, ow] = self.window.geometry(input, output);
        let f = lit(self.filters);
        let options = self.kernel.emit();
        Emitted {
            ty: quote!(::typed_nn::layers::Conv2D<T, #h, #w, #c, #f, #kh, #kw, #sh, #sw, #pt, #pl, #oh, #ow, #ty>),
            ctor: quote!(::typed_nn::layers::Conv2D::new(#value, #options)),
        }
    }
}
