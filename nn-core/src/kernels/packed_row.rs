//! `y = x · B` for one sample over `B`'s packed panels ([`PackedB`]): a `Dense` layer's
//! single-sample product in inference on AVX2, where the panels are kept for batches anyway.
//!
//! `vec_mat` reads `B` in Keras's row-major layout. Where the outputs do not fit in AVX2's 16
//! registers it adds four rows at a time into `y`, so every pass also loads and stores all of
//! `y`. Over the panels, up to four of them (eight registers of outputs) are read side by side
//! from start to end, as four linear streams, with their sums held in registers across all of
//! `k` and stored once. Each sum starts at zero and takes its inputs in order, as in
//! `vec_mat`, so the two agree to the bit (but for an infinite or NaN weight facing a zero
//! input, which `vec_mat` may skip).
//!
//! Where it runs ([`PackedB::try_multiply_row`]): on AVX2, for inputs less than a quarter zero.
//! On AVX-512, `realigned` holds outputs up to 24 registers wide over Keras's rows; mostly zero
//! inputs read fewer bytes listed in the row-major layout, whose rows are contiguous
//! (measurements: `BENCHMARKS.md`, "Design measurements").

// Without run-time detection nothing is ever packed; the kernel is compiled but unused.
#![cfg_attr(
    not(all(feature = "std", target_arch = "x86_64")),
    allow(dead_code, unused_variables, unused_imports)
)]

use super::elementwise::mostly_zero;
use super::isa::{Isa, Kernel};
use super::operands::PackedB;
use super::simd::Vector;
use super::tile::NV;
use super::Element;

/// Panels read side by side, at most: eight registers of sums, enough multiply-adds in flight
/// for two FMA ports, and streams the prefetchers follow.
const PANELS: usize = 4;

impl<T: Element> PackedB<T> {
    /// Whether single rows with `n` outputs are multiplied over the panels on this CPU (see
    /// [`PackedB::try_multiply_row`]), so that a layer keeps its kernel packed from the start.
    pub fn multiplies_rows(n: usize) -> bool {
        Self::takes_rows(Isa::detect(), n)
    }

    /// Whether rows with `n` outputs are multiplied over panels packed for `isa`: on AVX2, for
    /// outputs wider than four registers. `vec_mat` holds up to four registers of outputs in
    /// registers itself, over rows that are one linear stream already.
    fn takes_rows(isa: Isa, n: usize) -> bool {
        isa == Isa::Avx2Fma && isa.lanes::<T>().is_some_and(|lanes| n > 4 * lanes)
    }

    /// `y = x · B` for one row `x` of `k` elements, where this is the faster single-sample
    /// product: on AVX2, for outputs wider than four registers and an `x` less than a quarter
    /// zero. Returns `false` and leaves `y` alone elsewhere, for `vec_mat` to run.
    ///
    /// # Panics
    /// If `x` does not hold `k` elements or `y` does not hold `n`.
    pub fn try_multiply_row(&self, x: &[T], y: &mut [T]) -> bool {
        if !Self::takes_rows(self.isa, self.n) || mostly_zero(x) {
            return false;
        }
        self.multiply_row(x, y);
        true
    }

    /// `y = x · B` over the panels on the instruction set they were packed for.
    ///
    /// # Panics
    /// If `x` does not hold `k` elements or `y` does not hold `n`.
    pub(crate) fn multiply_row(&self, x: &[T], y: &mut [T]) {
        assert_eq!(x.len(), self.k, "PackedB: x has the wrong size");
        assert_eq!(y.len(), self.n, "PackedB: y has the wrong size");
        // SAFETY: sizes checked.
        unsafe { T::packed_row(self, x, y) }
    }
}

/// [`PackedB::multiply_row`]'s body, instantiated by [`Element::packed_row`].
///
/// # Safety
/// `x` holds `b.k` elements and `y` holds `b.n`.
pub(super) unsafe fn product<T: Element>(b: &PackedB<T>, x: &[T], y: &mut [T]) {
    // SAFETY: passed on from the caller; the panels were packed for an instruction set this
    // CPU reported.
    unsafe { b.isa.run(PackedRow { b, x, y }) }
}

/// The product as a [`Kernel`]; its contract is [`product`]'s.
struct PackedRow<'a, T> {
    b: &'a PackedB<T>,
    x: &'a [T],
    y: &'a mut [T],
}

impl<T: Element> Kernel<T> for PackedRow<'_, T> {
    type Output = ();

    /// On AVX-512 too (the default body), for tests and for a caller that chooses it.
    #[inline(always)]
    unsafe fn avx2<V: Vector<Elem = T>>(self) {
        // SAFETY: the kernel's contract, which the caller upholds.
        unsafe { row::<V>(self.b, self.x, self.y) }
    }

    unsafe fn portable(self) {
        unreachable!("packed only where a vector kernel runs")
    }
}

