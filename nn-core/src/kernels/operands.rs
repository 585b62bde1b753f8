//! The operand types the kernels share, as data: strided, gathered and packed matrices, the
//! steps each tile runs and how a product's rows are cut into tiles, a tile's epilogue, an
//! optimizer's update rule and dropout's draws. Their code lives with the kernels that use
//! them; here they depend on nothing, so that `Element`'s entry points can name them.

#[allow(unused_imports)]
use crate::prelude::*;

use super::Isa;

/// Which of dropout's uniform draws keep their element (`layers/dropout.rs` derives it from the
/// rate): draws of `bits` bits, kept from `threshold` on.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct KeepRule {
    /// Random bits an element: 1, 2, 4, 8, 16 or 32.
    pub bits: u32,
    /// The smallest `bits`-bit draw that keeps its element.
    pub threshold: u32,
    /// False when no draw keeps its element (a rate within `2^-32` of 1).
    pub keeps_any: bool,
}

/// Dropout's uniform draws for a pass, `rule.bits` of them to an element, packed from each
/// word's low bits up.
#[derive(Clone, Copy)]
pub struct KeepDraws<'a> {
    /// The packed draws.
    pub words: &'a [u32],
    /// Which draws keep their element.
    pub rule: KeepRule,
}

/// A strided read-only matrix: `at(i, j) = data[i * rs + j * cs]`.
#[derive(Clone, Copy)]
pub struct Strided<'a, T> {
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

/// A read-only strided view of a `rows x cols` matrix inside a slice.
#[derive(Clone, Copy, Debug)]
pub struct Mat<'a, T> {
    pub(super) data: &'a [T],
    pub(super) rows: usize,
    pub(super) cols: usize,
    pub(super) row_stride: usize,
    pub(super) col_stride: usize,
}

impl<'a, T> Mat<'a, T> {
    /// A row-major `rows x cols` matrix.
    pub fn rows(data: &'a [T], rows: usize, cols: usize) -> Self {
        Self {
            data,
            rows,
            cols,
            row_stride: cols,
            col_stride: 1,
        }
    }

    /// The transpose of a row-major `rows x cols` matrix, seen as `cols x rows`.
    pub fn transposed(data: &'a [T], rows: usize, cols: usize) -> Self {
        Self {
            data,
            rows: cols,
            cols: rows,
            row_stride: 1,
            col_stride: cols,
        }
    }

    /// A `rows x cols` matrix whose element `(i, j)` is `data[i * row_stride + j * col_stride]`:
    /// a block of a larger matrix, or of its transpose.
    pub fn view(
        data: &'a [T],
        rows: usize,
        cols: usize,
        row_stride: usize,
        col_stride: usize,
    ) -> Self {
        Self {
            data,
            rows,
            cols,
            row_stride,
            col_stride,
        }
    }

    pub(super) fn strided(self) -> Strided<'a, T> {
        Strided {
            data: self.data,
            rs: self.row_stride,
            cs: self.col_stride,
        }
    }

    pub(super) fn check(&self, what: &str) {
        if self.rows > 0 && self.cols > 0 {
            let last = (self.rows - 1) * self.row_stride + (self.cols - 1) * self.col_stride;
            assert!(
                last < self.data.len(),
                "gemm: matrix {what} is larger than its slice"
            );
        }
    }
}

/// A row-major `k x n` matrix rearranged into zero-padded panels of `width` columns, for the
/// instruction set it was packed for.
#[derive(Clone, Debug)]
pub struct PackedB<T> {
    pub(super) data: LineAligned<T>,
    pub(super) k: usize,
    pub(super) n: usize,
    pub(super) width: usize,
    pub(super) isa: Isa,
}

/// What [`super::PackedB::multiply_then`] does to each block of `C` that a tile has just
/// stored: add the bias of each column (`bias` points at the block's first column's; null for
/// none), then clamp at zero when `relu`, in that order, as the layer's own passes do.
#[derive(Clone, Copy)]
pub struct Finish<T> {
    pub bias: *const T,
    pub relu: bool,
}

impl<T> Finish<T> {
    /// Leaves the sums as they are.
    pub const NONE: Self = Self {
        bias: core::ptr::null(),
        relu: false,
    };

    /// The same epilogue for the block `columns` further right.
    pub fn shifted(self, columns: usize) -> Self {
        Self {
            bias: if self.bias.is_null() {
                self.bias
            } else {
                self.bias.wrapping_add(columns)
            },
            ..self
        }
    }
}

/// One optimizer's rule for one step, as `Element::update` takes it.
#[derive(Clone, Copy, Debug)]
pub enum Update<T> {
    /// Plain SGD.
    Plain(Plain<T>),
    /// SGD with momentum (and Nesterov's variant).
    Momentum(Momentum<T>),
    /// Adam (and AMSGrad).
    Adam(Moments<T>),
    /// RMSprop (centered or not, with or without momentum).
    RmsProp(Average<T>),
    /// Adagrad.
    Adagrad(Accumulate<T>),
}

/// `w -= lr * g`.
#[derive(Clone, Copy, Debug)]
pub struct Plain<T> {
    /// The learning rate.
    pub lr: T,
}

