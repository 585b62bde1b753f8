//! `y = x · B` for one sample on AVX-512 when `y` is five to 24 registers wide (65 to 384
//! `f32`): every sum stays in a register for the whole pass over `B`, and each row of `B` is
//! read with aligned loads and shifted into place.
//!
//! Held in registers, the sums cost no load or store per row, so the product runs at the speed
//! `B` streams from cache. What stops it there is alignment: a row of 300 `f32` starts 48
//! bytes past the last one, so three rows in four straddle a cache line with every register
//! they load, and split loads cost two. Here each row is read in the aligned registers that
//! cover it (the first and last masked to the row's own lanes) and every adjacent pair is
//! shifted into the row's columns with one two-register permute, which the FMA units have
//! cycles to spare for (the 784-300-10 MLP's first layer: `BENCHMARKS.md`). Aligned loads
//! with the two masks precomputed per offset, or no masks inside `B`, measured slower: LLVM
//! then hoisted every load of a row above its multiply-adds and spilled the sums.
//!
//! Zero inputs skip their rows as in `gemv`, and each sum takes its rows in order, so
//! the result is the one `gemv`'s other forms give.

use super::elementwise::{list_nonzero, mostly_zero, LIST_CHUNK as CHUNK};
use super::simd::Realign;

/// [`held`] for `y` `$regs` registers wide, else `$otherwise`: one arm per register count, so
/// that a count known when the caller compiles compiles only its own arm.
macro_rules! held_form {
    ($regs:expr, $v:ty, $x:expr, $b:expr, $bias:expr, $y:expr, $otherwise:expr) => {
        match $regs {
            5 => held::<$v, 5>($x, $b, $bias, $y),
            6 => held::<$v, 6>($x, $b, $bias, $y),
            7 => held::<$v, 7>($x, $b, $bias, $y),
            8 => held::<$v, 8>($x, $b, $bias, $y),
            9 => held::<$v, 9>($x, $b, $bias, $y),
            10 => held::<$v, 10>($x, $b, $bias, $y),
            11 => held::<$v, 11>($x, $b, $bias, $y),
            12 => held::<$v, 12>($x, $b, $bias, $y),
            13 => held::<$v, 13>($x, $b, $bias, $y),
            14 => held::<$v, 14>($x, $b, $bias, $y),
            15 => held::<$v, 15>($x, $b, $bias, $y),
            16 => held::<$v, 16>($x, $b, $bias, $y),
            17 => held::<$v, 17>($x, $b, $bias, $y),
            18 => held::<$v, 18>($x, $b, $bias, $y),
            19 => held::<$v, 19>($x, $b, $bias, $y),
            20 => held::<$v, 20>($x, $b, $bias, $y),
            21 => held::<$v, 21>($x, $b, $bias, $y),
            22 => held::<$v, 22>($x, $b, $bias, $y),
            23 => held::<$v, 23>($x, $b, $bias, $y),
            24 => held::<$v, 24>($x, $b, $bias, $y),
            _ => $otherwise,
        }
    };
}

/// `y = x · B (+ bias)` for a row-major `k x n` matrix `B`, `n = y.len()`, `k = x.len()`,
/// where `y` spans 5 to 24 registers ([`holds`]); returns false (doing nothing) for other
/// widths, which `gemv`'s other forms take.
///
/// # Safety
/// `b` holds `x.len() * y.len()` elements, `bias` none or `y.len()`, and `V`'s instruction set
/// is enabled.
#[inline(always)]
pub(super) unsafe fn try_product<V: Realign>(
    x: &[V::Elem],
    b: &[V::Elem],
    bias: &[V::Elem],
    y: &mut [V::Elem],
) -> bool {
    // SAFETY: this function's contract, which its caller upholds; each arm's register count
    // is the one `y` needs.
    unsafe { held_form!(y.len().div_ceil(V::LANES), V, x, b, bias, y, return false) }
    true
}

/// Whether [`held`] takes outputs `regs` registers wide.
pub(super) const fn holds(regs: usize) -> bool {
    matches!(regs, 5..=24)
}

