//! Skipping the steps of a product where every row of a tile's `A` is zero.
//!
//! A register tile sums `A(r, p) · B(p, ..)` over the steps `p`; where all of the tile's rows
//! hold a zero at `p`, the step adds nothing, and its row of the panel need not be loaded nor
//! multiplied. Images are mostly background: 81% of MNIST's pixels are zero, and with four
//! samples to a tile (the listed tiles), 61% of the steps of the first dense layer's
//! forward product `x · W` are zero in every row, as are 72% of the steps of its weight
//! gradient `xᵀ · dz` (four pixels to a tile). Reference BLAS skips zero elements of an
//! operand the same way. The remaining steps run in the same order, so `C` is unchanged,
//! except that an infinite or NaN element of `B` facing zeros no longer turns the sum into NaN
//! (as in reference BLAS).
//!
//! Listing a tile's steps is a pass over its rows of `A`, so a product first counts the zeros
//! in a few of `A`'s rows (or columns) and lists steps only when at least half of them are
//! zero; dense operands run the plain loop.

// Only the x86 kernels tile; the portable build never lists steps.
#![cfg_attr(not(all(feature = "std", target_arch = "x86_64")), allow(dead_code))]

#[allow(unused_imports)]
use crate::prelude::*;

use super::isa::on_this_cpu;
use super::operands::tile_heights;
use super::operands::{Steps, Strided};
use super::Element;

/// The most list entries worth keeping for one product (2 MiB of `u16`); larger products run
/// every step rather than hold lists this long.
const MOST_ENTRIES: usize = 1 << 20;

/// The lists' storage, kept between products so that a training step allocates nothing.
#[derive(Default)]
pub(crate) struct StepLists {
    offsets: Vec<u16>,
    counts: Vec<u32>,
    /// Scratch: marks of live steps (or rows, for [`StepLists::list_across`]).
    live: Vec<u8>,
    /// Scratch for [`StepLists::list_across`]: each tile's first row and height mask.
    tiles: Vec<(usize, u64)>,
    /// Scratch for [`StepLists::list_across`]: each tile's live steps in a block, as bits,
    /// 32 steps to a word, the tiles' words for the same steps side by side.
    step_bits: Vec<u32>,
}

