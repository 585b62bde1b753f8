//! typed-nn's `gemm` against `matrixmultiply` on the wide training products, the two run
//! alternately in one process (300 rounds each), so that a slow minute on this shared machine
//! hits both: prints the best and median time of each and their ratio. Steadier than timing
//! them one after another, which is what criterion does. `cargo bench --bench kernel_race`.

use std::time::Instant;

use typed_nn::kernels::{gemm, Mat};
use typed_nn::Float;

/// Rounds per product.
const ROUNDS: usize = 300;

/// A row-major `rows x cols` matrix, or the transpose of a row-major `cols x rows` one, with
/// its strides for `Float::gemm_raw`.
fn view(data: &[f32], rows: usize, cols: usize, transposed: bool) -> (Mat<'_, f32>, isize, isize) {
    if transposed {
        (Mat::transposed(data, cols, rows), 1, rows as isize)
    } else {
        (Mat::rows(data, rows, cols), cols as isize, 1)
    }
}

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
        "{:32} {:>18} {:>18} {:>14}",
        "product (m x k x n)", "typed-nn best/med", "mm best/med", "ratio best/med"
    );
    for (name, m, k, n, ta, tb) in products {
        let a: Vec<f32> = (0..m * k).map(|i| (i % 255) as f32 / 255.0).collect();
        let b: Vec<f32> = (0..k * n).map(|i| (i % 17) as f32 * 0.01 - 0.08).collect();
        let mut out = vec![0.0f32; m * n];
        let ((a_mat, a_rs, a_cs), (b_mat, b_rs, b_cs)) = (view(&a, m, k, ta), view(&b, k, n, tb));
        let (mut ours, mut theirs) = (Vec::with_capacity(ROUNDS), Vec::with_capacity(ROUNDS));
        for _ in 0..ROUNDS {
            let start = Instant::now();
            gemm(1.0, a_mat, b_mat, 0.0, &mut out);
            ours.push(start.elapsed().as_secs_f64());
            let start = Instant::now();
            // SAFETY: the sizes and strides describe exactly the three slices.
            unsafe {
                <f32 as Float>::gemm_raw(
                    m,
                    k,
                    n,
                    1.0,
                    (a.as_ptr(), a_rs, a_cs),
                    (b.as_ptr(), b_rs, b_cs),
                    0.0,
                    (out.as_mut_ptr(), n as isize, 1),
                )
            }
            theirs.push(start.elapsed().as_secs_f64());
        }
        let (o_best, o_med) = best_and_median(&mut ours);
        let (t_best, t_med) = best_and_median(&mut theirs);
        println!(
            "{name:32} {o_best:8.1} {o_med:8.1} µs {t_best:8.1} {t_med:8.1} µs {:6.3} {:6.3}",
            o_best / t_best,
            o_med / t_med
        );
    }
}
