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
    allow(dead_code, unused_variables)
)]

use super::isa::Isa;
use super::simd::Vector;
use crate::Float;

/// A strided read-only matrix: `at(i, j) = data[i * rs + j * cs]`.
#[derive(Clone, Copy)]
pub(crate) struct Strided<'a, T> {
    pub data: &'a [T],
    pub rs: usize,
    pub cs: usize,
}

/// Computes `C = A · B` (`m x k` by `k x n`, `C` row-major `m x n`) and returns true when the
/// product suits this kernel and the CPU has a vector unit for it; returns false (doing
/// nothing) otherwise. `B` must have unit column stride.
pub(crate) fn try_gemm<T: Float>(
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
    match Isa::detect() {
        #[cfg(all(feature = "std", target_arch = "x86_64"))]
        Isa::Avx512 => {
            // SAFETY: the CPU has AVX-512F; the caller checked every index against the slices.
            unsafe { narrow_avx512(m, k, n, a, b, c) };
            true
        }
        #[cfg(all(feature = "std", target_arch = "x86_64"))]
        Isa::Avx2Fma => {
            // SAFETY: the CPU has AVX2 and FMA; indices checked by the caller.
            unsafe { narrow_avx2(m, k, n, a, b, c) };
            true
        }
        _ => false,
    }
}

/// The widest `B` (in columns) this kernel takes on this CPU: four registers; 0 where it does
/// not run. Products it takes read their operands in place and never allocate.
#[cfg_attr(
    not(all(feature = "std", target_arch = "x86_64")),
    allow(clippy::extra_unused_type_parameters)
)]
pub(crate) fn max_columns<T: Float>() -> usize {
    match Isa::detect() {
        #[cfg(all(feature = "std", target_arch = "x86_64"))]
        Isa::Avx512 => 4 * <T::Avx512 as Vector>::LANES,
        #[cfg(all(feature = "std", target_arch = "x86_64"))]
        Isa::Avx2Fma => 4 * <T::Avx2 as Vector>::LANES,
        _ => 0,
    }
}

#[cfg(all(feature = "std", target_arch = "x86_64"))]
#[target_feature(enable = "avx512f")]
unsafe fn narrow_avx512<T: Float>(
    m: usize,
    k: usize,
    n: usize,
    a: Strided<'_, T>,
    b: Strided<'_, T>,
    c: &mut [T],
) {
    tiles_32::<T::Avx512>(m, k, n, a, b, c)
}

#[cfg(all(feature = "std", target_arch = "x86_64"))]
#[target_feature(enable = "avx2,fma")]
unsafe fn narrow_avx2<T: Float>(
    m: usize,
    k: usize,
    n: usize,
    a: Strided<'_, T>,
    b: Strided<'_, T>,
    c: &mut [T],
) {
    tiles_16::<T::Avx2>(m, k, n, a, b, c)
}

/// [`rows`] with tiles for 32 registers (AVX-512): up to 24 accumulators.
///
/// # Safety
/// As for [`rows`], with `n <= 4 * LANES`.
#[inline(always)]
unsafe fn tiles_32<V: Vector>(
    m: usize,
    k: usize,
    n: usize,
    a: Strided<'_, V::Elem>,
    b: Strided<'_, V::Elem>,
    c: &mut [V::Elem],
) {
    match n.div_ceil(V::LANES) {
        1 => rows::<V, 8, 1>(m, k, n, a, b, c),
        2 => rows::<V, 8, 2>(m, k, n, a, b, c),
        3 => rows::<V, 8, 3>(m, k, n, a, b, c),
        _ => rows::<V, 6, 4>(m, k, n, a, b, c),
    }
}

/// [`rows`] with tiles for 16 registers (AVX2): up to 12 accumulators.
///
/// # Safety
/// As for [`rows`], with `n <= 4 * LANES`.
#[inline(always)]
unsafe fn tiles_16<V: Vector>(
    m: usize,
    k: usize,
    n: usize,
    a: Strided<'_, V::Elem>,
    b: Strided<'_, V::Elem>,
    c: &mut [V::Elem],
) {
    match n.div_ceil(V::LANES) {
        1 => rows::<V, 8, 1>(m, k, n, a, b, c),
        2 => rows::<V, 6, 2>(m, k, n, a, b, c),
        3 => rows::<V, 4, 3>(m, k, n, a, b, c),
        _ => rows::<V, 3, 4>(m, k, n, a, b, c),
    }
}