impl StepLists {
    /// Lists the steps of every tile of `A` (`m x k`), tiles laid out as the blocked kernel
    /// runs them: `k` in blocks of `kc` rows, `m` in bands of `mc` rows, each band cut into
    /// tiles of at most `mr` rows by [`tile_heights`]. Tile `t` of band `i` in block `b` is
    /// list number `b * tiles + t0(i) + t`, where `tiles` is the count over all bands and
    /// `t0(i)` the count before band `i`; its offsets are relative to the block's first step.
    ///
    /// Returns [`Steps::All`] when `A` does not look mostly zero (see [`mostly_zero`]), or when
    /// the lists would be too long to keep (or a block too deep for `u16` offsets). Kept out
    /// of line: inlined into a kernel, it crowded the registers of the kernel's loops.
    #[inline(never)]
    pub(crate) fn build<T: Element>(
        &mut self,
        a: Strided<'_, T>,
        m: usize,
        k: usize,
        tiling: (usize, usize, usize),
    ) -> Steps<'_> {
        // Compiled for the CPU's widest compares: the baseline's SSE2 compares 4 lanes; AVX2's
        // 8 listed the MNIST model's steps in 26-35% fewer instructions.
        on_this_cpu::<T, _>(
            #[inline(always)]
            || self.build_here(a, m, k, tiling),
        )
    }

    /// The body of [`StepLists::build`], inlined into each instruction set's copy of it.
    #[inline(always)]
    fn build_here<T: Element>(
        &mut self,
        a: Strided<'_, T>,
        m: usize,
        k: usize,
        (mc, kc, mr): (usize, usize, usize),
    ) -> Steps<'_> {
        debug_assert!(mc > 0 && kc > 0 && mr > 0);
        let tiles: usize = (0..m)
            .step_by(mc)
            .map(|ic| mc.min(m - ic).div_ceil(mr))
            .sum();
        let blocks = k.div_ceil(kc);
        let entries = blocks * tiles * kc;
        let offsets_fit = kc <= usize::from(u16::MAX) + 1;
        if !offsets_fit || entries > MOST_ENTRIES || !mostly_zero(a, m, k) {
            return Steps::All;
        }
        self.offsets.resize(entries, 0);
        self.counts.resize(blocks * tiles, 0);
        if a.rs == 1 && a.cs != 1 && mr <= MARK_WORD {
            self.list_across(a, m, k, (mc, kc, mr));
        } else {
            self.list_by_tiles(a, m, k, (mc, kc, mr));
        }
        Steps::Listed {
            offsets: &self.offsets,
            counts: &self.counts,
            stride: kc,
            tiles,
        }
    }

    /// [`StepLists::build`]'s lists tile by tile, each from its rows of `A` along the steps
    /// (contiguous for a row-major `A`, as `x` in the forward product `x · W`).
    #[inline(always)]
    fn list_by_tiles<T: Element>(
        &mut self,
        a: Strided<'_, T>,
        m: usize,
        k: usize,
        (mc, kc, mr): (usize, usize, usize),
    ) {
        self.live.resize(kc, 0);
        let mut slot = 0;
        for pc in (0..k).step_by(kc) {
            let steps = pc..k.min(pc + kc);
            for ic in (0..m).step_by(mc) {
                let mut row = ic;
                for height in tile_heights(mc.min(m - ic), mr) {
                    let list = &mut self.offsets[slot * kc..][..kc];
                    let rows = row..row + height;
                    self.counts[slot] = list_steps(a, rows, steps.clone(), list, &mut self.live);
                    row += height;
                    slot += 1;
                }
            }
        }
    }

    /// [`StepLists::build`]'s lists for an `A` whose rows are contiguous at each step (`rs ==
    /// 1`, as `xᵀ` in the weight gradient `xᵀ · dz`): one pass along each step's line of `A`
    /// sets the step's bit for every tile with a live row there, and each tile's list is then
    /// written from its bits. Listing tile by tile instead walked each row along the steps,
    /// `cs` elements apart: on MNIST's 64-sample shards that was 18% of the weight gradient's
    /// time. Appending each step to each live tile's list in that pass took twice as long as
    /// the bits do.
    #[inline(always)]
    fn list_across<T: Element>(
        &mut self,
        a: Strided<'_, T>,
        m: usize,
        k: usize,
        (mc, kc, mr): (usize, usize, usize),
    ) {
        debug_assert!(mr <= MARK_WORD);
        // Each tile's first row and the mask of its height's bytes, in list order.
        self.tiles.clear();
        self.tiles.extend((0..m).step_by(mc).flat_map(|ic| {
            tile_heights(mc.min(m - ic), mr).scan(ic, |row, height| {
                let first = *row;
                *row += height;
                Some((first, u64::MAX >> (8 * (MARK_WORD - height))))
            })
        }));
        let tiles = self.tiles.len();
        // Every tile four rows high (the listed tiles' height), one after another: a step's
        // line is read four elements to a tile, in a loop the compiler vectorises. Otherwise
        // the line's rows are marked first and each tile reads its rows' marks as one word.
        let quads = mr == 4 && m.is_multiple_of(4) && mc.is_multiple_of(4);
        if !quads {
            self.live.clear();
            self.live.resize(m + MARK_WORD, 0);
        }
        for (block, pc) in (0..k).step_by(kc).enumerate() {
            let depth = k.min(pc + kc) - pc;
            self.step_bits.clear();
            self.step_bits.resize(depth.div_ceil(32) * tiles, 0);
            for step in 0..depth {
                let line = &a.data[(pc + step) * a.cs..][..m];
                let bit = 1u32 << (step % 32);
                let words = &mut self.step_bits[step / 32 * tiles..][..tiles];
                if quads {
                    for (word, rows) in words.iter_mut().zip(line.chunks_exact(4)) {
                        let live = rows.iter().fold(false, |live, &x| live | (x != T::zero()));
                        *word |= bit & 0u32.wrapping_sub(u32::from(live));
                    }
                } else {
                    self.live
                        .iter_mut()
                        .zip(line)
                        .for_each(|(l, &x)| *l = u8::from(x != T::zero()));
                    for (word, &(first, mask)) in words.iter_mut().zip(&self.tiles) {
                        let marks = &self.live[first..][..MARK_WORD];
                        let live = u64::from_le_bytes(marks.try_into().expect("8 marks")) & mask;
                        *word |= bit & 0u32.wrapping_sub(u32::from(live != 0));
                    }
                }
            }
            let slots = block * tiles;
            let lists = self.offsets[slots * kc..].chunks_exact_mut(kc);
            let counts = &mut self.counts[slots..][..tiles];
            for (tile, (count, list)) in counts.iter_mut().zip(lists).enumerate() {
                let bits = self.step_bits[tile..].iter().step_by(tiles).copied();
                let mut listed = 0;
                for (start, bits) in (0..depth).step_by(32).zip(bits) {
                    for (byte, start) in bits
                        .to_le_bytes()
                        .into_iter()
                        .zip((start..depth).step_by(8))
                    {
                        listed = list_bits(byte, start, depth - start, list, listed);
                    }
                }
                *count = listed as u32;
            }
        }
    }
}

