//! What `Conv2D` and the poolings share: a window sliding over an `(H, W, C)` input with a
//! stride and TensorFlow's padding rule.

use crate::args::{Args, Errors};
use crate::parse::Value;

/// `padding = Valid | Same`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Padding {
    Valid,
    Same,
}

impl Padding {
    pub fn read(args: &mut Args<'_>, errors: &mut Errors) -> Padding {
        match args.option("padding") {
            None => Padding::Valid,
            Some(Value::Name(c)) if c.name == "Valid" && c.args.is_empty() => Padding::Valid,
            Some(Value::Name(c)) if c.name == "Same" && c.args.is_empty() => Padding::Same,
            Some(v) => {
                errors.at(v.tokens(), "padding must be `Valid` or `Same`");
                Padding::Valid
            }
        }
    }
}

/// A window's size, stride and padding.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Window {
    pub size: (usize, usize),
    pub stride: (usize, usize),
    pub padding: Padding,
}

/// Output size along one axis, or `None` when the window does not fit.
fn out(input: usize, window: usize, stride: usize, padding: Padding) -> Option<usize> {
    match padding {
        Padding::Valid => (input >= window).then(|| (input - window) / stride + 1),
        Padding::Same => Some(input.div_ceil(stride)),
    }
}

impl Window {
    /// The output's height and width on an `h x w` input, or `None` when it does not fit.
    pub fn output(&self, h: usize, w: usize) -> Option<(usize, usize)> {
        Some((
            out(h, self.size.0, self.stride.0, self.padding)?,
            out(w, self.size.1, self.stride.1, self.padding)?,
        ))
    }

    /// The const parameters of the layer types, in their order:
    /// `H, W, C, KH, KW, SH, SW, PT, PL, OH, OW`. `PT`/`PL` are TensorFlow's `same` padding
    /// before the image (the smaller half of `max((out - 1) * s + k - in, 0)`), zero for
    /// `valid`.
    pub fn geometry(&self, input: &[usize], output: &[usize]) -> [proc_macro2::Literal; 11] {
        let (h, w, c) = (input[0], input[1], input[2]);
        let (oh, ow) = (output[0], output[1]);
        let ((kh, kw), (sh, sw)) = (self.size, self.stride);
        let before = |out: usize, s: usize, k: usize, n: usize| match self.padding {
            Padding::Valid => 0,
            Padding::Same => ((out - 1) * s + k).saturating_sub(n) / 2,
        };
        [
            h,
            w,
            c,
            kh,
            kw,
            sh,
            sw,
            before(oh, sh, kh, h),
            before(ow, sw, kw, w),
            oh,
            ow,
        ]
        .map(super::lit)
    }
}
