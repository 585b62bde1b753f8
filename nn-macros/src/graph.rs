//! The model graph: the parsed body turned into nodes in topological order (inputs, layers
//! applied to one node, merges of several), every shape inferred and checked. A chain is the
//! body with no bindings, so it takes the same path.
//!
//! Errors are collected for every bad layer and node (not just the first), each pointing at
//! the tokens at fault and naming the layer and the shapes involved.

use std::collections::HashMap;
use std::rc::Rc;

use proc_macro2::TokenStream;

use crate::args::{pretty, show, Errors, Shape};
use crate::layers::merge::{self, MergeKind};
use crate::layers::{self, input, LayerKind, Weight};
use crate::parse::{Body, Expr, LayerCall};

/// What a node computes.
#[derive(Clone)]
pub enum Kind {
    Input,
    /// Layer `graph.layers[i]` applied to the node's one input.
    Layer(usize),
    Merge(MergeKind),
}

/// One node of the graph.
#[derive(Clone)]
pub struct Node {
    /// The tokens that made it (for spans).
    pub tokens: TokenStream,
    pub kind: Kind,
    /// The nodes it reads.
    pub inputs: Vec<usize>,
    pub output_shape: Shape,
    /// Keras's name of the layer, merge or input (`dense_1`, `add`, `input_layer`).
    pub name: String,
    /// Which application of its layer this is (0 unless the layer is shared).
    pub call_index: usize,
}

/// One layer of the model (a field of the generated struct); a shared layer is one layer
/// applied at several nodes.
pub struct Layer {
    /// Keras's automatic name (`dense`, `dense_1`), also the field's name.
    pub name: String,
    pub kind: Rc<dyn LayerKind>,
    /// The layer as written.
    pub call: LayerCall,
    /// The input and output shapes of its first application.
    pub shapes: Option<(Shape, Shape)>,
}

impl Layer {
    pub fn input_shape(&self) -> &[usize] {
        self.shapes.as_ref().map_or(&[], |s| &s.0)
    }
    pub fn output_shape(&self) -> &[usize] {
        self.shapes.as_ref().map_or(&[], |s| &s.1)
    }
    /// Its weight arrays, or `None` where only the layer's type knows them.
    pub fn weights(&self) -> Option<Vec<Weight>> {
        self.kind.weights(self.input_shape())
    }
    /// Its weights: (total, trainable), where the macro knows them.
    pub fn params(&self) -> Option<(usize, usize)> {
        let weights = self.weights()?;
        let count = |w: &&Weight| w.shape.iter().product::<usize>();
        Some((
            weights.iter().map(|w| count(&w)).sum(),
            weights
                .iter()
                .filter(|w| w.trainable)
                .map(|w| count(&w))
                .sum(),
        ))
    }
}

/// A checked model.
pub struct Graph {
    pub nodes: Vec<Node>,
    pub layers: Vec<Layer>,
    /// The input nodes, in order of appearance.
    pub inputs: Vec<usize>,
    /// The output nodes, in order, and the name of each (its binding, or its layer's name).
    pub outputs: Vec<(usize, String)>,
}

impl Graph {
    /// Whether the graph is a chain: one input, every node reading the one before, each layer
    /// applied once, the last node the output.
    pub fn is_chain(&self) -> bool {
        self.inputs == [0]
            && self.outputs.len() == 1
            && self.outputs[0].0 == self.nodes.len() - 1
            && self
                .nodes
                .iter()
                .enumerate()
                .skip(1)
                .all(|(i, n)| n.inputs == [i - 1] && matches!(n.kind, Kind::Layer(l) if l == i - 1))
    }

    /// The shape of each input, in order.
    pub fn input_shapes(&self) -> Vec<&Shape> {
        self.inputs
            .iter()
            .map(|&k| &self.nodes[k].output_shape)
            .collect()
    }

    /// The shape of each output, in order.
    pub fn output_shapes(&self) -> Vec<&Shape> {
        self.outputs
            .iter()
            .map(|(k, _)| &self.nodes[*k].output_shape)
            .collect()
    }

    /// Total weights the macro knows of (custom layers' are their types').
    pub fn known_params(&self) -> usize {
        self.layers
            .iter()
            .filter_map(|l| l.params())
            .map(|p| p.0)
            .sum()
    }
}

/// What an expression evaluates to.
#[derive(Clone)]
enum Val {
    /// A tensor: the node that computes it.
    Tensor(usize),
    /// A layer not applied yet (`Dense<4>` alone, or a name bound to one).
    Layer(usize),
    Tuple,
    /// A binding whose value had errors (already reported).
    Failed,
}

/// A `let` binding in scope.
struct Binding {
    name: syn::Ident,
    value: Val,
}

