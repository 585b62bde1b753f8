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
//! The same tiles also serve an optimizer's update fused into a weight gradient's product
//! ([`try_gemm_update`]): there all of `B` (up to 1 MiB) is packed first and `A` is cut into
//! bands of whatever rows keep a band's sums within about 128 KiB.
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
use super::operands::Update;
use super::simd::Vector;
use super::tile::{
    across_panels, listed_tile_rows, listed_tile_width, pack_panels, packed_len, Out, Rows, Tiled,
    TiledKernel, NV,
};
#[cfg(test)]
use super::tile::{
    MR_AVX2, MR_AVX512, MR_LISTED_AVX2, MR_LISTED_AVX512, NV_LISTED_AVX2, NV_LISTED_AVX512,
};
use super::update::Rule;
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
    run(m, k, n, a, b, c, None)
}

/// Applies `rule` to the weights `w` (row-major `m x n`) and their `slots` (each as long, or
/// empty) with the gradient `A · B` (`m x k` by `k x n`), band by band of rows as the product
/// computes them, without storing the gradient: an optimizer's update fused into the weight
/// gradient's product. A band's sums (about [`SUMS_BYTES`]) stay in L2 for the rule, which
/// reads them with the band's weights as one contiguous run; the whole gradient, stored and
/// read back by a separate update, would have left L2 for the next level. The sums are the
/// ones [`try_gemm`] computes, so the weights come out as from [`try_gemm`] then the rule.
///
/// Returns false (doing nothing) where [`try_gemm`] would, and where `B` is deeper than one
/// block, holds more than [`PACKED_B_BYTES`] or is too wide for a band of one tile's rows
/// within [`SUMS_BYTES`].
///
/// # Panics
/// If `w` or a non-empty slot does not hold `m * n` elements.
pub(crate) fn try_gemm_update<T: Element>(
    (m, k, n): (usize, usize, usize),
    a: Strided<'_, T>,
    b: Strided<'_, T>,
    w: &mut [T],
    rule: &Update<T>,
    slots: [&mut [T]; 3],
) -> bool {
    assert_eq!(w.len(), m * n, "gemm_update: weights of the wrong size");
    for slot in &slots {
        assert!(
            slot.is_empty() || slot.len() == m * n,
            "gemm_update: a slot of the wrong size"
        );
    }
    let size = size_of::<T>();
    if k > KC || k * n * size > PACKED_B_BYTES || 12 * n * size > SUMS_BYTES {
        return false;
    }
    let slots = slots.map(|s| {
        if s.is_empty() {
            core::ptr::null_mut()
        } else {
            s.as_mut_ptr()
        }
    });
    run(m, k, n, a, b, w, Some(InPlace { rule, slots }))
}

/// An optimizer's rule applied to `C` (the weights) with each band's sums as the gradient,
/// instead of storing the sums ([`try_gemm_update`]); `slots` are null where unused.
#[derive(Clone, Copy)]
struct InPlace<'a, T> {
    rule: &'a Update<T>,
    slots: [*mut T; 3],
}

