//! `C = A · B` for every product too wide for [`super::narrow`]: the dense layers' training
//! products (forward, weight gradient, input gradient) and the convolutions' input gradients.
//!
//! Cache-blocked in the usual way (Goto / BLIS): `B` is cut into blocks of at most `KC` rows
//! and 64 KiB that are packed into panels of `NV` registers of columns (the block stays in L1 /
//! L2 while it is used), and `A` into bands of at most `MC` rows that stay in L2 while every
//! panel of the block passes over them; blocks of a dimension are cut evenly, so none is a
//! sliver. Unlike a general GEMM, `A` is read in place through its strides, whatever its
//! layout: the register tile ([`super::tile`]) broadcasts one element of `A` at a time, so even
//! a transposed `A` costs no copy (packing `A` as well measured slower). The packing buffer is
//! the thread's own and is kept between calls, so a training step allocates nothing here.
//!
//! Written by hand rather than left to `matrixmultiply`, which allocates its packing buffers on
//! every call. Timed in one process against `matrixmultiply` with the two alternating (`cargo
//! bench --bench kernel_race`): in quiet minutes the 784-300-10 MLP's forward product is ~10% faster,
//! its weight gradient even at batch 128 and ~8% faster on a two-thread step's 64-row shards,
//! the input gradient through a transposed 784-wide `B` 1-3% slower (it gathers `B`); in busy
//! minutes either kernel leads the dense products by up to 20%. LeNet's second convolution's
//! input gradient is 15-25% faster in both. What decided it is the whole training step (the
//! MNIST example's model, binaries alternated, in a quiet and a busy phase): 5-15% faster on
//! two threads, 0-8% on one.

// Without run-time detection the caller falls back to `matrixmultiply`.
#![cfg_attr(
    not(all(feature = "std", target_arch = "x86_64")),
    allow(dead_code, unused_variables, unused_imports)
)]

use super::isa::Isa;
use super::operands::Finish;
use super::operands::Steps;
use super::operands::Strided;
use super::simd::Vector;
use super::tile::{column, listed_tile_rows, pack_panels, Out, Rows, Tiled, TiledKernel, NV};
#[cfg(test)]
use super::tile::{MR_AVX2, MR_AVX512, MR_LISTED_AVX2, MR_LISTED_AVX512};
#[cfg(all(feature = "std", target_arch = "x86_64"))]
use super::zero_steps::with_step_lists;
use super::Element;

/// Most rows of `B` per block. A block as deep as the dense layers' inputs (784) keeps `C` in
/// registers for the whole sum; 512 with 256 KiB blocks measured 3-5% slower on them in quiet
/// minutes, and the same within noise in busy ones.
const KC: usize = 1024;
/// Most rows of `A` per band: a band of `A` stays in L2 while the panels pass over it.
const MC: usize = 120;
/// Bytes of packed `B` per block (the block's column count follows from its row count, and
/// is at least one panel): a deep block is one panel, packed just before it is used.
const B_BLOCK_BYTES: usize = 64 * 1024;

/// Computes `C = A · B` (`m x k` by `k x n`, `C` row-major `m x n`) and returns true when the
/// CPU has a vector unit for it; returns false (doing nothing) otherwise, or for an empty
/// product.
pub(crate) fn try_gemm<T: Element>(
    m: usize,
    k: usize,
    n: usize,
    a: Strided<'_, T>,
    b: Strided<'_, T>,
    c: &mut [T],
) -> bool {
    if m == 0 || k == 0 || n == 0 {
        return false;
    }
    let isa = Isa::detect();
    let Some(lanes) = isa.lanes::<T>() else {
        return false;
    };
    #[cfg(all(feature = "std", target_arch = "x86_64"))]
    T::with_scratch(
        super::Scratch::Packing,
        scratch_len::<T>(k, n, lanes),
        |packed| {
            with_step_lists(|lists| {
                let tiling = tiling::<T>(m, k, n, lanes, listed_tile_rows(isa));
                let shape = (m, k, n);
                // SAFETY (both arms): the CPU has `isa`; the caller checked every index against
                // the slices; `packed` is as long as the blocks need; the lists were built for
                // the listed tiling of `isa`.
                match lists.build(a, m, k, tiling) {
                    // SAFETY: as the comment on this match says.
                    Steps::All => unsafe {
                        let steps = Steps::All;
                        isa.run(Tiled(Blocks::<T, false> {
                            shape,
                            a,
                            b,
                            c,
                            packed,
                            steps,
                        }))
                    },
                    // SAFETY: as the comment on this match says.
                    steps => unsafe {
                        isa.run(Tiled(Blocks::<T, true> {
                            shape,
                            a,
                            b,
                            c,
                            packed,
                            steps,
                        }))
                    },
                }
            })
        },
    );
    true
}

