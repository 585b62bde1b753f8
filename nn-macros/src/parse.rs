//! The grammar of `model!`: one or more structs, each a chain of layers or a graph.
//!
//! ```text
//! model! {
//!     /// docs and attributes pass through
//!     pub struct Name { Input<28, 28> => Flatten => Dense<300, Relu> => Dense<10, Softmax> }
//!     pub struct Graph {
//!         let a = Input<10>;
//!         let h = a => Dense<8, Relu>;
//!         let shared = Dense<4>;
//!         (Add(h => shared, a => Dense<8> => shared), h)
//!     }
//! }
//! ```
//!
//! A body is `let` bindings, then the output expression; a chain is the body with no
//! bindings. An expression is a term followed by `=> layer` steps; a term is a name, a layer
//! (`Input<..>` starts a chain), a merge with its inputs in parentheses (`Add(a, b)`), or a
//! tuple of outputs.
//!
//! A layer is a name with optional `<...>` arguments: positional values first, then
//! `name = value` options. A value is a number, a name (possibly with its own arguments, as in
//! `LeakyRelu<0.1>`), or a parenthesised tuple such as `(3, 3)`. Every node keeps its tokens so
//! that errors can point at exactly the layer or value at fault.

use proc_macro2::TokenStream;
use quote::ToTokens;
use syn::parse::{Parse, ParseStream};
use syn::{braced, parenthesized, Attribute, Ident, LitFloat, LitInt, Token, Visibility};

/// Everything inside one `model! { ... }` call.
pub struct Models {
    pub models: Vec<ModelDef>,
}

/// One `struct Name { body }`.
pub struct ModelDef {
    pub attrs: Vec<Attribute>,
    /// `#[weights = "file.safetensors"]`: weights to bake in at compile time.
    pub weights: Option<syn::LitStr>,
    pub vis: Visibility,
    pub name: Ident,
    pub body: Body,
}

/// A struct's body: bindings, then the output.
pub struct Body {
    pub lets: Vec<Let>,
    pub output: Expr,
}

impl Body {
    /// Whether this is the chain form (no bindings).
    pub fn is_chain(&self) -> bool {
        self.lets.is_empty()
    }
}

/// `let name = expr;`
pub struct Let {
    pub name: Ident,
    pub value: Expr,
}

/// An expression of the graph form.
#[derive(Clone)]
pub enum Expr {
    /// A name or a layer: `x`, `encode`, `Relu`, `Dense<8>`, `Input<4>`.
    Call(LayerCall),
    /// A merge of its inputs: `Add(a, b)`, `Concatenate<axis = 1>(a, b)`.
    Merge(LayerCall, Vec<Expr>, TokenStream),
    /// `start => layer => layer`.
    Chain(Box<Expr>, Vec<LayerCall>),
    /// `(a, b)`: several outputs.
    Tuple(Vec<Expr>, TokenStream),
}

impl Expr {
    /// The tokens of the expression, for error spans.
    pub fn tokens(&self) -> TokenStream {
        match self {
            Expr::Call(call) => call.tokens.clone(),
            Expr::Merge(_, _, tokens) | Expr::Tuple(_, tokens) => tokens.clone(),
            Expr::Chain(start, steps) => {
                let mut tokens = start.tokens();
                if let Some(last) = steps.last() {
                    tokens.extend(last.tokens.clone());
                }
                tokens
            }
        }
    }
}

/// One layer as written: `Dense<300, Relu, init = HeNormal>`.
#[derive(Clone)]
pub struct LayerCall {
    pub name: Ident,
    pub args: Vec<Arg>,
    /// All of the layer's tokens, so that an error can cover the whole layer.
    pub tokens: TokenStream,
}

/// One argument of a layer.
#[derive(Clone)]
pub enum Arg {
    Positional(Value),
    Named(Ident, Value),
}