/// Bytes of marks [`StepLists::list_across`] reads at a time from a tile's first row: the most
/// rows a tile it lists may have (taller ones are listed tile by tile). One word, not two: the
/// listed tiles have at most eight rows, and reading sixteen bytes made the MNIST weight
/// gradient's product measurably slower (`BENCHMARKS.md`).
const MARK_WORD: usize = 8;

/// Runs `f` with this thread's lists (kept for the thread's next product).
#[cfg(feature = "std")]
pub(crate) fn with_step_lists<R>(f: impl FnOnce(&mut StepLists) -> R) -> R {
    std::thread_local! {
        static LISTS: core::cell::RefCell<StepLists> = core::cell::RefCell::new(StepLists::default());
    }
    LISTS.with_borrow_mut(f)
}

/// Lines of `A` (rows or columns) sampled to judge whether it is mostly zero.
const SAMPLED_LINES: usize = 8;

/// Whether at least half of `A`'s `m x k` elements look zero, judged from up to
/// [`SAMPLED_LINES`] evenly spaced lines along whichever stride is 1 (a view with neither
/// stride 1 is never listed). A wrong guess costs time, never accuracy: the lists are exact.
/// A NaN is not zero.
#[inline(always)]
fn mostly_zero<T: Element>(a: Strided<'_, T>, m: usize, k: usize) -> bool {
    let (lines, len, step) = if a.cs == 1 {
        (m, k, a.rs)
    } else if a.rs == 1 {
        (k, m, a.cs)
    } else {
        return false;
    };
    let sampled = lines.min(SAMPLED_LINES);
    let zeros: usize = (0..sampled)
        .map(|i| {
            let start = i * lines / sampled * step;
            a.data[start..start + len]
                .iter()
                .filter(|&&x| x == T::zero())
                .count()
        })
        .sum();
    2 * zeros >= sampled * len
}

/// Writes to `list` the steps `p` in `steps` (relative to its start) at which some row of `A`
/// in `rows` is not zero, and returns how many there are; `live` is scratch space as long as
/// `steps`. A NaN is not zero. Branch-free: the data decide nothing but the count.
#[inline(always)]
fn list_steps<T: Element>(
    a: Strided<'_, T>,
    rows: core::ops::Range<usize>,
    steps: core::ops::Range<usize>,
    list: &mut [u16],
    live: &mut [u8],
) -> u32 {
    let kc = steps.len();
    let live = &mut live[..kc];
    if a.cs == 1 && rows.len() == 4 {
        // The listed tiles' height, contiguous along the steps (`x` in `x · W`): one pass
        // marks each step from all four rows at once, vectorised.
        let row = |r: usize| &a.data[r * a.rs + steps.start..][..kc];
        let (r0, r1, r2, r3) = (
            row(rows.start),
            row(rows.start + 1),
            row(rows.start + 2),
            row(rows.start + 3),
        );
        for ((((l, &x0), &x1), &x2), &x3) in live.iter_mut().zip(r0).zip(r1).zip(r2).zip(r3) {
            let zero = T::zero();
            *l = u8::from((x0 != zero) | (x1 != zero) | (x2 != zero) | (x3 != zero));
        }
        return list_marked(live, list);
    }
    live.fill(0);
    for r in rows {
        let start = r * a.rs + steps.start * a.cs;
        let mark = |(l, &x): (&mut u8, &T)| *l |= u8::from(x != T::zero());
        if a.cs == 1 {
            // Contiguous along the steps (`x` in `x · W`): vectorised.
            live.iter_mut()
                .zip(&a.data[start..start + kc])
                .for_each(mark);
        } else {
            live.iter_mut()
                .zip(a.data[start..].iter().step_by(a.cs))
                .for_each(mark);
        }
    }
    list_marked(live, list)
}

