//! The kernels alone, per instruction set: the batch-1 product `x · W` for the card MLP's first
//! layer (784 x 300, ~0.94 MB of weights) and for a layer small enough to stay in L2
//! (256 x 300), so memory-bound and compute-bound cases both show; and the narrow batched
//! products of LeNet-5 and the MLP's output layer, the batched inference product and the
//! cache-blocked convolution input gradient. `cargo bench --bench kernels`.

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use typed_nn::kernels::{gemm, vec_mat_on, Isa, Mat, PackedB};
use typed_nn::Float;

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

/// The batched products of LeNet-5 on a batch of 64 and of the card MLP's output layer on a
/// batch of 128, forward (`A · B`) and weight gradient (`Aᵀ · B`): all have a narrow `B` and
/// take the register-tiled path on AVX2 / AVX-512.
fn narrow_gemm(c: &mut Criterion) {
    let shapes = [
        ("conv1_forward", 50176, 25, 6, false),
        ("conv1_weight_grad", 25, 50176, 6, true),
        ("conv2_forward", 6400, 150, 16, false),
        ("conv2_weight_grad", 150, 6400, 16, true),
        ("dense_300x10_forward", 128, 300, 10, false),
        ("dense_300x10_weight_grad", 300, 128, 10, true),
    ];
    let mut group = c.benchmark_group("gemm");
    for (name, m, k, n, transposed) in shapes {
        let a: Vec<f32> = (0..m * k).map(|i| (i % 7) as f32 * 0.1).collect();
        let b: Vec<f32> = (0..k * n).map(|i| (i % 5) as f32 * 0.1).collect();
        let mut out = vec![0.0f32; m * n];
        let a_mat = if transposed {
            Mat::transposed(&a, k, m)
        } else {
            Mat::rows(&a, m, k)
        };
        group.throughput(Throughput::Elements((2 * m * k * n) as u64));
        group.bench_function(name, |bench| {
            bench.iter(|| gemm(1.0, a_mat, Mat::rows(&b, k, n), 0.0, &mut out))
        });
    }
    group.finish();
}

/// The card MLP's first layer on a batch of 128: the general packed GEMM (`matrixmultiply`,
/// which the dense layers' training products use) against the kernel packed once for
/// inference ([`PackedB`]).
fn wide_gemm(c: &mut Criterion) {
    let (m, k, n) = (128, 784, 300);
    let a: Vec<f32> = (0..m * k).map(|i| (i % 255) as f32 / 255.0).collect();
    let b: Vec<f32> = (0..k * n).map(|i| (i % 17) as f32 * 0.01 - 0.08).collect();
    let mut out = vec![0.0f32; m * n];
    let mut group = c.benchmark_group("dense_128x784x300");
    group.throughput(Throughput::Elements((2 * m * k * n) as u64));
    group.bench_function("gemm", |bench| {
        bench.iter(|| gemm(1.0, Mat::rows(&a, m, k), Mat::rows(&b, k, n), 0.0, &mut out))
    });
    if let Some(packed) = PackedB::new(&b, k, n) {
        group.bench_function("prepacked", |bench| {
            bench.iter(|| packed.multiply(black_box(&a), &mut out))
        });
    }
    group.finish();
}

/// LeNet's second convolution's input gradient on a batch of 64, `dz · Wᵀ` (6400 x 16 by
/// 16 x 150): typed-nn's cache-blocked kernel against `matrixmultiply`, which it replaced.
fn blocked_gemm(c: &mut Criterion) {
    let (m, k, n) = (6400, 16, 150);
    let dz: Vec<f32> = (0..m * k).map(|i| (i % 11) as f32 * 0.01 - 0.05).collect();
    let w: Vec<f32> = (0..n * k).map(|i| (i % 17) as f32 * 0.01 - 0.08).collect();
    let mut out = vec![0.0f32; m * n];
    let mut group = c.benchmark_group("conv2_input_grad_6400x16x150");
    group.throughput(Throughput::Elements((2 * m * k * n) as u64));
    group.bench_function("typed-nn", |bench| {
        bench.iter(|| {
            gemm(
                1.0,
                Mat::rows(&dz, m, k),
                Mat::transposed(&w, n, k),
                0.0,
                &mut out,
            )
        })
    });
    group.bench_function("matrixmultiply", |bench| {
        // `Float::gemm_raw` is typed-nn's own entry point into matrixmultiply.
        // SAFETY: the sizes and strides describe exactly the three slices.
        bench.iter(|| unsafe {
            <f32 as Float>::gemm_raw(
                m,
                k,
                n,
                1.0,
                (dz.as_ptr(), k as isize, 1),
                (w.as_ptr(), 1, k as isize),
                0.0,
                (out.as_mut_ptr(), n as isize, 1),
            )
        })
    });
    group.finish();
}

criterion_group!(benches, vec_mat, narrow_gemm, wide_gemm, blocked_gemm);
criterion_main!(benches);
