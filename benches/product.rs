//! One matrix product with its operands, run either through typed-nn's `gemm` or through
//! `matrixmultiply`: shared by the `kernels` and `kernel_race` benches.

use typed_nn::kernels::Element;
use typed_nn::kernels::{gemm, Mat};

/// `C = A · B`, `m x k` by `k x n`, either operand stored transposed (as the layers' weight
/// and input gradients read them).
pub struct Product {
    pub m: usize,
    pub k: usize,
    pub n: usize,
    pub a: Vec<f32>,
    pub b: Vec<f32>,
    a_transposed: bool,
    b_transposed: bool,
}

impl Product {
    /// The product with deterministic operands in `[0, 1]` (`A`, like image data) and
    /// `[-0.08, 0.08]` (`B`, like weights).
    pub fn new(
        (m, k, n): (usize, usize, usize),
        (a_transposed, b_transposed): (bool, bool),
    ) -> Self {
        Self {
            m,
            k,
            n,
            a: (0..m * k).map(|i| (i % 255) as f32 / 255.0).collect(),
            b: (0..k * n).map(|i| (i % 17) as f32 * 0.01 - 0.08).collect(),
            a_transposed,
            b_transposed,
        }
    }

    /// Elements of `C`.
    pub fn output_len(&self) -> usize {
        self.m * self.n
    }

    /// Multiply-adds times two.
    pub fn flop(&self) -> u64 {
        (2 * self.m * self.k * self.n) as u64
    }

    /// `C = A · B` through typed-nn's routing (register-tiled or cache-blocked).
    pub fn typed_nn(&self, c: &mut [f32]) {
        let (a, _, _) = view(&self.a, self.m, self.k, self.a_transposed);
        let (b, _, _) = view(&self.b, self.k, self.n, self.b_transposed);
        gemm(1.0, a, b, 0.0, c)
    }

    /// `C = A · B` through `matrixmultiply`, via `Element::gemm_raw`, typed-nn's own entry point.
    pub fn matrixmultiply(&self, c: &mut [f32]) {
        let (_, a_rs, a_cs) = view(&self.a, self.m, self.k, self.a_transposed);
        let (_, b_rs, b_cs) = view(&self.b, self.k, self.n, self.b_transposed);
        assert_eq!(c.len(), self.output_len());
        // SAFETY: the sizes and strides describe exactly the three slices.
        unsafe {
            <f32 as Element>::gemm_raw(
                self.m,
                self.k,
                self.n,
                1.0,
                (self.a.as_ptr(), a_rs, a_cs),
                (self.b.as_ptr(), b_rs, b_cs),
                0.0,
                (c.as_mut_ptr(), self.n as isize, 1),
            )
        }
    }
}

/// A row-major `rows x cols` matrix, or the transpose of a row-major `cols x rows` one, with
/// its row and column strides.
fn view(data: &[f32], rows: usize, cols: usize, transposed: bool) -> (Mat<'_, f32>, isize, isize) {
    if transposed {
        (Mat::transposed(data, cols, rows), 1, rows as isize)
    } else {
        (Mat::rows(data, rows, cols), cols as isize, 1)
    }
}