/// The panels in groups of up to [`PANELS`], as even as they divide, so that no group is left
/// with too few sums to cover the multiply-add latency; a last panel one register wide joins
/// the last group.
///
/// # Safety
/// `x` holds `b.k` elements, `y` holds `b.n`, `b` was packed in panels of `NV` registers of
/// `V`, and `V`'s instruction set is enabled.
#[inline(always)]
unsafe fn row<V: Vector>(b: &PackedB<V::Elem>, x: &[V::Elem], y: &mut [V::Elem]) {
    // SAFETY: this function's contract, which its caller upholds.
    unsafe {
        debug_assert_eq!(b.width, NV * V::LANES);
        let (k, n, width) = (b.k, b.n, b.width);
        // Panels `width` wide (the last of them possibly part zero), then at most one a
        // register wide (see `tile::panel_width`).
        let rest = n % width;
        let narrow = rest > 0 && rest <= V::LANES;
        let wide = n / width + usize::from(rest > V::LANES);
        let groups = wide.div_ceil(PANELS);
        let (x, y, data) = (x.as_ptr(), y.as_mut_ptr(), b.data.as_ptr());
        let mut first = 0;
        for g in 0..groups {
            let count = wide / groups + usize::from(g < wide % groups);
            let last = g + 1 == groups;
            let group = Group {
                x,
                k,
                panels: data.add(first * k),
                width,
                y: y.add(first),
                cols: n - first,
            };
            match (count, last && narrow) {
                (1, false) => group.run::<V, 1, false>(),
                (2, false) => group.run::<V, 2, false>(),
                (3, false) => group.run::<V, 3, false>(),
                (4, false) => group.run::<V, 4, false>(),
                (1, true) => group.run::<V, 1, true>(),
                (2, true) => group.run::<V, 2, true>(),
                (3, true) => group.run::<V, 3, true>(),
                (4, true) => group.run::<V, 4, true>(),
                _ => unreachable!("groups of one to {PANELS} panels"),
            }
            first += count * width;
        }
        if groups == 0 && narrow {
            Group {
                x,
                k,
                panels: data,
                width,
                y,
                cols: n,
            }
            .run::<V, 0, true>();
        }
    }
}

/// Adjacent panels multiplied together: `P` panels `width` wide from `panels`, then with
/// `NARROW` one a register wide, each panel `k` rows; their `cols` columns of `y` from `y` (all
/// that are left of `y`: the group's and those after it).
struct Group<T> {
    x: *const T,
    k: usize,
    panels: *const T,
    width: usize,
    y: *mut T,
    cols: usize,
}

