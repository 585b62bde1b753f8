//! `C = A · B` for products with a narrow `B` (at most four registers of columns): the
//! convolutions' filters, small dense layers, and their weight gradients.
//!
//! A packed GEMM (as `matrixmultiply`) copies blocks of `A` and `B` into panels before
//! multiplying; for a `50176 x 25` by `25 x 6` product (LeNet's first convolution on a batch
//! of 64) that copy costs as much as the arithmetic. Here a micro-kernel multiplies `MR` rows of
//! `A`, read in place through their strides, by the whole of `B`, read in place row by row,
//! with the `MR x NV` block of `C` held in registers for the entire `k` loop. `B` is small
//! enough to stay in L1. No crate offers this shape-specialised path with run-time dispatch,
//! hence the hand-written kernel. It is written once over [`Vector`] and runs on AVX-512 or
//! AVX2 + FMA; other CPUs use the packed GEMM.

// Without run-time detection only the packed GEMM runs; the kernel is compiled but unused.
#![cfg_attr(
    not(all(feature = "std", target_arch = "x86_64")),
    allow(dead_code, unused_variables, unused_unsafe)
)]

#[allow(unused_imports)]
use crate::prelude::*;

use super::isa::{Isa, Kernel};
#[cfg(test)]
use super::operands::Offsets;
use super::operands::{Gathered, Strided};
use super::simd::{Realign, Vector};
use super::Element;

/// The left operand as the micro-kernel reads it: element `(i, p)` at
/// `data[row(i) + column(p)]`.
pub(crate) trait Left<T>: Copy {
    /// The elements.
    fn data(&self) -> &[T];
    /// Where row `i` starts.
    ///
    /// # Safety
    /// `i` is below the operand's row count.
    unsafe fn row(&self, i: usize) -> usize;
    /// Where column `p` lies within a row.
    ///
    /// # Safety
    /// `p` is below the operand's column count.
    unsafe fn column(&self, p: usize) -> usize;
    /// Where rows `i0..i0 + R` start, from row `i0`'s start (rows laid out in order): looked
    /// up once per tile of the kernel.
    ///
    /// # Safety
    /// `i0 + R` is at most the operand's row count.
    unsafe fn tile<const R: usize>(&self, i0: usize) -> [usize; R] {
        // SAFETY: this function's contract, which its caller upholds.
        unsafe {
            let first = self.row(i0);
            core::array::from_fn(|r| self.row(i0 + r) - first)
        }
    }
    /// Row `r`'s entry of `tile` (from [`Left::tile`]), read in the kernel's inner loop.
    #[inline(always)]
    fn in_tile<const R: usize>(&self, tile: &[usize; R], r: usize) -> usize {
        tile[r]
    }
    /// How many columns the kernel takes per pass over a block of `m` rows in tiles of `mr`
    /// (see [`rows`]); all `k` unless reading the operand row by row would miss the cache.
    fn slice(&self, _m: usize, k: usize, _mr: usize) -> usize {
        k
    }
}

impl<T: Copy> Left<T> for Strided<'_, T> {
    fn data(&self) -> &[T] {
        self.data
    }
    unsafe fn row(&self, i: usize) -> usize {
        i * self.rs
    }
    unsafe fn column(&self, p: usize) -> usize {
        p * self.cs
    }
    /// Nothing to look up: [`Left::in_tile`] computes `r * rs`, which compiles to tighter
    /// addressing than an array of offsets (2.5-3% fewer instructions in the kernel).
    unsafe fn tile<const R: usize>(&self, _i0: usize) -> [usize; R] {
        [0; R]
    }
    #[inline(always)]
    fn in_tile<const R: usize>(&self, _tile: &[usize; R], r: usize) -> usize {
        r * self.rs
    }
    /// A transposed `A` (a weight gradient: patches or inputs seen column-wise) is read a few
    /// elements per row, so every block of `MR` rows of `C` would stream the whole of it from
    /// memory again. Past half an L2 it is taken in slices of `k` instead, each read from
    /// memory by the first block and from cache by the others. Each slice's sums continue from
    /// the last one's in `C`, so the result is bit for bit that of one pass. (An earlier
    /// attempt with large slices was erratic; 8 KiB slices beat 4 and 16 KiB and no slicing on
    /// LeNet's training step, and prefetching the next slice did not help.)
    fn slice(&self, m: usize, k: usize, mr: usize) -> usize {
        let elem = core::mem::size_of::<T>();
        if self.rs < self.cs && m > mr && k * self.cs * elem > SLICED_ABOVE {
            (SLICE_BYTES / (self.cs * elem)).max(16)
        } else {
            k
        }
    }
}

