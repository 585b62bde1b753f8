//! Code generation: the struct of layer fields and its `Model` impl.
//!
//! Everything numeric is `nn-core`'s; this only writes down types whose sizes the macro has
//! inferred (stable Rust cannot compute `H * W` or conv output sizes in a type), the graph
//! that connects the fields, and the `Model` trait's required items.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use crate::args::{pretty, show};
use crate::graph::{Graph, Kind};
use crate::layers::custom::snake_case;
use crate::layers::{lit, size};
use crate::parse::ModelDef;

/// The nested array type of a per-sample shape, channels last.
fn array_type(shape: &[usize]) -> TokenStream {
    shape.iter().rev().fold(quote!(T), |inner, &d| {
        let d = lit(d);
        quote!([#inner; #d])
    })
}

/// One array, or a tuple of arrays for several inputs or outputs.
fn io_type(shapes: &[&Vec<usize>]) -> TokenStream {
    match shapes {
        [one] => array_type(one),
        many => {
            let types = many.iter().map(|s| array_type(s));
            quote!((#(#types,)*))
        }
    }
}

/// The largest per-call scratch (elements) that `predict` keeps on the stack.
const STACK_SCRATCH_LIMIT: usize = 32 * 1024;

/// Inference buffers: the slot of each node and how many slots there are. A node's output
/// stays in its slot until its last reader has run; the inputs of a model with several take
/// their slots first (they are gathered before anything runs), and one read straight from the
/// caller's array takes none. A node never shares a slot with a node it reads.
fn slots(graph: &Graph) -> (Vec<usize>, usize) {
    let n = graph.nodes.len();
    let mut last_use = vec![0usize; n];
    for (i, node) in graph.nodes.iter().enumerate() {
        for &k in &node.inputs {
            last_use[k] = last_use[k].max(i);
        }
    }
    for (k, _) in &graph.outputs {
        last_use[*k] = n;
    }
    let direct_input = graph.inputs.len() == 1;
    let mut slot = vec![0usize; n];
    let mut owns = vec![false; n];
    let mut free: Vec<usize> = Vec::new();
    let mut count = 0;
    let mut take = |free: &mut Vec<usize>| {
        free.pop().unwrap_or_else(|| {
            count += 1;
            count - 1
        })
    };
    if !direct_input {
        for &k in &graph.inputs {
            slot[k] = take(&mut free);
            owns[k] = true;
        }
    }
    for (i, node) in graph.nodes.iter().enumerate() {
        if matches!(node.kind, Kind::Input) {
            continue;
        }
        slot[i] = take(&mut free);
        owns[i] = true;
        let mut inputs = node.inputs.clone();
        inputs.sort_unstable();
        inputs.dedup();
        for k in inputs {
            if owns[k] && last_use[k] == i {
                free.push(slot[k]);
            }
        }
    }
    (slot, count.max(1))
}

/// `predict` for one sample of a chain, with the activations on the stack, ping-ponging
/// between two halves of one array, and each layer called through its concrete type (no
/// trait objects), so small models compile to one straight, inlined function.
fn chain_predict(fields: &[syn::Ident], graph: &Graph, widest: usize) -> TokenStream {
    let half = lit(widest);
    let scratch = lit(2 * widest);
    let last = fields.len().saturating_sub(1);
    let mut calls = Vec::new();
    let mut input_width = lit(0);
    for (i, (field, layer)) in fields.iter().zip(&graph.layers).enumerate() {
        let width = lit(size(layer.output_shape()));
        let input = match i {
            0 => quote!(::typed_nn::Tensor::as_flat(x)),
            _ if i % 2 == 1 => quote!(&front[..#input_width]),
            _ => quote!(&back[..#input_width]),
        };
        let output = match i {
            _ if i == last => quote!(::typed_nn::Tensor::as_flat_mut(&mut out)),
            _ if i % 2 == 0 => quote!(&mut front[..#width]),
            _ => quote!(&mut back[..#width]),
        };
        calls.push(quote! {
            ::typed_nn::Layer::<T>::forward(
                &self.#field, #input, #output, &mut [], ::typed_nn::layers::Mode::Predict,
            );
        });
        input_width = width;
    }
    quote! {
        fn predict(&self, x: &Self::Input) -> Self::Output {
            let mut out = <Self::Output as ::typed_nn::Tensor<T>>::zeros();
            let mut scratch = [T::zero(); #scratch];
            #[allow(unused_variables)]
            let (front, back) = scratch.split_at_mut(#half);
            #(#calls)*
            out
        }
    }
}

/// `predict` for one sample of a graph: the graph runner on a stack array of slots.
fn graph_predict(scratch: usize) -> TokenStream {
    let scratch = lit(scratch);
    quote! {
        fn predict(&self, x: &Self::Input) -> Self::Output {
            let mut out = <Self::Output as ::typed_nn::Tensor<T>>::zeros();
            let mut scratch = [T::zero(); #scratch];
            self.with_layers(|layers| {
                ::typed_nn::__private::predict_with(
                    &<Self as ::typed_nn::Model>::GRAPH,
                    &::typed_nn::__private::Records::of::<T, Self::Input, Self::Output>(),
                    layers,
                    ::typed_nn::Tensor::as_flat(x),
                    ::typed_nn::Tensor::as_flat_mut(&mut out),
                    &mut scratch,
                )
            });
            out
        }
    }
}

/// The graph as an `nn-core` constant.
fn graph_const(graph: &Graph, slot: &[usize], count: usize) -> TokenStream {
    let g = quote!(::typed_nn::__private);
    let nodes = graph.nodes.iter().zip(slot).map(|(node, &slot)| {
        let op = match &node.kind {
            Kind::Input => quote!(#g::Op::Input),
            Kind::Layer(l) => {
                let l = lit(*l);
                quote!(#g::Op::Layer(#l))
            }
            Kind::Merge(m) => {
                let shapes: Vec<Vec<usize>> = node
                    .inputs
                    .iter()
                    .map(|&k| graph.nodes[k].output_shape.clone())
                    .collect();
                let merge = m.emit(&shapes);
                quote!(#g::Op::Merge(#merge))
            }
        };
        let inputs = node.inputs.iter().map(|&k| lit(k));
        let (size, slot) = (lit(size(&node.output_shape)), lit(slot));
        quote!(#g::Node { op: #op, inputs: &[#(#inputs),*], size: #size, slot: #slot })
    });
    let inputs = graph.inputs.iter().map(|&k| lit(k));
    let outputs = graph.outputs.iter().map(|(k, _)| lit(*k));
    let names = graph.outputs.iter().map(|(_, n)| n);
    let count = lit(count);
    quote! {
        #g::Graph {
            nodes: &[#(#nodes),*],
            inputs: &[#(#inputs),*],
            outputs: &[#(#outputs),*],
            output_names: &[#(#names),*],
            slots: #count,
        }
    }
}

/// Keras's summary rows of a graph: every input, layer (at its first application, with every
/// application's inputs) and merge, with "Connected to".
fn summary_rows(graph: &Graph) -> Vec<TokenStream> {
    let reference = |k: usize| {
        let node = &graph.nodes[k];
        format!("{}[{}][0]", node.name, node.call_index)
    };
    let mut rows = Vec::new();
    for node in &graph.nodes {
        let (class, layer, connected): (String, TokenStream, Vec<String>) = match &node.kind {
            Kind::Input => ("InputLayer".into(), quote!(None), Vec::new()),
            Kind::Layer(l) => {
                if node.call_index > 0 {
                    continue;
                }
                let connected = graph
                    .nodes
                    .iter()
                    .filter(|n| matches!(n.kind, Kind::Layer(m) if m == *l))
                    .flat_map(|n| n.inputs.iter().map(|&k| reference(k)))
                    .collect();
                let index = lit(*l);
                (
                    graph.layers[*l].kind.class(),
                    quote!(Some(#index)),
                    connected,
                )
            }
            Kind::Merge(m) => (
                m.class().to_string(),
                quote!(None),
                node.inputs.iter().map(|&k| reference(k)).collect(),
            ),
        };
        let name = &node.name;
        let shape = node.output_shape.iter().map(|&d| lit(d));
        rows.push(quote! {
            ::typed_nn::__private::SummaryRow {
                name: #name,
                class: #class,
                output_shape: &[#(#shape),*],
                layer: #layer,
                connected_to: &[#(#connected),*],
            }
        });
    }
    rows
}

/// The struct and its impls.
pub fn model(def: &ModelDef, graph: &Graph) -> TokenStream {
    let ModelDef {
        attrs, vis, name, ..
    } = def;
    let mut fields = Vec::new();
    let mut types = Vec::new();
    let mut ctors = Vec::new();
    let mut infos = Vec::new();
    let mut docs = Vec::new();
    let mut custom_params = Vec::new();
    for layer in &graph.layers {
        let field = format_ident!("{}", layer.name);
        let emitted = layer.kind.emit(layer.input_shape(), layer.output_shape());
        if layer.weights().is_none() {
            let ty = &emitted.ty;
            custom_params.push(quote!(<#ty as ::typed_nn::CustomLayer<T>>::PARAMS));
        }
        types.push(emitted.ty);
        ctors.push(emitted.ctor);
        let (lname, class) = (&layer.name, layer.kind.class());
        let shape = layer.output_shape().iter().map(|&d| lit(d));
        let weights = match layer.weights() {
            Some(weights) => {
                let each = weights.iter().map(|w| {
                    let (name, dims) = (w.name, w.shape.iter().map(|&d| lit(d)));
                    quote!((#name, &[#(#dims),*]))
                });
                quote!(Some(&[#(#each),*]))
            }
            None => quote!(None),
        };
        infos.push(quote!(::typed_nn::__private::LayerInfo {
            name: #lname, class: #class, output_shape: &[#(#shape),*], weights: #weights,
        }));
        let doc = format!(
            " - `{}`: `{}` ({class}), output `{}`",
            layer.name,
            pretty(&layer.call.tokens),
            show(layer.output_shape())
        );
        docs.push(quote!(#[doc = #doc]));
        fields.push(field);
    }
    let (slot, count) = slots(graph);
    let widest = graph
        .nodes
        .iter()
        .map(|n| size(&n.output_shape))
        .max()
        .unwrap_or(0);
    // Single-sample `predict` runs on stack scratch (no allocation) unless that would be large.
    let predict = if graph.is_chain() && 2 * widest <= STACK_SCRATCH_LIMIT {
        chain_predict(&fields, graph, widest)
    } else if !graph.is_chain() && count * widest <= STACK_SCRATCH_LIMIT {
        graph_predict(count * widest)
    } else {
        quote!()
    };
    let summary = if graph.is_chain() {
        quote!()
    } else {
        let rows = summary_rows(graph);
        quote! {
            fn summary_rows() -> &'static [::typed_nn::__private::SummaryRow] {
                &[#(#rows),*]
            }
        }
    };
    let graph_tokens = graph_const(graph, &slot, count);
    let input_shapes = graph.input_shapes();
    let output_shapes = graph.output_shapes();
    let input = io_type(&input_shapes);
    let output = io_type(&output_shapes);
    let known = lit(graph.known_params());
    let model_name = snake_case(&name.to_string());
    let shapes = |s: &[&Vec<usize>]| s.iter().map(|s| show(s)).collect::<Vec<_>>().join(", ");
    let summary_doc = format!(
        " Generated by `model!`: input `{}`, output `{}`, {} weights.",
        shapes(&input_shapes),
        shapes(&output_shapes),
        graph.known_params()
    );
    let field_docs = fields.iter().map(|f| format!(" The `{f}` layer."));

    quote! {
        #(#attrs)*
        ///
        #[doc = #summary_doc]
        ///
        #(#docs)*
        ///
        /// `f32` by default; `<Self as Model>` is implemented for every element type, so an
        /// `f64` model (for gradient checks) is `
        #[doc = concat!(stringify!(#name), "::<f64>::new(seed)`.")]
        #vis struct #name<T: ::typed_nn::Float = f32> {
            #( #[doc = #field_docs] pub #fields: #types, )*
            runtime: ::typed_nn::__private::Runtime<T>,
        }

        impl #name<f32> {
            /// Total weights, as Keras's "Total params".
            pub const PARAMS: usize = <Self as ::typed_nn::Model>::PARAMS;

            /// An `f32` model with Keras's default initialisation, deterministic for `seed`.
            pub fn new(seed: u64) -> Self {
                <Self as ::typed_nn::Model>::new(seed)
            }

            /// An `f32` model with the weights of a safetensors file written by `save`;
            /// names, shapes and dtype are checked, and a mismatch is an error.
            pub fn load(path: impl ::core::convert::AsRef<::std::path::Path>) -> ::core::result::Result<Self, ::typed_nn::Error> {
                <Self as ::typed_nn::Model>::load(path)
            }
        }

        impl<T: ::typed_nn::Float> ::typed_nn::Model for #name<T> {
            type Scalar = T;
            type Input = #input;
            type Output = #output;
            const PARAMS: usize = #known #(+ #custom_params)*;
            const NAME: &'static str = #model_name;
            const GRAPH: ::typed_nn::__private::Graph = #graph_tokens;

            fn new(seed: u64) -> Self {
                let mut model = Self { #( #fields: #ctors, )* runtime: ::typed_nn::__private::Runtime::new(seed) };
                ::typed_nn::Model::initialize(&mut model, seed);
                model
            }

            fn layer_info() -> &'static [::typed_nn::__private::LayerInfo] {
                &[#(#infos),*]
            }

            #summary

            #predict

            fn runtime(&self) -> &::typed_nn::__private::Runtime<T> {
                &self.runtime
            }

            fn with_layers<R>(&self, f: impl FnOnce(&[&dyn ::typed_nn::Layer<T>]) -> R) -> R {
                f(&[#(&self.#fields),*])
            }

            fn with_layers_mut<R>(
                &mut self,
                f: impl FnOnce(&mut [&mut dyn ::typed_nn::Layer<T>], &mut ::typed_nn::__private::Runtime<T>) -> R,
            ) -> R {
                f(&mut [#(&mut self.#fields),*], &mut self.runtime)
            }
        }
    }
}

/// A stand-in struct for a model with errors, so that code using it reports the model's
/// errors rather than "cannot find type".
pub fn fallback(def: &ModelDef) -> TokenStream {
    let ModelDef {
        attrs, vis, name, ..
    } = def;
    quote! {
        #(#attrs)*
        #vis struct #name<T = f32>(::core::marker::PhantomData<T>);

        impl #name<f32> {
            /// Not available: the model has errors.
            pub const PARAMS: usize = 0;
            /// Not available: the model has errors.
            pub fn new(_seed: u64) -> Self {
                unreachable!("model! reported errors for this model")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::args::Errors;
    use crate::parse::Models;

    fn graph(src: &str) -> Graph {
        let models: Models = syn::parse_str(src).expect("parses");
        crate::graph::check(&models.models[0].body, &mut Errors::default()).expect("checks")
    }

    #[test]
    fn a_chain_ping_pongs_between_two_slots() {
        let g = graph("struct M { Input<8> => Dense<4> => Relu => Dense<2> => Softmax }");
        let (slot, count) = slots(&g);
        assert_eq!(count, 2);
        assert_eq!(slot[1..], [0, 1, 0, 1]);
    }

    #[test]
    fn a_slot_is_free_again_only_after_its_last_reader() {
        let g = graph(
            "struct R { let x = Input<8>; let y = x => Dense<8> => Dense<8>; Add(x, y) => Dense<3> }",
        );
        // The input is read straight from the caller; the two dense layers ping-pong, the
        // merge reads the second and writes the first's freed slot... which it may not read.
        let (slot, count) = slots(&g);
        for (i, node) in g.nodes.iter().enumerate().skip(1) {
            for &k in &node.inputs {
                if k != 0 {
                    assert_ne!(slot[i], slot[k], "node {i} reads {k}");
                }
            }
        }
        assert!(count <= 3);
        let g = graph(
            "struct W { let a = Input<4>; let b = Input<6>; let h = b => Dense<3>; Concatenate(a, h) => Dense<2> }",
        );
        let (slot, _) = slots(&g);
        // Both inputs are gathered first: nothing overwrites `a` before the merge reads it.
        let h = g.nodes.iter().position(|n| n.name == "dense").unwrap();
        assert_ne!(slot[h], slot[0]);
        assert_ne!(slot[h], slot[1]);
    }
}