struct Builder<'e> {
    chain_form: bool,
    nodes: Vec<Node>,
    layers: Vec<Layer>,
    inputs: Vec<usize>,
    counts: HashMap<String, usize>,
    scope: Vec<Binding>,
    errors: &'e mut Errors,
}

/// The most inputs or outputs a model can have (the tuples `Tensor` is implemented for).
const MAX_IO: usize = 4;

impl Builder<'_> {
    /// Keras's automatic name for the next object with this base: `dense`, `dense_1`, ...
    fn name(&mut self, base: String) -> String {
        let count = self.counts.entry(base.clone()).or_insert(0);
        let name = if *count == 0 {
            base
        } else {
            format!("{base}_{count}")
        };
        *count += 1;
        name
    }

    /// "unknown name `x`", with the closest bound name as a hint.
    fn unknown(&self, name: &syn::Ident) -> String {
        let bound: Vec<String> = self.scope.iter().map(|b| b.name.to_string()).collect();
        let bound: Vec<&str> = bound.iter().map(String::as_str).collect();
        let hint = match crate::args::near_miss(&name.to_string(), &bound) {
            Some(close) => format!("; did you mean `{close}`?"),
            None => String::new(),
        };
        format!("unknown name `{name}`: no `let` binds it before here{hint}")
    }

    fn lookup(&self, name: &syn::Ident) -> Option<Val> {
        self.scope
            .iter()
            .rev()
            .find(|b| b.name == *name)
            .map(|b| b.value.clone())
    }

    /// A new layer from its call, named in order of appearance.
    fn new_layer(&mut self, call: &LayerCall) -> Option<usize> {
        let kind = layers::parse(call, self.errors)?;
        let name = self.name(kind.base_name());
        self.layers.push(Layer {
            name,
            kind,
            call: call.clone(),
            shapes: None,
        });
        Some(self.layers.len() - 1)
    }

    fn input(&mut self, call: &LayerCall) -> Option<usize> {
        let shape = input::parse(call, self.errors)?;
        if self.inputs.len() == MAX_IO {
            self.errors.at(
                &call.tokens,
                format!("a model takes at most {MAX_IO} inputs"),
            );
            return None;
        }
        let name = self.name("input_layer".into());
        self.nodes.push(Node {
            tokens: call.tokens.clone(),
            kind: Kind::Input,
            inputs: Vec::new(),
            output_shape: shape,
            name,
            call_index: 0,
        });
        self.inputs.push(self.nodes.len() - 1);
        Some(self.nodes.len() - 1)
    }

    /// Applies layer `l` to tensor `x`, as written by `call`.
    fn apply(&mut self, l: usize, x: usize, call: &LayerCall) -> Option<usize> {
        let input = self.nodes[x].output_shape.clone();
        let layer = &self.layers[l];
        if let Some((first, _)) = &layer.shapes {
            if *first != input {
                self.errors.at(
                    &call.tokens,
                    format!(
                        "`{}` is one layer applied twice: first to shape {}, here to {}; \
                         a shared layer needs inputs of one shape",
                        pretty(&call.tokens),
                        show(first),
                        show(&input)
                    ),
                );
                return None;
            }
        }
        let shown = pretty(&layer.call.tokens);
        let output = match layer.kind.output_shape(&shown, &input) {
            Ok(output) => output,
            Err(message) => {
                self.errors.at(&call.tokens, message);
                return None;
            }
        };
        let call_index = self
            .nodes
            .iter()
            .filter(|n| matches!(n.kind, Kind::Layer(k) if k == l))
            .count();
        let layer = &mut self.layers[l];
        layer.shapes.get_or_insert((input, output.clone()));
        self.nodes.push(Node {
            tokens: call.tokens.clone(),
            kind: Kind::Layer(l),
            inputs: vec![x],
            output_shape: output,
            name: layer.name.clone(),
            call_index,
        });
        Some(self.nodes.len() - 1)
    }

    /// The layer a chain step names: a bound layer, or a new one.
    fn step_layer(&mut self, call: &LayerCall) -> Option<usize> {
        if call.name == "Input" {
            let message = if self.chain_form {
                "`Input` may appear only once, as the first layer of the chain"
            } else {
                "`Input` starts a chain: bind it first, as in `let x = Input<4>;`"
            };
            self.errors.at(&call.tokens, message);
            return None;
        }
        if call.args.is_empty() {
            match self.lookup(&call.name) {
                Some(Val::Layer(l)) => return Some(l),
                Some(Val::Failed) => return None,
                Some(Val::Tensor(_) | Val::Tuple) => {
                    self.errors.at(
                        &call.tokens,
                        format!(
                            "`{}` is a tensor, not a layer: a chain step must be a layer",
                            call.name
                        ),
                    );
                    return None;
                }
                None => {}
            }
        }
        self.new_layer(call)
    }

    fn eval(&mut self, expr: &Expr) -> Option<Val> {
        match expr {
            Expr::Call(call) => {
                if call.args.is_empty() {
                    match self.lookup(&call.name) {
                        Some(Val::Failed) => return None,
                        Some(v) => return Some(v),
                        None => {}
                    }
                }
                if call.name == "Input" {
                    return self.input(call).map(Val::Tensor);
                }
                if !self.chain_form
                    && call.args.is_empty()
                    && call.name.to_string().starts_with(char::is_lowercase)
                {
                    let message = self.unknown(&call.name);
                    self.errors.at(&call.tokens, message);
                    return None;
                }
                self.new_layer(call).map(Val::Layer)
            }
            Expr::Merge(call, args, tokens) => self.merge(call, args, tokens),
            Expr::Chain(start, steps) => {
                let mut current = self.chain_start(start);
                for step in steps {
                    let layer = self.step_layer(step);
                    current = match (current, layer) {
                        (Some(x), Some(l)) => self.apply(l, x, step),
                        _ => None,
                    };
                }
                current.map(Val::Tensor)
            }
            Expr::Tuple(items, _) => {
                for item in items {
                    self.eval(item);
                }
                Some(Val::Tuple)
            }
        }
    }

    /// The tensor a chain starts from.
    fn chain_start(&mut self, start: &Expr) -> Option<usize> {
        if let Expr::Call(call) = start {
            let bound = call.args.is_empty() && self.lookup(&call.name).is_some();
            if !bound && call.name != "Input" {
                let message = if self.chain_form {
                    format!(
                        "the chain must start with `Input<...>` (e.g. `Input<28, 28>`), found `{}`",
                        call.name
                    )
                } else if call.args.is_empty()
                    && call.name.to_string().starts_with(char::is_lowercase)
                {
                    self.unknown(&call.name)
                } else {
                    format!(
                        "a chain must start with a tensor (`Input<..>` or a bound name), found the layer `{}`",
                        pretty(&call.tokens)
                    )
                };
                self.errors.at(&call.tokens, message);
                return None;
            }
        }
        self.tensor(start, "a chain starts from")
    }

    /// Evaluates `expr`, which must be a tensor (`what` says where it stands).
    fn tensor(&mut self, expr: &Expr, what: &str) -> Option<usize> {
        match self.eval(expr)? {
            Val::Tensor(x) => Some(x),
            Val::Layer(_) => {
                let shown = pretty(&expr.tokens());
                self.errors.at(
                    &expr.tokens(),
                    format!(
                        "`{shown}` is a layer, not a tensor: {what} a tensor; apply the layer \
                         first, as in `x => {shown}`"
                    ),
                );
                None
            }
            Val::Tuple => {
                self.errors
                    .at(&expr.tokens(), format!("{what} one tensor, not a tuple"));
                None
            }
            Val::Failed => None,
        }
    }

    /// A merge (`Add(a, b)`), or a layer called on one tensor (`encode(a)`, Keras's call).
    fn merge(&mut self, call: &LayerCall, args: &[Expr], tokens: &TokenStream) -> Option<Val> {
        let is_merge = merge::MERGES.contains(&call.name.to_string().as_str());
        if !is_merge {
            let layer = self.step_layer(call);
            let [arg] = args else {
                self.errors.at(
                    tokens,
                    format!(
                        "`{}` is a layer: it takes one tensor, as in `{}(x)` or `x => {}`",
                        call.name, call.name, call.name
                    ),
                );
                return None;
            };
            let x = self.tensor(arg, "a layer applies to")?;
            return self.apply(layer?, x, call).map(Val::Tensor);
        }
        let kind = merge::parse(call, self.errors);
        let name = self.name(
            kind.as_ref()
                .map_or_else(|| call.name.to_string().to_lowercase(), |k| k.base_name()),
        );
        let inputs: Vec<Option<usize>> = args
            .iter()
            .map(|a| self.tensor(a, "a merge takes"))
            .collect();
        let kind = kind?;
        let inputs: Vec<usize> = inputs.into_iter().collect::<Option<_>>()?;
        let shapes: Vec<Shape> = inputs
            .iter()
            .map(|&k| self.nodes[k].output_shape.clone())
            .collect();
        let shown = merge_text(call, args);
        match kind.output_shape(&shown, &shapes) {
            Ok(output) => {
                self.nodes.push(Node {
                    tokens: tokens.clone(),
                    kind: Kind::Merge(kind),
                    inputs,
                    output_shape: output,
                    name,
                    call_index: 0,
                });
                Some(Val::Tensor(self.nodes.len() - 1))
            }
            Err(message) => {
                self.errors.at(tokens, message);
                None
            }
        }
    }
}

