//! typed-nn's `gemm` against `matrixmultiply` on the wide training products, the two run
//! alternately in one process (300 rounds each), so that a slow minute on this shared machine
//! hits both: prints the best and median time of each, their ratio and each one's best
//! GFLOP/s. Steadier than timing them one after another, which is what criterion does.
//! `cargo bench --bench kernel_race`.

use std::time::Instant;

mod product;
use product::Product;

/// Rounds per product.
const ROUNDS: usize = 300;

/// Best and median of `times`, in microseconds.
fn best_and_median(times: &mut [f64]) -> (f64, f64) {
    times.sort_by(f64::total_cmp);
    (times[0] * 1e6, times[times.len() / 2] * 1e6)
}

fn main() {
    // (name, m, k, n, A transposed, B transposed)
    let products = [
        ("dense forward 128x784x300", 128, 784, 300, false, false),
        ("dense weight grad 784x128x300", 784, 128, 300, true, false),
        ("dense input grad 128x300x784", 128, 300, 784, false, true),
        ("shard forward 64x784x300", 64, 784, 300, false, false),
        ("shard weight grad 784x64x300", 784, 64, 300, true, false),
        ("conv2 input grad 6400x16x150", 6400, 16, 150, false, true),
    ];
    println!(
        "{:32} {:>21} {:>21} {:>14} {:>10}",
        "product (m x k x n)", "typed-nn best/med", "mm best/med", "ratio best/med", "GFLOP/s"
    );
    for (name, m, k, n, ta, tb) in products {
        let product = Product::new((m, k, n), (ta, tb));
        let mut out = vec![0.0f32; product.output_len()];
        let (mut ours, mut theirs) = (Vec::with_capacity(ROUNDS), Vec::with_capacity(ROUNDS));
        for _ in 0..ROUNDS {
            let start = Instant::now();
            product.typed_nn(&mut out);
            ours.push(start.elapsed().as_secs_f64());
            let start = Instant::now();
            product.matrixmultiply(&mut out);
            theirs.push(start.elapsed().as_secs_f64());
        }
        let (o_best, o_med) = best_and_median(&mut ours);
        let (t_best, t_med) = best_and_median(&mut theirs);
        // Best times in µs: FLOP / µs / 1000 is GFLOP/s.
        println!(
            "{name:32} {o_best:8.1} {o_med:8.1} µs {t_best:8.1} {t_med:8.1} µs {:6.3} {:6.3} {:4.0} {:4.0}",
            o_best / t_best,
            o_med / t_med,
            product.flop() as f64 / o_best / 1e3,
            product.flop() as f64 / t_best / 1e3,
        );
    }
}
