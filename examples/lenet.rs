//! LeNet-5 as the course writes it, trained on the MNIST data committed under `data/mnist`.
//!
//! `cargo run --release --example lenet` prints the summary, per-epoch progress, seconds per
//! epoch and as its last line `test accuracy: 0.xxxx`. `EPOCHS` and `SEED` override 10 and 42.

use std::path::Path;
use std::process::ExitCode;

use typed_nn::prelude::*;

model! {
    /// LeNet-5: two convolutions with max pooling, then three dense layers (61,706 params).
    pub struct LeNet5 {
        Input<28, 28, 1> => Conv2D<6, 5, Relu, padding = Same> => MaxPool2D<2> => Conv2D<16, 5, Relu>
            => MaxPool2D<2> => Flatten => Dense<120, Relu> => Dense<84, Relu> => Dense<10, Softmax>
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
    let env = |key: &str, default: u64| {
        std::env::var(key)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    let (epochs, seed) = (env("EPOCHS", 10) as usize, env("SEED", 42));
    let data = load_mnist(Path::new(env!("CARGO_MANIFEST_DIR")).join("data/mnist"))?;
    let (x_train, x_test) = (add_channel(&data.x_train), add_channel(&data.x_test));

    let mut net = LeNet5::new(seed);
    println!("{}", net.summary());
    let history = net.fit(
        &x_train,
        &data.y_train,
        Fit::new(SparseCategoricalCrossentropy, Adam::new(0.001))
            .epochs(epochs)
            .batch_size(128)
            .validation_data(&x_test, &data.y_test)
            .seed(seed)
            .metrics([Metric::Accuracy])
            // Decay the rate by 0.8 per epoch so that the last epochs settle instead of jitter.
            .callback(LearningRateScheduler::new(|epoch, _lr| {
                0.001 * 0.8f64.powi(epoch as i32)
            })),
    )?;
    let seconds = &history.epoch_seconds;
    println!(
        "seconds per epoch: {:.2}",
        seconds.iter().sum::<f64>() / seconds.len().max(1) as f64
    );
    let scores = net.try_evaluate(
        &x_test,
        &data.y_test,
        &SparseCategoricalCrossentropy,
        [Metric::Accuracy],
    )?;
    println!("test loss: {:.4}", scores.loss);
    println!(
        "test accuracy: {:.4}",
        scores.accuracy().unwrap_or(f32::NAN)
    );
    Ok(())
}
