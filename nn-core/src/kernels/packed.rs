//! `C = A · B` with `B` packed once into column panels: the batched forward product of a
//! `Dense` layer in inference, where `B` (the kernel) does not change between calls.
//!
//! A general GEMM packs `B` on every call; for a 128-sample batch through a 784 x 300 layer
//! that copy is a tenth of the work, and the strided reads it replaces cost more. Packed once,
//! each panel of `NV` registers of columns is `k` contiguous rows, which the micro-kernel streams
//! while it keeps an `MR x NV` block of `C` in registers; `A` is read in place. Like the other
//! kernels it is written once over [`Vector`] and runs on AVX-512 or AVX2 + FMA.

// Without run-time detection nothing is ever packed; the kernel is compiled but unused.
#![cfg_attr(
    not(all(feature = "std", target_arch = "x86_64")),
    allow(dead_code, unused_variables, unused_imports)
)]

#[allow(unused_imports)]
use crate::prelude::*;

use super::isa::Isa;
use super::operands::Steps;
use super::operands::Strided;
use super::operands::{Finish, LineAligned, PackedB};
use super::simd::Vector;
use super::tile::{across_panels, listed_tile_rows, packed_len, Out, Rows, Tiled, TiledKernel, NV};
#[cfg(test)]
use super::tile::{
    MR_AVX2, MR_AVX512, MR_LISTED_AVX2, MR_LISTED_AVX512, NV_LISTED_AVX2, NV_LISTED_AVX512,
};
#[cfg(feature = "std")]
use super::zero_steps::with_step_lists;
use super::Element;

impl<T: Element> PackedB<T> {
    /// Packs `b` (`k x n`, row-major) for this CPU; `None` where no packed kernel runs (the
    /// portable build), so callers keep their general path.
    ///
    /// # Panics
    /// If `b` does not hold `k * n` elements.
    pub fn new(b: &[T], k: usize, n: usize) -> Option<Self> {
        assert_eq!(b.len(), k * n, "PackedB: matrix has the wrong size");
        let isa = Isa::detect();
        Some(Self::with_width(b, 0..k, n, NV * isa.lanes::<T>()?, isa))
    }

    /// Packs rows `rows` of `b` (row-major, `n` columns) for this CPU: the `k = rows.len()`
    /// steps of a product that its caller splits by rows of `B` (see
    /// [`PackedB::multiply_rows`]); `None` where no packed kernel runs.
    ///
    /// # Panics
    /// If `b` has fewer rows than `rows` reaches.
    pub fn for_rows(b: &[T], n: usize, rows: core::ops::Range<usize>) -> Option<Self> {
        let isa = Isa::detect();
        Some(Self::with_width(b, rows, n, NV * isa.lanes::<T>()?, isa))
    }

    /// The steps of the product: rows of `B` packed.
    pub(crate) fn k(&self) -> usize {
        self.k
    }

    /// Packs rows `rows` of `b` (row-major, `n` columns) again, in place: the same rows of a
    /// changed matrix, without allocating.
    ///
    /// # Panics
    /// If `rows` is not as long as the packed rows, or `b` has fewer rows than it reaches.
    pub fn repack_rows(&mut self, b: &[T], rows: core::ops::Range<usize>) {
        assert_eq!(
            rows.len(),
            self.k,
            "PackedB: repacking a different number of rows"
        );
        assert!(b.len() >= rows.end * self.n, "PackedB: matrix too short");
        let view = Strided {
            data: b,
            rs: self.n,
            cs: 1,
        };
        // Compiled in this crate (`Element`), not in the crate that packs a layer's kernel.
        T::pack_panels(view, rows, 0..self.n, self.width, &mut self.data);
    }

    /// Packs rows `rows` of `b` (row-major, `n` columns) into panels of `width` columns for
    /// the kernel of `isa`.
    pub(super) fn with_width(
        b: &[T],
        rows: core::ops::Range<usize>,
        n: usize,
        width: usize,
        isa: Isa,
    ) -> Self {
        let mut packed = Self {
            data: LineAligned::new(packed_len(rows.len(), n, width)),
            k: rows.len(),
            n,
            width,
            isa,
        };
        packed.repack_rows(b, rows);
        packed
    }

