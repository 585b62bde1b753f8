//! The kernels alone, per instruction set: the batch-1 product `x · W` for the 784-300-10 MLP's first
//! layer (784 x 300, ~0.94 MB of weights) and for a layer small enough to stay in L2
//! (256 x 300), so memory-bound and compute-bound cases both show; and the narrow batched
//! products of LeNet-5 and the MLP's output layer, and the wide products of training (the card
//! MLP's dense layer, LeNet's convolution input gradient) against `matrixmultiply`.
//! `cargo bench --bench kernels`.

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use typed_nn::kernels::{gemm, vec_mat_on, Isa, Mat, PackedB};

mod product;
use product::Product;

fn vec_mat(c: &mut Criterion) {
    for (k, n) in [
        (784, 300),
        (256, 300),
        (512, 80),
        (16, 32),
        (32, 4),
        (300, 10),
    ] {
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

/// Only reading the same weights as `vec_mat`, with eight registers of running sums: the
/// floor under a batch-1 product, which must read every weight once. On the Zen 4 of the
/// issue's goals this reads the 0.94 MB kernel in about the time `vec_mat_784x300` takes, so
/// that product is bound by the L2's delivery, not by its loop.
fn read_bandwidth(c: &mut Criterion) {
    for (k, n) in [(784, 300), (256, 300)] {
        let w: Vec<f32> = (0..k * n).map(|i| (i % 17) as f32 * 0.01 - 0.08).collect();
        let mut group = c.benchmark_group(format!("read_{k}x{n}"));
        group.throughput(Throughput::Bytes((4 * k * n) as u64));
        group.bench_function("sum", |b| b.iter(|| read_sum(black_box(&w))));
        group.finish();
    }
}

/// The sum of `w` in eight registers of running sums (128 columns on AVX-512, 64 on AVX2, as
/// `machine-limits`' stream loop and its 256-bit variant), compiled for the widest instruction
/// set the kernels may use. Left to the baseline, 128 columns of sums do not fit SSE's 16
/// registers and the loop measures its spills instead.
fn read_sum(w: &[f32]) -> f32 {
    #[cfg(target_arch = "x86_64")]
    match Isa::detect() {
        // SAFETY: `Isa::Avx512` means the CPU has AVX-512F.
        Isa::Avx512 => return unsafe { read_sum_avx512(w) },
        // SAFETY: `Isa::Avx2Fma` means the CPU has AVX2.
        Isa::Avx2Fma => return unsafe { read_sum_avx2(w) },
        Isa::Portable => {}
    }
    sum_columns::<64>(w)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn read_sum_avx512(w: &[f32]) -> f32 {
    sum_columns::<128>(w)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn read_sum_avx2(w: &[f32]) -> f32 {
    sum_columns::<64>(w)
}

#[inline(always)]
fn sum_columns<const COLS: usize>(w: &[f32]) -> f32 {
    let mut acc = [0.0f32; COLS];
    let chunks = w.chunks_exact(COLS);
    let tail: f32 = chunks.remainder().iter().sum();
    for chunk in chunks {
        acc.iter_mut().zip(chunk).for_each(|(a, &x)| *a += x);
    }
    acc.iter().sum::<f32>() + tail
}

/// The batched products of LeNet-5 on a batch of 64 and of the 784-300-10 MLP's output layer on a
/// batch of 128, forward (`A · B`) and weight gradient (`Aᵀ · B`), and layers 24 and 32 wide
/// (three and four AVX2 registers of columns): all have a narrow `B` and take the
/// register-tiled path on AVX2 / AVX-512.
fn narrow_gemm(c: &mut Criterion) {
    let shapes = [
        ("conv1_forward", 50176, 25, 6, false),
        ("conv1_weight_grad", 25, 50176, 6, true),
        ("conv2_forward", 6400, 150, 16, false),
        ("conv2_weight_grad", 150, 6400, 16, true),
        ("dense_300x10_forward", 128, 300, 10, false),
        ("dense_300x10_weight_grad", 300, 128, 10, true),
        ("dense_300x24_forward", 128, 300, 24, false),
        ("dense_300x32_forward", 128, 300, 32, false),
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

/// `gemm` (typed-nn's routing: register-tiled or cache-blocked) against `matrixmultiply` on
/// one product, `m x k` by `k x n`, either operand possibly transposed.
fn versus_matrixmultiply(
    c: &mut Criterion,
    name: &str,
    shape: (usize, usize, usize),
    transposed: (bool, bool),
) {
    let product = Product::new(shape, transposed);
    let mut out = vec![0.0f32; product.output_len()];
    let mut group = c.benchmark_group(name);
    group.throughput(Throughput::Elements(product.flop()));
    group.bench_function("typed-nn", |bench| {
        bench.iter(|| product.typed_nn(&mut out))
    });
    group.bench_function("matrixmultiply", |bench| {
        bench.iter(|| product.matrixmultiply(&mut out))
    });
    if transposed == (false, false) {
        if let Some(packed) = PackedB::new(&product.b, product.k, product.n) {
            group.bench_function("prepacked", |bench| {
                bench.iter(|| packed.multiply(black_box(&product.a), &mut out))
            });
        }
    }
    group.finish();
}

/// The 784-300-10 MLP's first layer on a batch of 128 in training: forward `x · W`, weight gradient
/// `xᵀ · dz` and input gradient `dz · Wᵀ` (what a hidden layer of that size needs), plus the
/// forward with the kernel packed once, as inference keeps it; and its second layer's input
/// gradient on a shard of 64.
fn dense_gemm(c: &mut Criterion) {
    versus_matrixmultiply(
        c,
        "dense_forward_128x784x300",
        (128, 784, 300),
        (false, false),
    );
    versus_matrixmultiply(
        c,
        "dense_weight_grad_784x128x300",
        (784, 128, 300),
        (true, false),
    );
    versus_matrixmultiply(
        c,
        "dense_input_grad_128x300x784",
        (128, 300, 784),
        (false, true),
    );
    // The MNIST example's second layer in a two-thread step's 64-sample shard: `dz · Wᵀ` by
    // its 300 x 10 kernel, ten steps deep.
    versus_matrixmultiply(
        c,
        "dense_input_grad_64x10x300",
        (64, 10, 300),
        (false, true),
    );
}

/// LeNet's input gradients on a batch of 64, `dz · Wᵀ`: its second convolution's (6400 x 16
/// by 16 x 150) and its first dense layer's (64 x 120 by 120 x 400).
fn conv_gemm(c: &mut Criterion) {
    versus_matrixmultiply(
        c,
        "conv2_input_grad_6400x16x150",
        (6400, 16, 150),
        (false, true),
    );
    versus_matrixmultiply(
        c,
        "dense1_input_grad_64x120x400",
        (64, 120, 400),
        (false, true),
    );
}

criterion_group!(
    benches,
    vec_mat,
    read_bandwidth,
    narrow_gemm,
    dense_gemm,
    conv_gemm
);
criterion_main!(benches);
