//! LeNet-5 trained with image augmentation, then judged class by class: the confusion matrix
//! and scikit-learn-style classification report on the MNIST test set.
//!
//! `cargo run --release --example lenet_report` (`EPOCHS`, default 3, and `SEED` override).

use std::path::Path;
use std::process::ExitCode;

use typed_nn::prelude::*;

model! {
    /// LeNet-5 (61,706 params).
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
    let (epochs, seed) = (env("EPOCHS", 3) as usize, env("SEED", 42));
    let data = load_mnist(Path::new(env!("CARGO_MANIFEST_DIR")).join("data/mnist"))?;
    let (x_train, x_test) = (add_channel(&data.x_train), add_channel(&data.x_test));

    let mut net = LeNet5::new(seed);
    // Small rotations, shifts and zooms, as the course's ImageDataGenerator; no flips for digits.
    let augmentation = ImageAugmentation::new()
        .rotation_range(10.0)
        .width_shift_range(0.1)
        .height_shift_range(0.1)
        .zoom_range(0.1);
    net.fit(
        &x_train,
        &data.y_train,
        Fit::new(SparseCategoricalCrossentropy, Adam::new(0.001))
            .epochs(epochs)
            .batch_size(128)
            .augment(augmentation)
            .seed(seed)
            .metrics([Metric::Accuracy]),
    )?;

    let predicted = net.predict_classes(&x_test);
    println!(
        "confusion matrix (rows: true digit, columns: predicted)\n{}",
        confusion_matrix(&data.y_test, &predicted, 10)?
    );
    let report = classification_report(&data.y_test, &predicted, 10)?;
    println!("{report}");
    println!("test accuracy: {:.4}", report.accuracy);
    Ok(())
}