    /// `C = A · B` for a row-major `m x k` matrix `A` (`m = a.len() / k`) and row-major `C`.
    ///
    /// # Panics
    /// If the sizes disagree.
    pub fn multiply(&self, a: &[T], c: &mut [T]) {
        self.whole_rows(a, c, Finish::NONE);
    }

    /// [`PackedB::multiply`] with a `Dense` layer's epilogue done on each tile of `C` right
    /// after it is stored, while it is in L1: `C = A · B + bias` (the bias repeated on every
    /// row), then clamped at zero when `relu`. The same bits as the product followed by the
    /// two passes (the bias added to each finished sum, then ReLU), without
    /// reading and writing all of `C` twice more.
    ///
    /// # Panics
    /// If the sizes disagree, or `bias` does not hold `n` elements.
    pub fn multiply_then(&self, a: &[T], c: &mut [T], bias: &[T], relu: bool) {
        assert_eq!(bias.len(), self.n, "PackedB: bias has the wrong size");
        let finish = Finish {
            bias: bias.as_ptr(),
            relu,
        };
        self.whole_rows(a, c, finish);
    }

    /// `C = A · B` for a row-major `A` of whole rows of `k`, each stored tile finished by
    /// `finish`.
    fn whole_rows(&self, a: &[T], c: &mut [T], finish: Finish<T>) {
        let k = self.k;
        assert!(
            k > 0 && a.len().is_multiple_of(k),
            "PackedB: A has the wrong size"
        );
        assert_eq!(
            c.len(),
            a.len() / k * self.n,
            "PackedB: C has the wrong size"
        );
        // SAFETY: `finish` comes from `multiply` (no bias) or `multiply_then` (checked `n`).
        unsafe { self.product(a, k, c, false, finish) };
    }

    /// `C (+)= A · B` for `m = c.len() / n` rows of `A` that start `rs` elements apart in `a`,
    /// each `k` elements long: `k` columns of a wider row-major matrix when `rs > k`. With
    /// `accumulate` the product is added to `C`.
    ///
    /// # Panics
    /// If `c` is not a whole number of rows, `rs < k`, or `a` is too short for `m` rows.
    pub fn multiply_rows(&self, a: &[T], rs: usize, c: &mut [T], accumulate: bool) {
        // SAFETY: no bias.
        unsafe { self.product(a, rs, c, accumulate, Finish::NONE) };
    }

    /// [`PackedB::multiply_rows`], each stored tile finished by `finish`.
    ///
    /// # Safety
    /// `finish.bias`, when not null, points at `n` elements.
    #[inline]
    unsafe fn product(&self, a: &[T], rs: usize, c: &mut [T], accumulate: bool, finish: Finish<T>) {
        // SAFETY: passed on from the caller.
        unsafe { T::packed_product(self, a, rs, c, accumulate, finish) }
    }
}

/// [`PackedB::product`]'s body, instantiated by [`Element::packed_product`].
///
/// # Safety
/// As for [`PackedB::product`].
pub(super) unsafe fn product<T: Element>(
    packed: &PackedB<T>,
    a: &[T],
    rs: usize,
    c: &mut [T],
    accumulate: bool,
    finish: Finish<T>,
) {
    let (k, n) = (packed.k, packed.n);
    assert!(
        k > 0 && rs >= k && c.len().is_multiple_of(n),
        "PackedB: C or the row stride has the wrong size"
    );
    let m = c.len() / n;
    assert!(
        m == 0 || a.len() >= (m - 1) * rs + k,
        "PackedB: A has the wrong size"
    );
    if m == 0 {
        return;
    }
    let view = Strided { data: a, rs, cs: 1 };
    // Without `std` nothing is packed (`PackedB::new` returns `None`).
    #[cfg(not(feature = "std"))]
    unreachable!("packed only where a vector kernel runs");
    #[cfg(feature = "std")]
    with_step_lists(|lists| {
        let steps = lists.build(view, m, k, (m, k, listed_tile_rows(packed.isa)));
        let (b, a) = (packed, view);
        // SAFETY (both arms): sizes checked above; the panels were packed for an instruction
        // set this CPU reported, with this type's lane count; the lists were built for one band
        // of all `m` rows and one block of all `k` steps, in the listed tiles of that set.
        match steps {
            // SAFETY: as the comment on this match says.
            Steps::All => unsafe {
                let kernel = Panels::<T, false> {
                    b,
                    a,
                    m,
                    c,
                    accumulate,
                    finish,
                    steps,
                };
                packed.isa.run(Tiled(kernel))
            },
            // SAFETY: as the comment on this match says.
            steps => unsafe {
                let kernel = Panels::<T, true> {
                    b,
                    a,
                    m,
                    c,
                    accumulate,
                    finish,
                    steps,
                };
                packed.isa.run(Tiled(kernel))
            },
        }
    })
}