/// [`blocks`] as a [`TiledKernel`], on each instruction set's tiles: with `LISTED`, the listed ones
/// over the steps `steps` lists; without, the dense ones over every step, with `Steps::All` a
/// constant. Each is its own kernel, compiled into a function of its own, so that the listed
/// loop cannot crowd the dense loop's registers. Its contract is that of [`blocks`].
struct Blocks<'a, T, const LISTED: bool> {
    shape: (usize, usize, usize),
    a: Strided<'a, T>,
    b: Strided<'a, T>,
    c: &'a mut [T],
    packed: &'a mut [T],
    steps: Steps<'a>,
}

impl<T: Element, const LISTED: bool> TiledKernel<T> for Blocks<'_, T, LISTED> {
    #[inline(always)]
    unsafe fn run<V: Vector<Elem = T>, const MR: usize, const LISTED_MR: usize>(self) {
        let Blocks {
            shape: (m, k, n),
            a,
            b,
            c,
            packed,
            steps,
        } = self;
        // SAFETY: the kernel's contract, which the caller upholds.
        unsafe {
            if LISTED {
                blocks::<V, LISTED_MR>(m, k, n, a, b, c, packed, steps)
            } else {
                blocks::<V, MR>(m, k, n, a, b, c, packed, Steps::All)
            }
        }
    }
}

/// Columns of `B` per block for registers of `lanes` elements: a multiple of the panel width.
fn block_cols<T>(kc: usize, lanes: usize) -> usize {
    let width = NV * lanes;
    (B_BLOCK_BYTES / (kc * size_of::<T>()) / width).max(1) * width
}

/// `len` cut into the fewest blocks of at most `max`, all of the same size (rounded up to a
/// multiple of `unit`) but the last.
fn even_blocks(len: usize, max: usize, unit: usize) -> usize {
    len.div_ceil(len.div_ceil(max)).next_multiple_of(unit)
}

/// How [`blocks`] cuts an `m x k x n` product on registers of `lanes` elements, in tiles of
/// `mr` rows, for [`StepLists::build`]: `(mc, kc, mr)`, the rows of `A` per band, the rows of
/// `B` per block and the rows per tile.
fn tiling<T>(m: usize, k: usize, n: usize, lanes: usize, mr: usize) -> (usize, usize, usize) {
    (even_blocks(m, MC, mr), block_sizes::<T>(k, n, lanes).0, mr)
}

/// The block sizes `(kc, nc)` for a `k x n` matrix `B` on registers of `lanes` elements.
fn block_sizes<T>(k: usize, n: usize, lanes: usize) -> (usize, usize) {
    let kc = even_blocks(k, KC, 1);
    let nc = even_blocks(n, block_cols::<T>(kc, lanes), NV * lanes);
    (kc, nc)
}

/// Elements of packed `B` that [`blocks`] needs for a `k x n` matrix on registers of `lanes`
/// elements.
fn scratch_len<T>(k: usize, n: usize, lanes: usize) -> usize {
    let (kc, nc) = block_sizes::<T>(k, n, lanes);
    kc * nc
}

