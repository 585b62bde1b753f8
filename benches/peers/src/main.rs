//! typed-nn's side of the peer comparison: the design card's MLP (784-300-10, f32) timed
//! through the public API, printed as one JSON object per workload (median of repeated runs).
//! The thread count comes from `TYPED_NN_THREADS`, as for every typed-nn program. candle runs
//! in the same process on the same data (see candle.rs).

use std::hint::black_box;
use std::time::Instant;

use typed_nn::prelude::*;

mod candle;

model! {
    struct Card { Input<784> => Dense<300, Relu> => Dense<10, Softmax> }
}

/// The median seconds of `f` over `rounds` rounds of `iters` calls each.
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

fn main() {
    let threads = typed_nn::threads::thread_count();
    let xs: Vec<[f32; 784]> = (0..128)
        .map(|s| std::array::from_fn(|i| ((i * 31 + s * 17) % 255) as f32 / 255.0))
        .collect();
    let ys: Vec<usize> = (0..128).map(|i| i % 10).collect();
    let mut net = Card::new(1);
    let batch1 = median_seconds(21, 2000, || {
        black_box(net.predict(black_box(&xs[0])));
    });
    let batch128 = median_seconds(21, 50, || {
        black_box(net.predict_batch(black_box(&xs)));
    });
    let mut sgd = Sgd::new(0.01);
    let train = median_seconds(21, 20, || {
        black_box(net.train_step(
            &mut sgd,
            &SparseCategoricalCrossentropy,
            black_box(&xs),
            &ys,
        ));
    });
    let row = |workload: &str, seconds: f64| {
        println!(
            "{{\"engine\": \"typed-nn\", \"threads\": {threads}, \"workload\": \"{workload}\", \"seconds\": {seconds:e}}}"
        )
    };
    row("mlp_predict_batch1", batch1);
    row("mlp_predict_batch128", batch128);
    row("mlp_train_step_batch128_sgd", train);

    // candle on the same data; its CPU matmul threads follow RAYON_NUM_THREADS (run.sh sets it).
    let flat: Vec<f32> = xs.iter().flatten().copied().collect();
    let labels: Vec<u32> = ys.iter().map(|&y| y as u32).collect();
    match candle::rows(&flat, &labels) {
        Ok(rows) => rows.into_iter().for_each(|(workload, seconds)| {
            println!("{{\"engine\": \"candle\", \"threads\": {threads}, \"workload\": \"{workload}\", \"seconds\": {seconds:e}}}")
        }),
        Err(e) => println!("{{\"engine\": \"candle\", \"error\": \"{}\"}}", e.to_string().replace('"', "'")),
    }
}