/// A value in a layer's arguments.
#[derive(Clone)]
pub enum Value {
    /// An integer literal.
    Int(u64, TokenStream),
    /// A float literal (or an integer where a float is expected, converted when read).
    Float(f64, TokenStream),
    /// A name, with its own arguments if it has any (`Same`, `LeakyRelu<0.1>`).
    Name(LayerCall),
    /// `(a, b, ...)`.
    Tuple(Vec<Value>, TokenStream),
}

impl Value {
    /// The tokens of the value, for error spans.
    pub fn tokens(&self) -> &TokenStream {
        match self {
            Value::Int(_, t) | Value::Float(_, t) | Value::Tuple(_, t) => t,
            Value::Name(call) => &call.tokens,
        }
    }
}

impl Parse for Models {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let mut models = Vec::new();
        while !input.is_empty() {
            models.push(input.parse()?);
        }
        if models.is_empty() {
            return Err(
                input.error("model! needs at least one `struct Name { Input<...> => ... }`")
            );
        }
        Ok(Models { models })
    }
}

impl Parse for ModelDef {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let mut attrs = input.call(Attribute::parse_outer)?;
        let mut weights = None;
        if let Some(i) = attrs.iter().position(|a| a.path().is_ident("weights")) {
            let attr = attrs.remove(i);
            let syn::Meta::NameValue(nv) = &attr.meta else {
                return Err(syn::Error::new_spanned(
                    attr,
                    "expected `#[weights = \"path/to/file.safetensors\"]`",
                ));
            };
            match &nv.value {
                syn::Expr::Lit(syn::ExprLit {
                    lit: syn::Lit::Str(path),
                    ..
                }) => weights = Some(path.clone()),
                other => {
                    return Err(syn::Error::new_spanned(
                        other,
                        "the weights path must be a string literal",
                    ))
                }
            }
        }
        let vis: Visibility = input.parse()?;
        input.parse::<Token![struct]>()?;
        let name: Ident = input.parse()?;
        let content;
        braced!(content in input);
        let mut lets = Vec::new();
        while content.peek(Token![let]) {
            content.parse::<Token![let]>()?;
            let name: Ident = content.parse()?;
            content.parse::<Token![=]>().map_err(|e| {
                syn::Error::new(e.span(), format!("expected `=` after `let {name}`"))
            })?;
            let value = expr(&content)?;
            content.parse::<Token![;]>().map_err(|e| {
                syn::Error::new(
                    e.span(),
                    format!("expected `;` after the binding of `{name}` (or `=>` before a layer)"),
                )
            })?;
            lets.push(Let { name, value });
        }
        let output = expr(&content)?;
        if !content.is_empty() {
            let message = if lets.is_empty() {
                "expected `=>` between layers, as in `Input<784> => Dense<10>`"
            } else {
                "expected `=>` before a layer, or the end of the model after its output"
            };
            return Err(content.error(message));
        }
        Ok(ModelDef {
            attrs,
            weights,
            vis,
            name,
            body: Body { lets, output },
        })
    }
}

/// A term followed by `=> layer` steps.
fn expr(input: ParseStream) -> syn::Result<Expr> {
    let start = term(input)?;
    let mut steps = Vec::new();
    while input.peek(Token![=>]) {
        input.parse::<Token![=>]>()?;
        steps.push(input.parse()?);
    }
    Ok(if steps.is_empty() {
        start
    } else {
        Expr::Chain(Box::new(start), steps)
    })
}

/// A name, a layer, a merge with its inputs, or a parenthesised tuple.
fn term(input: ParseStream) -> syn::Result<Expr> {
    let start = input.fork();
    if input.peek(syn::token::Paren) {
        let content;
        parenthesized!(content in input);
        let items = content.parse_terminated(expr, Token![,])?;
        let trailing = items.trailing_punct();
        let mut items: Vec<Expr> = items.into_iter().collect();
        if items.len() == 1 && !trailing {
            return Ok(items.remove(0));
        }
        return Ok(Expr::Tuple(items, tokens_between(&start, input)));
    }
    let call: LayerCall = input.parse()?;
    if input.peek(syn::token::Paren) {
        let content;
        parenthesized!(content in input);
        let items = content.parse_terminated(expr, Token![,])?;
        return Ok(Expr::Merge(
            call,
            items.into_iter().collect(),
            tokens_between(&start, input),
        ));
    }
    Ok(Expr::Call(call))
}