/// The block loops: columns of `B` by `nc`, its rows by `kc` (packed), rows of `A` by `mc`,
/// then panel by panel down the band. The first block of rows of `B` writes `C`, later ones
/// add to it. Each tile runs the steps `steps` lists for it ([`super::zero_steps`]: where `A`
/// is mostly zero, those where one of the tile's rows is not), listed once for all the panels.
///
/// # Safety
/// `a`, `b` and `c` cover the `m x k`, `k x n` and `m x n` shapes; `packed` holds
/// [`scratch_len`] elements; `steps` was built for [`tiling`]; `V`'s instruction set is
/// enabled.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
unsafe fn blocks<V: Vector, const MR: usize>(
    m: usize,
    k: usize,
    n: usize,
    a: Strided<'_, V::Elem>,
    b: Strided<'_, V::Elem>,
    c: &mut [V::Elem],
    packed: &mut [V::Elem],
    steps: Steps<'_>,
) {
    // SAFETY: this function's contract, which its caller upholds.
    unsafe {
        let width = NV * V::LANES;
        let (kc_step, nc_step) = block_sizes::<V::Elem>(k, n, V::LANES);
        let mc_step = even_blocks(m, MC, MR);
        let c = c.as_mut_ptr();
        for jc in (0..n).step_by(nc_step) {
            let nc = nc_step.min(n - jc);
            for pc in (0..k).step_by(kc_step) {
                let kc = kc_step.min(k - pc);
                pack_block::<V>(b, pc..pc + kc, jc..jc + nc, packed);
                for ic in (0..m).step_by(mc_step) {
                    let mc = mc_step.min(m - ic);
                    let rows = Rows {
                        ptr: a.data.as_ptr().add(ic * a.rs + pc * a.cs),
                        rs: a.rs,
                        ps: a.cs,
                    };
                    // Bands are whole tiles (`mc_step` is a multiple of `MR`) but the last.
                    let band = steps.band(pc / kc_step, ic / MR);
                    // Panel `q` starts `q * width * kc` into the block (only the last may be
                    // narrower; see `pack_panels`).
                    for first in (0..nc).step_by(width) {
                        let out = Out {
                            ptr: c.add(ic * n + jc + first),
                            ldc: n,
                            cols: width.min(nc - first),
                            accumulate: pc > 0,
                        };
                        let panel = packed.as_ptr().add(first * kc);
                        column::<V, MR, NV>(mc, kc, band, rows, panel, out, Finish::NONE);
                    }
                }
            }
        }
    }
}