impl<T: Copy> Left<T> for Gathered<'_, T> {
    fn data(&self) -> &[T] {
        self.data
    }
    unsafe fn row(&self, i: usize) -> usize {
        // SAFETY: this function's contract, which its caller upholds.
        unsafe { *self.rows.entries.get_unchecked(i) }
    }
    unsafe fn column(&self, p: usize) -> usize {
        // SAFETY: this function's contract, which its caller upholds.
        unsafe { *self.columns.entries.get_unchecked(p) }
    }
}

/// Computes `C = A · B` (`m x k` by `k x n`, `C` row-major `m x n`) and returns true when the
/// product suits this kernel and the CPU has a vector unit for it; returns false (doing
/// nothing) otherwise. `B` must have unit column stride.
pub(crate) fn try_gemm<T: Element>(
    m: usize,
    k: usize,
    n: usize,
    a: Strided<'_, T>,
    b: Strided<'_, T>,
    c: &mut [T],
) -> bool {
    if b.cs != 1 || k == 0 || n == 0 || m == 0 || n > max_columns::<T>() {
        return false;
    }
    // SAFETY: the caller checked every index against the slices.
    unsafe { run(m, k, n, a, b, c, false) }
}

/// Runs the kernel for this CPU's instruction set, adding to `C` with `accumulate`; false
/// (doing nothing) where it has none.
///
/// # Safety
/// `a`, `b` and `c` cover the `m x k`, `k x n` and `m x n` shapes, `b.cs == 1`, `0 < n <=
/// max_columns::<T>()`.
unsafe fn run<T: Element, L: Left<T>>(
    m: usize,
    k: usize,
    n: usize,
    a: L,
    b: Strided<'_, T>,
    c: &mut [T],
    accumulate: bool,
) -> bool {
    // All the columns fit in one 256-bit register: the AVX2 tiles. On Zen 4 their
    // multiply-adds do as many lanes a cycle as 512-bit ones (a 512-bit one takes both 256-bit
    // units), so a 16-lane register that is half padding or more would waste half its
    // arithmetic (LeNet's first convolution ran half as fast again in 256-bit tiles there:
    // `BENCHMARKS.md`, "Design measurements"); on Intel's two-port cores they do half as many
    // lanes, as many as that register's useful ones.
    let isa = if narrower_than_packed::<T>(n) {
        Isa::Avx2Fma
    } else {
        Isa::detect()
    };
    if isa.lanes::<T>().is_none() {
        return false;
    }
    let kernel = Narrow {
        shape: (m, k, n),
        a,
        b,
        c,
        accumulate,
    };
    // SAFETY: the CPU has `isa` (every AVX-512 CPU has AVX2 and FMA); the caller upholds the
    // rest.
    unsafe { isa.run(kernel) };
    true
}

/// [`rows`] as a [`Kernel`], in tiles for each instruction set's registers. Its contract is
/// [`run`]'s.
struct Narrow<'a, T, L> {
    shape: (usize, usize, usize),
    a: L,
    b: Strided<'a, T>,
    c: &'a mut [T],
    accumulate: bool,
}

impl<T: Element, L: Left<T>> Kernel<T> for Narrow<'_, T, L> {
    type Output = ();

    #[inline(always)]
    unsafe fn avx512<V: Realign<Elem = T>>(self) {
        let Narrow {
            shape: (m, k, n),
            a,
            b,
            c,
            accumulate,
        } = self;
        // SAFETY: the kernel's contract, which the caller upholds.
        unsafe { tiles_32::<V, L>(m, k, n, a, b, c, accumulate) }
    }

    #[inline(always)]
    unsafe fn avx2<V: Vector<Elem = T>>(self) {
        let Narrow {
            shape: (m, k, n),
            a,
            b,
            c,
            accumulate,
        } = self;
        // SAFETY: the kernel's contract, which the caller upholds.
        unsafe { tiles_16::<V, L>(m, k, n, a, b, c, accumulate) }
    }

    unsafe fn portable(self) {
        unreachable!("narrow only where a vector kernel runs")
    }
}