/// `Add(x, y)` as a person writes it.
fn merge_text(call: &LayerCall, args: &[Expr]) -> String {
    let args: Vec<String> = args.iter().map(|a| pretty(&a.tokens())).collect();
    format!("{}({})", pretty(&call.tokens), args.join(", "))
}

/// Checks a model's body and infers its shapes. `None` when errors leave no graph to build;
/// the errors themselves go to `errors` either way.
pub fn check(body: &Body, errors: &mut Errors) -> Option<Graph> {
    let before = errors.0.len();
    let mut b = Builder {
        chain_form: body.is_chain(),
        nodes: Vec::new(),
        layers: Vec::new(),
        inputs: Vec::new(),
        counts: HashMap::new(),
        scope: Vec::new(),
        errors,
    };
    for binding in &body.lets {
        let value = b.eval(&binding.value);
        match value {
            Some(Val::Tuple) => {
                b.errors.at(
                    &binding.value.tokens(),
                    format!(
                        "`{}` must be bound to one tensor or layer, not a tuple",
                        binding.name
                    ),
                );
            }
            Some(value) => b.scope.push(Binding {
                name: binding.name.clone(),
                value,
            }),
            None => {
                // Bound to nothing usable: later uses report nothing more.
                b.scope.push(Binding {
                    name: binding.name.clone(),
                    value: Val::Failed,
                });
            }
        }
    }
    let outputs = output_list(&mut b, &body.output);
    let Builder {
        nodes,
        layers,
        inputs,
        scope,
        ..
    } = b;
    if errors.0.len() != before {
        return None;
    }
    let graph = Graph {
        nodes,
        layers,
        inputs,
        outputs,
    };
    unused(&graph, &scope, errors);
    (errors.0.len() == before).then_some(graph)
}

