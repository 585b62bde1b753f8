//! Graph models against real Keras 3.15.1 (TensorFlow 2.21): predictions, `evaluate` losses,
//! the losses of three training steps and every weight after them, for two inputs and two
//! outputs with loss weights, a residual block, a shared layer, every merge, a convolutional
//! residual block and `Concatenate` on the first axis. The numbers come from
//! `tools/keras_graph_fixtures.py` and are committed in `tests/fixtures/keras_graphs.json`.

use crate::keras_support;

use keras_support::{assert_close, floats, optimizer};
use serde_json::Value;
use typed_nn::prelude::*;

model! {
    struct TwoInTwoOut {
        let a = Input<10>;
        let b = Input<28>;
        let h = b => Dense<16, Relu> => Dense<8, Relu>;
        let c = Concatenate(a, h);
        let main = c => Dense<1, Sigmoid>;
        let side = h => Dense<1>;
        (main, side)
    }
    struct ResidualNet {
        let x = Input<8>;
        let y = x => Dense<8, Relu> => Dense<8>;
        Add(x, y) => Relu => Dense<3, Softmax>
    }
    struct SharedNet {
        let a = Input<6>;
        let b = Input<6>;
        let encode = Dense<4, Tanh>;
        Concatenate(a => encode, b => encode) => Dense<1, Sigmoid>
    }
    struct MergesNet {
        let a = Input<5>;
        let b = Input<5>;
        let p = a => Dense<4, Tanh>;
        let q = b => Dense<4, Sigmoid>;
        Concatenate(Subtract(p, q), Multiply(p, q), Average(p, q), Maximum(p, q), Minimum(p, q), Add(p, q))
            => Dense<2>
    }
    struct ConvResidual {
        let x = Input<8, 8, 2>;
        let h = x => Conv2D<4, 3, Relu, padding = Same>;
        let y = h => Conv2D<4, 3, padding = Same>;
        let z = Add(h, y) => Relu => MaxPool2D<2>;
        Concatenate(z, z => Conv2D<3, 1>) => Flatten => Dense<3, Softmax>
    }
    struct ConcatAxis {
        let a = Input<3, 4>;
        let b = Input<2, 4>;
        Concatenate<axis = 1>(a, b) => Flatten => Dense<2, Softmax>
    }
}

/// A JSON array of numbers as `f32`.
fn singles(v: &Value) -> Vec<f32> {
    floats(v).iter().map(|&x| x as f32).collect()
}

/// Records of a tuple type (or one array) from one flat list per part, C order, whole batch.
fn records<R: Tensor<f32>>(parts: &[Vec<f32>], batch: usize) -> Vec<R> {
    let offsets = R::part_offsets();
    (0..batch)
        .map(|s| {
            let mut record = vec![0.0; R::SIZE];
            for (part, &offset) in parts.iter().zip(offsets) {
                let width = part.len() / batch;
                record[offset..offset + width].copy_from_slice(&part[s * width..][..width]);
            }
            R::from_flat(&record)
        })
        .collect()
}

/// Each output's values over the batch, from output records.
fn outputs<R: Tensor<f32>>(records: &[R]) -> Vec<Vec<f32>> {
    let shapes = R::part_shapes();
    R::part_offsets()
        .iter()
        .zip(shapes)
        .map(|(&offset, shape)| {
            let width: usize = shape.iter().product();
            records
                .iter()
                .flat_map(|r| r.as_flat()[offset..offset + width].to_vec())
                .collect()
        })
        .collect()
}

struct Case<'a> {
    json: &'a Value,
    name: String,
    batch: usize,
    weights: Vec<f32>,
}