/// [`panels`] as a [`TiledKernel`], on each instruction set's tiles: with `LISTED`, the listed ones
/// over the steps `steps` lists; without, the dense ones over every step, with `Steps::All` a
/// constant. Each is its own kernel, compiled into a function of its own, so that the listed
/// loop cannot crowd the dense loop's registers. Its contract is that of [`panels`]; the lists were
/// built with [`listed_tile_rows`] for the instruction set it runs on.
struct Panels<'a, T, const LISTED: bool> {
    b: &'a PackedB<T>,
    a: Strided<'a, T>,
    m: usize,
    c: &'a mut [T],
    accumulate: bool,
    finish: Finish<T>,
    steps: Steps<'a>,
}

impl<T: Element, const LISTED: bool> TiledKernel<T> for Panels<'_, T, LISTED> {
    #[inline(always)]
    unsafe fn run<
        V: Vector<Elem = T>,
        const MR: usize,
        const LISTED_MR: usize,
        const LISTED_NV: usize,
    >(
        self,
    ) {
        let Panels {
            b,
            a,
            m,
            c,
            accumulate,
            finish,
            steps,
        } = self;
        // SAFETY: the kernel's contract, which the caller upholds.
        unsafe {
            if LISTED {
                panels::<V, LISTED_MR, LISTED_NV>(b, a, m, c, accumulate, finish, steps)
            } else {
                panels::<V, MR, NV>(b, a, m, c, accumulate, finish, Steps::All)
            }
        }
    }
}

/// Panel by panel (each stays in cache; tiles `WIDE` registers wide take adjacent whole panels
/// together, see [`across_panels`]), all of `A` down each, each tile over the steps
/// `steps` lists for it ([`super::zero_steps`]: where `A` is mostly zero, those where one of
/// the tile's rows is not), listed once for all the panels. The entry points without lists
/// pass the constant `Steps::All`, so that the listed loop compiles away there.
///
/// # Safety
/// `a` holds `m` rows of `k` (its columns contiguous), `c` is `m x n`, `b` was packed with
/// `NV` registers of `V` per panel, `steps` was built for one band of `m` rows and one block
/// of `k` steps in tiles of `MR` rows, `finish`'s bias (if any) holds `n` elements, and `V`'s
/// instruction set is enabled.
#[inline(always)]
unsafe fn panels<V: Vector, const MR: usize, const WIDE: usize>(
    b: &PackedB<V::Elem>,
    a: Strided<'_, V::Elem>,
    m: usize,
    c: &mut [V::Elem],
    accumulate: bool,
    finish: Finish<V::Elem>,
    steps: Steps<'_>,
) {
    // SAFETY: this function's contract, which its caller upholds.
    unsafe {
        debug_assert_eq!(b.width, NV * V::LANES);
        let (k, n) = (b.k, b.n);
        let c = c.as_mut_ptr();
        let a = Rows {
            ptr: a.data.as_ptr(),
            rs: a.rs,
            ps: 1,
        };
        let out = |first: usize, cols: usize| Out {
            ptr: c.add(first),
            ldc: n,
            cols,
            accumulate,
        };
        let finish = |first| finish.shifted(first);
        across_panels::<V, MR, WIDE>(m, k, n, steps, a, b.data.as_ptr(), out, finish);
    }
}

#[cfg(test)]
mod tests {
    use super::super::lanes::{checked, span, Like256F32, Like256F64, Like512F32, Like512F64};
    use super::super::reference::{naive, of, operands, sparse_operands, Operands};
    use super::super::zero_steps::StepLists;
    use super::*;

    const SIZES: [(usize, usize, usize); 6] = [
        (1, 1, 1),
        (5, 3, 7),
        (13, 29, 33),
        (7, 50, 64),
        (20, 17, 100),
        (27, 9, 17),
    ];

    #[test]
    fn packed_products_match_the_naive_product_on_odd_sizes() {
        for (m, k, n) in SIZES {
            check_on_this_cpu((m, k, n), operands::<f32>, operands::<f64>);
            check_on_this_cpu((m, k, n), sparse_operands::<f32>, sparse_operands::<f64>);
        }
    }