/// [`try_gemm`] or [`try_gemm_update`].
fn run<T: Element>(
    m: usize,
    k: usize,
    n: usize,
    a: Strided<'_, T>,
    b: Strided<'_, T>,
    c: &mut [T],
    update: Option<InPlace<'_, T>>,
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
        scratch_len::<T>((m, k, n), lanes, listed_tile_width(isa), update.is_some()),
        |packed| {
            with_step_lists(|lists| {
                let tiling = tiling::<T>((m, k, n), listed_tile_rows(isa), update.is_some());
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
                            update,
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
                            update,
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
    update: Option<InPlace<'a, T>>,
}

impl<T: Element, const LISTED: bool> TiledKernel<T> for Blocks<'_, T, LISTED> {
    #[inline(always)]
    unsafe fn run<
        V: Vector<Elem = T>,
        const MR: usize,
        const LISTED_MR: usize,
        const LISTED_NV: usize,
    >(
        self,
    ) {
        let Blocks {
            shape: (m, k, n),
            a,
            b,
            c,
            packed,
            steps,
            update,
        } = self;
        // SAFETY: the kernel's contract, which the caller upholds.
        unsafe {
            if LISTED {
                blocks::<V, LISTED_MR, LISTED_NV>(m, k, n, a, b, c, packed, steps, update)
            } else {
                blocks::<V, MR, NV>(m, k, n, a, b, c, packed, Steps::All, update)
            }
        }
    }
}

/// Columns of `B` per block for tiles of `wide` registers of `lanes` elements: a multiple of
/// the tile width.
fn block_cols<T>(kc: usize, lanes: usize, wide: usize) -> usize {
    let width = wide * lanes;
    (B_BLOCK_BYTES / (kc * size_of::<T>()) / width).max(1) * width
}

/// `len` cut into the fewest blocks of at most `max`, all of the same size (rounded up to a
/// multiple of `unit`) but the last.
fn even_blocks(len: usize, max: usize, unit: usize) -> usize {
    len.div_ceil(len.div_ceil(max)).next_multiple_of(unit)
}

/// How [`blocks`] cuts an `m x k x n` product in tiles of `mr` rows, for
/// [`StepLists::build`]: `(mc, kc, mr)`, the rows of `A` per band, the rows of `B` per block
/// and the rows per tile.
fn tiling<T>((m, k, n): (usize, usize, usize), mr: usize, in_place: bool) -> (usize, usize, usize) {
    let mc = if in_place {
        band_rows::<T>(m, n, mr)
    } else {
        even_blocks(m, MC, mr)
    };
    (mc, block_rows(k), mr)
}

/// Rows of `B` per block for a `k`-row `B`: the same for every tile width.
fn block_rows(k: usize) -> usize {
    even_blocks(k, KC, 1)
}

/// The block sizes `(kc, nc)` for a `k x n` matrix `B` on registers of `lanes` elements, in
/// tiles `wide` registers wide.
fn block_sizes<T>(k: usize, n: usize, lanes: usize, wide: usize) -> (usize, usize) {
    let kc = block_rows(k);
    let nc = even_blocks(n, block_cols::<T>(kc, lanes, wide), wide * lanes);
    (kc, nc)
}

/// Elements of scratch that [`blocks`] needs for an `m x k x n` product on registers of
/// `lanes` elements, in tiles of `NV` or `wide` registers: a packed block of `B`; `in_place`,
/// all of `B` packed and a band's sums (bands of [`band_rows`] for tiles of up to 12 rows,
/// which round up by less than a tile).
fn scratch_len<T>(
    (m, k, n): (usize, usize, usize),
    lanes: usize,
    wide: usize,
    in_place: bool,
) -> usize {
    if in_place {
        let rows = (SUMS_BYTES / (n * size_of::<T>()) + 24).min(m + 12);
        return packed_len(k, n, NV * lanes) + rows * n;
    }
    let block = |wide| {
        let (kc, nc) = block_sizes::<T>(k, n, lanes, wide);
        kc * nc
    };
    block(NV).max(block(wide))
}

/// The block loops: columns of `B` by `nc`, its rows by `kc` (packed), rows of `A` by `mc`,
/// then across the block's panels down the band, in tiles of `MR` rows and `WIDE` registers
/// where whole panels allow ([`across_panels`]). The first block of rows of `B` writes `C`,
/// later ones add to it. Each tile runs the steps `steps` lists for it
/// ([`super::zero_steps`]: where `A` is mostly zero, those where one of the tile's rows is
/// not), listed once for all the panels.
/// With `update` (`k` within one block), all of `B` is one block, and after each band its
/// sums, kept in the end of `packed`, go through the rule into `C` and the slots.
///
/// # Safety
/// `a`, `b` and `c` cover the `m x k`, `k x n` and `m x n` shapes; `packed` holds
/// [`scratch_len`] elements; `steps` was built for [`tiling`]; with `update`, `k` is at most
/// `KC`, `n` within a band of [`SUMS_BYTES`] and each non-null slot covers `m x n`; `V`'s
/// instruction set is enabled.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
unsafe fn blocks<V: Vector, const MR: usize, const WIDE: usize>(
    m: usize,
    k: usize,
    n: usize,
    a: Strided<'_, V::Elem>,
    b: Strided<'_, V::Elem>,
    c: &mut [V::Elem],
    packed: &mut [V::Elem],
    steps: Steps<'_>,
    update: Option<InPlace<'_, V::Elem>>,
) {
    // SAFETY: this function's contract, which its caller upholds.
    unsafe {
        let width = NV * V::LANES;
        // With an update, one block of all of `B` and bands of the rows whose sums stay in
        // L2 (see `try_gemm_update`); one loop for both, so that the tiles are compiled once.
        let (kc_step, nc_step, mc_step, packed_end) = match update {
            Some(_) => {
                debug_assert!(k <= KC);
                (
                    k,
                    n,
                    band_rows::<V::Elem>(m, n, MR),
                    packed_len(k, n, width),
                )
            }
            None => {
                let (kc, nc) = block_sizes::<V::Elem>(k, n, V::LANES, WIDE);
                (kc, nc, even_blocks(m, MC, MR), kc * nc)
            }
        };
        let (packed, sums) = packed.split_at_mut(packed_end);
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
                    // A band's sums for the rule start at the buffer's first row.
                    let sums_ptr = sums.as_mut_ptr();
                    let out = |first: usize, cols: usize| match update {
                        Some(_) => Out {
                            ptr: sums_ptr.add(first),
                            ldc: n,
                            cols,
                            accumulate: false,
                        },
                        None => Out {
                            ptr: c.add(ic * n + jc + first),
                            ldc: n,
                            cols,
                            accumulate: pc > 0,
                        },
                    };
                    let packed = packed.as_ptr();
                    let finish = |_| Finish::NONE;
                    across_panels::<V, MR, WIDE>(mc, kc, nc, band, rows, packed, out, finish);
                    if let Some(InPlace { rule, slots }) = update {
                        // The band's rows of `C` and of the slots, all `n` columns: one run.
                        let run = ic * n..(ic + mc) * n;
                        let slot = |p: *mut V::Elem| {
                            if p.is_null() {
                                &mut []
                            } else {
                                core::slice::from_raw_parts_mut(p.add(run.start), run.len())
                            }
                        };
                        let weights = core::slice::from_raw_parts_mut(c.add(run.start), run.len());
                        rule.apply(weights, &sums[..run.len()], slots.map(slot));
                    }
                }
            }
        }
    }
}