impl<T: Element> Group<T> {
    /// # Safety
    /// The pointers hold what [`Group`] says; `width` is `NV` registers of `V`, whose
    /// instruction set is enabled.
    #[inline(always)]
    unsafe fn run<V: Vector<Elem = T>, const P: usize, const NARROW: bool>(self) {
        // SAFETY: this function's contract, which its caller upholds.
        unsafe {
            let Group {
                x,
                k,
                panels,
                width,
                y,
                cols,
            } = self;
            let narrow = panels.add(P * width * k);
            let mut sums = [[V::zero(); NV]; P];
            let mut narrow_sum = V::zero();
            for i in 0..k {
                let s = V::splat(*x.add(i));
                for (p, sum) in sums.iter_mut().enumerate() {
                    let row = panels.add(p * width * k + i * width);
                    for (r, sum) in sum.iter_mut().enumerate() {
                        *sum = V::mul_add(s, V::load(row.add(r * V::LANES)), *sum);
                    }
                }
                if NARROW {
                    narrow_sum = V::mul_add(s, V::load(narrow.add(i * V::LANES)), narrow_sum);
                }
            }
            let store = |sum: V, col: usize| {
                let count = cols.saturating_sub(col).min(V::LANES);
                if count == V::LANES {
                    sum.store(y.add(col));
                } else if count > 0 {
                    sum.store_partial(y.add(col), count);
                }
            };
            for (p, sum) in sums.iter().enumerate() {
                for (r, &sum) in sum.iter().enumerate() {
                    store(sum, p * width + r * V::LANES);
                }
            }
            if NARROW {
                store(narrow_sum, P * width);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::lanes::{checked, span, Like256F32, Like256F64, Like512F32, Like512F64};
    use super::super::reference::{naive, operands, Operands};
    use super::*;

    /// Widths around the panel and group boundaries of both register sizes: one register,
    /// a narrow last panel, a last wide panel part zero, every group size, uneven groups.
    const SIZES: [(usize, usize); 12] = [
        (1, 1),
        (3, 7),
        (5, 8),
        (9, 16),
        (13, 17),
        (7, 40),
        (11, 64),
        (6, 129),
        (31, 136),
        (4, 264),
        (784, 300),
        (2, 521),
    ];

    #[test]
    fn the_row_matches_the_naive_product_on_odd_sizes() {
        for (k, n) in SIZES {
            check_on_this_cpu(k, n, operands::<f32>);
            check_on_this_cpu(k, n, operands::<f64>);
        }
    }

    /// Both instantiations on emulated registers (16 and 8 lanes for AVX-512, 8 and 4 for
    /// AVX2), every register access checked to stay inside `x`, the panels and `y`.
    #[test]
    fn both_instantiations_match_the_naive_product_within_their_operands() {
        fn check<V: Vector>(k: usize, n: usize) {
            let (x, b) = operands::<V::Elem>(1, k, n);
            let packed = PackedB::with_width(&b, 0..k, n, NV * V::LANES, Isa::Portable);
            let mut y = vec![<V::Elem as num_traits::Float>::nan(); n];
            let spans = [span(&x), span(&packed.data), span(&y)];
            // SAFETY: `x` holds `k`, `y` holds `n`, the panels are `NV` registers of `V`;
            // the emulated registers need no target feature.
            checked(&spans, || unsafe { row::<V>(&packed, &x, &mut y) });
            assert!(
                y == naive(1, k, n, &x, &b),
                "{} lanes, k={k} n={n}",
                V::LANES
            );
        }
        for (k, n) in SIZES {
            check::<Like512F32>(k, n);
            check::<Like512F64>(k, n);
            check::<Like256F32>(k, n);
            check::<Like256F64>(k, n);
        }
    }

    /// Where the panels are used (AVX2, outputs wider than four registers), they give the bits
    /// `vec_mat` gives over Keras's layout, on values whose sums round.
    #[test]
    fn the_row_agrees_with_vec_mat_to_the_bit() {
        if Isa::detect() != Isa::Avx2Fma {
            return; // the panels take single rows only on AVX2
        }
        for (k, n) in SIZES.into_iter().filter(|&(_, n)| n > 32) {
            let x: Vec<f32> = (0..k).map(|i| (i as f32 * 0.37).sin() + 1.5).collect();
            let b: Vec<f32> = (0..k * n).map(|i| (i as f32 * 0.11).cos()).collect();
            let packed = PackedB::new(&b, k, n).expect("AVX2 packs");
            let (mut over_panels, mut row_major) = (vec![f32::NAN; n], vec![f32::NAN; n]);
            packed.multiply_row(&x, &mut over_panels);
            super::super::vec_mat(&x, &b, &mut row_major);
            let bits = |v: &[f32]| v.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&over_panels), bits(&row_major), "k={k} n={n}");
        }
    }

    #[test]
    fn only_avx2_wide_outputs_and_inputs_under_a_quarter_zero_take_the_panels() {
        let (k, n) = (8, 40);
        let (mut x, b) = operands::<f32>(1, k, n);
        x.iter_mut().for_each(|v| *v += 100.0); // no zeros
        let Some(packed) = PackedB::new(&b, k, n) else {
            return;
        };
        let mut y = vec![f32::NAN; n];
        let avx2 = Isa::detect() == Isa::Avx2Fma;
        assert_eq!(packed.try_multiply_row(&x, &mut y), avx2);
        assert_eq!(y.iter().all(|v| !v.is_nan()), avx2);
        x[..2].fill(0.0); // a quarter zero: listed in the row-major layout instead
        let mut y = vec![f32::NAN; n];
        assert!(!packed.try_multiply_row(&x, &mut y));
        assert!(y.iter().all(|v| v.is_nan()));
        // Four registers of outputs: `vec_mat` holds them in registers.
        let narrow = PackedB::new(&b[..k * 32], k, 32).unwrap();
        x.iter_mut().for_each(|v| *v += 100.0);
        assert!(!narrow.try_multiply_row(&x, &mut y[..32]));
    }

    /// The kernel for this CPU against the naive product on operands from `operands`.
    fn check_on_this_cpu<T: Element>(k: usize, n: usize, operands: Operands<T>) {
        let (x, b) = operands(1, k, n);
        let Some(packed) = PackedB::new(&b, k, n) else {
            return; // no vector kernel on this CPU: nothing to test
        };
        let mut y = vec![T::nan(); n];
        packed.multiply_row(&x, &mut y);
        assert!(y == naive(1, k, n, &x, &b), "k={k} n={n}");
    }
}
