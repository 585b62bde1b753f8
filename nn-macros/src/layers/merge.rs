//! Keras's merge layers: `Add`, `Subtract`, `Multiply`, `Average`, `Maximum`, `Minimum`
//! (inputs of one shape) and `Concatenate<axis = ..>` (Keras's axis numbering: `-1`, the
//! default, is the last axis and `1` the first axis of a sample).

use proc_macro2::TokenStream;
use quote::quote;

use super::lit;
use crate::args::{show, Args, Errors, Shape};
use crate::parse::{LayerCall, Value};

/// The names of the merges.
pub const MERGES: [&str; 7] = [
    "Add",
    "Subtract",
    "Multiply",
    "Average",
    "Maximum",
    "Minimum",
    "Concatenate",
];

/// A merge as written.
#[derive(Clone, Debug, PartialEq)]
pub enum MergeKind {
    Elementwise(&'static str),
    /// `axis` in Keras's numbering.
    Concatenate {
        axis: i64,
    },
}

/// Reads a merge's options; `None` after an error.
pub fn parse(call: &LayerCall, errors: &mut Errors) -> Option<MergeKind> {
    let name = call.name.to_string();
    let known = MERGES.iter().find(|m| **m == name)?;
    let mut args = Args::new(call);
    if *known != "Concatenate" {
        args.finish(0, &format!("`{name}(a, b, ..)`"), &[], errors);
        return Some(MergeKind::Elementwise(known));
    }
    let axis = match args.option("axis") {
        None => Some(-1),
        Some(Value::Int(n, _)) => i64::try_from(*n).ok(),
        Some(Value::Float(x, _)) if x.fract() == 0.0 => Some(*x as i64),
        Some(v) => {
            errors.at(
                v.tokens(),
                "the axis of `Concatenate` must be a whole number",
            );
            None
        }
    };
    args.finish(0, "`Concatenate<axis = A>(a, b, ..)`", &["axis"], errors);
    Some(MergeKind::Concatenate { axis: axis? })
}

impl MergeKind {
    /// Keras's class name.
    pub fn class(&self) -> &'static str {
        match self {
            MergeKind::Elementwise(name) => name,
            MergeKind::Concatenate { .. } => "Concatenate",
        }
    }

    /// Keras's base for automatic names.
    pub fn base_name(&self) -> String {
        self.class().to_lowercase()
    }

    /// The output shape of merging `inputs`, or a message naming the merge (`merge`, as
    /// written) and the shapes.
    pub fn output_shape(&self, merge: &str, inputs: &[Shape]) -> Result<Shape, String> {
        let shapes = inputs
            .iter()
            .map(|s| show(s))
            .collect::<Vec<_>>()
            .join(", ");
        if inputs.len() < 2 {
            return Err(format!("`{merge}` merges at least two tensors"));
        }
        match self {
            MergeKind::Elementwise("Subtract") if inputs.len() != 2 => Err(format!(
                "`{merge}` takes exactly two tensors, got {}",
                inputs.len()
            )),
            MergeKind::Elementwise(name) => {
                if inputs.iter().any(|s| s != &inputs[0]) {
                    return Err(format!(
                        "`{merge}`: `{name}` needs inputs of one shape, but receives {shapes}"
                    ));
                }
                Ok(inputs[0].clone())
            }
            MergeKind::Concatenate { axis } => {
                let rank = inputs[0].len();
                if inputs.iter().any(|s| s.len() != rank) {
                    return Err(format!(
                        "`{merge}`: `Concatenate` needs inputs of one rank, but receives {shapes}"
                    ));
                }
                let Some(k) = sample_axis(*axis, rank) else {
                    return Err(format!(
                        "`{merge}`: axis {axis} is not an axis of the inputs {shapes}; Keras \
                         numbers a sample's axes 1 to {rank} (or -1 to -{rank} from the last), \
                         and 0 is the batch"
                    ));
                };
                let mismatch = inputs.iter().any(|s| {
                    s.iter()
                        .zip(&inputs[0])
                        .enumerate()
                        .any(|(i, (a, b))| i != k && a != b)
                });
                if mismatch {
                    return Err(format!(
                        "`{merge}`: `Concatenate` on axis {axis} needs the inputs to agree on \
                         every other axis, but receives {shapes}"
                    ));
                }
                let mut out = inputs[0].clone();
                out[k] = inputs.iter().map(|s| s[k]).sum();
                Ok(out)
            }
        }
    }

    /// The `nn-core` merge for inputs of these shapes.
    pub fn emit(&self, inputs: &[Shape]) -> TokenStream {
        let merge = quote!(::typed_nn::__private::Merge);
        match self {
            MergeKind::Elementwise(name) => {
                let name = quote::format_ident!("{name}");
                quote!(#merge::#name)
            }
            MergeKind::Concatenate { axis } => {
                let rank = inputs[0].len();
                let k = sample_axis(*axis, rank).expect("checked");
                let outer = lit(inputs[0][..k].iter().product());
                quote!(#merge::Concatenate { outer: #outer })
            }
        }
    }
}

/// Keras's axis (counting the batch as 0, negative from the end) as an index into a
/// sample's shape of `rank` axes.
fn sample_axis(axis: i64, rank: usize) -> Option<usize> {
    let rank = rank as i64;
    let k = if axis < 0 { rank + axis } else { axis - 1 };
    (0..rank).contains(&k).then_some(k as usize)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn concatenate_joins_on_keras_axes() {
        let c = |axis| MergeKind::Concatenate { axis };
        let (a, b) = (vec![3, 4], vec![2, 4]);
        assert_eq!(
            c(1).output_shape("c", &[a.clone(), b.clone()]),
            Ok(vec![5, 4])
        );
        assert!(c(-1).output_shape("c", &[a.clone(), b.clone()]).is_err());
        assert!(c(0).output_shape("c", &[a.clone(), b.clone()]).is_err());
        assert!(c(3).output_shape("c", &[a.clone(), b]).is_err());
        assert_eq!(
            c(-1).output_shape("c", &[vec![4, 4, 4], vec![4, 4, 3]]),
            Ok(vec![4, 4, 7])
        );
        let add = MergeKind::Elementwise("Add");
        assert!(add
            .output_shape("a", &[vec![8], vec![4]])
            .unwrap_err()
            .contains("(8,), (4,)"));
        assert_eq!(add.output_shape("a", &[vec![8], vec![8]]), Ok(vec![8]));
    }
}