impl Parse for LayerCall {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let start = input.fork();
        let name: Ident = input.parse().map_err(|e| {
            syn::Error::new(
                e.span(),
                "expected a layer name such as `Dense<10>` or `Flatten`",
            )
        })?;
        let mut args = Vec::new();
        if input.peek(Token![<]) {
            input.parse::<Token![<]>()?;
            while !input.peek(Token![>]) {
                args.push(input.parse()?);
                if input.peek(Token![>]) {
                    break;
                }
                input.parse::<Token![,]>().map_err(|e| {
                    syn::Error::new(
                        e.span(),
                        format!("expected `,` or `>` in the arguments of `{name}`"),
                    )
                })?;
            }
            input.parse::<Token![>]>()?;
        }
        let tokens = tokens_between(&start, input);
        Ok(LayerCall { name, args, tokens })
    }
}

impl Parse for Arg {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        if input.peek(Ident) && input.peek2(Token![=]) {
            let key: Ident = input.parse()?;
            input.parse::<Token![=]>()?;
            Ok(Arg::Named(key, input.parse()?))
        } else {
            Ok(Arg::Positional(input.parse()?))
        }
    }
}

impl Parse for Value {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let start = input.fork();
        if input.peek(syn::token::Paren) {
            let content;
            parenthesized!(content in input);
            let items = content.parse_terminated(Value::parse, Token![,])?;
            return Ok(Value::Tuple(
                items.into_iter().collect(),
                tokens_between(&start, input),
            ));
        }
        if input.peek(Ident) {
            return Ok(Value::Name(input.parse()?));
        }
        let negative = input.peek(Token![-]);
        if negative {
            input.parse::<Token![-]>()?;
        }
        let sign = if negative { -1.0 } else { 1.0 };
        if input.peek(LitInt) {
            let lit: LitInt = input.parse()?;
            let tokens = tokens_between(&start, input);
            if negative {
                return Ok(Value::Float(sign * lit.base10_parse::<f64>()?, tokens));
            }
            return Ok(Value::Int(lit.base10_parse()?, tokens));
        }
        if input.peek(LitFloat) {
            let lit: LitFloat = input.parse()?;
            return Ok(Value::Float(
                sign * lit.base10_parse::<f64>()?,
                tokens_between(&start, input),
            ));
        }
        if input.peek(syn::LitStr) {
            let text: syn::LitStr = input.parse()?;
            return Err(syn::Error::new(text.span(), string_hint(&text.value())));
        }
        Err(input.error("expected a number, a name such as `Relu`, or a tuple such as `(3, 3)`"))
    }
}

/// What to write instead of a Keras string such as `"relu"` or `"same"`.
fn string_hint(text: &str) -> String {
    let pascal: String = text
        .split('_')
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_uppercase().chain(c).collect::<String>())
                .unwrap_or_default()
        })
        .collect();
    let known = [
        "Relu",
        "LeakyRelu",
        "Elu",
        "Sigmoid",
        "Tanh",
        "Softmax",
        "Linear",
        "Same",
        "Valid",
        "GlorotUniform",
        "GlorotNormal",
        "HeNormal",
        "HeUniform",
        "LecunNormal",
        "Zeros",
    ];
    let name = known
        .iter()
        .find(|k| k.eq_ignore_ascii_case(&pascal))
        .map_or(pascal.clone(), |k| k.to_string());
    format!(
        "Keras's strings are names here: write `{name}`, not \"{text}\" (as in `Dense<16, Relu>`, \
         `padding = Same`)"
    )
}

