//! The course's overfitting experiment: 2,000 MNIST training images, and the same data
//! trained by a small, a medium and a big network, and by the big one with an L2 penalty and
//! with dropout. The big network's validation loss turns up after a few epochs while its
//! training loss keeps falling; the penalty and dropout hold it down. The validation losses
//! are overlaid in `target/overfitting.svg`.
//!
//! `cargo run --release --example overfitting` prints each model's lowest and last validation
//! loss. `EPOCHS` overrides 40.

use std::path::Path;

use typed_nn::prelude::*;

model! {
    struct Small { Input<28, 28> => Flatten => Dense<16, Relu> => Dense<10, Softmax> }
    struct Medium { Input<28, 28> => Flatten => Dense<128, Relu> => Dense<10, Softmax> }
    struct Big { Input<28, 28> => Flatten => Dense<512, Relu> => Dense<512, Relu> => Dense<10, Softmax> }
    struct BigL2 {
        Input<28, 28> => Flatten => Dense<512, Relu, l2 = 0.001> => Dense<512, Relu, l2 = 0.001>
            => Dense<10, Softmax>
    }
    struct BigDropout {
        Input<28, 28> => Flatten => Dense<512, Relu> => Dropout<0.5> => Dense<512, Relu> => Dropout<0.5>
            => Dense<10, Softmax>
    }
}

type Image = [[f32; 28]; 28];

/// Trains `net` on the subset, validating on held-out test images.
fn train<M: Model<Scalar = f32, Input = Image, Output = [f32; 10]>>(
    mut net: M,
    data: (&[Image], &[usize], &[Image], &[usize]),
    epochs: usize,
) -> Result<History, Error> {
    let (x, y, vx, vy) = data;
    net.fit(
        x,
        y,
        Fit::new(SparseCategoricalCrossentropy, Adam::new(0.001))
            .epochs(epochs)
            .batch_size(128)
            .validation_data(vx, vy)
            .seed(1)
            .verbose(0),
    )
}

fn main() -> Result<(), Error> {
    let epochs = std::env::var("EPOCHS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(40);
    let mnist = load_mnist(Path::new(env!("CARGO_MANIFEST_DIR")).join("data/mnist"))?;
    let data = (
        &mnist.x_train[..2000],
        &mnist.y_train[..2000],
        &mnist.x_test[..2000],
        &mnist.y_test[..2000],
    );
    let runs = [
        ("small (16)", train(Small::new(1), data, epochs)?),
        ("medium (128)", train(Medium::new(1), data, epochs)?),
        ("big (512 x 2)", train(Big::new(1), data, epochs)?),
        ("big + L2 0.001", train(BigL2::new(1), data, epochs)?),
        (
            "big + dropout 0.5",
            train(BigDropout::new(1), data, epochs)?,
        ),
    ];
    for (name, history) in &runs {
        let val = history.val_loss();
        let (best, at) =
            val.iter().enumerate().fold(
                (f64::INFINITY, 0),
                |b, (e, &v)| if v < b.0 { (v, e + 1) } else { b },
            );
        println!(
            "{name:>18}: lowest val_loss {best:.4} at epoch {at}, last {:.4} (training loss {:.4})",
            val.last().copied().unwrap_or(f64::NAN),
            history.loss().last().copied().unwrap_or(f64::NAN)
        );
    }
    let named: Vec<(&str, &History)> = runs.iter().map(|(n, h)| (*n, h)).collect();
    History::save_comparison_svg(&named, "val_loss", "target/overfitting.svg")?;
    println!("validation losses overlaid in target/overfitting.svg");
    Ok(())
}
