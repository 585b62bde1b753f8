//! The `model!` macro of typed-nn: parse a Keras-style layer chain or graph, infer and check
//! every shape, emit a struct of `nn-core` layers with const-generic sizes.
//!
//! Use it through the `typed-nn` crate, which documents the DSL.
//!
//! `parse` reads the grammar, `graph` builds the model graph and checks every shape with the
//! per-kind definitions in `layers`, `emit` writes the struct, and `weights` bakes a weights
//! file in.

mod args;
mod emit;
mod graph;
mod layers;
mod parse;
mod weights;

use proc_macro::TokenStream;

/// Defines one or more model structs from Keras-style layer chains or graphs; see the
/// `typed-nn` crate.
#[proc_macro]
pub fn model(input: TokenStream) -> TokenStream {
    let models = match syn::parse::<parse::Models>(input) {
        Ok(models) => models,
        Err(e) => return e.to_compile_error().into(),
    };
    let mut out = proc_macro2::TokenStream::new();
    for def in &models.models {
        let mut errors = args::Errors::default();
        let emitted = graph::check(&def.body, &mut errors).map(
            |graph| -> syn::Result<proc_macro2::TokenStream> {
                let mut tokens = emit::model(def, &graph);
                if let Some(path) = &def.weights {
                    tokens.extend(weights::emit(
                        &def.name,
                        &weights::check(path, &graph)?,
                        path,
                    ));
                }
                Ok(tokens)
            },
        );
        match emitted {
            Some(Ok(tokens)) if errors.0.is_empty() => out.extend(tokens),
            Some(Err(e)) => {
                out.extend(emit::fallback(def));
                out.extend(e.to_compile_error());
            }
            _ => out.extend(emit::fallback(def)),
        }
        for e in errors.0 {
            out.extend(e.to_compile_error());
        }
    }
    out.into()
}