/// All of `C` in blocks of `MR` rows, then the last rows in blocks of 4, 2 and 1.
///
/// # Safety
/// `(NV - 1) * LANES < n <= NV * LANES`, `b.rs >= n`; `a`, `b`, `c` cover the `m x k`, `k x n`, `m x n`
/// shapes; `V`'s instruction set is enabled.
#[inline(always)]
unsafe fn rows<V: Vector, const MR: usize, const NV: usize>(
    m: usize,
    k: usize,
    n: usize,
    a: Strided<'_, V::Elem>,
    b: Strided<'_, V::Elem>,
    c: &mut [V::Elem],
) {
    // Rows of `B` that may be read with whole registers without leaving its slice.
    let span = NV * V::LANES;
    let whole = if n == span {
        k
    } else {
        (b.data.len().saturating_sub(span) / b.rs + usize::from(b.data.len() >= span)).min(k)
    };
    // A transposed `A` (a weight gradient: patches or inputs seen column-wise) is read a few
    // elements per row, so every block of `MR` rows of `C` would stream the whole of it from
    // memory again. Past half an L2 it is taken in slices of `k` instead, each read from memory
    // by the first block and from cache by the others. Each slice's sums continue from the
    // last one's in `C`, so the result is bit for bit that of one pass. (An earlier attempt
    // with large slices was erratic; 8 KiB slices beat 4 and 16 KiB and no slicing on LeNet's
    // training step, and prefetching the next slice did not help.)
    let elem = core::mem::size_of::<V::Elem>();
    let slice = if a.rs < a.cs && m > MR && k * a.cs * elem > SLICED_ABOVE {
        (SLICE_BYTES / (a.cs * elem)).max(16)
    } else {
        k
    };
    let mut p0 = 0;
    while p0 < k {
        let p1 = (p0 + slice).min(k);
        let ks = (p0, p1, p0 > 0);
        let mut i = 0;
        while i + MR <= m {
            block::<V, MR, NV>(i, ks, n, whole, a, b, c);
            i += MR;
        }
        while MR > 4 && i + 4 <= m {
            block::<V, 4, NV>(i, ks, n, whole, a, b, c);
            i += 4;
        }
        while i + 2 <= m {
            block::<V, 2, NV>(i, ks, n, whole, a, b, c);
            i += 2;
        }
        if i < m {
            block::<V, 1, NV>(i, ks, n, whole, a, b, c);
        }
        p0 = p1;
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
unsafe fn block<V: Vector, const R: usize, const NV: usize>(
    i0: usize,
    (p0, p1, continues): (usize, usize, bool),
    n: usize,
    whole: usize,
    a: Strided<'_, V::Elem>,
    b: Strided<'_, V::Elem>,
    c: &mut [V::Elem],
) {
    let last = n - (NV - 1) * V::LANES;
    let (ap, bp) = (a.data.as_ptr().add(i0 * a.rs), b.data.as_ptr());
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
    let step = |acc: &mut [[V; NV]; R], p: usize, w: &[V; NV]| {
        let col = ap.add(p * a.cs);
        for (r, row) in acc.iter_mut().enumerate() {
            let s = V::splat(*col.add(r * a.rs));
            for (v, x) in row.iter_mut().enumerate() {
                *x = V::mul_add(s, w[v], *x);
            }
        }
    };
    let split = whole.clamp(p0, p1);
    for p in p0..split {
        let row = bp.add(p * b.rs);
        let w: [V; NV] = core::array::from_fn(|v| V::load(row.add(v * V::LANES)));
        step(&mut acc, p, &w);
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
        step(&mut acc, p, &w);
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
                check::<Like512F32>(m, k, n, tiles_32::<Like512F32>);
                check::<Like512F64>(m, k, n, tiles_32::<Like512F64>);
                check::<Like256F32>(m, k, n, tiles_16::<Like256F32>);
                check::<Like256F64>(m, k, n, tiles_16::<Like256F64>);
            }
        }
    }

    /// A transposed `A` past [`SLICED_ABOVE`] is summed in slices of `k` by both tilings.
    #[test]
    fn both_tilings_sum_large_transposed_operands_slice_by_slice() {
        for n in [3, 5, 8, 16, 17, 33, 64] {
            check::<Like512F32>(40, 2000, n, tiles_32::<Like512F32>);
            check::<Like512F64>(23, 1500, n, tiles_32::<Like512F64>);
            check::<Like256F32>(40, 2000, n, tiles_16::<Like256F32>);
            check::<Like256F64>(23, 1500, n, tiles_16::<Like256F64>);
        }
    }

    /// The signature of [`tiles_32`] and [`tiles_16`].
    type Tiles<T> = unsafe fn(usize, usize, usize, Strided<'_, T>, Strided<'_, T>, &mut [T]);

    /// `tiles` on registers `V` against the naive product, for `n` up to four registers.
    fn check<V: Vector>(m: usize, k: usize, n: usize, tiles: Tiles<V::Elem>) {
        if n > 4 * V::LANES {
            return;
        }
        let (a, b) = operands::<V::Elem>(m, k, n);
        let want = naive(m, k, n, &a, &b);
        let at = transpose(m, k, &a);
        // `B` exactly as long as it must be, so its last rows must be read exactly.
        let b_view = Strided {
            data: &b,
            rs: n,
            cs: 1,
        };
        let layouts = [
            (
                "row-major A",
                Strided {
                    data: &a,
                    rs: k,
                    cs: 1,
                },
            ),
            (
                "transposed A",
                Strided {
                    data: &at,
                    rs: 1,
                    cs: m,
                },
            ),
        ];
        for (layout, a_view) in layouts {
            let mut c = vec![<V::Elem as num_traits::Float>::nan(); m * n];
            let spans = [span(a_view.data), span(&b), span(&c)];
            // SAFETY: the views cover `m x k` and `k x n`, `n <= 4 * LANES`; the emulated
            // registers need no target feature.
            checked(&spans, || unsafe { tiles(m, k, n, a_view, b_view, &mut c) });
            assert!(c == want, "{} lanes, {layout}, m={m} k={k} n={n}", V::LANES);
        }
    }
}
