//! The Rust side of the peer comparison: typed-nn through its public API, then candle, burn
//! (ndarray backend) and dfdx on the same data in the same process, printed as one JSON object
//! per (engine, workload): the median seconds per call.
//!
//! Workloads: the 784-300-10 MLP (f32) at batch 1 and 128 and a batch-128 SGD
//! step; the tiny 16-32(tanh)-4 model at batch 1; LeNet-5 (as in `benches/lenet.rs`) at batch
//! 1 and a batch-64 Adam step (not in dfdx, whose convolutions need a nightly compiler). The
//! thread count comes from `TYPED_NN_THREADS` for typed-nn and `RAYON_NUM_THREADS` for the Rust
//! peers (run.sh sets both).

use std::hint::black_box;
use std::time::Instant;

use typed_nn::prelude::*;

mod burn;
mod candle;
mod dfdx;

model! {
    struct Card { Input<784> => Dense<300, Relu> => Dense<10, Softmax> }
    struct Tiny { Input<16> => Dense<32, Tanh> => Dense<4> }
    struct LeNet5 {
        Input<28, 28, 1> => Conv2D<6, 5, Relu, padding = Same> => MaxPool2D<2> => Conv2D<16, 5, Relu>
            => MaxPool2D<2> => Flatten => Dense<120, Relu> => Dense<84, Relu> => Dense<10, Softmax>
    }
}

/// The median seconds of `f` over `rounds` rounds of `iters` calls each (after one warm-up round).
pub(crate) fn median_seconds(rounds: usize, iters: usize, mut f: impl FnMut()) -> f64 {
    for _ in 0..iters {
        f();
    }
    let mut times: Vec<f64> = (0..rounds)
        .map(|_| {
            let start = Instant::now();
            for _ in 0..iters {
                f();
            }
            start.elapsed().as_secs_f64() / iters as f64
        })
        .collect();
    times.sort_by(f64::total_cmp);
    times[rounds / 2]
}

fn emit(engine: &str, threads: usize, rows: &[(&str, f64)]) {
    for (workload, seconds) in rows {
        println!(
            "{{\"engine\": \"{engine}\", \"threads\": {threads}, \"workload\": \"{workload}\", \"seconds\": {seconds:e}}}"
        );
    }
}

/// LeNet's 64 input images as `benches/lenet.rs` makes them, one after the other (one channel,
/// so channels-first and channels-last layouts are the same).
fn lenet_images() -> Vec<f32> {
    (0..64)
        .flat_map(|s| (0..28 * 28).map(move |i| ((i + s * 7) % 255) as f32 / 255.0))
        .collect()
}

/// Prints an engine's rows, or its error as a row of its own (a peer that refuses a workload
/// is reported, not fatal).
fn emit_or_error<E: std::fmt::Display>(
    engine: &str,
    threads: usize,
    rows: Result<Vec<(&str, f64)>, E>,
) {
    match rows {
        Ok(rows) => emit(engine, threads, &rows),
        Err(e) => println!(
            "{{\"engine\": \"{engine}\", \"error\": \"{}\"}}",
            e.to_string().replace('"', "'")
        ),
    }
}

/// The first [`DIGITS`] MNIST test images of the repository's copy, flattened and scaled to
/// `[0, 1]` (as the Python peers read them): the 784-300-10 MLP's batch-1 workload on real data,
/// where 82% of the inputs are zero.
fn mnist_digits() -> Vec<[f32; 784]> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/mnist");
    let data = load_mnist(&dir).expect("the repository's MNIST copy in data/mnist");
    data.x_test[..DIGITS]
        .iter()
        .map(|image| std::array::from_fn(|i| image[i / 28][i % 28]))
        .collect()
}

/// Test digits the batch-1 digit workload cycles through, one per call.
const DIGITS: usize = 100;

fn typed_nn_rows(xs: &[[f32; 784]], ys: &[usize]) -> Vec<(&'static str, f64)> {
    let mut net = Card::new(1);
    let batch1 = median_seconds(21, 2000, || {
        black_box(net.predict(black_box(&xs[0])));
    });
    let digits = mnist_digits();
    let mut next = digits.iter().cycle();
    let digit1 = median_seconds(21, 2000, || {
        let digit = next.next().expect("a cycle never ends");
        black_box(net.predict(black_box(digit)));
    });
    let batch128 = median_seconds(21, 50, || {
        black_box(net.predict_batch(black_box(xs)));
    });
    let mut sgd = Sgd::new(0.01);
    let train = median_seconds(21, 20, || {
        black_box(net.train_step(&mut sgd, &SparseCategoricalCrossentropy, black_box(xs), ys));
    });
    let tiny = Tiny::new(1);
    let t: [f32; 16] = std::array::from_fn(|i| xs[0][i]);
    let tiny1 = median_seconds(21, 20_000, || {
        black_box(tiny.predict(black_box(&t)));
    });
    let mut lenet = LeNet5::new(1);
    let images: Vec<[[[f32; 1]; 28]; 28]> = lenet_images()
        .chunks_exact(28 * 28)
        .map(|image| std::array::from_fn(|r| std::array::from_fn(|c| [image[r * 28 + c]])))
        .collect();
    let lenet1 = median_seconds(21, 200, || {
        black_box(lenet.predict(black_box(&images[0])));
    });
    let mut adam = Adam::new(0.001);
    let lenet_train = median_seconds(11, 5, || {
        black_box(lenet.train_step(
            &mut adam,
            &SparseCategoricalCrossentropy,
            black_box(&images),
            &ys[..64],
        ));
    });
    vec![
        ("mlp_predict_batch1", batch1),
        ("mlp_predict_batch1_mnist_digit", digit1),
        ("mlp_predict_batch128", batch128),
        ("mlp_train_step_batch128_sgd", train),
        ("tiny_predict_batch1", tiny1),
        ("lenet_predict_batch1", lenet1),
        ("lenet_train_step_batch64_adam", lenet_train),
    ]
}

/// Runs the engines named on the command line (`typed-nn`, `candle`, `burn-ndarray`, `dfdx`),
/// or all of them.
fn main() {
    let wanted: Vec<String> = std::env::args().skip(1).collect();
    let runs = |engine: &str| wanted.is_empty() || wanted.iter().any(|w| w == engine);
    let threads = typed_nn::__private::thread_count();
    let xs: Vec<[f32; 784]> = (0..128)
        .map(|s| std::array::from_fn(|i| ((i * 31 + s * 17) % 255) as f32 / 255.0))
        .collect();
    let ys: Vec<usize> = (0..128).map(|i| i % 10).collect();
    if runs("typed-nn") {
        emit("typed-nn", threads, &typed_nn_rows(&xs, &ys));
    }

    let flat: Vec<f32> = xs.iter().flatten().copied().collect();
    let labels: Vec<u32> = ys.iter().map(|&y| y as u32).collect();
    if runs("candle") {
        emit_or_error("candle", threads, candle::rows(&flat, &labels));
        emit_or_error(
            "candle",
            threads,
            candle::lenet_rows(&lenet_images(), &labels),
        );
    }
    if runs("burn-ndarray") {
        emit("burn-ndarray", threads, &burn::rows(&flat, &labels));
        emit(
            "burn-ndarray",
            threads,
            &burn::lenet_rows(&lenet_images(), &labels),
        );
    }
    if runs("dfdx") {
        emit("dfdx", threads, &dfdx::rows(&flat, &labels));
    }
}
