//! `#[weights = "file.safetensors"]`: read a weights file while compiling, check it against
//! the chain, and bake it into the binary.
//!
//! The file is embedded with `include_bytes!` (so cargo rebuilds when it changes) and decoded
//! once by the generated `baked()` constructor: no file I/O at run time, and any mismatch
//! between file and chain is a compile error naming the tensor.

use std::path::PathBuf;

use proc_macro2::TokenStream;
use quote::quote;
use safetensors::tensor::Dtype;
use safetensors::SafeTensors;
use syn::LitStr;

use crate::graph::Graph;

/// A checked weights file: its absolute path and, per weight array in model order, the byte
/// range of its little-endian f32 data.
pub struct Baked {
    path: String,
    ranges: Vec<(usize, usize)>,
}

/// Reads and checks the file named by `lit` (relative to the crate's manifest directory).
pub fn check(lit: &LitStr, graph: &Graph) -> syn::Result<Baked> {
    let relative = PathBuf::from(lit.value());
    let path = match std::env::var_os("CARGO_MANIFEST_DIR") {
        Some(dir) if relative.is_relative() => PathBuf::from(dir).join(&relative),
        _ => relative,
    };
    let fail = |message: String| {
        syn::Error::new(
            lit.span(),
            format!("weights file `{}`: {message}", lit.value()),
        )
    };
    // The message leaves out the resolved path: it would name the build's directories.
    let bytes = std::fs::read(&path).map_err(|e| {
        fail(format!(
            "cannot read it ({e}); a relative path starts at the crate's root, beside its \
             Cargo.toml"
        ))
    })?;
    let file = SafeTensors::deserialize(&bytes)
        .map_err(|e| fail(format!("not a valid safetensors file: {e}")))?;
    let mut ranges = Vec::new();
    let mut expected: Vec<String> = Vec::new();
    for layer in &graph.layers {
        let Some(weights) = layer.weights() else {
            return Err(fail(format!(
                "`{}` is a custom layer, whose weights only its type knows: load them at run \
                 time with `load_weights_from_bytes(include_bytes!(..))`",
                layer.name
            )));
        };
        for weight in weights {
            let shape = weight.shape;
            let name = format!("{}/{}", layer.name, weight.name);
            let tensor = file.tensor(&name).map_err(|_| {
                fail(format!(
                    "tensor `{name}` is missing (the chain needs shape {})",
                    show(&shape)
                ))
            })?;
            if tensor.dtype() != Dtype::F32 {
                return Err(fail(format!(
                    "tensor `{name}` is {:?}; baked weights must be F32",
                    tensor.dtype()
                )));
            }
            if tensor.shape() != shape.as_slice() {
                return Err(fail(format!(
                    "tensor `{name}` has shape {}, but the chain needs {}",
                    show(tensor.shape()),
                    show(&shape)
                )));
            }
            let start = tensor.data().as_ptr() as usize - bytes.as_ptr() as usize;
            ranges.push((start, start + tensor.data().len()));
            expected.push(name);
        }
    }
    let mut names = file.names();
    names.sort();
    if let Some(extra) = names.iter().find(|n| !expected.iter().any(|e| e == *n)) {
        return Err(fail(format!(
            "tensor `{extra}` does not belong to this chain"
        )));
    }
    Ok(Baked {
        path: path.to_string_lossy().into_owned(),
        ranges,
    })
}

fn show(shape: &[usize]) -> String {
    format!("{shape:?}")
}

/// `baked()` and `Default` for the f32 model.
pub fn emit(name: &syn::Ident, baked: &Baked, source: &LitStr) -> TokenStream {
    let path = &baked.path;
    let starts = baked.ranges.iter().map(|r| r.0);
    let ends = baked.ranges.iter().map(|r| r.1);
    let count = baked.ranges.len();
    let doc = format!(
        " The model with the weights of `{}`, baked in at compile time.",
        source.value()
    );
    quote! {
        impl #name<f32> {
            /// The weights file, embedded in the binary.
            pub const BAKED_WEIGHTS: &'static [u8] = include_bytes!(#path);

            #[doc = #doc]
            ///
            /// The file was checked against the chain when this crate compiled; decoding it
            /// needs no file I/O.
            #[allow(clippy::self_named_constructors)]
            pub fn baked() -> Self {
                const RANGES: [(usize, usize); #count] = [#((#starts, #ends)),*];
                let bytes = Self::BAKED_WEIGHTS;
                let weights: ::std::vec::Vec<f32> = RANGES
                    .iter()
                    .flat_map(|&(start, end)| bytes[start..end].chunks_exact(4))
                    .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                    .collect();
                let mut model = <Self as ::typed_nn::Model>::new(0);
                ::typed_nn::Model::set_weights(&mut model, &weights)
                    .expect("model! checked the baked weights against the chain");
                model
            }
        }

        impl ::core::default::Default for #name<f32> {
            /// The baked-in weights (see `baked`).
            fn default() -> Self {
                Self::baked()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::args::Errors;
    use crate::parse::Models;

    /// Checks `file` (relative to the repository) against the model in `src`.
    fn checked(file: &str, src: &str) -> Result<Baked, String> {
        let models: Models = syn::parse_str(src).expect("parses");
        let graph =
            crate::graph::check(&models.models[0].body, &mut Errors::default()).expect("checks");
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../").to_string() + file;
        check(&LitStr::new(&path, proc_macro2::Span::call_site()), &graph)
            .map_err(|e| e.to_string())
    }

    const MLP: &str = "tests/fixtures/keras_mnist_mlp.safetensors";

    #[test]
    fn a_file_of_the_right_shapes_is_baked() {
        let chain =
            "struct M { Input<28, 28> => Flatten => Dense<64, Relu> => Dense<10, Softmax> }";
        assert!(checked(MLP, chain).is_ok());
    }

    #[test]
    fn a_weight_of_another_shape_names_the_tensor_and_both_shapes() {
        let chain =
            "struct M { Input<28, 28> => Flatten => Dense<65, Relu> => Dense<10, Softmax> }";
        let message = checked(MLP, chain).err().expect("a mismatch");
        assert!(
            message.ends_with(
                "tensor `dense/kernel` has shape [784, 64], but the chain needs [784, 65]"
            ),
            "{message}"
        );
    }
}