/// Computes `C = A · B`, or `C += A · B` with `accumulate`, for `A` gathered from `data`
/// (`m x k`, `m = rows.len()`, `k = columns.len()`, see [`Gathered`]) and `B` row-major `k x
/// n`. Returns false (doing nothing) where the product does not suit this kernel or the CPU
/// has no vector unit for it, as [`try_gemm`] does.
///
/// # Panics
/// If an element of `A` lies outside `data`, or `B` or `C` has the wrong size.
#[inline]
pub(crate) fn try_gathered<T: Element>(
    a: Gathered<'_, T>,
    b: &[T],
    c: &mut [T],
    accumulate: bool,
) -> bool {
    T::try_gathered(a, b, c, accumulate)
}

/// [`try_gathered`]'s body, instantiated by [`Element::try_gathered`].
pub(super) fn try_gathered_here<T: Element>(
    a: Gathered<'_, T>,
    b: &[T],
    c: &mut [T],
    accumulate: bool,
) -> bool {
    let (m, k) = (a.rows.len(), a.columns.len());
    if m == 0 || k == 0 {
        return false;
    }
    let n = b.len() / k;
    assert_eq!(b.len(), k * n, "B has the wrong size");
    assert_eq!(c.len(), m * n, "C has the wrong size");
    assert!(
        a.rows.last + a.columns.last < a.data.len(),
        "an element of A lies outside its slice"
    );
    assert!(
        a.rows.ascending,
        "the rows of A must start in ascending order"
    );
    if n == 0 || n > max_columns::<T>() {
        return false;
    }
    let b = Strided {
        data: b,
        rs: n,
        cs: 1,
    };
    // SAFETY: every element of `A` was checked above to lie in its slice; `B` and `C` have
    // their sizes, `n` fits the kernel.
    unsafe { run(m, k, n, a, b, c, accumulate) }
}

/// The widest `B` (in columns) this kernel takes on this CPU: four registers; 0 where it does
/// not run. Products it takes read their operands in place and never allocate.
pub(crate) fn max_columns<T: Element>() -> usize {
    4 * Isa::detect().lanes::<T>().unwrap_or(0)
}

/// Whether a product of `n` columns runs here on narrower registers than the packed
/// product's: on AVX-512, up to one 256-bit register of columns goes to the AVX2 tiles (see
/// [`run`]) while the packed product's tiles are 512 bits wide.
fn narrower_than_packed<T: Element>(n: usize) -> bool {
    Isa::detect() == Isa::Avx512 && Isa::Avx2Fma.lanes::<T>().is_some_and(|lanes| n <= lanes)
}

/// The lanes a row of `n` columns costs here, counted in the packed product's registers:
/// whole registers, each costing one of the packed product's, a 256-bit one on AVX-512 too
/// (it issues no faster on Intel's two-port cores; on Zen 4 it does, so there this
/// overcounts). Zero where this kernel does not run.
pub(crate) fn lanes_paid<T: Element>(n: usize) -> usize {
    let Some(packed) = Isa::detect().lanes::<T>() else {
        return 0;
    };
    let own = match Isa::Avx2Fma.lanes::<T>() {
        Some(lanes) if narrower_than_packed::<T>(n) => lanes,
        _ => packed,
    };
    n.div_ceil(own) * packed
}

/// [`rows`] with tiles for 32 registers (AVX-512): up to 24 accumulators.
///
/// # Safety
/// As for [`rows`], with `n <= 4 * LANES`.
#[inline(always)]
unsafe fn tiles_32<V: Vector, L: Left<V::Elem>>(
    m: usize,
    k: usize,
    n: usize,
    a: L,
    b: Strided<'_, V::Elem>,
    c: &mut [V::Elem],
    accumulate: bool,
) {
    // SAFETY: this function's contract, which its caller upholds.
    unsafe {
        match n.div_ceil(V::LANES) {
            1 => rows::<V, L, 8, 1>(m, k, n, a, b, c, accumulate),
            2 => rows::<V, L, 8, 2>(m, k, n, a, b, c, accumulate),
            3 => rows::<V, L, 8, 3>(m, k, n, a, b, c, accumulate),
            _ => rows::<V, L, 6, 4>(m, k, n, a, b, c, accumulate),
        }
    }
}