/// Writes to `list` the indices of the marked entries of `marks` (each 0 or 1), in order, and
/// returns how many there are: eight marks at a time, their bits gathered into a byte by one
/// multiplication and listed by [`list_bits`]. A step at a time (a store and an add per mark)
/// took several times as long.
#[inline(always)]
fn list_marked(marks: &[u8], list: &mut [u16]) -> u32 {
    let mut groups = marks.chunks_exact(8);
    let mut count = 0;
    for (start, group) in (0..).step_by(8).zip(&mut groups) {
        let word = u64::from_le_bytes(group.try_into().expect("8 marks"));
        // Byte `i`'s low bit lands on bit `56 + i`, and no two partial products share a bit.
        let bits = (word.wrapping_mul(0x0102_0408_1020_4080) >> 56) as u8;
        count = list_bits(bits, start, 8, list, count);
    }
    let (start, rest) = (marks.len() - groups.remainder().len(), groups.remainder());
    let bits = rest.iter().rev().fold(0, |bits, &mark| bits << 1 | mark);
    list_bits(bits, start, rest.len(), list, count) as u32
}

/// Appends to `list`, from entry `count` on, `start + i` for each set bit `i` of `bits` (the
/// steps `start..start + len` of which only the first `len` may be set) and returns the new
/// count. Branch-free: a full byte's eight positions come from a table and are all written,
/// of which the count keeps as many as are set; `list` holds `start + len` entries, and
/// `count <= start`.
#[inline(always)]
fn list_bits(bits: u8, start: usize, len: usize, list: &mut [u16], count: usize) -> usize {
    if len >= 8 {
        let entries = &mut list[count..][..8];
        let positions = &SET_BITS[usize::from(bits)];
        for (entry, &position) in entries.iter_mut().zip(positions) {
            *entry = start as u16 + position;
        }
        count + usize::from(SET_BIT_COUNTS[usize::from(bits)])
    } else {
        let mut count = count;
        for i in 0..len {
            // Written unconditionally, kept by advancing the count.
            list[count] = (start + i) as u16;
            count += usize::from(bits >> i & 1);
        }
        count
    }
}

/// For each byte value, the positions of its set bits, lowest first (the rest zero): eight
/// `u16`s, so that [`list_bits`] adds the start to all of them in one vector.
const SET_BITS: [[u16; 8]; 256] = {
    let mut table = [[0; 8]; 256];
    let mut bits = 0;
    while bits < 256 {
        let (mut found, mut bit) = (0, 0);
        while bit < 8 {
            if bits >> bit & 1 == 1 {
                table[bits][found] = bit as u16;
                found += 1;
            }
            bit += 1;
        }
        bits += 1;
    }
    table
};

/// For each byte value, how many bits are set.
const SET_BIT_COUNTS: [u8; 256] = {
    let mut table = [0; 256];
    let mut bits = 0;
    while bits < 256 {
        table[bits] = (bits as u32).count_ones() as u8;
        bits += 1;
    }
    table
};

#[cfg(all(test, feature = "std"))]
mod tests {
    use super::*;

    /// A 7 x 5 matrix, zero but for the marked elements.
    fn sparse(live: &[(usize, usize)]) -> Vec<f32> {
        let mut a = vec![0.0f32; 7 * 5];
        for &(r, p) in live {
            a[r * 5 + p] = 1.0;
        }
        a
    }

