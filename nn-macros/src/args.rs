//! Reading a layer's arguments, and the error plumbing every check shares: errors collected
//! with spans, shapes and layers printed as a person writes them, "did you mean" hints.

use proc_macro2::TokenStream;

use crate::parse::{Arg, LayerCall, Value};

/// A per-sample shape (no batch axis), channels last.
pub type Shape = Vec<usize>;

/// Collected errors, each spanned on the tokens at fault.
#[derive(Default)]
pub struct Errors(pub Vec<syn::Error>);

impl Errors {
    pub fn at(&mut self, tokens: &TokenStream, message: impl std::fmt::Display) {
        self.0.push(syn::Error::new_spanned(tokens, message));
    }
}

/// `(28, 28)` as Keras prints shapes.
pub fn show(shape: &[usize]) -> String {
    match shape {
        [n] => format!("({n},)"),
        _ => format!(
            "({})",
            shape
                .iter()
                .map(|d| d.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// Tokens as a person writes them: `Dense<300, Relu>`, not `Dense < 300 , Relu >`.
pub fn pretty(tokens: &TokenStream) -> String {
    tokens
        .to_string()
        .replace(" < ", "<")
        .replace(" >", ">")
        .replace(" ,", ",")
        .replace("( ", "(")
        .replace(" )", ")")
        .replace("- ", "-")
}

/// Edit distance, for "did you mean" hints.
fn distance(a: &str, b: &str) -> usize {
    let (a, b): (Vec<char>, Vec<char>) = (
        a.to_lowercase().chars().collect(),
        b.to_lowercase().chars().collect(),
    );
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for i in 1..=a.len() {
        let mut prev = row[0];
        row[0] = i;
        for j in 1..=b.len() {
            let cur = row[j];
            row[j] = (row[j] + 1)
                .min(row[j - 1] + 1)
                .min(prev + usize::from(a[i - 1] != b[j - 1]));
            prev = cur;
        }
    }
    row[b.len()]
}

/// The known name `name` is probably a misspelling of, if any.
pub fn near_miss<'a>(name: &str, known: &[&'a str]) -> Option<&'a str> {
    let best = known.iter().map(|k| (distance(name, k), *k)).min();
    match best {
        Some((d, k)) if d <= (name.len() / 3).max(2) => Some(k),
        _ => None,
    }
}

/// `; did you mean `X`?` for the closest known name, if it is close.
pub fn suggest(name: &str, known: &[&str]) -> String {
    match near_miss(name, known) {
        Some(k) => format!("; did you mean `{k}`?"),
        None => format!(
            "; expected one of {}",
            known
                .iter()
                .map(|k| format!("`{k}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// Reads a layer's arguments, reporting anything unexpected once the layer is done.
pub struct Args<'a> {
    call: &'a LayerCall,
    pub positional: Vec<&'a Value>,
    named: Vec<(&'a syn::Ident, &'a Value, bool)>,
}

impl<'a> Args<'a> {
    pub fn new(call: &'a LayerCall) -> Self {
        let mut positional = Vec::new();
        let mut named = Vec::new();
        for arg in &call.args {
            match arg {
                Arg::Positional(v) => positional.push(v),
                Arg::Named(k, v) => named.push((k, v, false)),
            }
        }
        Args {
            call,
            positional,
            named,
        }
    }

    pub fn option(&mut self, key: &str) -> Option<&'a Value> {
        let hit = self.named.iter_mut().find(|(k, _, _)| *k == key)?;
        hit.2 = true;
        Some(hit.1)
    }

    /// Reports extra positional arguments and unknown options.
    pub fn finish(self, max_positional: usize, usage: &str, options: &[&str], errors: &mut Errors) {
        let name = &self.call.name;
        for extra in self.positional.iter().skip(max_positional) {
            errors.at(
                extra.tokens(),
                format!("`{name}` takes at most {max_positional} positional argument(s): {usage}"),
            );
        }
        for (key, _, used) in &self.named {
            if !used {
                let hint = if options.is_empty() {
                    format!("; `{name}` takes no options")
                } else {
                    suggest(&key.to_string(), options)
                };
                errors.at(
                    &quote::quote!(#key),
                    format!("unknown option `{key}` for `{name}`{hint}"),
                );
            }
        }
    }
}

pub fn int(v: &Value, what: &str, errors: &mut Errors) -> Option<usize> {
    match v {
        Value::Int(n, _) => usize::try_from(*n).ok(),
        Value::Name(call) if call.args.is_empty() => {
            errors.at(
                &call.tokens,
                format!(
                    "{what} must be a number written in the model, not the name `{}`: `model!` \
                     reads sizes while the crate compiles, before constants have values",
                    call.name
                ),
            );
            None
        }
        other => {
            errors.at(other.tokens(), format!("{what} must be a whole number"));
            None
        }
    }
}

pub fn float(v: &Value, what: &str, errors: &mut Errors) -> Option<f64> {
    match v {
        Value::Int(n, _) => Some(*n as f64),
        Value::Float(x, _) => Some(*x),
        other => {
            errors.at(other.tokens(), format!("{what} must be a number"));
            None
        }
    }
}

/// An integer or an `(a, b)` pair.
pub fn pair(v: &Value, what: &str, errors: &mut Errors) -> Option<(usize, usize)> {
    match v {
        Value::Tuple(items, tokens) => {
            if items.len() != 2 {
                errors.at(
                    tokens,
                    format!("{what} must be a number or a pair `(h, w)`"),
                );
                return None;
            }
            Some((int(&items[0], what, errors)?, int(&items[1], what, errors)?))
        }
        other => int(other, what, errors).map(|n| (n, n)),
    }
}

/// A shape: one number or a tuple of them, each at least 1.
pub fn shape(v: &Value, what: &str, errors: &mut Errors) -> Option<Shape> {
    let dims: Option<Shape> = match v {
        Value::Tuple(items, _) => items.iter().map(|d| int(d, what, errors)).collect(),
        other => int(other, what, errors).map(|n| vec![n]),
    };
    let dims = dims?;
    if dims.is_empty() || dims.len() > 3 || dims.contains(&0) {
        errors.at(
            v.tokens(),
            format!("{what} must have 1 to 3 dimensions, each at least 1"),
        );
        return None;
    }
    Some(dims)
}