    /// A product split by rows of `B` (the two parts packed on their own, the second added
    /// to the first) equals the whole, with `A`'s rows read at a stride wider than each
    /// part's steps; the columns of `A` that a part must not read hold NaN.
    #[test]
    fn products_split_by_rows_of_b_add_up_to_the_whole() {
        for (m, k, n) in SIZES.into_iter().chain([(64, 784, 300), (9, 40, 12)]) {
            for operands in [operands::<f32>, sparse_operands::<f32>] {
                let (a, b) = operands(m, k, n);
                let want = naive(m, k, n, &a, &b);
                let split = k / 2;
                let mut c = vec![f32::NAN; m * n];
                for (rows, accumulate) in [(0..split, false), (split..k, true)] {
                    if rows.is_empty() {
                        c.fill(0.0);
                        continue;
                    }
                    let Some(part) = PackedB::for_rows(&b, n, rows.clone()) else {
                        return; // no vector kernel on this CPU: nothing to test
                    };
                    // `A`'s rows `k + 3` apart, this part's columns first, NaN elsewhere.
                    let rs = k + 3;
                    let mut wide = vec![f32::NAN; m * rs];
                    for i in 0..m {
                        wide[i * rs..][..rows.len()]
                            .copy_from_slice(&a[i * k + rows.start..][..rows.len()]);
                    }
                    part.multiply_rows(&wide, rs, &mut c, accumulate);
                }
                assert_eq!(c, want, "m={m} k={k} n={n}");
            }
        }
    }

    /// The bias and ReLU applied as the tiles are stored give the bits of the product followed
    /// by the layer's own passes, a NaN sum (row 0) clamped to zero as `Relu` clamps it.
    #[test]
    fn finished_products_equal_the_product_then_bias_then_relu() {
        use crate::activation::{Activation, Relu};
        for (m, k, n) in SIZES.into_iter().chain([(64, 50, 300)]) {
            let (mut a, b) = operands::<f32>(m, k, n);
            a[0] = f32::NAN;
            let bias: Vec<f32> = (0..n).map(|j| (j as f32 * 0.37).sin()).collect();
            let Some(packed) = PackedB::new(&b, k, n) else {
                return; // no vector kernel on this CPU: nothing to test
            };
            for relu in [false, true] {
                let mut want = vec![0.0; m * n];
                packed.multiply(&a, &mut want);
                for row in want.chunks_exact_mut(n) {
                    row.iter_mut().zip(&bias).for_each(|(v, b)| *v += b);
                }
                if relu {
                    Relu.forward(&mut want);
                }
                let mut got = vec![f32::NAN; m * n];
                packed.multiply_then(&a, &mut got, &bias, relu);
                let bits = |v: &[f32]| v.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
                assert_eq!(bits(&got), bits(&want), "m={m} k={k} n={n} relu={relu}");
            }
        }
    }

    #[test]
    fn repacking_rows_matches_packing_them_afresh() {
        let (_, b) = operands::<f32>(1, 30, 40);
        let Some(mut part) = PackedB::for_rows(&b, 40, 3..17) else {
            return;
        };
        let (_, b2) = sparse_operands::<f32>(1, 30, 40);
        part.repack_rows(&b2, 10..24);
        assert_eq!(part.data, PackedB::for_rows(&b2, 40, 10..24).unwrap().data);
    }

    /// The kernel for this CPU against the naive product on operands from `f32s` and `f64s`.
    fn check_on_this_cpu(
        (m, k, n): (usize, usize, usize),
        f32s: Operands<f32>,
        f64s: Operands<f64>,
    ) {
        let (a, b) = f32s(m, k, n);
        let want = naive(m, k, n, &a, &b);
        let Some(packed) = PackedB::new(&b, k, n) else {
            return; // no vector kernel on this CPU: nothing to test
        };
        let mut c = vec![f32::NAN; m * n];
        packed.multiply(&a, &mut c);
        assert_eq!(c, want, "m={m} k={k} n={n}");
        let (a64, b64) = f64s(m, k, n);
        let mut c64 = vec![f64::NAN; m * n];
        PackedB::new(&b64, k, n).unwrap().multiply(&a64, &mut c64);
        assert_eq!(c64, naive(m, k, n, &a64, &b64), "f64 m={m} k={k} n={n}");
    }