/// [`rows`] with tiles for 16 registers (AVX2): up to 12 accumulators, 9 and 8 for three and
/// four registers of columns. There, 12 accumulators with a broadcast and the row of `B` need
/// 16 and 17 registers, and LLVM moved 2 and 4 of them through the stack every step, which
/// halved the tiles' speed.
///
/// # Safety
/// As for [`rows`], with `n <= 4 * LANES`.
#[inline(always)]
unsafe fn tiles_16<V: Vector, L: Left<V::Elem>>(
    m: usize,
    k: usize,
    n: usize,
    a: L,
    b: Strided<'_, V::Elem>,
    c: &mut [V::Elem],
    accumulate: bool,
) {
    // SAFETY: this function's contract, which its caller upholds.
    unsafe {
        match n.div_ceil(V::LANES) {
            1 => rows::<V, L, 8, 1>(m, k, n, a, b, c, accumulate),
            2 => rows::<V, L, 6, 2>(m, k, n, a, b, c, accumulate),
            3 => rows::<V, L, 3, 3>(m, k, n, a, b, c, accumulate),
            _ => rows::<V, L, 2, 4>(m, k, n, a, b, c, accumulate),
        }
    }
}

/// All of `C` in blocks of `MR` rows, then the last rows in blocks of 4, 2 and 1.
///
/// # Safety
/// `(NV - 1) * LANES < n <= NV * LANES`, `b.rs >= n`; `a`, `b`, `c` cover the `m x k`, `k x n`, `m x n`
/// shapes; `V`'s instruction set is enabled.
#[inline(always)]
unsafe fn rows<V: Vector, L: Left<V::Elem>, const MR: usize, const NV: usize>(
    m: usize,
    k: usize,
    n: usize,
    a: L,
    b: Strided<'_, V::Elem>,
    c: &mut [V::Elem],
    accumulate: bool,
) {
    // SAFETY: this function's contract, which its caller upholds.
    unsafe {
        // Rows of `B` that may be read with whole registers without leaving its slice.
        let span = NV * V::LANES;
        let whole = if n == span {
            k
        } else {
            (b.data.len().saturating_sub(span) / b.rs + usize::from(b.data.len() >= span)).min(k)
        };
        let slice = a.slice(m, k, MR);
        let mut p0 = 0;
        while p0 < k {
            let p1 = (p0 + slice).min(k);
            let ks = (p0, p1, p0 > 0 || accumulate);
            let mut i = 0;
            while i + MR <= m {
                block::<V, L, MR, NV>(i, ks, n, whole, a, b, c);
                i += MR;
            }
            while MR > 4 && i + 4 <= m {
                block::<V, L, 4, NV>(i, ks, n, whole, a, b, c);
                i += 4;
            }
            while i + 2 <= m {
                block::<V, L, 2, NV>(i, ks, n, whole, a, b, c);
                i += 2;
            }
            if i < m {
                block::<V, L, 1, NV>(i, ks, n, whole, a, b, c);
            }
            p0 = p1;
        }
    }
}

/// A transposed `A` larger than this (bytes; half of a typical L2) is read in slices of `k`.
const SLICED_ABOVE: usize = 256 * 1024;

/// The bytes of a transposed `A` one slice of `k` spans (see [`rows`]).
const SLICE_BYTES: usize = 8 * 1024;