/// Rows of `A` per band of [`blocks`] with an update for tiles of `mr` rows: as many as keep
/// the band's sums (`n` wide) within [`SUMS_BYTES`], rounded up to whole tiles, the bands cut
/// evenly.
fn band_rows<T>(m: usize, n: usize, mr: usize) -> usize {
    let most = (SUMS_BYTES / (n * size_of::<T>()))
        .max(1)
        .next_multiple_of(mr);
    even_blocks(m, most, mr)
}

/// Bytes of a band's sums in [`blocks`] with an update: with `A`'s band, `B` packed and the
/// weights' rows, within L2.
const SUMS_BYTES: usize = 128 * 1024;

/// The most bytes of `B` that [`blocks`] with an update packs whole (the thread keeps its
/// scratch).
const PACKED_B_BYTES: usize = 1024 * 1024;

/// [`pack_panels`] for this kernel: where the rows of `B` are contiguous, each whole panel
/// moves a register at a time (the plain copy became a library call per 64-byte row), and a
/// narrower last one goes through [`pack_panels`].
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
        if b.cs != 1 {
            return pack_panels(b, rows, cols, width, dst);
        }
        // Whole panels a register at a time; a narrower last one as `pack_panels` packs it.
        let whole = cols.len() / width;
        let panel_len = rows.len() * width;
        if whole * width < cols.len() {
            let rest = cols.start + whole * width..cols.end;
            pack_panels(b, rows.clone(), rest, width, &mut dst[whole * panel_len..]);
        }
        assert!(dst.len() >= whole * panel_len);
        assert!(rows.end == 0 || (rows.end - 1) * b.rs + cols.end <= b.data.len());
        for (q, panel) in dst.chunks_exact_mut(panel_len).take(whole).enumerate() {
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

    /// The AVX-512 instantiations (12 x 2-register tiles of 16 `f32` or 8 `f64` lanes, 4 x 4
    /// where steps are listed) and the AVX2 ones (6 x 2 tiles of 8 or 4, 4 x 2 where listed)
    /// on emulated registers, every register access checked to stay inside the operands and
    /// the packing buffer.
    #[test]
    fn both_instantiations_match_the_naive_product_within_their_operands() {
        const WIDE: usize = NV_LISTED_AVX512;
        for (m, k, n) in SIZES {
            for (a_t, b_t) in LAYOUTS {
                emulated::<Like512F32, MR_AVX512, NV>(m, k, n, a_t, b_t);
                emulated::<Like512F64, MR_AVX512, NV>(m, k, n, a_t, b_t);
                emulated::<Like512F32, MR_LISTED_AVX512, WIDE>(m, k, n, a_t, b_t);
                emulated::<Like512F64, MR_LISTED_AVX512, WIDE>(m, k, n, a_t, b_t);
                emulated::<Like256F32, MR_AVX2, NV>(m, k, n, a_t, b_t);
                emulated::<Like256F64, MR_AVX2, NV>(m, k, n, a_t, b_t);
                emulated::<Like256F32, MR_LISTED_AVX2, NV_LISTED_AVX2>(m, k, n, a_t, b_t);
                emulated::<Like256F64, MR_LISTED_AVX2, NV_LISTED_AVX2>(m, k, n, a_t, b_t);
            }
        }
    }

    fn emulated<V: Vector, const MR: usize, const WIDE: usize>(
        m: usize,
        k: usize,
        n: usize,
        a_t: bool,
        b_t: bool,
    ) {
        for operands in both_operands() {
            check::<V::Elem>((m, k, n), operands, (a_t, b_t), &|a, b, c| {
                let zero = <V::Elem as num_traits::Zero>::zero();
                let len = scratch_len::<V::Elem>((m, k, n), V::LANES, WIDE, false);
                let mut packed = vec![zero; len];
                let spans = [span(a.data), span(b.data), span(c), span(&packed)];
                let mut lists = StepLists::default();
                let steps = lists.build(a, m, k, tiling::<V::Elem>((m, k, n), MR, false));
                // SAFETY: the views cover their shapes, `packed` is as long as `blocks` needs
                // and the lists were built for its tiling; the emulated registers need no
                // target feature.
                checked(&spans, || unsafe {
                    blocks::<V, MR, WIDE>(m, k, n, a, b, c, &mut packed, steps, None)
                });
                true
            });
        }
    }

    /// Every optimizer's rule, each with the slots it reads (a count of the three).
    fn rules<T: Element>() -> [(Update<T>, usize); 7] {
        use super::super::operands::{Accumulate, Average, Moments, Momentum, Plain};
        use super::super::reference::of;
        let moments = Moments {
            alpha: of(0.01),
            b1: of(0.1),
            b2: of(0.001),
            eps: of(1e-7),
        };
        let average = |momentum: f64| Average {
            lr: of(0.01),
            rho: of(0.9),
            eps: of(1e-7),
            momentum: of(momentum),
        };
        [
            (Update::Plain(Plain { lr: of(0.01) }), 0),
            (
                Update::Momentum(Momentum {
                    lr: of(0.01),
                    momentum: of(0.9),
                    nesterov: true,
                }),
                1,
            ),
            (Update::Adam(moments), 2),
            (Update::Adam(moments), 3),
            (Update::RmsProp(average(0.0)), 1),
            (Update::RmsProp(average(0.5)), 3),
            (
                Update::Adagrad(Accumulate {
                    lr: of(0.01),
                    eps: of(1e-7),
                }),
                1,
            ),
        ]
    }

    /// Weights and `used` slots (the rest empty) for an `m x n` update, all distinct values.
    fn weights_and_slots<T: Element>(len: usize, used: usize) -> (Vec<T>, [Vec<T>; 3]) {
        use super::super::reference::of;
        let w = (0..len)
            .map(|i| of(((i * 5) % 17) as f64 * 0.1 - 0.8))
            .collect();
        let slots = core::array::from_fn(|s| {
            // The first slot well above the second's square (a centred RMSprop's mean square
            // and mean), so that no weight turns NaN.
            let base = if s == 0 { 0.5 } else { 0.0 };
            if s < used {
                (0..len)
                    .map(|i| of(base + ((i * 3 + s) % 11) as f64 * 0.01))
                    .collect()
            } else {
                Vec::new()
            }
        });
        (w, slots)
    }

    /// The weights and slots `rule` gives with the gradient `C` of `try_gemm`.
    fn product_then_rule<T: Element>(
        (m, k, n): (usize, usize, usize),
        (a, b): (Strided<'_, T>, Strided<'_, T>),
        rule: &Update<T>,
        used: usize,
    ) -> Option<(Vec<T>, [Vec<T>; 3])> {
        let mut g = vec![T::nan(); m * n];
        if !try_gemm(m, k, n, a, b, &mut g) {
            return None;
        }
        let (mut w, mut slots) = weights_and_slots::<T>(m * n, used);
        let [s0, s1, s2] = &mut slots;
        rule.apply(&mut w, &g, [s0, s1, s2]);
        Some((w, slots))
    }

    /// The fused update leaves the weights and slots exactly as the product then the rule,
    /// for every rule and layout, and does nothing where `B` is deeper than a block or too
    /// large to pack whole.
    #[test]
    fn fused_updates_match_the_product_then_the_rule() {
        fn each<T: Element>() {
            for (m, k, n) in SIZES {
                // Dense operands, and `A` mostly zero (steps listed).
                for ((a_t, b_t), operands) in LAYOUTS.into_iter().flat_map(|l| [(l, 0), (l, 1)]) {
                    let (a, b) = both_operands::<T>()[operands](m, k, n);
                    let (a, a_rs, a_cs) = stored(&a, m, k, a_t);
                    let (b, b_rs, b_cs) = stored(&b, k, n, b_t);
                    let view = |data, rs, cs| Strided { data, rs, cs };
                    let (a, b) = (view(&a, a_rs, a_cs), view(&b, b_rs, b_cs));
                    for (rule, used) in rules::<T>() {
                        let Some(want) = product_then_rule((m, k, n), (a, b), &rule, used) else {
                            return; // no vector kernel on this CPU: nothing to test
                        };
                        let (mut w, mut slots) = weights_and_slots::<T>(m * n, used);
                        let before = w.clone();
                        let [s0, s1, s2] = &mut slots;
                        let fused = try_gemm_update((m, k, n), a, b, &mut w, &rule, [s0, s1, s2]);
                        let case = format!("m={m} k={k} n={n} {a_t} {b_t} {rule:?}");
                        let size = size_of::<T>();
                        let declined = k > KC || k * n * size > PACKED_B_BYTES;
                        if declined {
                            assert!(!fused && w == before, "{case}");
                        } else {
                            assert!(fused, "{case}");
                            assert!(
                                same(&w, &want.0)
                                    && slots.iter().zip(&want.1).all(|(s, t)| same(s, t)),
                                "{case}"
                            );
                        }
                    }
                }
            }
        }
        each::<f32>();
        each::<f64>();
    }

    /// The fused update on each instantiation's emulated registers: every access checked to
    /// stay inside the operands, the weights, the slots and the scratch.
    #[test]
    fn fused_updates_stay_inside_their_arrays_on_every_instantiation() {
        fn each<V: Vector, const MR: usize, const WIDE: usize>() {
            let shapes = [(7, 3, 40), (13, 300, 33), (130, 17, 300), (5, 260, 1100)];
            // Dense operands, and `A` mostly zero (steps listed).
            for ((m, k, n), operands) in shapes.into_iter().flat_map(|s| [(s, 0), (s, 1)]) {
                let (a, b) = both_operands::<V::Elem>()[operands](m, k, n);
                let (a, b) = (
                    Strided {
                        data: &a,
                        rs: k,
                        cs: 1,
                    },
                    Strided {
                        data: &b,
                        rs: n,
                        cs: 1,
                    },
                );
                for (rule, used) in rules::<V::Elem>() {
                    let want = product_then_rule((m, k, n), (a, b), &rule, used);
                    let (mut w, mut slots) = weights_and_slots::<V::Elem>(m * n, used);
                    let zero = <V::Elem as num_traits::Zero>::zero();
                    let len = scratch_len::<V::Elem>((m, k, n), V::LANES, WIDE, true);
                    let mut packed = vec![zero; len];
                    let ptr = |s: &mut Vec<V::Elem>| {
                        if s.is_empty() {
                            core::ptr::null_mut()
                        } else {
                            s.as_mut_ptr()
                        }
                    };
                    let [s0, s1, s2] = &mut slots;
                    let in_place = InPlace {
                        rule: &rule,
                        slots: [ptr(s0), ptr(s1), ptr(s2)],
                    };
                    let mut spans = vec![span(a.data), span(b.data), span(&w), span(&packed)];
                    spans.extend(
                        [&*s0, &*s1, &*s2]
                            .into_iter()
                            .filter(|s| !s.is_empty())
                            .map(|s| span(s)),
                    );
                    let mut lists = StepLists::default();
                    let tiling = tiling::<V::Elem>((m, k, n), MR, true);
                    let steps = lists.build(a, m, k, tiling);
                    // SAFETY: the views cover their shapes, the slots and the weights `m x n`,
                    // `packed` is as long as `blocks` needs with a band, `k` is within one
                    // block, and the lists were built for its tiling; the emulated registers
                    // need no target feature.
                    checked(&spans, || unsafe {
                        let (b, w, packed) = (b, &mut w, &mut packed);
                        blocks::<V, MR, WIDE>(m, k, n, a, b, w, packed, steps, Some(in_place))
                    });
                    if let Some(want) = want {
                        assert!(
                            same(&w, &want.0) && slots.iter().zip(&want.1).all(|(s, t)| same(s, t)),
                            "m={m} k={k} n={n} {rule:?}"
                        );
                    }
                }
            }
        }
        each::<Like512F32, MR_AVX512, NV>();
        each::<Like512F32, MR_LISTED_AVX512, NV_LISTED_AVX512>();
        each::<Like512F64, MR_LISTED_AVX512, NV_LISTED_AVX512>();
        each::<Like256F32, MR_AVX2, NV>();
        each::<Like256F64, MR_LISTED_AVX2, NV_LISTED_AVX2>();
    }

    /// The same values, NaN matching NaN (a centred RMSprop's denominator may be negative).
    fn same<T: Element>(x: &[T], y: &[T]) -> bool {
        x.len() == y.len()
            && x.iter()
                .zip(y)
                .all(|(a, b)| a == b || (a.is_nan() && b.is_nan()))
    }

    /// A row-major `rows x cols` matrix stored as is, or transposed, with its strides.
    fn stored<T: Copy>(v: &[T], rows: usize, cols: usize, t: bool) -> (Vec<T>, usize, usize) {
        if t {
            (transpose(rows, cols, v), 1, rows)
        } else {
            (v.to_vec(), cols, 1)
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
