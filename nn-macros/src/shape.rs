//! Shape inference and every shape check, as pure functions over the parsed chain.
//!
//! The result is a small graph IR: a list of nodes, each naming its inputs, so that the graph
//! form of `model!` can reuse it. Errors are collected for every bad layer (not just the
//! first), each pointing at the layer's tokens and naming the layer and the shapes involved.

use proc_macro2::TokenStream;

use crate::parse::{Arg, LayerCall, ModelDef, Value};

/// A per-sample shape (no batch axis), channels last.
pub type Shape = Vec<usize>;

/// An activation function with its parameter.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Act {
    Linear,
    Relu,
    LeakyRelu(f64),
    Elu(f64),
    Sigmoid,
    Tanh,
    Softmax,
}

/// The names the DSL accepts for activations.
pub const ACTIVATIONS: [&str; 7] = [
    "Relu",
    "LeakyRelu",
    "Elu",
    "Sigmoid",
    "Tanh",
    "Softmax",
    "Linear",
];
/// The names the DSL accepts for layers (activations can be layers too).
pub const LAYERS: [&str; 9] = [
    "Input",
    "Flatten",
    "Dense",
    "Dropout",
    "Conv2D",
    "MaxPool2D",
    "AvgPool2D",
    "BatchNorm",
    "Activation",
];
/// Kernel initializers.
pub const INITIALIZERS: [&str; 6] = [
    "GlorotUniform",
    "GlorotNormal",
    "HeNormal",
    "HeUniform",
    "LecunNormal",
    "Zeros",
];

/// `padding = Valid | Same`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Padding {
    Valid,
    Same,
}

/// Kernel options shared by `Dense` and `Conv2D`.
#[derive(Clone, Debug, PartialEq)]
pub struct KernelOptions {
    pub init: String,
    pub l1: f64,
    pub l2: f64,
}

/// What a node computes.
#[derive(Clone, Debug, PartialEq)]
pub enum Kind {
    Input(Shape),
    Flatten,
    Dense {
        units: usize,
        act: Act,
        kernel: KernelOptions,
    },
    Dropout {
        rate: f64,
    },
    Activation(Act),
    Conv2D {
        filters: usize,
        kernel_size: (usize, usize),
        stride: (usize, usize),
        padding: Padding,
        act: Act,
        kernel: KernelOptions,
    },
    Pool {
        max: bool,
        pool: (usize, usize),
        stride: (usize, usize),
        padding: Padding,
    },
    BatchNorm {
        momentum: f64,
        epsilon: f64,
    },
}

/// One node of the model graph.
#[derive(Clone)]
pub struct Node {
    /// The layer as written (for spans).
    pub call: LayerCall,
    pub kind: Kind,
    /// Indices of the nodes feeding this one (the previous node, in a chain).
    pub inputs: Vec<usize>,
    pub input_shape: Shape,
    pub output_shape: Shape,
    /// Keras's automatic layer name (`dense`, `dense_1`, ...), also the struct field name.
    pub name: String,
}

