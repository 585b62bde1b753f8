//! The MNIST example's training steps without `fit` around them: the MNIST model (Adam, dropout) on
//! the first 468 batches of 128 training images, three rounds, each printed in seconds. Used
//! to compare builds of the training step (run the binaries of two builds alternately; this
//! machine's noise swamps a single run). `cargo bench --bench mnist_steps`, with
//! `TYPED_NN_THREADS` set as wanted.

use std::time::Instant;

use typed_nn::prelude::*;

model! {
    struct Mnist { Input<28, 28> => Flatten => Dense<300, Relu> => Dropout<0.5> => Dense<10, Softmax> }
}

/// Batches per round: all full batches of 128 in the 60,000 training images.
const BATCHES: usize = 468;

fn main() -> Result<(), Error> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../data/mnist");
    let data = load_mnist(&dir)?;
    let targets: Vec<[f32; 10]> = one_hot(&data.y_train)?;
    for round in 0..3 {
        let mut net = Mnist::new(42);
        let mut adam = Adam::new(0.001);
        let start = Instant::now();
        for b in 0..BATCHES {
            let batch = b * 128..(b + 1) * 128;
            net.train_step(
                &mut adam,
                &CategoricalCrossentropy,
                &data.x_train[batch.clone()],
                &targets[batch],
            );
        }
        let seconds = start.elapsed().as_secs_f64();
        println!("round {round}: {BATCHES} steps in {seconds:.3} s");
    }
    Ok(())
}
