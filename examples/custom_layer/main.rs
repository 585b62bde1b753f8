//! Custom layers: a weightless activation (`Softsign`) and a layer with trainable weights
//! (`ParametricRelu`, Keras's `PReLU`) defined in this crate, named in `model!` like built-ins,
//! checked against finite differences in `f64`, then trained with `fit` on the wine data.
//!
//! `cargo run --release --example custom_layer`

mod layers;

use std::path::Path;

use layers::{ParametricRelu, Softsign};
use typed_nn::prelude::*;

model! {
    #[derive(Clone)]
    struct WineNet {
        Input<13> => Dense<16, Softsign> => Dense<8> => ParametricRelu => Activation<Softsign>
            => Dense<3, Softmax>
    }
}

/// The largest gap between the gradient `train_step` applies (through SGD with learning rate
/// 1) and central differences of the loss, relative to the gradient's size.
fn gradient_gap(net: &WineNet<f64>, x: &[[f64; 13]], y: &[usize]) -> f64 {
    let w0 = net.get_weights();
    let mut stepped = net.clone();
    stepped.train_step(&mut Sgd::new(1.0), &SparseCategoricalCrossentropy, x, y);
    let applied: Vec<f64> = w0
        .iter()
        .zip(stepped.get_weights())
        .map(|(a, b)| a - b)
        .collect();
    let mut probe = net.clone();
    let mut loss = |w: &[f64]| {
        probe.set_weights(w).expect("same length");
        probe
            .evaluate(x, y, &SparseCategoricalCrossentropy, [])
            .loss
    };
    let h = 1e-6;
    (0..w0.len())
        .map(|i| {
            let (mut up, mut down) = (w0.clone(), w0.clone());
            up[i] += h;
            down[i] -= h;
            let numeric = (loss(&up) - loss(&down)) / (2.0 * h);
            (numeric - applied[i]).abs() / (1.0 + numeric.abs())
        })
        .fold(0.0, f64::max)
}

fn main() -> Result<(), Error> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let table = read_csv(
        root.join("data/tabular/wine_data.csv"),
        &CsvOptions::sklearn(),
    )?;
    let x: Vec<[f32; 13]> = table.features_as()?;
    let y = table.class_labels()?;
    let split = stratified_split(&x, &y, 0.25, 7)?;
    let scaler = StandardScaler::fit(&split.x_train)?;
    let (x_train, x_test) = (
        scaler.transform(&split.x_train)?,
        scaler.transform(&split.x_test)?,
    );

    // Gradients first, in f64, with every alpha away from zero so both branches count.
    let mut check = WineNet::<f64>::new(1);
    let mut w = check.get_weights();
    let alpha = check.dense.weights().len() + check.dense_1.weights().len();
    w[alpha..alpha + 8]
        .iter_mut()
        .enumerate()
        .for_each(|(i, a)| *a = 0.1 + 0.05 * i as f64);
    check.set_weights(&w)?;
    let xs: Vec<[f64; 13]> = x_train[..12].iter().map(|r| r.map(f64::from)).collect();
    let gap = gradient_gap(&check, &xs, &split.y_train[..12]);
    println!("gradient check: largest relative gap {gap:.1e}");
    assert!(
        gap < 1e-6,
        "the custom layers' gradients disagree with finite differences"
    );

    let mut net = WineNet::new(3);
    println!("{}", net.summary());
    let history = net.fit(
        &x_train,
        &split.y_train,
        Fit::new(SparseCategoricalCrossentropy, Adam::new(0.01))
            .epochs(60)
            .batch_size(16)
            .seed(5)
            .metrics([Metric::Accuracy])
            .verbose(0),
    )?;
    println!(
        "trained {} epochs, last loss {:.4}; PReLU alphas now {:?}",
        history.epochs(),
        history.last("loss").unwrap_or(f64::NAN),
        &net.p_relu_alphas()
    );
    let scores = net.evaluate(
        &x_test,
        &split.y_test,
        &SparseCategoricalCrossentropy,
        [Metric::Accuracy],
    );
    println!(
        "test accuracy: {:.4}",
        scores.accuracy().unwrap_or(f32::NAN)
    );
    Ok(())
}

/// Reads the trained alphas back.
trait Alphas {
    fn p_relu_alphas(&self) -> Vec<f32>;
}

impl Alphas for WineNet<f32> {
    fn p_relu_alphas(&self) -> Vec<f32> {
        self.parametric_relu
            .weights()
            .iter()
            .map(|a| (a * 100.0).round() / 100.0)
            .collect()
    }
}