impl Node {
    /// Keras's class name, as `summary()` prints it.
    pub fn class(&self) -> &'static str {
        match &self.kind {
            Kind::Input(_) => "InputLayer",
            Kind::Flatten => "Flatten",
            Kind::Dense { .. } => "Dense",
            Kind::Dropout { .. } => "Dropout",
            Kind::Activation(Act::Relu) => "ReLU",
            Kind::Activation(Act::LeakyRelu(_)) => "LeakyReLU",
            Kind::Activation(Act::Elu(_)) => "ELU",
            Kind::Activation(Act::Softmax) => "Softmax",
            Kind::Activation(_) => "Activation",
            Kind::Conv2D { .. } => "Conv2D",
            Kind::Pool { max: true, .. } => "MaxPooling2D",
            Kind::Pool { max: false, .. } => "AveragePooling2D",
            Kind::BatchNorm { .. } => "BatchNormalization",
        }
    }

    /// Keras's base name for automatic naming (`re_lu`, `max_pooling2d`, ...).
    fn base_name(&self) -> &'static str {
        match &self.kind {
            Kind::Input(_) => "input_layer",
            Kind::Flatten => "flatten",
            Kind::Dense { .. } => "dense",
            Kind::Dropout { .. } => "dropout",
            Kind::Activation(Act::Relu) => "re_lu",
            Kind::Activation(Act::LeakyRelu(_)) => "leaky_re_lu",
            Kind::Activation(Act::Elu(_)) => "elu",
            Kind::Activation(Act::Softmax) => "softmax",
            Kind::Activation(_) => "activation",
            Kind::Conv2D { .. } => "conv2d",
            Kind::Pool { max: true, .. } => "max_pooling2d",
            Kind::Pool { max: false, .. } => "average_pooling2d",
            Kind::BatchNorm { .. } => "batch_normalization",
        }
    }

    /// The layer's weight arrays in Keras order, with Keras's shapes (what `get_weights` and
    /// the safetensors files hold).
    pub fn weight_shapes(&self) -> Vec<(&'static str, Shape)> {
        let last = *self.input_shape.last().unwrap_or(&0);
        match &self.kind {
            Kind::Dense { units, .. } => {
                vec![("kernel", vec![last, *units]), ("bias", vec![*units])]
            }
            Kind::Conv2D {
                filters,
                kernel_size: (kh, kw),
                ..
            } => {
                vec![
                    ("kernel", vec![*kh, *kw, last, *filters]),
                    ("bias", vec![*filters]),
                ]
            }
            Kind::BatchNorm { .. } => ["gamma", "beta", "moving_mean", "moving_variance"]
                .map(|n| (n, vec![last]))
                .to_vec(),
            _ => Vec::new(),
        }
    }

    /// Weights of the layer: (total, trainable).
    pub fn params(&self) -> (usize, usize) {
        let last = *self.input_shape.last().unwrap_or(&0);
        match &self.kind {
            Kind::Dense { units, .. } => {
                let n = last * units + units;
                (n, n)
            }
            Kind::Conv2D {
                filters,
                kernel_size: (kh, kw),
                ..
            } => {
                let n = kh * kw * last * filters + filters;
                (n, n)
            }
            Kind::BatchNorm { .. } => (4 * last, 2 * last),
            _ => (0, 0),
        }
    }
}

/// A checked model: its nodes, `nodes[0]` being the input.
pub struct Graph {
    pub nodes: Vec<Node>,
}

impl Graph {
    /// The model's input shape (the input node's own shape).
    pub fn input_shape(&self) -> &Shape {
        &self.nodes[0].input_shape
    }
    pub fn output_shape(&self) -> &Shape {
        &self
            .nodes
            .last()
            .expect("a graph has an input node")
            .output_shape
    }
    /// The layers proper (every node but the input).
    pub fn layers(&self) -> &[Node] {
        &self.nodes[1..]
    }
    pub fn params(&self) -> usize {
        self.layers().iter().map(|n| n.params().0).sum()
    }
}

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

/// A layer's tokens as a person writes them: `Dense<300, Relu>`, not `Dense < 300 , Relu >`.
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