/// [`try_product`] for `y.len() == N`, a constant for which [`holds`] is true: only `N`'s
/// form is compiled.
///
/// # Safety
/// As for [`try_product`], and `holds(N.div_ceil(V::LANES))`.
#[inline(always)]
pub(super) unsafe fn sized<V: Realign, const N: usize>(
    x: &[V::Elem],
    b: &[V::Elem],
    bias: &[V::Elem],
    y: &mut [V::Elem],
) {
    // SAFETY: as in `try_product`.
    unsafe {
        held_form!(
            { const { N.div_ceil(V::LANES) } },
            V,
            x,
            b,
            bias,
            y,
            unreachable!("`held` does not take {N} outputs")
        )
    }
}

/// `y = x · B (+ bias)` with `y` in `NV` registers (the last possibly partial) for the whole
/// pass over `B`, skipping the rows whose input is zero.
///
/// # Safety
/// `(NV - 1) * LANES < n <= NV * LANES` for `n = y.len()`, `b` holds `x.len() * n` elements,
/// `bias` none or `n`, and `V`'s instruction set is enabled.
#[inline(always)]
unsafe fn held<V: Realign, const NV: usize>(
    x: &[V::Elem],
    b: &[V::Elem],
    bias: &[V::Elem],
    y: &mut [V::Elem],
) {
    // SAFETY: this function's contract, which its caller upholds.
    unsafe {
        let (n, lanes) = (y.len(), V::LANES);
        let last = n - (NV - 1) * lanes;
        let mut acc = [V::zero(); NV];
        if !bias.is_empty() {
            for (v, a) in acc.iter_mut().enumerate() {
                let count = if v + 1 < NV { lanes } else { last };
                *a = V::load_lanes(bias.as_ptr().add(v * lanes), 0, count);
            }
        }
        // Row `k` starts `(lead + k * n) mod LANES` lanes (a power of two) past the aligned
        // address at or below it.
        let lead = b.as_ptr() as usize / size_of::<V::Elem>();
        let b = b.as_ptr();
        // A macro, not a closure: closures do not inherit the caller's target features, so
        // their intrinsics would become calls.
        macro_rules! row {
            ($k:expr, $xk:expr) => {{
                let k = $k;
                let (start, shift) = (b.add(k * n), (lead + k * n) & (lanes - 1));
                add_row::<V, NV>(&mut acc, $xk, start, n, shift);
            }};
        }
        let zero = <V::Elem as num_traits::Zero>::zero();
        if mostly_zero(x) {
            let mut nonzero = [0u16; CHUNK];
            for (c, xs) in x.chunks(CHUNK).enumerate() {
                let count = list_nonzero(xs, &mut nonzero);
                for &i in &nonzero[..count] {
                    let i = usize::from(i);
                    row!(c * CHUNK + i, xs[i]);
                }
            }
        } else {
            for (k, &xk) in x.iter().enumerate() {
                if xk != zero {
                    row!(k, xk);
                }
            }
        }
        let y = y.as_mut_ptr();
        for (v, a) in acc.iter().enumerate() {
            if v + 1 < NV || last == lanes {
                a.store(y.add(v * lanes));
            } else {
                a.store_partial(y.add(v * lanes), last);
            }
        }
    }
}