impl Case<'_> {
    fn model<M: Model<Scalar = f32>>(&self) -> M {
        let mut net = M::new(0);
        net.set_weights(&self.weights).unwrap();
        net
    }

    fn inputs<M: Model<Scalar = f32>>(&self) -> Vec<M::Input> {
        let parts: Vec<Vec<f32>> = self.json["inputs"]
            .as_array()
            .unwrap()
            .iter()
            .map(singles)
            .collect();
        records(&parts, self.batch)
    }

    fn check_predict<M: Model<Scalar = f32>>(&self) {
        let net: M = self.model();
        let xs = self.inputs::<M>();
        let predicted = outputs(&net.predict_batch(&xs));
        let want = self.json["predict"].as_array().unwrap();
        assert_eq!(predicted.len(), want.len());
        for (j, (got, want)) in predicted.iter().zip(want).enumerate() {
            assert_close(&format!("{} predict {j}", self.name), got, &floats(want));
        }
        // One sample at a time (the stack path) agrees with the batch, to rounding.
        let one: Vec<M::Output> = xs.iter().map(|x| net.predict(x)).collect();
        for (got, want) in outputs(&one).iter().zip(&predicted) {
            let want: Vec<f64> = want.iter().map(|&v| v as f64).collect();
            assert_close(&format!("{} predict one by one", self.name), got, &want);
        }
    }

    fn runs(&self) -> &Vec<Value> {
        self.json["runs"].as_array().unwrap()
    }

    /// Replays a run of a one-output model: evaluate, three steps, final weights.
    fn train<M, L>(&self, run: &Value, ys: &[L::Target], loss: &L)
    where
        M: Model<Scalar = f32>,
        L: Loss<f32, M::Output>,
    {
        let label = format!("{} {}", self.name, run["optimizer"].as_str().unwrap());
        let mut net: M = self.model();
        let xs = self.inputs::<M>();
        let before = net.evaluate(&xs, ys, loss, []).loss;
        assert_close(
            &format!("{label} evaluate"),
            &[before],
            &[run["evaluate"].as_f64().unwrap()],
        );
        let mut opt = optimizer(run["optimizer"].as_str().unwrap());
        let steps: Vec<f32> = (0..3)
            .map(|_| net.train_step(&mut opt, loss, &xs, ys))
            .collect();
        assert_close(
            &format!("{label} steps"),
            &steps,
            &floats(&run["step_losses"]),
        );
        assert_close(
            &format!("{label} weights"),
            &net.get_weights(),
            &floats(&run["weights_after"]),
        );
    }

    fn targets(&self, run: &Value, j: usize) -> Vec<f32> {
        singles(&run["targets"][j])
    }

    fn labels(&self, run: &Value) -> Vec<usize> {
        self.targets(run, 0).iter().map(|&v| v as usize).collect()
    }

    fn dense<R: Tensor<f32>>(&self, run: &Value) -> Vec<R> {
        let parts: Vec<Vec<f32>> = (0..R::part_offsets().len())
            .map(|j| self.targets(run, j))
            .collect();
        records(&parts, self.batch)
    }
}