/// `; did you mean `X`?` for the closest known name, if it is close.
pub fn suggest(name: &str, known: &[&str]) -> String {
    let best = known.iter().map(|k| (distance(name, k), *k)).min();
    match best {
        Some((d, k)) if d <= (name.len() / 3).max(2) => format!("; did you mean `{k}`?"),
        _ => format!(
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
struct Args<'a> {
    call: &'a LayerCall,
    positional: Vec<&'a Value>,
    named: Vec<(&'a syn::Ident, &'a Value, bool)>,
}

impl<'a> Args<'a> {
    fn new(call: &'a LayerCall) -> Self {
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

    fn option(&mut self, key: &str) -> Option<&'a Value> {
        let hit = self.named.iter_mut().find(|(k, _, _)| *k == key)?;
        hit.2 = true;
        Some(hit.1)
    }

    /// Reports extra positional arguments and unknown or positional-before-named mistakes.
    fn finish(self, max_positional: usize, usage: &str, options: &[&str], errors: &mut Errors) {
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

fn int(v: &Value, what: &str, errors: &mut Errors) -> Option<usize> {
    match v {
        Value::Int(n, _) => usize::try_from(*n).ok(),
        other => {
            errors.at(other.tokens(), format!("{what} must be a whole number"));
            None
        }
    }
}

fn float(v: &Value, what: &str, errors: &mut Errors) -> Option<f64> {
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
fn pair(v: &Value, what: &str, errors: &mut Errors) -> Option<(usize, usize)> {
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

/// Reads an activation name (`Relu`, `LeakyRelu<0.1>`, ...).
fn activation(call: &LayerCall, errors: &mut Errors) -> Option<Act> {
    let name = call.name.to_string();
    let param = |default: f64, errors: &mut Errors| -> Option<f64> {
        let mut args = Args::new(call);
        let value = match args.positional.first() {
            Some(v) => float(v, &format!("the parameter of `{name}`"), errors)?,
            None => args
                .option("alpha")
                .map_or(Some(default), |v| float(v, "alpha", errors))?,
        };
        args.finish(1, &format!("`{name}<ALPHA>`"), &["alpha"], errors);
        Some(value)
    };
    let plain = |act: Act, errors: &mut Errors| {
        Args::new(call).finish(0, &format!("`{name}`"), &[], errors);
        Some(act)
    };
    match name.as_str() {
        "Relu" => plain(Act::Relu, errors),
        "Sigmoid" => plain(Act::Sigmoid, errors),
        "Tanh" => plain(Act::Tanh, errors),
        "Softmax" => plain(Act::Softmax, errors),
        "Linear" => plain(Act::Linear, errors),
        "LeakyRelu" => {
            let a = param(0.3, errors)?;
            if !(a >= 0.0 && a.is_finite()) {
                errors.at(
                    &call.tokens,
                    format!("`LeakyRelu<{a}>`: the negative slope must be a non-negative number"),
                );
                return None;
            }
            Some(Act::LeakyRelu(a))
        }
        "Elu" => {
            let a = param(1.0, errors)?;
            if !(a > 0.0 && a.is_finite()) {
                errors.at(&call.tokens, format!("`Elu<{a}>`: alpha must be positive"));
                return None;
            }
            Some(Act::Elu(a))
        }
        other => {
            errors.at(
                &call.tokens,
                format!(
                    "unknown activation `{other}`{}",
                    suggest(other, &ACTIVATIONS)
                ),
            );
            None
        }
    }
}

fn kernel_options(args: &mut Args<'_>, errors: &mut Errors) -> KernelOptions {
    let init = match args.option("init") {
        Some(Value::Name(c))
            if INITIALIZERS.contains(&c.name.to_string().as_str()) && c.args.is_empty() =>
        {
            c.name.to_string()
        }
        Some(v) => {
            let shown = pretty(v.tokens());
            errors.at(
                v.tokens(),
                format!(
                    "unknown initializer `{shown}`{}",
                    suggest(&shown, &INITIALIZERS)
                ),
            );
            "GlorotUniform".into()
        }
        None => "GlorotUniform".into(),
    };
    let mut penalty = |key: &str, errors: &mut Errors| match args.option(key) {
        Some(v) => match float(v, key, errors) {
            Some(x) if x >= 0.0 && x.is_finite() => x,
            Some(x) => {
                errors.at(
                    v.tokens(),
                    format!("`{key} = {x}`: a regularization factor must be a non-negative number"),
                );
                0.0
            }
            None => 0.0,
        },
        None => 0.0,
    };
    let l1 = penalty("l1", errors);
    let l2 = penalty("l2", errors);
    KernelOptions { init, l1, l2 }
}

/// The activation given positionally at `index` or as `activation = ...`.
fn optional_activation(args: &mut Args<'_>, index: usize, errors: &mut Errors) -> Act {
    let value = args
        .positional
        .get(index)
        .copied()
        .or_else(|| args.option("activation"));
    match value {
        None => Act::Linear,
        Some(Value::Name(call)) => activation(call, errors).unwrap_or(Act::Linear),
        Some(other) => {
            errors.at(
                other.tokens(),
                "expected an activation such as `Relu` or `Softmax`",
            );
            Act::Linear
        }
    }
}

fn padding(args: &mut Args<'_>, errors: &mut Errors) -> Padding {
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

/// Output size along one axis, or `None` when the window does not fit.
fn window_out(input: usize, window: usize, stride: usize, padding: Padding) -> Option<usize> {
    match padding {
        Padding::Valid => (input >= window).then(|| (input - window) / stride + 1),
        Padding::Same => Some(input.div_ceil(stride)),
    }
}

/// Reads one layer's arguments into its kind; `None` after reporting an error that leaves
/// nothing to build.
fn kind_of(call: &LayerCall, errors: &mut Errors) -> Option<Kind> {
    let name = call.name.to_string();
    let mut args = Args::new(call);
    let kind = match name.as_str() {
        "Input" => {
            if args.positional.is_empty() || args.positional.len() > 3 {
                errors.at(&call.tokens, "`Input` takes 1 to 3 dimensions: `Input<N>`, `Input<H, W>` or `Input<H, W, C>`");
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
            Kind::Input(dims)
        }
        "Flatten" => Kind::Flatten,
        "Dense" => {
            let Some(units) = args
                .positional
                .first()
                .and_then(|v| int(v, "the number of units of `Dense`", errors))
            else {
                if args.positional.is_empty() {
                    errors.at(
                        &call.tokens,
                        "`Dense` needs its number of units: `Dense<UNITS>` or `Dense<UNITS, ACT>`",
                    );
                }
                return None;
            };
            if units == 0 {
                errors.at(
                    &call.tokens,
                    format!(
                        "`{}`: a Dense layer needs at least one unit",
                        pretty(&call.tokens)
                    ),
                );
            }
            let act = optional_activation(&mut args, 1, errors);
            let kernel = kernel_options(&mut args, errors);
            args.finish(
                2,
                "`Dense<UNITS, ACT>`",
                &["activation", "init", "l1", "l2"],
                errors,
            );
            if units == 0 {
                return None;
            }
            Kind::Dense { units, act, kernel }
        }
        "Dropout" => {
            let Some(rate) = args
                .positional
                .first()
                .copied()
                .or_else(|| args.option("rate"))
            else {
                errors.at(&call.tokens, "`Dropout` needs its rate: `Dropout<0.5>`");
                return None;
            };
            let rate = float(rate, "the rate of `Dropout`", errors)?;
            args.finish(1, "`Dropout<RATE>`", &["rate"], errors);
            if !(0.0..1.0).contains(&rate) {
                errors.at(
                    &call.tokens,
                    format!(
                        "`{}`: the dropout rate must be in [0, 1), got {rate}",
                        pretty(&call.tokens)
                    ),
                );
                return None;
            }
            Kind::Dropout { rate }
        }
        "Conv2D" => {
            let filters = args
                .positional
                .first()
                .and_then(|v| int(v, "the number of filters of `Conv2D`", errors));
            let kernel_size = args
                .positional
                .get(1)
                .and_then(|v| pair(v, "the kernel size of `Conv2D`", errors));
            let act = optional_activation(&mut args, 2, errors);
            let stride = args
                .option("stride")
                .map_or(Some((1, 1)), |v| pair(v, "the stride", errors));
            let padding = padding(&mut args, errors);
            let kernel = kernel_options(&mut args, errors);
            args.finish(
                3,
                "`Conv2D<FILTERS, K, ACT>`",
                &["activation", "stride", "padding", "init", "l1", "l2"],
                errors,
            );
            let (Some(filters), Some(kernel_size), Some(stride)) = (filters, kernel_size, stride)
            else {
                if call.args.len() < 2 {
                    errors.at(
                        &call.tokens,
                        "`Conv2D` needs its filters and kernel size: `Conv2D<FILTERS, K>`",
                    );
                }
                return None;
            };
            if filters == 0
                || kernel_size.0 == 0
                || kernel_size.1 == 0
                || stride.0 == 0
                || stride.1 == 0
            {
                errors.at(
                    &call.tokens,
                    format!(
                        "`{}`: filters, kernel size and stride must all be at least 1",
                        pretty(&call.tokens)
                    ),
                );
                return None;
            }
            Kind::Conv2D {
                filters,
                kernel_size,
                stride,
                padding,
                act,
                kernel,
            }
        }
        "MaxPool2D" | "AvgPool2D" => {
            let pool = args
                .positional
                .first()
                .map_or(Some((2, 2)), |v| pair(v, "the pool size", errors));
            let stride = args.option("stride").map(|v| pair(v, "the stride", errors));
            let padding = padding(&mut args, errors);
            args.finish(1, &format!("`{name}<P>`"), &["stride", "padding"], errors);
            let pool = pool?;
            let stride = match stride {
                None => pool,
                Some(s) => s?,
            };
            if pool.0 == 0 || pool.1 == 0 || stride.0 == 0 || stride.1 == 0 {
                errors.at(
                    &call.tokens,
                    format!(
                        "`{}`: pool size and stride must be at least 1",
                        pretty(&call.tokens)
                    ),
                );
                return None;
            }
            Kind::Pool {
                max: name == "MaxPool2D",
                pool,
                stride,
                padding,
            }
        }
        "BatchNorm" => {
            let momentum = args
                .option("momentum")
                .map_or(Some(0.99), |v| float(v, "momentum", errors));
            let epsilon = args
                .option("epsilon")
                .map_or(Some(1e-3), |v| float(v, "epsilon", errors));
            args.finish(0, "`BatchNorm`", &["momentum", "epsilon"], errors);
            let (momentum, epsilon) = (momentum?, epsilon?);
            if !(0.0..=1.0).contains(&momentum) || epsilon.is_nan() || epsilon <= 0.0 {
                errors.at(
                    &call.tokens,
                    "`BatchNorm`: momentum must be in [0, 1] and epsilon positive",
                );
                return None;
            }
            Kind::BatchNorm { momentum, epsilon }
        }
        act if ACTIVATIONS.contains(&act) => Kind::Activation(activation(call, errors)?),
        other => {
            let known: Vec<&str> = LAYERS
                .iter()
                .chain(ACTIVATIONS.iter())
                .copied()
                .filter(|n| *n != "Activation")
                .collect();
            let name = &call.name;
            errors.at(
                &quote::quote!(#name),
                format!("unknown layer `{other}`{}", suggest(other, &known)),
            );
            return None;
        }
    };
    Some(kind)
}

/// The output shape of `kind` on `input`, or an error message naming the layer and shapes.
fn infer(kind: &Kind, call: &LayerCall, input: &[usize]) -> Result<Shape, String> {
    let layer = call
        .tokens
        .to_string()
        .replace(" < ", "<")
        .replace(" >", ">")
        .replace(" ,", ",");
    let rank_error = |need: &str, hint: &str| {
        format!(
            "`{layer}` needs {need} input, but receives shape {}{hint}",
            show(input)
        )
    };
    match kind {
        Kind::Input(_) => unreachable!("Input is handled by the chain"),
        Kind::Flatten => Ok(vec![input.iter().product()]),
        Kind::Dense { units, .. } => {
            if input.len() != 1 {
                return Err(rank_error("a 1-D", "; add `Flatten` before it"));
            }
            Ok(vec![*units])
        }
        Kind::Dropout { .. } | Kind::Activation(_) | Kind::BatchNorm { .. } => Ok(input.to_vec()),
        Kind::Conv2D {
            filters,
            kernel_size,
            stride,
            padding,
            ..
        } => {
            let [h, w, _] = input else {
                return Err(rank_error(
                    "an (H, W, C)",
                    "; start the chain with `Input<H, W, C>`",
                ));
            };
            match (window_out(*h, kernel_size.0, stride.0, *padding), window_out(*w, kernel_size.1, stride.1, *padding)) {
                (Some(oh), Some(ow)) => Ok(vec![oh, ow, *filters]),
                _ => Err(format!(
                    "`{layer}`: kernel {}x{} does not fit the {h}x{w} input of this layer (padding = Valid)",
                    kernel_size.0, kernel_size.1
                )),
            }
        }
        Kind::Pool {
            pool,
            stride,
            padding,
            ..
        } => {
            let [h, w, c] = input else {
                return Err(rank_error(
                    "an (H, W, C)",
                    "; start the chain with `Input<H, W, C>`",
                ));
            };
            match (window_out(*h, pool.0, stride.0, *padding), window_out(*w, pool.1, stride.1, *padding)) {
                (Some(oh), Some(ow)) => Ok(vec![oh, ow, *c]),
                _ => Err(format!(
                    "`{layer}`: pooling window {}x{} does not fit the {h}x{w} input of this layer (padding = Valid)",
                    pool.0, pool.1
                )),
            }
        }
    }
}

/// Checks a model's chain and infers its shapes. `None` when errors leave no graph to build;
/// the errors themselves go to `errors` either way.
pub fn check(model: &ModelDef, errors: &mut Errors) -> Option<Graph> {
    let before = errors.0.len();
    let first = &model.chain[0];
    let input_shape: Option<Shape> = if first.name == "Input" {
        match kind_of(first, errors) {
            Some(Kind::Input(dims)) => Some(dims),
            _ => None,
        }
    } else {
        errors.at(
            &first.tokens,
            format!(
                "the chain must start with `Input<...>` (e.g. `Input<28, 28>`), found `{}`",
                first.name
            ),
        );
        None
    };
    let mut nodes = Vec::new();
    if let Some(shape) = &input_shape {
        nodes.push(Node {
            call: first.clone(),
            kind: Kind::Input(shape.clone()),
            inputs: vec![],
            input_shape: shape.clone(),
            output_shape: shape.clone(),
            name: "input_layer".into(),
        });
    }
    let mut shape = input_shape;
    let rest = if first.name == "Input" {
        &model.chain[1..]
    } else {
        &model.chain[..]
    };
    if rest.is_empty() && first.name == "Input" {
        errors.at(
            &first.tokens,
            "a model needs at least one layer after `Input`",
        );
    }
    let mut counts: std::collections::HashMap<&'static str, usize> = Default::default();
    for call in rest {
        if call.name == "Input" {
            errors.at(
                &call.tokens,
                "`Input` may appear only once, as the first layer of the chain",
            );
            shape = None;
            continue;
        }
        let kind = kind_of(call, errors);
        let (Some(kind), Some(input)) = (kind, shape.clone()) else {
            shape = None;
            continue;
        };
        match infer(&kind, call, &input) {
            Ok(output) => {
                let mut node = Node {
                    call: call.clone(),
                    kind,
                    inputs: vec![nodes.len() - 1],
                    input_shape: input,
                    output_shape: output.clone(),
                    name: String::new(),
                };
                let base = node.base_name();
                let count = counts.entry(base).or_insert(0);
                node.name = if *count == 0 {
                    base.to_string()
                } else {
                    format!("{base}_{count}")
                };
                *count += 1;
                nodes.push(node);
                shape = Some(output);
            }
            Err(message) => {
                errors.at(&call.tokens, message);
                shape = None;
            }
        }
    }
    (errors.0.len() == before).then_some(Graph { nodes })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::Models;

    fn run(src: &str) -> Result<Graph, Vec<String>> {
        let models: Models = syn::parse_str(src).expect("parses");
        let mut errors = Errors::default();
        match check(&models.models[0], &mut errors) {
            Some(g) if errors.0.is_empty() => Ok(g),
            _ => Err(errors.0.iter().map(|e| e.to_string()).collect()),
        }
    }

    fn fails(src: &str, want: &str) {
        let errors = run(src)
            .err()
            .unwrap_or_else(|| panic!("{src} should not check"));
        assert!(
            errors.iter().any(|e| e.contains(want)),
            "{errors:?} should mention {want:?}"
        );
    }

    #[test]
    fn the_design_card_infers_keras_shapes_names_and_params() {
        let g = run("struct M { Input<28, 28> => Flatten => Dense<300, Relu> => Dropout<0.5> => Dense<10, Softmax> }")
            .unwrap_or_else(|e| panic!("{e:?}"));
        let names: Vec<&str> = g.layers().iter().map(|n| n.name.as_str()).collect();
        assert_eq!(names, ["flatten", "dense", "dropout", "dense_1"]);
        assert_eq!(g.output_shape(), &vec![10]);
        assert_eq!(g.params(), 238_510);
    }

    #[test]
    fn conv_and_pool_shapes_follow_tensorflow() {
        let g = run("struct L { Input<28, 28, 1> => Conv2D<6, 5, Relu, padding = Same> => MaxPool2D<2> \
                     => Conv2D<16, 5, Relu> => MaxPool2D<2> => Flatten => Dense<120, Relu> => Dense<84, Relu> \
                     => Dense<10, Softmax> }")
            .unwrap_or_else(|e| panic!("{e:?}"));
        let shapes: Vec<&Shape> = g.layers().iter().map(|n| &n.output_shape).collect();
        assert_eq!(
            shapes[..5],
            [
                &vec![28, 28, 6],
                &vec![14, 14, 6],
                &vec![10, 10, 16],
                &vec![5, 5, 16],
                &vec![400]
            ]
        );
        assert_eq!(g.params(), 61_706);
        let g = run("struct S { Input<7, 8, 3> => Conv2D<4, (3, 2), stride = (2, 3), padding = Same> => BatchNorm }")
            .unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(g.output_shape(), &vec![4, 3, 4]);
        assert_eq!(g.layers()[1].params(), (16, 8));
    }

    #[test]
    fn every_impossible_chain_is_a_named_error() {
        fails("struct A { Dense<10> }", "must start with `Input");
        fails("struct A { Input<4> => Input<4> => Dense<2> }", "only once");
        fails("struct A { Input<4> => Dense<0> }", "at least one unit");
        fails("struct A { Input<4> => Dropout<1.5> }", "[0, 1), got 1.5");
        fails("struct A { Input<4> => Dropout<1> }", "[0, 1), got 1");
        fails("struct A { Input<4> => Dens<2> }", "did you mean `Dense`");
        fails(
            "struct A { Input<4> => Dense<2, Rellu> }",
            "did you mean `Relu`",
        );
        fails(
            "struct A { Input<4, 4> => Dense<2> }",
            "needs a 1-D input, but receives shape (4, 4)",
        );
        fails(
            "struct A { Input<784> => Conv2D<6, 5> }",
            "needs an (H, W, C) input, but receives shape (784,)",
        );
        fails(
            "struct A { Input<4, 4, 1> => Conv2D<16, 5> }",
            "kernel 5x5 does not fit the 4x4 input",
        );
        fails(
            "struct A { Input<4, 4, 1> => MaxPool2D<5> }",
            "window 5x5 does not fit the 4x4 input",
        );
        fails("struct A { Input<4, 4, 1> => Conv2D<0, 3> }", "at least 1");
        fails(
            "struct A { Input<4, 4, 1> => Conv2D<2, 3, stride = 0> }",
            "at least 1",
        );
        fails(
            "struct A { Input<4> => Dense<2, init = HeNormall> }",
            "did you mean `HeNormal`",
        );
        fails(
            "struct A { Input<4> => Dense<2, strides = 2> }",
            "unknown option `strides`",
        );
        fails("struct A { Input<4> }", "at least one layer");
        fails(
            "struct A { Input<1, 2, 3, 4> => Flatten }",
            "1 to 3 dimensions",
        );
        fails("struct A { Input<4> => LeakyRelu<-0.1> }", "non-negative");
    }

    #[test]
    fn every_bad_layer_is_reported_not_just_the_first() {
        let errors = run("struct A { Input<4> => Dense<0> => Dropout<2.0> => Dens<3> }")
            .err()
            .unwrap();
        assert!(errors.len() >= 3, "{errors:?}");
    }
}
