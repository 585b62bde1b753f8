//! `BatchNorm`: Keras's `BatchNormalization` over the last axis; weights gamma, beta
//! (trained) and the moving mean and variance (not).

use quote::quote;

use super::{float_lit, last, lit, size, Emitted, LayerKind, Weight};
use crate::args::{float, Args, Errors, Shape};
use crate::parse::LayerCall;

struct BatchNorm {
    momentum: f64,
    epsilon: f64,
}

pub fn parse(call: &LayerCall, errors: &mut Errors) -> Option<std::rc::Rc<dyn LayerKind>> {
    let mut args = Args::new(call);
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
    Some(std::rc::Rc::new(BatchNorm { momentum, epsilon }))
}

impl LayerKind for BatchNorm {
    fn class(&self) -> String {
        "BatchNormalization".into()
    }
    fn base_name(&self) -> String {
        "batch_normalization".into()
    }
    fn output_shape(&self, _layer: &str, input: &[usize]) -> Result<Shape, String> {
        Ok(input.to_vec())
    }
    fn weights(&self, input: &[usize]) -> Option<Vec<Weight>> {
        let c = last(input);
        Some(
            [
                ("gamma", true),
                ("beta", true),
                ("moving_mean", false),
                ("moving_variance", false),
            ]
            .map(|(name, trainable)| Weight {
                name,
                shape: vec![c],
                trainable,
            })
            .to_vec(),
        )
    }
    fn emit(&self, input: &[usize], _output: &[usize]) -> Emitted {
        let (n, c) = (lit(size(input)), lit(last(input)));
        let (m, e) = (float_lit(self.momentum), float_lit(self.epsilon));
        Emitted {
            ty: quote!(::typed_nn::layers::BatchNorm<T, #n, #c>),
            ctor: quote!(::typed_nn::layers::BatchNorm::new(#m, #e)),
        }
    }
}