/// `acc += xk · row` for a row of `n` elements that starts `shift` lanes past a register
/// boundary: read as the aligned registers that cover it, each adjacent pair shifted into the
/// row's columns with one permute. The first and the last two registers are masked to the
/// row's own lanes.
///
/// # Safety
/// `row` is readable for `n` elements, `(NV - 1) * LANES < n <= NV * LANES`, `shift` is
/// `row`'s offset from the aligned address at or below it, and `V`'s instruction set is
/// enabled.
#[inline(always)]
unsafe fn add_row<V: Realign, const NV: usize>(
    acc: &mut [V; NV],
    xk: V::Elem,
    row: *const V::Elem,
    n: usize,
    shift: usize,
) {
    // SAFETY: this function's contract, which its caller upholds: every load reads only lanes
    // inside the row (the masked ones read nothing outside it).
    unsafe {
        let (s, lanes) = (V::splat(xk), V::LANES);
        if shift == 0 {
            for (v, a) in acc[..NV - 1].iter_mut().enumerate() {
                *a = V::mul_add(s, V::load(row.add(v * lanes)), *a);
            }
            let tail = V::load_lanes(row.add((NV - 1) * lanes), 0, n - (NV - 1) * lanes);
            acc[NV - 1] = V::mul_add(s, tail, acc[NV - 1]);
            return;
        }
        // Register `j` covers lanes `j * LANES..` from `first`; the row is lanes `shift..end`.
        let first = row.wrapping_sub(shift);
        let end = shift + n;
        let mut lo = V::load_lanes(first, shift, lanes);
        // Registers 1 to NV - 2 lie wholly inside the row (`n > (NV - 1) * LANES`).
        for (v, a) in acc[..NV - 2].iter_mut().enumerate() {
            let hi = V::load(first.wrapping_add((v + 1) * lanes));
            *a = V::mul_add(s, V::realign(lo, hi, shift), *a);
            lo = hi;
        }
        for (v, a) in acc.iter_mut().enumerate().skip(NV - 2) {
            let to = end.saturating_sub((v + 1) * lanes).min(lanes);
            let hi = V::load_lanes(first.wrapping_add((v + 1) * lanes), 0, to);
            *a = V::mul_add(s, V::realign(lo, hi, shift), *a);
            lo = hi;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::lanes::{checked, span, Like512F32, Like512F64};
    use super::super::reference::{naive, of};
    use super::*;

    /// Small integers and halves keep every sum exact, so the order of the sums cannot hide a
    /// wrong lane. A third of `x` zero when `sparse` (the listed form), none otherwise.
    fn case(k: usize, n: usize, sparse: bool) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
        let x = (0..k)
            .map(|i| match i % 3 {
                1 if sparse => 0.0,
                r => (i % 7) as f64 - 3.0 + r as f64 * 0.5 + 0.25,
            })
            .collect();
        let b = (0..k * n)
            .map(|i| ((i * 5 % 11) as f64) * 0.5 - 2.0)
            .collect();
        let bias = (0..n).map(|i| (i % 5) as f64 - 2.5).collect();
        (x, b, bias)
    }

    /// Every register count, every partial last register, and `B` at every offset from a
    /// register boundary, so rows start at every shift; each load checked to stay inside the
    /// operands.
    fn check<V: Realign>() {
        for n in 4 * V::LANES + 1..=24 * V::LANES {
            if n % 3 != 0 && n % V::LANES > 2 && n < 20 * V::LANES {
                // A third of the widths in the middle keep the test quick; every tail length
                // and every register count still runs.
                continue;
            }
            for (k, sparse) in [(9, false), (40, true)] {
                let (x, b, bias) = case(k, n, sparse);
                let want: Vec<f64> = naive(1, k, n, &x, &b)
                    .iter()
                    .zip(&bias)
                    .map(|(v, c)| v + c)
                    .collect();
                let elems = |v: &[f64]| v.iter().map(|&v| of::<V::Elem>(v)).collect::<Vec<_>>();
                let (x, bias) = (elems(&x), elems(&bias));
                for offset in [0, 1, 3, V::LANES - 1] {
                    let mut padded = vec![of::<V::Elem>(f64::NAN); offset];
                    padded.extend(elems(&b));
                    let b = &padded[offset..];
                    let mut y = vec![of::<V::Elem>(f64::NAN); n];
                    let spans = [span(&x), span(b), span(&bias), span(&y)];
                    // SAFETY: `b` is `k x n` and `bias` `n` long; the emulated registers need
                    // no target feature.
                    assert!(checked(&spans, || unsafe {
                        try_product::<V>(&x, b, &bias, &mut y)
                    }));
                    assert!(
                        y == elems(&want),
                        "{} lanes, k={k} n={n} offset={offset} sparse={sparse}",
                        V::LANES
                    );
                }
            }
        }
    }

    #[test]
    fn every_width_and_row_shift_matches_the_naive_product() {
        check::<Like512F32>();
        check::<Like512F64>();
    }

    #[cfg(all(feature = "std", target_arch = "x86_64"))]
    #[test]
    fn the_avx512_registers_match_the_naive_product() {
        use super::super::Isa;
        if Isa::detect() != Isa::Avx512 {
            return;
        }
        #[target_feature(enable = "avx512f")]
        unsafe fn run() {
            check::<super::super::simd::Avx512F32>();
            check::<super::super::simd::Avx512F64>();
        }
        // SAFETY: the CPU has AVX-512F.
        unsafe { run() }
    }
}