/// `v = momentum * v - lr * g`, then `w += v` (or, with Nesterov, `w += momentum * v - lr * g`).
/// The velocity is flushed to zero below the normal range (see `flush_subnormal`).
#[derive(Clone, Copy, Debug)]
pub struct Momentum<T> {
    /// The learning rate.
    pub lr: T,
    /// The momentum (`0` for none).
    pub momentum: T,
    /// Nesterov's variant.
    pub nesterov: bool,
}

/// Keras's Adam step with `alpha` the bias-corrected learning rate, `b1 = 1 - beta_1` and
/// `b2 = 1 - beta_2`: `m += (g - m) * b1`, `v += (g^2 - v) * b2` (and, with AMSGrad,
/// `v_hat = max(v_hat, v)`), then `w -= m * alpha / (sqrt(v or v_hat) + eps)`.
///
/// The first moment is flushed to zero below the normal range (see `flush_subnormal`): it
/// decays by 0.9 a step where the gradient is zero and is the one seen sinking into
/// subnormals. The second decays by 0.999 and takes some 70,000 such steps to get there;
/// flushing it too made the dense update 40% slower. The step's numerator `m * alpha` is zero
/// where it would be subnormal (see `Moments::numerator`).
#[derive(Clone, Copy, Debug)]
pub struct Moments<T> {
    /// The bias-corrected learning rate.
    pub alpha: T,
    /// `1 - beta_1`.
    pub b1: T,
    /// `1 - beta_2`.
    pub b2: T,
    /// Epsilon, added to the denominator.
    pub eps: T,
}

/// Keras's RMSprop step: `v = rho * v + (1 - rho) * g^2`; centered, also
/// `mg = rho * mg + (1 - rho) * g` and the denominator `v - mg^2 + eps` instead of `v + eps`;
/// `step = lr * g / sqrt(denominator)`, then `w -= step`, or with momentum
/// `m = momentum * m + step; w -= m`. The averages and the momentum are flushed to zero below
/// the normal range (see `flush_subnormal`): each decays geometrically where the gradient is
/// zero.
#[derive(Clone, Copy, Debug)]
pub struct Average<T> {
    /// The learning rate.
    pub lr: T,
    /// The decay of the average of squared gradients.
    pub rho: T,
    /// Epsilon, added to the denominator.
    pub eps: T,
    /// The momentum (`0` for none).
    pub momentum: T,
}

/// Keras's Adagrad step: `a += g^2; w -= lr * g / sqrt(a + eps)`. The accumulator only grows,
/// so it needs no flushing.
#[derive(Clone, Copy, Debug)]
pub struct Accumulate<T> {
    /// The learning rate.
    pub lr: T,
    /// Epsilon, added to the denominator.
    pub eps: T,
}

/// Bytes per cache line: where the packed operands start, so that no register load of a panel
/// straddles two lines (a split load costs two).
pub(crate) const LINE: usize = 64;

/// A boxed slice whose first element starts a cache line: the allocator only aligns to the
/// element, so the box holds a line more and the slice starts where the line does.
#[derive(Debug)]
pub(crate) struct LineAligned<T> {
    buf: Box<[T]>,
    start: usize,
}

impl<T: Copy + Default> LineAligned<T> {
    /// `len` default elements.
    pub(crate) fn new(len: usize) -> Self {
        let buf = vec![T::default(); len + LINE / size_of::<T>()].into_boxed_slice();
        let start = line_offset(&buf);
        Self { buf, start }
    }
}

impl<T: Clone> Clone for LineAligned<T> {
    /// The same elements in a new box, where the line may start elsewhere.
    fn clone(&self) -> Self {
        let mut buf = self.buf.clone();
        let start = line_offset(&buf);
        let len = self.len();
        buf[start..start + len].clone_from_slice(self);
        Self { buf, start }
    }
}

/// Elements from the start of `buf` to its first one that starts a cache line.
pub(crate) fn line_offset<T>(buf: &[T]) -> usize {
    buf.as_ptr().align_offset(LINE).min(buf.len())
}

impl<T> LineAligned<T> {
    /// Where the slice lies in the box: from the line's start, as long as asked for.
    fn range(&self) -> core::ops::Range<usize> {
        self.start..self.start + self.buf.len() - LINE / size_of::<T>()
    }
}

impl<T> core::ops::Deref for LineAligned<T> {
    type Target = [T];
    fn deref(&self) -> &[T] {
        &self.buf[self.range()]
    }
}

impl<T> core::ops::DerefMut for LineAligned<T> {
    fn deref_mut(&mut self) -> &mut [T] {
        let range = self.range();
        &mut self.buf[range]
    }
}

impl<T: PartialEq> PartialEq for LineAligned<T> {
    fn eq(&self, other: &Self) -> bool {
        **self == **other
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_aligned_slices_start_a_cache_line_and_hold_what_was_asked() {
        for len in [0, 1, 15, 16, 17, 1000] {
            let mut buf = LineAligned::<f32>::new(len);
            assert_eq!(buf.len(), len);
            assert_eq!(buf.as_ptr() as usize % LINE, 0, "len {len}");
            buf.iter_mut().for_each(|v| *v = 1.0);
            let copy = buf.clone();
            assert!(copy == buf && (copy.as_ptr() as usize).is_multiple_of(LINE));
        }
    }
}