/// `C[i0..i0 + R, ..] = A[i0..i0 + R, p0..p1] · B[p0..p1, ..]`, plus `C`'s own values when
/// `continues` (the sums of the slices before), with the `R x NV` result in registers.
///
/// The first `whole` rows of `B` are read with whole registers even when `n` ends inside the
/// last one: the extra lanes read the start of the next row and are never stored. The other
/// rows are read exactly.
///
/// # Safety
/// As for [`rows`], with `i0 + R <= m`, `p1 <= k` and rows below `whole` readable as whole
/// registers.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
unsafe fn block<V: Vector, L: Left<V::Elem>, const R: usize, const NV: usize>(
    i0: usize,
    (p0, p1, continues): (usize, usize, bool),
    n: usize,
    whole: usize,
    a: L,
    b: Strided<'_, V::Elem>,
    c: &mut [V::Elem],
) {
    // SAFETY: this function's contract, which its caller upholds.
    unsafe {
        let last = n - (NV - 1) * V::LANES;
        let rows: [usize; R] = a.tile(i0);
        let (ap, bp) = (a.data().as_ptr().add(a.row(i0)), b.data.as_ptr());
        let out = c.as_mut_ptr().add(i0 * n);
        let mut acc = [[V::zero(); NV]; R];
        if continues {
            for (r, row) in acc.iter_mut().enumerate() {
                for (v, x) in row.iter_mut().enumerate() {
                    let p = out.add(r * n + v * V::LANES);
                    *x = if v + 1 < NV || last == V::LANES {
                        V::load(p)
                    } else {
                        V::load_partial(p, last)
                    };
                }
            }
        }
        let split = whole.clamp(p0, p1);
        for p in p0..split {
            let row = bp.add(p * b.rs);
            let w: [V; NV] = core::array::from_fn(|v| V::load(row.add(v * V::LANES)));
            step(&mut acc, ap.add(a.column(p)), &a, &rows, &w);
        }
        for p in split..p1 {
            let row = bp.add(p * b.rs);
            let w: [V; NV] = core::array::from_fn(|v| {
                if v + 1 < NV {
                    V::load(row.add(v * V::LANES))
                } else {
                    V::load_partial(row.add(v * V::LANES), last)
                }
            });
            step(&mut acc, ap.add(a.column(p)), &a, &rows, &w);
        }
        for (r, row) in acc.iter().enumerate() {
            for (v, x) in row.iter().enumerate() {
                let p = out.add(r * n + v * V::LANES);
                if v + 1 < NV || last == V::LANES {
                    x.store(p);
                } else {
                    x.store_partial(p, last);
                }
            }
        }
    }
}

