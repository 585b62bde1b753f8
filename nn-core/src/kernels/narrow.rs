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
    // 32 registers: up to 24 accumulators.
    match n.div_ceil(<T::Avx512 as Vector>::LANES) {
        1 => rows::<T::Avx512, 8, 1>(m, k, n, a, b, c),
        2 => rows::<T::Avx512, 8, 2>(m, k, n, a, b, c),
        3 => rows::<T::Avx512, 8, 3>(m, k, n, a, b, c),
        _ => rows::<T::Avx512, 6, 4>(m, k, n, a, b, c),
    }
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
    // 16 registers: up to 12 accumulators.
    match n.div_ceil(<T::Avx2 as Vector>::LANES) {
        1 => rows::<T::Avx2, 8, 1>(m, k, n, a, b, c),
        2 => rows::<T::Avx2, 6, 2>(m, k, n, a, b, c),
        3 => rows::<T::Avx2, 4, 3>(m, k, n, a, b, c),
        _ => rows::<T::Avx2, 3, 4>(m, k, n, a, b, c),
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
