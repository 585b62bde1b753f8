//! The kernels alone, per instruction set: the batch-1 product `x · W` for the card MLP's first
//! layer (784 x 300, ~0.94 MB of weights) and for a layer small enough to stay in L2
//! (256 x 300), so memory-bound and compute-bound cases both show. `cargo bench --bench kernels`.

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use typed_nn::kernels::{vec_mat_on, Isa};

fn vec_mat(c: &mut Criterion) {
    for (k, n) in [(784, 300), (256, 300), (16, 32), (32, 4), (300, 10)] {
        let x: Vec<f32> = (0..k).map(|i| (i % 13) as f32 * 0.1 - 0.5).collect();
        let w: Vec<f32> = (0..k * n).map(|i| (i % 17) as f32 * 0.01 - 0.08).collect();
        let mut y = vec![0.0f32; n];
        let mut group = c.benchmark_group(format!("vec_mat_{k}x{n}"));
        group.throughput(Throughput::Elements((2 * k * n) as u64));
        for isa in Isa::available() {
            group.bench_function(format!("{isa:?}"), |b| {
                b.iter(|| vec_mat_on(isa, black_box(&x), black_box(&w), &mut y))
            });
        }
        group.finish();
    }
}

criterion_group!(benches, vec_mat);
criterion_main!(benches);