/// One step of [`block`]: the row of `B` in `w` times the tile's column of `A` at `col`, added
/// to the sums. A function rather than a closure: a closure does not inherit its caller's
/// target features, and where LLVM left it out of line (two AVX-512 tiles), every multiply-add
/// became a call to an out-of-line intrinsic.
///
/// # Safety
/// As for [`block`]: `col` is the tile's column of `A`, readable at each row's offset.
#[inline(always)]
unsafe fn step<V: Vector, L: Left<V::Elem>, const R: usize, const NV: usize>(
    acc: &mut [[V; NV]; R],
    col: *const V::Elem,
    a: &L,
    rows: &[usize; R],
    w: &[V; NV],
) {
    // SAFETY: this function's contract, which its caller upholds.
    unsafe {
        for (r, row) in acc.iter_mut().enumerate() {
            let s = V::splat(*col.add(a.in_tile(rows, r)));
            for (v, x) in row.iter_mut().enumerate() {
                *x = V::mul_add(s, w[v], *x);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::lanes::{checked, span, Like256F32, Like256F64, Like512F32, Like512F64};
    use super::super::reference::{naive, operands, transpose};
    use super::*;

    /// The tiles for 32 registers (AVX-512's) and for 16 (AVX2's), on emulated registers of
    /// their lane counts, against the naive product with every register access checked to stay
    /// inside the operands: widths of one to four registers with every partial last register,
    /// `A` row-major and transposed. (`gemm`'s tests run the instruction sets this CPU has.)
    #[test]
    fn both_tilings_match_the_naive_product_within_their_operands() {
        for n in 1..=64 {
            for &(m, k) in &[(1, 1), (7, 3), (13, 25), (50, 150), (9, 600)] {
                both_layouts::<Like512F32>(m, k, n, 32);
                both_layouts::<Like512F64>(m, k, n, 32);
                both_layouts::<Like256F32>(m, k, n, 16);
                both_layouts::<Like256F64>(m, k, n, 16);
            }
        }
    }

    /// A transposed `A` past [`SLICED_ABOVE`] is summed in slices of `k` by both tilings.
    #[test]
    fn both_tilings_sum_large_transposed_operands_slice_by_slice() {
        for n in [3, 5, 8, 16, 17, 33, 64] {
            both_layouts::<Like512F32>(40, 2000, n, 32);
            both_layouts::<Like512F64>(23, 1500, n, 32);
            both_layouts::<Like256F32>(40, 2000, n, 16);
            both_layouts::<Like256F64>(23, 1500, n, 16);
        }
    }

    /// The tiles for `registers` registers on `V`, `n` up to four of them, against the naive
    /// product, with `A` row-major and transposed.
    fn both_layouts<V: Vector>(m: usize, k: usize, n: usize, registers: usize) {
        if n > 4 * V::LANES {
            return;
        }
        let (a, b) = operands::<V::Elem>(m, k, n);
        let at = transpose(m, k, &a);
        let row_major = Strided {
            data: &a,
            rs: k,
            cs: 1,
        };
        let transposed = Strided {
            data: &at,
            rs: 1,
            cs: m,
        };
        let want = naive(m, k, n, &a, &b);
        for (layout, a_view) in [("row-major A", row_major), ("transposed A", transposed)] {
            let c = emulated::<V, _>((a_view, m, k), &b, None, registers);
            assert!(c == want, "{} lanes, {layout}, m={m} k={k} n={n}", V::LANES);
        }
    }

    /// `C = A · B`, or `C = start + A · B`, for `A` (rows and columns as `b` requires) and a
    /// `k x n` `b` (`k` from `a`, `n` from `b`'s length), by the tiles for `registers`
    /// registers on emulated registers `V`, every register access checked against the
    /// operands. `B` is exactly as long as it must be, so its last rows must be read exactly.
    fn emulated<V: Vector, L: Left<V::Elem> + Shape>(
        a: L,
        b: &[V::Elem],
        start: Option<&[V::Elem]>,
        registers: usize,
    ) -> Vec<V::Elem> {
        let (m, k) = a.shape();
        let n = b.len() / k;
        assert!(n <= 4 * V::LANES, "at most four registers of columns");
        let b_view = Strided {
            data: b,
            rs: n,
            cs: 1,
        };
        let mut c = match start {
            Some(start) => start.to_vec(),
            None => vec![<V::Elem as num_traits::Float>::nan(); m * n],
        };
        let spans = [span(a.data()), span(b), span(&c)];
        let accumulate = start.is_some();
        // SAFETY: the operands cover `m x k` and `k x n`, `n <= 4 * LANES`; the emulated
        // registers need no target feature.
        checked(&spans, || unsafe {
            if registers == 32 {
                tiles_32::<V, L>(m, k, n, a, b_view, &mut c, accumulate)
            } else {
                tiles_16::<V, L>(m, k, n, a, b_view, &mut c, accumulate)
            }
        });
        c
    }

    /// The rows and columns of a test operand.
    trait Shape {
        fn shape(&self) -> (usize, usize);
    }

    /// A strided operand with its shape.
    impl<T> Shape for (Strided<'_, T>, usize, usize) {
        fn shape(&self) -> (usize, usize) {
            (self.1, self.2)
        }
    }

    impl<T: Copy> Left<T> for (Strided<'_, T>, usize, usize) {
        fn data(&self) -> &[T] {
            self.0.data
        }
        unsafe fn row(&self, i: usize) -> usize {
            // SAFETY: this function's contract, which its caller upholds.
            unsafe { self.0.row(i) }
        }
        unsafe fn column(&self, p: usize) -> usize {
            // SAFETY: this function's contract, which its caller upholds.
            unsafe { self.0.column(p) }
        }
        fn slice(&self, m: usize, k: usize, mr: usize) -> usize {
            self.0.slice(m, k, mr)
        }
        unsafe fn tile<const R: usize>(&self, i0: usize) -> [usize; R] {
            // SAFETY: this function's contract, which its caller upholds.
            unsafe { self.0.tile(i0) }
        }
        fn in_tile<const R: usize>(&self, tile: &[usize; R], r: usize) -> usize {
            self.0.in_tile(tile, r)
        }
    }

    impl<T> Shape for Gathered<'_, T> {
        fn shape(&self) -> (usize, usize) {
            (self.rows.len(), self.columns.len())
        }
    }

    /// A 3 x 3 window with stride 2 over a 9 x 11 x 2 image (channels last): the patches
    /// gathered in place times the kernel equal the explicitly unrolled patches times it, and
    /// so do their transpose times an output gradient, added to what `C` holds; on this CPU's
    /// kernel and on both emulated tilings, for filter counts across one to four registers.
    #[test]
    fn gathered_patches_equal_the_unrolled_ones() {
        let (h, w, ch, kh, kw, s) = (9, 11, 2, 3, 3, 2);
        let (oh, ow, patch) = ((h - kh) / s + 1, (w - kw) / s + 1, kh * kw * ch);
        let offsets: Offsets = (0..patch)
            .map(|p| (p / (kw * ch)) * w * ch + p % (kw * ch))
            .collect();
        let origins: Offsets = (0..oh * ow)
            .map(|pos| (pos / ow) * s * w * ch + (pos % ow) * s * ch)
            .collect();
        let image: Vec<f64> = (0..h * w * ch).map(|i| (i * 7 % 13) as f64 - 6.0).collect();
        // Row `i * ow + j` holds the window at output (i, j), read the slow way.
        let patches: Vec<f64> = (0..oh * ow)
            .flat_map(|pos| {
                let (i, j) = (pos / ow, pos % ow);
                let image = &image;
                (0..patch).map(move |p| {
                    let (u, v, c) = (p / (kw * ch), p / ch % kw, p % ch);
                    image[((i * s + u) * w + j * s + v) * ch + c]
                })
            })
            .collect();
        let patches_t = transpose(oh * ow, patch, &patches);
        let f32s = |v: &[f64]| v.iter().map(|&v| v as f32).collect::<Vec<f32>>();
        let image32 = f32s(&image);
        for n in [1, 3, 8, 13, 16, 31, 32] {
            // Forward: patches (positions x cells) times a kernel (cells x filters).
            let (_, kernel) = operands::<f64>(1, patch, n);
            let forward = Gathered {
                data: &image,
                rows: &origins,
                columns: &offsets,
            };
            let want = naive(oh * ow, patch, n, &patches, &kernel);
            // Kernel gradient: patches transposed (cells x positions) times an output
            // gradient (positions x filters), added to `C`'s ones.
            let (_, dz) = operands::<f64>(1, oh * ow, n);
            let backward = Gathered {
                data: &image,
                rows: &offsets,
                columns: &origins,
            };
            let want_t: Vec<f64> = naive(patch, oh * ow, n, &patches_t, &dz)
                .iter()
                .map(|v| v + 1.0)
                .collect();
            let mut c = vec![f64::NAN; oh * ow * n];
            if try_gathered(forward, &kernel, &mut c, false) {
                assert_eq!(c, want, "this CPU, n={n}");
                let mut c = vec![1.0; patch * n];
                assert!(try_gathered(backward, &dz, &mut c, true));
                assert_eq!(c, want_t, "this CPU, transposed, n={n}");
            }
            let ones = vec![1.0; patch * n];
            for registers in [16, 32] {
                if n <= 16 {
                    let c = emulated::<Like256F64, _>(forward, &kernel, None, registers);
                    assert!(c == want, "4 lanes, {registers} registers, n={n}");
                    let c = emulated::<Like256F64, _>(backward, &dz, Some(&ones), registers);
                    assert!(
                        c == want_t,
                        "4 lanes, {registers} registers, transposed, n={n}"
                    );
                }
                let c = emulated::<Like512F64, _>(forward, &kernel, None, registers);
                assert!(c == want, "8 lanes, {registers} registers, n={n}");
                let forward32 = Gathered {
                    data: &image32,
                    rows: &origins,
                    columns: &offsets,
                };
                let c = emulated::<Like256F32, _>(forward32, &f32s(&kernel), None, registers);
                assert!(c == f32s(&want), "8 lanes, {registers} registers, n={n}");
                let c = emulated::<Like512F32, _>(forward32, &f32s(&kernel), None, registers);
                assert!(c == f32s(&want), "16 lanes, {registers} registers, n={n}");
            }
        }
    }

    #[test]
    #[should_panic(expected = "ascending order")]
    fn gathered_rows_out_of_order_panic() {
        let mut c = [0.0f32; 2];
        // Tiles find their rows from the first one's start: row 1 before row 0 would wrap.
        let a = Gathered {
            data: &[0.0f32; 8],
            rows: &[3, 0].into_iter().collect(),
            columns: &(0..4).collect(),
        };
        try_gathered(a, &[1.0; 4], &mut c, false);
    }

    #[test]
    #[should_panic(expected = "outside its slice")]
    fn a_gathered_element_past_the_slice_panics() {
        let mut c = [0.0f32; 2];
        // Rows at 0 and 3, columns 0..4: row 1's last element is index 6 of 6.
        let a = Gathered {
            data: &[0.0f32; 6],
            rows: &[0, 3].into_iter().collect(),
            columns: &(0..4).collect(),
        };
        try_gathered(a, &[1.0; 4], &mut c, false);
    }
}
