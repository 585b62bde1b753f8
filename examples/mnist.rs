//! The MNIST example: the 784-300-10 MLP trained on the MNIST data committed under `data/mnist`.
//!
//! `cargo run --release --example mnist` prints the summary, per-epoch progress with seconds per
//! epoch, and as its last line `test accuracy: 0.xxxx`. `SAVE=path` also saves the weights.

use std::path::Path;
use std::process::ExitCode;

use typed_nn::prelude::*;

model! {
    /// 784-300-10 with dropout.
    pub struct Mnist {
        Input<28, 28> => Flatten => Dense<300, Relu> => Dropout<0.5> => Dense<10, Softmax>
    }
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), Error> {
    // EPOCHS and SEED override the defaults (10 epochs, seed 42) for experiments.
    let env = |key: &str, default: u64| {
        std::env::var(key)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    let (epochs, seed) = (env("EPOCHS", 10) as usize, env("SEED", 42));
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/mnist");
    let data = load_mnist(&dir)?;
    let y_train: Vec<[f32; 10]> = one_hot(&data.y_train)?;
    let y_test: Vec<[f32; 10]> = one_hot(&data.y_test)?;
    println!(
        "MNIST: {} training and {} test images from {}",
        data.x_train.len(),
        data.x_test.len(),
        dir.display()
    );

    let mut net = Mnist::new(seed);
    println!("{}", net.summary());

    let history = net.fit(
        &data.x_train,
        &y_train,
        Fit::new(CategoricalCrossentropy, Adam::new(0.001))
            .epochs(epochs)
            .batch_size(128)
            // All 60,000 images train; the test set is only watched after each epoch.
            .validation_data(&data.x_test, &y_test)
            .shuffle(true)
            .seed(seed)
            .metrics([Metric::Accuracy]),
    )?;
    let seconds = &history.epoch_seconds;
    let mean = seconds.iter().sum::<f64>() / seconds.len().max(1) as f64;
    println!(
        "seconds per epoch: {mean:.2} (each: {})",
        seconds
            .iter()
            .map(|s| format!("{s:.2}"))
            .collect::<Vec<_>>()
            .join(", ")
    );

    let scores = net.try_evaluate(
        &data.x_test,
        &data.y_test,
        &SparseCategoricalCrossentropy,
        [Metric::Accuracy],
    )?;
    if let Ok(path) = std::env::var("SAVE") {
        net.save(&path)?;
        println!("saved weights to {path}");
    }
    println!("test loss: {:.4}", scores.loss);
    println!(
        "test accuracy: {:.4}",
        scores.accuracy().unwrap_or(f32::NAN)
    );
    Ok(())
}
