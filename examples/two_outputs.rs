//! Two inputs and two outputs on MNIST, in the graph form of `model!`: the image and its ink
//! profile (each row's and each column's mean) go in; the digit (softmax) and whether it is
//! even (sigmoid) come out. Each output has its loss, `Fit::loss_weights` weights them, and
//! `fit` and `evaluate` report each output's loss and accuracy by its binding's name.
//!
//! `cargo run --release --example two_outputs` prints the summary, draws the model in
//! `target/two_outputs.svg`, then prints per-epoch progress and the
//! test accuracy of both outputs. `EPOCHS` overrides 10.

use std::path::Path;
use std::process::ExitCode;

use typed_nn::prelude::*;

model! {
    pub struct DigitAndParity {
        let image = Input<28, 28>;
        let profile = Input<56>;
        let seen = image => Flatten => Dense<128, Relu>;
        let shape = profile => Dense<32, Relu>;
        let h = Concatenate(seen, shape) => Dropout<0.2>;
        let digit = h => Dense<10, Softmax>;
        let even = h => Dense<1, Sigmoid>;
        (digit, even)
    }
}

/// Each row's and each column's mean ink.
fn profile(image: &[[f32; 28]; 28]) -> [f32; 56] {
    let mut p = [0.0; 56];
    for (r, row) in image.iter().enumerate() {
        for (c, &v) in row.iter().enumerate() {
            p[r] += v / 28.0;
            p[28 + c] += v / 28.0;
        }
    }
    p
}

type Sample = ([[f32; 28]; 28], [f32; 56]);
type Target = (usize, [f32; 1]);

fn pairs(images: &[[[f32; 28]; 28]], labels: &[usize]) -> (Vec<Sample>, Vec<Target>) {
    images
        .iter()
        .zip(labels)
        .map(|(x, &y)| ((*x, profile(x)), (y, [f32::from(y % 2 == 0)])))
        .unzip()
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
    let epochs = std::env::var("EPOCHS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10);
    let data = load_mnist(Path::new(env!("CARGO_MANIFEST_DIR")).join("data/mnist"))?;
    let (x_train, y_train) = pairs(&data.x_train, &data.y_train);
    let (x_test, y_test) = pairs(&data.x_test, &data.y_test);

    let mut net = DigitAndParity::new(42);
    println!("{}", net.summary());
    // Keras's plot_model(model, show_shapes=True).
    plot_model(&net, "target/two_outputs.svg")?;
    let losses = (SparseCategoricalCrossentropy, BinaryCrossentropy);
    net.fit(
        &x_train,
        &y_train,
        Fit::new(losses, Adam::new(0.001))
            .epochs(epochs)
            .batch_size(128)
            .validation_split(0.1)
            .loss_weights([1.0, 0.5])
            .metrics([Metric::Accuracy])
            .seed(42),
    )?;
    let scores = net.try_evaluate(&x_test, &y_test, &losses, [Metric::Accuracy])?;
    let named = |key: &str| scores.named(key).unwrap_or(f32::NAN);
    println!(
        "test digit_loss {:.4}, even_loss {:.4}",
        named("digit_loss"),
        named("even_loss")
    );
    println!(
        "test digit_accuracy: {:.4}, even_accuracy: {:.4}",
        named("digit_accuracy"),
        named("even_accuracy")
    );
    Ok(())
}
