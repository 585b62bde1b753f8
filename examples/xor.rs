//! XOR, the classic: one Dense layer cannot separate it, two can.
//!
//! `cargo run --release --example xor`

use typed_nn::prelude::*;

model! {
    /// A single sigmoid unit: a straight line through the plane.
    struct OneLayer { Input<2> => Dense<1, Sigmoid> }
    /// A hidden layer bends the boundary.
    struct TwoLayers { Input<2> => Dense<4, Tanh> => Dense<1, Sigmoid> }
}

const X: [[f32; 2]; 4] = [[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]];
const Y: [[f32; 1]; 4] = [[0.0], [1.0], [1.0], [0.0]];

fn main() -> Result<(), Error> {
    let fit = || {
        Fit::new(BinaryCrossentropy, Adam::new(0.05))
            .epochs(500)
            .batch_size(4)
            .seed(1)
            .verbose(0)
    };

    let mut one = OneLayer::new(1);
    one.fit(&X, &Y, fit())?;
    let one_scores = one.evaluate(&X, &Y, &BinaryCrossentropy, [Metric::Accuracy]);

    let mut two = TwoLayers::new(1);
    two.fit(&X, &Y, fit())?;
    let two_scores = two.evaluate(&X, &Y, &BinaryCrossentropy, [Metric::Accuracy]);

    for (x, y) in X.iter().zip(Y) {
        println!(
            "{x:?} -> want {}, one layer {:.3}, two layers {:.3}",
            y[0],
            one.predict(x)[0],
            two.predict(x)[0]
        );
    }
    println!(
        "one layer:  loss {:.4}, accuracy {:.2} (XOR is not linearly separable)",
        one_scores.loss, one_scores[1]
    );
    println!(
        "two layers: loss {:.4}, accuracy {:.2}",
        two_scores.loss, two_scores[1]
    );
    println!("test accuracy: {:.4}", two_scores[1]);
    Ok(())
}
