//! What the Keras parity tests share: reading the fixtures' numbers, the optimizers
//! `tools/keras_fixtures.py` names, and the tolerance.

use serde_json::Value;
use typed_nn::prelude::*;

/// About 1e-4 relative, with a floor for values near zero.
pub fn assert_close(what: &str, got: &[f32], want: &[f64]) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
        let tolerance = 1e-4 * w.abs() + 2e-6;
        assert!(
            (g as f64 - w).abs() <= tolerance,
            "{what}[{i}]: typed-nn {g} vs Keras {w}"
        );
    }
}

/// A JSON array of numbers.
pub fn floats(v: &Value) -> Vec<f64> {
    v.as_array()
        .expect("array")
        .iter()
        .map(|x| x.as_f64().expect("number"))
        .collect()
}

/// The optimizer a fixture's run names, with the fixtures' learning rates.
pub fn optimizer(name: &str) -> Box<dyn Optimizer<f32>> {
    match name {
        "sgd" => Box::new(Sgd::new(0.1)),
        "sgd_momentum" => Box::new(Sgd::new(0.1).momentum(0.9)),
        "sgd_nesterov" => Box::new(Sgd::new(0.1).momentum(0.9).nesterov(true)),
        "adagrad" => Box::new(Adagrad::new(0.1)),
        "rmsprop" => Box::new(RmsProp::new(0.01)),
        "rmsprop_centered_momentum" => Box::new(RmsProp::new(0.01).momentum(0.5).centered(true)),
        "adam" => Box::new(Adam::new(0.01)),
        "adam_amsgrad" => Box::new(Adam::new(0.01).amsgrad(true)),
        other => panic!("unknown optimizer {other}"),
    }
}