/// The model's outputs: the output expression's tensors, each named by its binding (or its
/// node's name).
fn output_list(b: &mut Builder<'_>, expr: &Expr) -> Vec<(usize, String)> {
    let items: Vec<&Expr> = match expr {
        Expr::Tuple(items, _) => items.iter().collect(),
        other => vec![other],
    };
    if items.len() > MAX_IO {
        b.errors.at(
            &expr.tokens(),
            format!("a model has at most {MAX_IO} outputs"),
        );
    }
    let mut outputs = Vec::new();
    for item in items {
        let x = if b.chain_form && matches!(item, Expr::Call(_)) {
            b.chain_start(item)
        } else {
            b.tensor(item, "an output must be")
        };
        let Some(x) = x else {
            continue;
        };
        if matches!(b.nodes[x].kind, Kind::Input) {
            let message = if b.chain_form {
                "a model needs at least one layer after `Input`"
            } else {
                "an output must be computed by a layer, not be an input itself"
            };
            b.errors.at(&item.tokens(), message);
            continue;
        }
        let name = match item {
            Expr::Call(call) if call.args.is_empty() => call.name.to_string(),
            _ => b.nodes[x].name.clone(),
        };
        if outputs.iter().any(|(_, n)| *n == name) {
            b.errors.at(
                &item.tokens(),
                format!("two outputs are named `{name}`: bind each to its own name"),
            );
            continue;
        }
        outputs.push((x, name));
    }
    outputs
}

/// Reports each input and binding that no output depends on.
fn unused(graph: &Graph, scope: &[Binding], errors: &mut Errors) {
    let mut live = vec![false; graph.nodes.len()];
    for (k, _) in &graph.outputs {
        live[*k] = true;
    }
    for k in (0..graph.nodes.len()).rev() {
        if live[k] {
            for &i in &graph.nodes[k].inputs {
                live[i] = true;
            }
        }
    }
    let bound: Vec<usize> = scope
        .iter()
        .filter_map(|b| match b.value {
            Val::Tensor(x) => Some(x),
            _ => None,
        })
        .collect();
    for &k in &graph.inputs {
        if !live[k] && !bound.contains(&k) {
            errors.at(
                &graph.nodes[k].tokens,
                "this input is not used by any output",
            );
        }
    }
    for binding in scope {
        let name = &binding.name;
        match binding.value {
            Val::Tensor(x) if !live[x] => errors.at(
                &quote::quote!(#name),
                format!("`{name}` is not used by any output"),
            ),
            Val::Layer(l) => {
                let applied = graph
                    .nodes
                    .iter()
                    .enumerate()
                    .any(|(k, n)| live[k] && matches!(n.kind, Kind::Layer(m) if m == l));
                if !applied {
                    errors.at(
                        &quote::quote!(#name),
                        format!("the layer `{name}` is not applied on the way to any output"),
                    );
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests;