/// [`pack_panels`] for this kernel: where a row of `B` is contiguous and fills the panel, it
/// moves a register at a time (the plain copy became a library call per 64-byte row).
///
/// # Safety
/// As [`pack_panels`]; `V`'s instruction set is enabled.
#[inline(always)]
unsafe fn pack_block<V: Vector>(
    b: Strided<'_, V::Elem>,
    rows: core::ops::Range<usize>,
    cols: core::ops::Range<usize>,
    dst: &mut [V::Elem],
) {
    // SAFETY: this function's contract, which its caller upholds.
    unsafe {
        let width = NV * V::LANES;
        if b.cs != 1 || !cols.len().is_multiple_of(width) {
            return pack_panels(b, rows, cols, width, dst);
        }
        let panel_len = rows.len() * width;
        assert!(dst.len() >= cols.len() / width * panel_len);
        assert!(rows.end == 0 || (rows.end - 1) * b.rs + cols.end <= b.data.len());
        for (q, panel) in dst
            .chunks_exact_mut(panel_len)
            .take(cols.len() / width)
            .enumerate()
        {
            let first = cols.start + q * width;
            for (p, dst) in rows.clone().zip(panel.chunks_exact_mut(width)) {
                let src = b.data.as_ptr().add(p * b.rs + first);
                for r in 0..NV {
                    V::load(src.add(r * V::LANES)).store(dst.as_mut_ptr().add(r * V::LANES));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::lanes::{checked, span, Like256F32, Like256F64, Like512F32, Like512F64};
    use super::super::reference::{naive, operands, sparse_operands, transpose, Operands};
    use super::super::zero_steps::StepLists;
    use super::*;

    /// Every layout the layers use (row-major and transposed operands), sizes that cross the
    /// `KC`, `MC` and `NC` blocks and end inside a register (and, in the last, blocks of `B`'s
    /// rows whose first rows differ modulo 5, so that their lists of steps differ).
    const SIZES: [(usize, usize, usize); 8] = [
        (1, 1, 1),
        (7, 3, 40),
        (13, 300, 33),
        (130, 17, 300),
        (121, 517, 301),
        (5, 260, 1100),
        (9, 1100, 40),
        (17, 1103, 40),
    ];
    const LAYOUTS: [(bool, bool); 4] = [(false, false), (true, false), (false, true), (true, true)];

    /// Dense operands, and operands with `A` mostly zero (steps skipped).
    fn both_operands<T: Element>() -> [Operands<T>; 2] {
        [operands::<T>, sparse_operands::<T>]
    }

    /// The kernel for this CPU's instruction set against the naive product.
    #[test]
    fn blocked_products_match_the_naive_product() {
        for (m, k, n) in SIZES {
            for (a_t, b_t) in LAYOUTS {
                for (f32s, f64s) in both_operands::<f32>().into_iter().zip(both_operands()) {
                    let layouts = (a_t, b_t);
                    check::<f32>((m, k, n), f32s, layouts, &|a, b, c| {
                        try_gemm(m, k, n, a, b, c)
                    });
                    check::<f64>((m, k, n), f64s, layouts, &|a, b, c| {
                        try_gemm(m, k, n, a, b, c)
                    });
                }
            }
        }
    }

    /// The AVX-512 instantiations (12-row tiles of 16 `f32` or 8 `f64` lanes, 8 rows where
    /// steps are listed) and the AVX2 ones (6-row tiles of 8 or 4, 4 rows where listed) on
    /// emulated registers, every register access checked to stay inside the operands and the
    /// packing buffer.
    #[test]
    fn both_instantiations_match_the_naive_product_within_their_operands() {
        for (m, k, n) in SIZES {
            for (a_t, b_t) in LAYOUTS {
                emulated::<Like512F32, MR_AVX512>(m, k, n, a_t, b_t);
                emulated::<Like512F64, MR_AVX512>(m, k, n, a_t, b_t);
                emulated::<Like512F32, MR_LISTED_AVX512>(m, k, n, a_t, b_t);
                emulated::<Like512F64, MR_LISTED_AVX512>(m, k, n, a_t, b_t);
                emulated::<Like256F32, MR_AVX2>(m, k, n, a_t, b_t);
                emulated::<Like256F64, MR_AVX2>(m, k, n, a_t, b_t);
                emulated::<Like256F32, MR_LISTED_AVX2>(m, k, n, a_t, b_t);
                emulated::<Like256F64, MR_LISTED_AVX2>(m, k, n, a_t, b_t);
            }
        }
    }

    fn emulated<V: Vector, const MR: usize>(m: usize, k: usize, n: usize, a_t: bool, b_t: bool) {
        for operands in both_operands() {
            check::<V::Elem>((m, k, n), operands, (a_t, b_t), &|a, b, c| {
                let zero = <V::Elem as num_traits::Zero>::zero();
                let mut packed = vec![zero; scratch_len::<V::Elem>(k, n, V::LANES)];
                let spans = [span(a.data), span(b.data), span(c), span(&packed)];
                let mut lists = StepLists::default();
                let steps = lists.build(a, m, k, tiling::<V::Elem>(m, k, n, V::LANES, MR));
                // SAFETY: the views cover their shapes, `packed` is as long as `blocks` needs
                // and the lists were built for its tiling; the emulated registers need no
                // target feature.
                checked(&spans, || unsafe {
                    blocks::<V, MR>(m, k, n, a, b, c, &mut packed, steps)
                });
                true
            });
        }
    }

    /// Runs `product` on `operands` stored as asked (`A`, `B` transposed or not) and compares
    /// `C` with the naive product; `product` returns false where it has no kernel to test.
    #[allow(clippy::type_complexity)]
    fn check<T: Element>(
        (m, k, n): (usize, usize, usize),
        operands: Operands<T>,
        (a_t, b_t): (bool, bool),
        product: &dyn Fn(Strided<'_, T>, Strided<'_, T>, &mut [T]) -> bool,
    ) {
        let (a, b) = operands(m, k, n);
        // The same matrix stored transposed when asked, as a view of its `rows x cols`.
        let store = |v: &[T], rows: usize, cols: usize, t: bool| -> (Vec<T>, usize, usize) {
            if t {
                (transpose(rows, cols, v), 1, rows)
            } else {
                (v.to_vec(), cols, 1)
            }
        };
        let (a_data, a_rs, a_cs) = store(&a, m, k, a_t);
        let (b_data, b_rs, b_cs) = store(&b, k, n, b_t);
        let mut c = vec![T::nan(); m * n];
        let view = |data, rs, cs| Strided { data, rs, cs };
        if !product(view(&a_data, a_rs, a_cs), view(&b_data, b_rs, b_cs), &mut c) {
            return; // no vector kernel on this CPU: nothing to test
        }
        assert!(
            c == naive(m, k, n, &a, &b),
            "m={m} k={k} n={n}, A transposed {a_t}, B transposed {b_t}"
        );
    }
}
