//! `Input<N>`, `Input<H, W>`, `Input<H, W, C>`: a model input of that per-sample shape.

use crate::args::{int, pretty, Args, Errors, Shape};
use crate::parse::LayerCall;

/// The input's shape; `None` after reporting an error.
pub fn parse(call: &LayerCall, errors: &mut Errors) -> Option<Shape> {
    let args = Args::new(call);
    if args.positional.is_empty() || args.positional.len() > 3 {
        errors.at(
            &call.tokens,
            "`Input` takes 1 to 3 dimensions: `Input<N>`, `Input<H, W>` or `Input<H, W, C>`",
        );
        return None;
    }
    let dims: Option<Shape> = args
        .positional
        .iter()
        .map(|v| int(v, "an Input dimension", errors))
        .collect();
    args.finish(3, "`Input<H, W, C>`", &[], errors);
    let dims = dims?;
    if dims.contains(&0) {
        errors.at(
            &call.tokens,
            format!(
                "`{}`: every dimension must be at least 1",
                pretty(&call.tokens)
            ),
        );
        return None;
    }
    Some(dims)
}
