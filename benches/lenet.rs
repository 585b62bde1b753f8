//! LeNet-5: batch-1 latency and batch-64 and batch-128 training steps (Adam), the performance
//! issue's convolution figures. Run with `cargo bench --bench lenet`; figures go to BENCHMARKS.md.

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use typed_nn::prelude::*;

model! {
    struct LeNet5 {
        Input<28, 28, 1> => Conv2D<6, 5, Relu, padding = Same> => MaxPool2D<2> => Conv2D<16, 5, Relu>
            => MaxPool2D<2> => Flatten => Dense<120, Relu> => Dense<84, Relu> => Dense<10, Softmax>
    }
}

fn images(n: usize) -> Vec<[[[f32; 1]; 28]; 28]> {
    (0..n)
        .map(|s| {
            std::array::from_fn(|r| {
                std::array::from_fn(|c| [((r * 28 + c + s * 7) % 255) as f32 / 255.0])
            })
        })
        .collect()
}

fn lenet(c: &mut Criterion) {
    let mut net = LeNet5::new(1);
    let xs = images(128);
    let ys: Vec<usize> = (0..128).map(|i| i % 10).collect();
    c.bench_function("lenet/predict_batch1", |b| {
        b.iter(|| net.predict(black_box(&xs[0])))
    });
    let mut adam = Adam::new(0.001);
    c.bench_function("lenet/train_step_batch64_adam", |b| {
        b.iter(|| {
            net.train_step(
                &mut adam,
                &SparseCategoricalCrossentropy,
                black_box(&xs[..64]),
                &ys[..64],
            )
        })
    });
    // The MNIST example's batch size: its activations and caches (~104 KB a sample) outgrow the cache in one
    // shard, so the step runs in several (see `shard_count` in nn-core's `network/split.rs`).
    c.bench_function("lenet/train_step_batch128_adam", |b| {
        b.iter(|| {
            net.train_step(
                &mut adam,
                &SparseCategoricalCrossentropy,
                black_box(&xs),
                &ys,
            )
        })
    });
}

criterion_group!(benches, lenet);
criterion_main!(benches);