fn two_in_two_out(case: &Case<'_>) {
    case.check_predict::<TwoInTwoOut>();
    for run in case.runs() {
        let label = format!("{} {}", case.name, run["optimizer"].as_str().unwrap());
        let xs = case.inputs::<TwoInTwoOut>();
        let ys: Vec<([f32; 1], [f32; 1])> = case.dense(run);
        let losses = (BinaryCrossentropy, MeanSquaredError);
        let weights = floats(&run["loss_weights"]);
        let mut net: TwoInTwoOut = case.model();
        // Keras's evaluate with the weights compiled in: each output's unweighted loss, and
        // their weighted sum as `loss`.
        net.set_loss_weights(weights.clone()).unwrap();
        let scores = net.evaluate(&xs, &ys, &losses, []);
        let items = &run["evaluate_items"];
        let (main, side) = (
            scores.named("main_loss").unwrap(),
            scores.named("side_loss").unwrap(),
        );
        assert_close(
            &format!("{label} evaluate main"),
            &[main],
            &[items["main_loss"].as_f64().unwrap()],
        );
        assert_close(
            &format!("{label} evaluate side"),
            &[side],
            &[items["side_loss"].as_f64().unwrap()],
        );
        assert_close(
            &format!("{label} evaluate total"),
            &[scores.loss],
            &[items["loss"].as_f64().unwrap()],
        );
        // train_step (Keras's train_on_batch) weighs by them too: the first step's loss.
        let mut stepped: TwoInTwoOut = case.model();
        stepped.set_loss_weights(weights.clone()).unwrap();
        let mut opt = optimizer(run["optimizer"].as_str().unwrap());
        let first = stepped.train_step(&mut opt, &losses, &xs, &ys);
        let steps = run["step_losses"].as_array().unwrap();
        assert_close(
            &format!("{label} train_step"),
            &[first],
            &[steps[0][0].as_f64().unwrap()],
        );
        // Three steps with the loss weights: `fit` on the whole batch, one epoch per step.
        let opt = optimizer(run["optimizer"].as_str().unwrap());
        let history = net
            .fit(
                &xs,
                &ys,
                Fit::new(losses, opt)
                    .epochs(3)
                    .batch_size(case.batch)
                    .shuffle(false)
                    .loss_weights(weights.clone())
                    .verbose(0),
            )
            .unwrap();
        for (k, key) in ["loss", "main_loss", "side_loss"].iter().enumerate() {
            let got: Vec<f32> = history
                .get(key)
                .unwrap()
                .iter()
                .map(|&v| v as f32)
                .collect();
            let want: Vec<f64> = steps.iter().map(|s| s[k].as_f64().unwrap()).collect();
            assert_close(&format!("{label} {key}"), &got, &want);
        }
        assert_close(
            &format!("{label} weights"),
            &net.get_weights(),
            &floats(&run["weights_after"]),
        );
    }
}

fn cases() -> Value {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/keras_graphs.json"
    ))
    .expect("fixture present");
    serde_json::from_str(&text).expect("valid JSON")
}

#[test]
fn graph_models_match_keras_predictions_losses_and_updates() {
    let json = cases();
    let mut seen = Vec::new();
    for case in json["cases"].as_array().unwrap() {
        let case = Case {
            json: case,
            name: case["name"].as_str().unwrap().to_string(),
            batch: case["batch"].as_u64().unwrap() as usize,
            weights: singles(&case["weights"]),
        };
        match case.name.as_str() {
            "two_in_two_out" => two_in_two_out(&case),
            "residual" => {
                case.check_predict::<ResidualNet>();
                for run in case.runs() {
                    let ys: Vec<[f32; 3]> = case.dense(run);
                    case.train::<ResidualNet, _>(run, &ys, &CategoricalCrossentropy);
                }
            }
            "shared" => {
                case.check_predict::<SharedNet>();
                for run in case.runs() {
                    let ys: Vec<[f32; 1]> = case.dense(run);
                    case.train::<SharedNet, _>(run, &ys, &BinaryCrossentropy);
                }
            }
            "merges" => {
                case.check_predict::<MergesNet>();
                for run in case.runs() {
                    let ys: Vec<[f32; 2]> = case.dense(run);
                    case.train::<MergesNet, _>(run, &ys, &MeanSquaredError);
                }
            }
            "conv_residual" => {
                case.check_predict::<ConvResidual>();
                for run in case.runs() {
                    let labels = case.labels(run);
                    case.train::<ConvResidual, _>(run, &labels, &SparseCategoricalCrossentropy);
                }
            }
            "concat_axis" => {
                case.check_predict::<ConcatAxis>();
                for run in case.runs() {
                    let ys: Vec<[f32; 2]> = case.dense(run);
                    case.train::<ConcatAxis, _>(run, &ys, &CategoricalCrossentropy);
                }
            }
            other => panic!("no model for fixture case {other}"),
        }
        seen.push(case.name.clone());
    }
    assert_eq!(seen.len(), 6, "every fixture model replayed: {seen:?}");
}