/// The tokens consumed between a fork taken before parsing and the stream after it.
fn tokens_between(start: ParseStream, end: ParseStream) -> TokenStream {
    let mut out = TokenStream::new();
    let end_cursor = end.cursor();
    let mut cursor = start.cursor();
    while cursor != end_cursor {
        let Some((tt, next)) = cursor.token_tree() else {
            break;
        };
        tt.to_tokens(&mut out);
        cursor = next;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(src: &str) -> syn::Result<Models> {
        syn::parse_str(src)
    }

    /// The chain of a chain-form model: its start and steps.
    fn chain(def: &ModelDef) -> Vec<LayerCall> {
        match &def.body.output {
            Expr::Chain(start, steps) => {
                let Expr::Call(first) = start.as_ref() else {
                    panic!("a chain starts with a layer")
                };
                std::iter::once(first.clone())
                    .chain(steps.iter().cloned())
                    .collect()
            }
            Expr::Call(call) => vec![call.clone()],
            _ => panic!("not a chain"),
        }
    }

    #[test]
    fn parses_the_design_card_and_options() {
        let m = parse(
            "/// doc\n pub struct Mnist { Input<28, 28> => Flatten => Dense<300, Relu, init = HeNormal, l2 = 1e-4> \
             => Dropout<0.5> => Dense<10, LeakyRelu<0.1>> } struct B { Input<4> => Conv2D<8, (3, 5), stride = 2> }",
        )
        .unwrap();
        assert_eq!(m.models.len(), 2);
        let chain = chain(&m.models[0]);
        assert_eq!(chain.len(), 5);
        assert_eq!(chain[2].name, "Dense");
        assert_eq!(chain[2].args.len(), 4);
        assert!(
            matches!(&chain[2].args[3], Arg::Named(k, Value::Float(v, _)) if k == "l2" && *v == 1e-4)
        );
        assert!(
            matches!(&chain[4].args[1], Arg::Positional(Value::Name(c)) if c.name == "LeakyRelu" && c.args.len() == 1)
        );
        let b = self::chain(&m.models[1]);
        assert!(matches!(&b[1].args[1], Arg::Positional(Value::Tuple(v, _)) if v.len() == 2));
        assert_eq!(chain[1].tokens.to_string(), "Flatten");
        assert_eq!(chain[3].tokens.to_string(), "Dropout < 0.5 >");
    }

    #[test]
    fn parses_the_graph_form() {
        let m = parse(
            "struct W { let a = Input<10>; let b = Input<28>; let h = b => Dense<16, Relu>; \
             let e = Dense<4>; let c = Concatenate<axis = -1>(a, h => e, (b)); (c => Dense<1>, h) }",
        )
        .unwrap();
        let body = &m.models[0].body;
        assert_eq!(body.lets.len(), 5);
        assert!(matches!(&body.lets[3].value, Expr::Call(c) if c.name == "Dense"));
        let Expr::Merge(call, inputs, _) = &body.lets[4].value else {
            panic!("a merge")
        };
        assert_eq!(call.name, "Concatenate");
        assert_eq!(inputs.len(), 3);
        assert!(matches!(&inputs[1], Expr::Chain(_, steps) if steps.len() == 1));
        assert!(matches!(&inputs[2], Expr::Call(c) if c.name == "b"));
        assert!(matches!(&body.output, Expr::Tuple(items, _) if items.len() == 2));
    }

    #[test]
    fn a_missing_arrow_or_semicolon_is_reported() {
        let err = parse("struct A { Input<3> Dense<2> }").err().unwrap();
        assert!(err.to_string().contains("expected `=>`"), "{err}");
        let err = parse("struct A { let a = Input<3> let b = a; b }")
            .err()
            .unwrap();
        assert!(
            err.to_string()
                .contains("expected `;` after the binding of `a`"),
            "{err}"
        );
    }
}
