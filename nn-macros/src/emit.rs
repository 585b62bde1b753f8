//! Code generation: the struct of layer fields and its `Model` impl.
//!
//! Everything numeric is `nn-core`'s; this only writes down types whose sizes the macro has
//! inferred (stable Rust cannot compute `H * W` or conv output sizes in a type) and wires the
//! fields into the `Model` trait's four required items.

use proc_macro2::{Literal, TokenStream};
use quote::{format_ident, quote};

use crate::parse::ModelDef;
use crate::shape::{pretty, show, Act, Graph, Kind, Node, Padding};

fn lit(n: usize) -> Literal {
    Literal::usize_unsuffixed(n)
}

fn float(x: f64) -> Literal {
    Literal::f64_suffixed(x)
}

/// The nested array type of a per-sample shape, channels last.
fn array_type(shape: &[usize]) -> TokenStream {
    shape.iter().rev().fold(quote!(T), |inner, &d| {
        let d = lit(d);
        quote!([#inner; #d])
    })
}

/// The activation's type and a value of it.
fn activation(act: Act) -> (TokenStream, TokenStream) {
    let path = quote!(::typed_nn::activation);
    match act {
        Act::Linear => (quote!(#path::Linear), quote!(#path::Linear)),
        Act::Relu => (quote!(#path::Relu), quote!(#path::Relu)),
        Act::Sigmoid => (quote!(#path::Sigmoid), quote!(#path::Sigmoid)),
        Act::Tanh => (quote!(#path::Tanh), quote!(#path::Tanh)),
        Act::Softmax => (quote!(#path::Softmax), quote!(#path::Softmax)),
        Act::LeakyRelu(a) => {
            let a = float(a);
            (quote!(#path::LeakyRelu), quote!(#path::LeakyRelu::new(#a)))
        }
        Act::Elu(a) => {
            let a = float(a);
            (quote!(#path::Elu), quote!(#path::Elu::new(#a)))
        }
    }
}

/// The const parameters of a sliding window, in the order the layers take them:
/// `H, W, C, KH, KW, SH, SW, PT, PL, OH, OW`. `PT`/`PL` are TensorFlow's `same` padding before
/// the image (the smaller half of `max((out - 1) * s + k - in, 0)`), zero for `valid`.
fn geometry(
    node: &Node,
    (kh, kw): (usize, usize),
    (sh, sw): (usize, usize),
    padding: Padding,
) -> [Literal; 11] {
    let (h, w, c) = (
        node.input_shape[0],
        node.input_shape[1],
        node.input_shape[2],
    );
    let (oh, ow) = (node.output_shape[0], node.output_shape[1]);
    let before = |out: usize, s: usize, k: usize, n: usize| match padding {
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
    .map(lit)
}

/// The field type and constructor of one layer.
fn layer(node: &Node) -> syn::Result<(TokenStream, TokenStream)> {
    let layers = quote!(::typed_nn::layers);
    let size: usize = node.input_shape.iter().product();
    let n = lit(size);
    Ok(match &node.kind {
        Kind::Flatten => (
            quote!(#layers::Flatten<#n>),
            quote!(#layers::Flatten::new()),
        ),
        Kind::Dropout { rate } => {
            let rate = float(*rate);
            (
                quote!(#layers::Dropout<#n>),
                quote!(#layers::Dropout::new(#rate)),
            )
        }
        Kind::Activation(act) => {
            let (ty, value) = activation(*act);
            let last = lit(*node.input_shape.last().unwrap_or(&1));
            (
                quote!(#layers::ActivationLayer<#ty, #n, #last>),
                quote!(#layers::ActivationLayer::new(#value)),
            )
        }
        Kind::Dense { units, act, kernel } => {
            let (ty, value) = activation(*act);
            let out = lit(*units);
            let init = format_ident!("{}", kernel.init);
            let (l1, l2) = (float(kernel.l1), float(kernel.l2));
            (
                quote!(#layers::Dense<T, #n, #out, #ty>),
                quote!(#layers::Dense::new(#value, ::typed_nn::Initializer::#init, ::typed_nn::Regularizer::new(#l1, #l2))),
            )
        }
        Kind::Conv2D {
            filters,
            kernel_size: (kh, kw),
            stride: (sh, sw),
            padding,
            act,
            kernel,
        } => {
            let (ty, value) = activation(*act);
            let [h, w, c, kh, kw, sh, sw, pt, pl, oh, ow] =
                geometry(node, (*kh, *kw), (*sh, *sw), *padding);
            let init = format_ident!("{}", kernel.init);
            let (l1, l2) = (float(kernel.l1), float(kernel.l2));
            let f = lit(*filters);
            (
                quote!(#layers::Conv2D<T, #h, #w, #c, #f, #kh, #kw, #sh, #sw, #pt, #pl, #oh, #ow, #ty>),
                quote!(#layers::Conv2D::new(#value, ::typed_nn::Initializer::#init, ::typed_nn::Regularizer::new(#l1, #l2))),
            )
        }
        Kind::Pool {
            max,
            pool: (ph, pw),
            stride: (sh, sw),
            padding,
        } => {
            let g = geometry(node, (*ph, *pw), (*sh, *sw), *padding);
            let name = if *max {
                format_ident!("MaxPool2D")
            } else {
                format_ident!("AvgPool2D")
            };
            (
                quote!(#layers::#name<#(#g),*>),
                quote!(#layers::#name::new()),
            )
        }
        Kind::BatchNorm { momentum, epsilon } => {
            let c = lit(*node.input_shape.last().unwrap_or(&1));
            let (m, e) = (float(*momentum), float(*epsilon));
            (
                quote!(#layers::BatchNorm<T, #n, #c>),
                quote!(#layers::BatchNorm::new(#m, #e)),
            )
        }
        Kind::Input(_) => unreachable!("the input is not a layer"),
    })
}

/// `LeNet5` -> `le_net5`, Keras's style of model name.
fn snake_case(name: &str) -> String {
    let mut out = String::new();
    for (i, c) in name.chars().enumerate() {
        if c.is_uppercase() {
            if i > 0 {
                out.push('_');
            }
            out.extend(c.to_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// The largest per-call scratch (elements) that `predict` keeps on the stack.
const STACK_SCRATCH_LIMIT: usize = 32 * 1024;

/// `predict` for one sample with the activations on the stack, ping-ponging between two
/// halves of one array, and each layer called through its concrete type (no trait objects),
/// so small models compile to one straight, inlined function.
fn predict_on_stack(fields: &[syn::Ident], graph: &Graph, widest: usize) -> TokenStream {
    let half = lit(widest);
    let scratch = lit(2 * widest);
    let last = fields.len().saturating_sub(1);
    let mut calls = Vec::new();
    let mut input_width = lit(0);
    for (i, (field, node)) in fields.iter().zip(graph.layers()).enumerate() {
        let width = lit(node.output_shape.iter().product::<usize>());
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

/// The struct and its impls.
pub fn model(def: &ModelDef, graph: &Graph) -> syn::Result<TokenStream> {
    let ModelDef {
        attrs, vis, name, ..
    } = def;
    let mut fields = Vec::new();
    let mut types = Vec::new();
    let mut ctors = Vec::new();
    let mut infos = Vec::new();
    let mut docs = Vec::new();
    let mut errors: Option<syn::Error> = None;
    for (i, node) in graph.layers().iter().enumerate() {
        // Until the graph form lands, every node reads the one before it (node 0 is the input).
        if node.inputs != [i] {
            return Err(syn::Error::new_spanned(
                &node.call.tokens,
                "only straight chains are supported",
            ));
        }
        let field = format_ident!("{}", node.name);
        match layer(node) {
            Ok((ty, ctor)) => {
                types.push(ty);
                ctors.push(ctor);
            }
            Err(e) => match &mut errors {
                Some(all) => all.combine(e),
                None => errors = Some(e),
            },
        }
        let (lname, class) = (&node.name, node.class());
        let shape = node.output_shape.iter().map(|&d| lit(d));
        infos.push(quote!(::typed_nn::LayerInfo { name: #lname, class: #class, output_shape: &[#(#shape),*] }));
        let doc = format!(
            " - `{}`: `{}` ({class}), output `{}`",
            node.name,
            pretty(&node.call.tokens),
            show(&node.output_shape)
        );
        docs.push(quote!(#[doc = #doc]));
        fields.push(field);
    }
    if let Some(e) = errors {
        return Err(e);
    }
    // Single-sample `predict` runs on stack scratch (no allocation) unless that would be large.
    let widest = graph
        .layers()
        .iter()
        .map(|n| n.output_shape.iter().product::<usize>())
        .max()
        .unwrap_or(0);
    let predict = if 2 * widest <= STACK_SCRATCH_LIMIT {
        predict_on_stack(&fields, graph, widest)
    } else {
        quote!()
    };
    let input = array_type(graph.input_shape());
    let output = array_type(graph.output_shape());
    let params = lit(graph.params());
    let model_name = snake_case(&name.to_string());
    let summary_doc = format!(
        " Generated by `model!`: input `{}`, output `{}`, {} weights.",
        show(graph.input_shape()),
        show(graph.output_shape()),
        graph.params()
    );
    let field_docs = fields.iter().map(|f| format!(" The `{f}` layer."));

    Ok(quote! {
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
            runtime: ::typed_nn::Runtime<T>,
        }

        impl #name<f32> {
            /// Total weights, as Keras's "Total params".
            pub const PARAMS: usize = #params;

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
            const PARAMS: usize = #params;
            const NAME: &'static str = #model_name;

            fn new(seed: u64) -> Self {
                let mut model = Self { #( #fields: #ctors, )* runtime: ::typed_nn::Runtime::new(seed) };
                ::typed_nn::Model::initialize(&mut model, seed);
                model
            }

            fn layer_info() -> &'static [::typed_nn::LayerInfo] {
                &[#(#infos),*]
            }

            #predict

            fn with_layers<R>(&self, f: impl FnOnce(&[&dyn ::typed_nn::Layer<T>]) -> R) -> R {
                f(&[#(&self.#fields),*])
            }

            fn with_layers_mut<R>(
                &mut self,
                f: impl FnOnce(&mut [&mut dyn ::typed_nn::Layer<T>], &mut ::typed_nn::Runtime<T>) -> R,
            ) -> R {
                f(&mut [#(&mut self.#fields),*], &mut self.runtime)
            }
        }
    })
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
            /// Not available: the chain has errors.
            pub const PARAMS: usize = 0;
            /// Not available: the chain has errors.
            pub fn new(_seed: u64) -> Self {
                unreachable!("model! reported errors for this chain")
            }
        }
    }
}