    /// The AVX-512 instantiations (12-row tiles, 4 rows of two panels where steps are listed,
    /// panels of two 16-lane `f32` or 8-lane `f64` registers) and the AVX2 ones (6 rows, 4
    /// where listed, 8 or 4 lanes) on emulated registers, every register access checked to
    /// stay inside the operands and the panels.
    #[test]
    fn both_instantiations_match_the_naive_product_within_their_operands() {
        fn check<V: Vector, const MR: usize, const WIDE: usize>(m: usize, k: usize, n: usize) {
            for operands in [operands::<V::Elem>, sparse_operands::<V::Elem>] {
                check_with::<V, MR, WIDE>((m, k, n), operands);
            }
        }
        fn check_with<V: Vector, const MR: usize, const WIDE: usize>(
            (m, k, n): (usize, usize, usize),
            operands: Operands<V::Elem>,
        ) {
            let (a, b) = operands(m, k, n);
            let packed = PackedB::with_width(&b, 0..k, n, NV * V::LANES, Isa::Portable);
            let mut c = vec![<V::Elem as num_traits::Float>::nan(); m * n];
            let bias: Vec<V::Elem> = (0..n)
                .map(|j| of::<V::Elem>(j as f64 * 0.1 - 0.5))
                .collect();
            let spans = [span(&a), span(&packed.data), span(&c), span(&bias)];
            let mut lists = StepLists::default();
            let view = Strided {
                data: &a,
                rs: k,
                cs: 1,
            };
            let steps = lists.build(view, m, k, (m, k, MR));
            // SAFETY: `a` is `m x k`, `c` is `m x n`, the panels are `NV` registers of `V`
            // wide, the lists were built for one band and block; the emulated registers need
            // no target feature.
            checked(&spans, || unsafe {
                panels::<V, MR, WIDE>(&packed, view, m, &mut c, false, Finish::NONE, steps)
            });
            assert!(
                c == naive(m, k, n, &a, &b),
                "{} lanes, m={m} k={k} n={n}",
                V::LANES
            );
            // With the bias and ReLU applied as the tiles are stored, the bias read only
            // within its `n` elements.
            let finish = Finish {
                bias: bias.as_ptr(),
                relu: true,
            };
            // SAFETY: as above; the bias holds `n` elements.
            checked(&spans, || unsafe {
                panels::<V, MR, WIDE>(&packed, view, m, &mut c, false, finish, steps)
            });
            let mut want = naive(m, k, n, &a, &b);
            for row in want.chunks_exact_mut(n) {
                for (v, &b) in row.iter_mut().zip(&bias) {
                    let zero = <V::Elem as num_traits::Zero>::zero();
                    *v = if *v + b < zero { zero } else { *v + b };
                }
            }
            assert!(c == want, "finished, {} lanes, m={m} k={k} n={n}", V::LANES);
        }
        const WIDE: usize = NV_LISTED_AVX512;
        for (m, k, n) in SIZES {
            check::<Like512F32, MR_AVX512, NV>(m, k, n);
            check::<Like512F64, MR_AVX512, NV>(m, k, n);
            check::<Like512F32, MR_LISTED_AVX512, WIDE>(m, k, n);
            check::<Like512F64, MR_LISTED_AVX512, WIDE>(m, k, n);
            check::<Like256F32, MR_AVX2, NV>(m, k, n);
            check::<Like256F64, MR_AVX2, NV>(m, k, n);
            check::<Like256F32, MR_LISTED_AVX2, NV_LISTED_AVX2>(m, k, n);
            check::<Like256F64, MR_LISTED_AVX2, NV_LISTED_AVX2>(m, k, n);
        }
        // Every row count up to three tiles: each tile height from 1 to `MR` occurs; 140
        // columns are two wide tiles, a panel and a narrow one on AVX-512.
        for m in 1..=3 * MR_AVX512 {
            check::<Like512F32, MR_AVX512, NV>(m, 5, 40);
            check::<Like512F32, MR_LISTED_AVX512, WIDE>(m, 5, 140);
            check::<Like256F32, MR_AVX2, NV>(m, 5, 20);
            check::<Like256F32, MR_LISTED_AVX2, NV_LISTED_AVX2>(m, 5, 20);
        }
    }
}