    /// A row-major 7 x 5 matrix.
    fn rows(a: &[f32]) -> Strided<'_, f32> {
        rows_of(a, 5)
    }

    /// A row-major matrix of `cols` columns.
    fn rows_of(a: &[f32], cols: usize) -> Strided<'_, f32> {
        Strided {
            data: a,
            rs: cols,
            cs: 1,
        }
    }

    #[test]
    fn each_tile_lists_the_steps_where_one_of_its_rows_is_live() {
        // Rows 0-3 and 4-6 are the tiles (heights 4 and 3 for at most 4 rows).
        let a = sparse(&[(0, 1), (3, 1), (2, 4), (5, 0), (6, 2)]);
        let view = rows(&a);
        let mut lists = StepLists::default();
        let steps = lists.build(view, 7, 5, (7, 5, 4));
        assert_eq!(steps.of(0, 5), Some(&[1u16, 4][..]));
        assert_eq!(steps.of(1, 5), Some(&[0u16, 2][..]));
        assert_eq!(steps.band(0, 1).of(0, 5), Some(&[0u16, 2][..]));
    }

    #[test]
    fn blocks_of_steps_are_listed_from_their_own_first_row() {
        // Blocks of 3 steps (0-2, 3-4), one band of 7 rows in tiles of 4 and 3; `Aᵀ` stored.
        let a = sparse(&[(0, 1), (1, 3), (6, 4), (5, 4)]);
        let t: Vec<f32> = (0..5)
            .flat_map(|p| (0..7).map(move |r| (r, p)))
            .map(|(r, p)| a[r * 5 + p])
            .collect();
        let view = Strided {
            data: &t,
            rs: 1,
            cs: 7,
        };
        let mut lists = StepLists::default();
        let steps = lists.build(view, 7, 5, (7, 3, 4));
        assert_eq!(steps.of(0, 3), Some(&[1u16][..]));
        assert_eq!(steps.of(1, 3), Some(&[][..]));
        assert_eq!(
            steps.band(1, 0).of(0, 2),
            Some(&[0u16][..]),
            "block 1, tile 0: step 3"
        );
        assert_eq!(
            steps.band(1, 1).of(0, 2),
            Some(&[1u16][..]),
            "block 1, tile 1: step 4"
        );
    }

    #[test]
    fn dense_operands_and_complete_lists_run_every_step() {
        let mut lists = StepLists::default();
        let dense = vec![1.0f32; 35];
        let view = rows(&dense);
        assert!(matches!(lists.build(view, 7, 5, (7, 5, 4)), Steps::All));
        // Mostly zero, but one tile live at every step: that tile runs the plain loop.
        let a = sparse(&[(0, 0), (0, 1), (1, 2), (2, 3), (3, 4)]);
        let view = rows(&a);
        let steps = lists.build(view, 7, 5, (7, 5, 4));
        assert_eq!(steps.of(0, 5), None);
        assert_eq!(steps.of(1, 5), Some(&[][..]));
    }

    /// Each tile's live steps by the definition, in list order: block by block, band by band.
    fn naive_lists(
        a: &[f32],
        m: usize,
        k: usize,
        (mc, kc, mr): (usize, usize, usize),
    ) -> Vec<Vec<u16>> {
        let mut lists = Vec::new();
        for pc in (0..k).step_by(kc) {
            for ic in (0..m).step_by(mc) {
                let mut row = ic;
                for height in tile_heights(mc.min(m - ic), mr) {
                    let live = |p: usize| (row..row + height).any(|r| a[r * k + p] != 0.0);
                    lists.push(
                        (pc..k.min(pc + kc))
                            .filter(|&p| live(p))
                            .map(|p| (p - pc) as u16)
                            .collect(),
                    );
                    row += height;
                }
            }
        }
        lists
    }

    #[test]
    fn a_transposed_a_lists_the_same_steps_as_a_row_major_one() {
        use super::super::reference::{sparse_operands, transpose};
        // Several bands and blocks of steps, with leftover tiles and steps; AVX-512's 12-row
        // tiles; tiles of four rows throughout (read four at a time across), with blocks
        // longer than a word of bits and not a whole number of bytes.
        for (m, k, tiling) in [
            (31, 97, (12, 40, 5)),
            (130, 17, (60, 17, 12)),
            (7, 5, (7, 5, 4)),
            (64, 77, (32, 69, 4)),
            (392, 128, (392, 128, 4)),
            (40, 13, (40, 13, 4)),
        ] {
            let (a, _) = sparse_operands::<f32>(m, k, 1);
            let at = transpose(m, k, &a);
            let row_major = rows_of(&a, k);
            let transposed = Strided {
                data: &at,
                rs: 1,
                cs: m,
            };
            let (mut by_rows, mut across) = (StepLists::default(), StepLists::default());
            let listed = |steps: Steps<'_>| matches!(steps, Steps::Listed { .. });
            assert!(
                listed(by_rows.build(row_major, m, k, tiling)),
                "m={m} k={k}"
            );
            assert!(
                listed(across.build(transposed, m, k, tiling)),
                "m={m} k={k}"
            );
            let kc = tiling.1;
            let want = naive_lists(&a, m, k, tiling);
            assert_eq!(by_rows.counts.len(), want.len(), "m={m} k={k}");
            for (slot, want) in want.iter().enumerate() {
                let list =
                    |l: &StepLists| l.offsets[slot * kc..][..l.counts[slot] as usize].to_vec();
                assert_eq!(&list(&by_rows), want, "m={m} k={k} list {slot}, by rows");
                assert_eq!(&list(&across), want, "m={m} k={k} list {slot}, across");
            }
        }
    }

    #[test]
    fn nan_is_live() {
        let mut a = sparse(&[]);
        a[2] = f32::NAN;
        let view = rows(&a);
        let mut lists = StepLists::default();
        assert_eq!(
            lists.build(view, 7, 5, (7, 5, 4)).of(0, 5),
            Some(&[2u16][..])
        );
    }
}
