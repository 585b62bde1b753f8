//! The 784-300-10 MLP and a tiny model: batch-1 latency, batch-128 inference and
//! a batch-128 SGD training step. Run with `cargo bench --bench mlp`; figures go to BENCHMARKS.md.

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use typed_nn::prelude::*;

model! {
    struct Card { Input<784> => Dense<300, Relu> => Dense<10, Softmax> }
    struct Tiny { Input<16> => Dense<32, Tanh> => Dense<4> }
}

fn inputs<const N: usize>(n: usize) -> Vec<[f32; N]> {
    (0..n)
        .map(|s| std::array::from_fn(|i| ((i * 31 + s * 17) % 255) as f32 / 255.0))
        .collect()
}

fn card(c: &mut Criterion) {
    let mut net = Card::new(1);
    let xs = inputs::<784>(128);
    let ys: Vec<usize> = (0..128).map(|i| i % 10).collect();
    c.bench_function("mlp_784_300_10/predict_batch1", |b| {
        b.iter(|| net.predict(black_box(&xs[0])))
    });
    let mut group = c.benchmark_group("mlp_784_300_10");
    group.throughput(Throughput::Elements(128));
    group.bench_function("predict_batch128", |b| {
        b.iter(|| net.predict_batch(black_box(&xs)))
    });
    let mut sgd = Sgd::new(0.01);
    group.bench_function("train_step_batch128_sgd", |b| {
        b.iter(|| {
            net.train_step(
                &mut sgd,
                &SparseCategoricalCrossentropy,
                black_box(&xs),
                &ys,
            )
        })
    });
    group.finish();
}

fn tiny(c: &mut Criterion) {
    let net = Tiny::new(1);
    let x = inputs::<16>(1)[0];
    c.bench_function("tiny/predict_batch1", |b| {
        b.iter(|| net.predict(black_box(&x)))
    });
}

criterion_group!(benches, card, tiny);
criterion_main!(benches);
