//! The operand types the kernels share: strided and gathered matrices, the steps each tile
//! runs, and how a product's rows are cut into tiles.

#[allow(unused_imports)]
use crate::prelude::*;

/// A strided read-only matrix: `at(i, j) = data[i * rs + j * cs]`.
#[derive(Clone, Copy)]
pub(crate) struct Strided<'a, T> {
    pub data: &'a [T],
    pub rs: usize,
    pub cs: usize,
}

/// A matrix gathered from a slice through two tables of offsets: `at(i, p) = data[rows[i] +
/// columns[p]]`. A convolution's unrolled patches are one, read in place from its input: rows
/// are output positions (where each window starts) and columns the cells of a window (where
/// each lies from its start), or the other way round for their transpose. No patch is copied
/// out (im2col).
#[derive(Clone, Copy)]
pub struct Gathered<'a, T> {
    pub data: &'a [T],
    pub rows: &'a Offsets,
    pub columns: &'a Offsets,
}

/// A table of offsets for [`Gathered`], with its largest entry and its order found once, so
/// that each product checks its bounds in constant time (a convolution runs one per sample).
#[derive(Clone, Debug)]
pub struct Offsets {
    pub(super) entries: Box<[usize]>,
    pub(super) last: usize,
    /// Whether no entry is below the one before: the kernel finds the rows of a tile from the
    /// first one's start (see [`Left::tile`]), so a row table must be in this order.
    pub(super) ascending: bool,
}

impl Offsets {
    /// The number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }
}

impl FromIterator<usize> for Offsets {
    fn from_iter<I: IntoIterator<Item = usize>>(entries: I) -> Self {
        let entries: Box<[usize]> = entries.into_iter().collect();
        let last = entries.iter().max().copied().unwrap_or(0);
        let ascending = entries.windows(2).all(|w| w[0] <= w[1]);
        Self {
            entries,
            last,
            ascending,
        }
    }
}

/// The heights of the `ceil(m / mr)` tiles that cut `m` rows into tiles of at most `mr`
/// rows, all within one row of each other (the taller ones first).
///
/// A tile's sums each wait on the multiply-add latency once per step of `k`, so a tile of
/// fewer than about four rows runs at a fraction of the full rate: eight rows as `6 + 2` take
/// as long as `6 + 4` would, where `4 + 4` takes less. Equal heights keep every tile as tall
/// as the row count allows (15 rows: `5 + 5 + 5`, not `6 + 6 + 2 + 1`).
pub(crate) fn tile_heights(m: usize, mr: usize) -> impl Iterator<Item = usize> {
    let tiles = m.div_ceil(mr);
    (0..tiles).map(move |t| tile_height(m, tiles, t))
}

/// The height of tile `t` of `tiles` that cut `m` rows as [`tile_heights`] does.
#[inline(always)]
pub(crate) fn tile_height(m: usize, tiles: usize, t: usize) -> usize {
    // The first `m % tiles` tiles take one row more than the rest.
    m / tiles + usize::from(t < m % tiles)
}

/// The steps each tile of a product runs: all of them, or only those listed for it.
#[derive(Clone, Copy)]
pub(crate) enum Steps<'a> {
    /// Every step of `k`.
    All,
    /// Tile `t`'s steps are `offsets[t * stride..][..counts[t]]`, each a row of the block of
    /// `B` (relative to its first row), ascending; a tile whose list is complete (`kc`
    /// entries) runs the plain loop. Each block of `B`'s rows has `tiles` lists.
    Listed {
        offsets: &'a [u16],
        counts: &'a [u32],
        stride: usize,
        tiles: usize,
    },
}

impl<'a> Steps<'a> {
    /// The steps of tile `t` among `kc`: `None` for all of them.
    #[inline(always)]
    pub(crate) fn of(self, t: usize, kc: usize) -> Option<&'a [u16]> {
        match self {
            Steps::All => None,
            Steps::Listed {
                offsets,
                counts,
                stride,
                ..
            } => {
                let count = counts[t] as usize;
                (count < kc).then(|| &offsets[t * stride..][..count])
            }
        }
    }

    /// The lists of block `block` of `B`'s rows from its tile `first` on, so that a band's
    /// first tile is tile 0.
    #[inline(always)]
    pub(crate) fn band(self, block: usize, first: usize) -> Self {
        match self {
            Steps::All => Steps::All,
            Steps::Listed {
                offsets,
                counts,
                stride,
                tiles,
            } => {
                let slot = block * tiles + first;
                Steps::Listed {
                    offsets: &offsets[slot * stride..],
                    counts: &counts[slot..],
                    stride,
                    tiles,
                }
            }
        }
    }
}
