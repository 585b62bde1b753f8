//! typed-nn against real Keras 3.15.1 (TensorFlow 2.21): predictions, `evaluate` losses, the
//! losses `train_on_batch` returns and every weight after three optimizer steps, for dense
//! and convolutional models (strided `same` convs, rectangular kernels, both poolings,
//! BatchNorm training steps with its moving statistics) under every loss and optimizer. The
//! numbers come from `tools/keras_fixtures.py` and are committed in `tests/fixtures/keras.json`.

use crate::keras_support;

use keras_support::{assert_close, floats, optimizer};
use serde_json::Value;
use typed_nn::prelude::*;

model! {
    struct SoftmaxMlp { Input<6> => Dense<8, Relu> => Dense<4, Softmax> }
    struct SoftmaxLayer { Input<4> => Dense<6> => LeakyRelu => Dense<3> => Softmax }
    struct SigmoidMlp { Input<5> => Dense<6, Tanh> => Dense<2, Sigmoid> }
    struct Regression {
        Input<2, 3> => Flatten => Dense<5, Elu, l2 = 0.01> => Dense<4, Sigmoid, l1 = 0.02> => Dense<2>
    }
    struct Activations {
        Input<3> => Dense<5, Elu> => Elu<0.5> => Dense<4, LeakyRelu<0.1>> => Sigmoid => Dense<3, Tanh>
            => Relu => Dense<2, Softmax>
    }
    struct StridedSameConv {
        Input<7, 9, 2> => Conv2D<3, (3, 2), Relu, stride = (2, 3), padding = Same>
            => Conv2D<2, 3, Tanh, padding = Same> => Flatten => Dense<3, Softmax>
    }
    struct Pooling {
        Input<10, 10, 1> => Conv2D<4, 3, Relu, padding = Same> => MaxPool2D<2> => Conv2D<6, (2, 3)>
            => AvgPool2D<2, padding = Same> => Flatten => Dense<5, Relu> => Dense<3, Softmax>
    }
    struct BatchNormNet {
        Input<6, 6, 2> => Conv2D<3, 3, padding = Same> => BatchNorm => Relu
            => MaxPool2D<2, stride = 1, padding = Same> => AvgPool2D<3, stride = 2> => Flatten => Dense<4>
            => BatchNorm<momentum = 0.9> => Dense<2, Sigmoid>
    }
}

/// Replays one training run: evaluate, three steps, final weights.
fn train<M, L>(label: &str, net: &mut M, xs: &[M::Input], ys: &[L::Target], loss: &L, run: &Value)
where
    M: Model<Scalar = f32>,
    L: Loss<f32, M::Output>,
{
    let before = net.evaluate(xs, ys, loss, []).loss;
    assert_close(
        &format!("{label} evaluate"),
        &[before],
        &[run["evaluate"].as_f64().unwrap()],
    );
    let mut opt = optimizer(run["optimizer"].as_str().unwrap());
    let steps: Vec<f32> = (0..3)
        .map(|_| net.train_step(&mut opt, loss, xs, ys))
        .collect();
    assert_close(
        &format!("{label} step losses"),
        &steps,
        &floats(&run["step_losses"]),
    );
    assert_close(
        &format!("{label} weights"),
        &net.get_weights(),
        &floats(&run["weights_after"]),
    );
}

fn replay<M>(case: &Value)
where
    M: Model<Scalar = f32>,
    SparseCategoricalCrossentropy: Loss<f32, M::Output, Target = usize>,
{
    let name = case["name"].as_str().unwrap();
    let to_f32 = |v: &Value| floats(v).iter().map(|&x| x as f32).collect::<Vec<f32>>();
    let x = to_f32(&case["x"]);
    let xs: Vec<M::Input> = x
        .chunks(<M::Input as Tensor<f32>>::SIZE)
        .map(M::Input::from_flat)
        .collect();
    let weights = to_f32(&case["weights"]);
    let mut net = M::new(0);
    net.set_weights(&weights).unwrap();
    let predicted: Vec<f32> = net
        .predict_batch(&xs)
        .iter()
        .flat_map(|y| y.as_flat().to_vec())
        .collect();
    assert_close(
        &format!("{name} predict"),
        &predicted,
        &floats(&case["predict"]),
    );

    for run in case["runs"].as_array().unwrap() {
        let loss = run["loss"].as_str().unwrap();
        let label = format!("{name} {loss} {}", run["optimizer"].as_str().unwrap());
        let fresh = || {
            let mut m = M::new(0);
            m.set_weights(&weights).unwrap();
            m
        };
        let dense = || -> Vec<M::Output> {
            to_f32(&run["targets"])
                .chunks(<M::Output as Tensor<f32>>::SIZE)
                .map(M::Output::from_flat)
                .collect()
        };
        match loss {
            "categorical_crossentropy" => train(
                &label,
                &mut fresh(),
                &xs,
                &dense(),
                &CategoricalCrossentropy,
                run,
            ),
            "binary_crossentropy" => train(
                &label,
                &mut fresh(),
                &xs,
                &dense(),
                &BinaryCrossentropy,
                run,
            ),
            "mean_squared_error" => {
                train(&label, &mut fresh(), &xs, &dense(), &MeanSquaredError, run)
            }
            "mean_absolute_error" => {
                train(&label, &mut fresh(), &xs, &dense(), &MeanAbsoluteError, run)
            }
            "sparse_categorical_crossentropy" => {
                let labels: Vec<usize> = floats(&run["targets"])
                    .iter()
                    .map(|&v| v as usize)
                    .collect();
                train(
                    &label,
                    &mut fresh(),
                    &xs,
                    &labels,
                    &SparseCategoricalCrossentropy,
                    run,
                );
            }
            other => panic!("unknown loss {other}"),
        }
    }
}

fn cases() -> Vec<Value> {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/keras.json"
    ))
    .expect("fixture present");
    let json: Value = serde_json::from_str(&text).expect("valid JSON");
    json["cases"].as_array().unwrap().clone()
}

#[test]
fn dense_and_conv_models_match_keras_predictions_losses_and_updates() {
    let cases = cases();
    let mut seen = Vec::new();
    for case in &cases {
        let name = case["name"].as_str().unwrap();
        match name {
            "softmax_mlp" => replay::<SoftmaxMlp>(case),
            "softmax_layer" => replay::<SoftmaxLayer>(case),
            "sigmoid_mlp" => replay::<SigmoidMlp>(case),
            "regression" => replay::<Regression>(case),
            "activations" => replay::<Activations>(case),
            "strided_same_conv" => replay::<StridedSameConv>(case),
            "pooling" => replay::<Pooling>(case),
            "batch_norm" => replay::<BatchNormNet>(case),
            other => panic!("no model for fixture case {other}"),
        }
        seen.push(name);
    }
    assert_eq!(seen.len(), 8, "every fixture model replayed");
}
