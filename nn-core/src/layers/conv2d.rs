//! `Conv2D`: 2-D cross-correlation on channels-last samples, with Keras's kernel layout
//! `(kh, kw, in, filters)` and TensorFlow's padding rule.
//!
//! The convolution is one matrix product per sample: its patches (one row per output
//! position, `kh * kw * in` cells) times the kernel seen as a `(kh * kw * in) x filters`
//! matrix, and the kernel gradient is the patches' transpose times the output gradient. Where
//! the filters fit the register-tiled kernel (up to four registers of them), the patches are
//! never copied out: the kernel gathers them in place from the sample, or from a zero-padded
//! copy (on the stack in prediction, in the training cache for the kernel gradient). Otherwise
//! they are unrolled (im2col) into the training cache, or a chunk at a time into a buffer on
//! the stack in prediction, with a direct loop for what chunking does not suit; prediction
//! allocates nothing either way. With stride 1 the input gradient is itself a convolution: of
//! the output gradient, zero-padded, with the kernel flipped and its channels swapped, gathered
//! the same way sample by sample, where that costs less than twice col2im's product.
//! Otherwise (strides, more input channels than that kernel takes, or a correlation that
//! multiplies too many zeros or too many padded lanes) the output gradient is multiplied by
//! the kernel's transpose and the rows are folded back onto the input (col2im).

#[allow(unused_imports)]
use crate::prelude::*;

use core::mem::MaybeUninit;

use rand::RngCore;

use super::epilogue::{bias_gradient, finish_forward, pre_activation_gradient};
use super::{Layer, Logits, Mode, Upstream, WeightSpec};
use crate::activation::Activation;
use crate::init::Initializer;
use crate::kernels::{gemm, in_place_columns, lanes_paid, try_gathered, Gathered, Mat, Offsets};
use crate::regularizer::Regularizer;
use crate::Float;

/// How many times col2im's product's arithmetic the input gradient's correlation may cost, in
/// the lanes it pays for (see [`Conv2D::flips`]).
const FLIP_COST_LIMIT: usize = 2;

/// Elements a prediction keeps on the stack at a time (32 KiB of `f32`): a chunk of unrolled
/// patches, or the padded copy of a sample.
const PREDICT_CHUNK: usize = 8 * 1024;

/// A convolution from `H x W x C` samples to `OH x OW x F`, with a `KH x KW` kernel, strides
/// `SH, SW`, and `PT, PL` rows/columns of zero padding above and to the left (the macro
/// computes them, and the output size, with TensorFlow's `same` rule; `0, 0` is `valid`).
#[derive(Clone, Debug)]
pub struct Conv2D<
    T,
    const H: usize,
    const W: usize,
    const C: usize,
    const F: usize,
    const KH: usize,
    const KW: usize,
    const SH: usize,
    const SW: usize,
    const PT: usize,
    const PL: usize,
    const OH: usize,
    const OW: usize,
    A,
> {
    weights: Box<[T]>,
    /// Where each output position's window starts, and where each element of a window lies
    /// from its start, in the image the products read in place (the sample, or its padded
    /// copy): the rows and columns of the unrolled patches (see [`Gathered`]).
    origins: Offsets,
    offsets: Offsets,
    /// The same for the input gradient's convolution (see [`Self::FLIPS`]): where each input
    /// cell's window starts in the padded output gradient, and where each of its cells lies.
    /// Empty where the input gradient is not gathered.
    dz_origins: Offsets,
    dz_offsets: Offsets,
    activation: A,
    init: Initializer,
    regularizer: Regularizer,
}

/// The geometry of a sliding window over a padded `H x W` image.
#[derive(Clone, Copy, Debug)]
struct Window {
    h: usize,
    w: usize,
    sh: usize,
    sw: usize,
    pt: usize,
    pl: usize,
}

impl Window {
    /// The input cell under window offset `(u, v)` of output `(i, j)`, if not padding.
    #[inline]
    fn cell(&self, i: usize, j: usize, u: usize, v: usize) -> Option<(usize, usize)> {
        let y = (i * self.sh + u).checked_sub(self.pt)?;
        let x = (j * self.sw + v).checked_sub(self.pl)?;
        (y < self.h && x < self.w).then_some((y, x))
    }
}

impl<
        T: Float,
        const H: usize,
        const W: usize,
        const C: usize,
        const F: usize,
        const KH: usize,
        const KW: usize,
        const SH: usize,
        const SW: usize,
        const PT: usize,
        const PL: usize,
        const OH: usize,
        const OW: usize,
        A: Activation,
    > Conv2D<T, H, W, C, F, KH, KW, SH, SW, PT, PL, OH, OW, A>
{
    const PATCH: usize = KH * KW * C;
    const KERNEL: usize = KH * KW * C * F;
    const WINDOW: Window = Window {
        h: H,
        w: W,
        sh: SH,
        sw: SW,
        pt: PT,
        pl: PL,
    };

    /// Whether some window covers padding (or the input ends before the windows do), so that
    /// prediction reads a padded copy of each sample rather than the sample itself.
    const PADDED: bool = PT > 0 || PL > 0 || (OH - 1) * SH + KH > H || (OW - 1) * SW + KW > W;
    /// The rows and columns of the padded copy: exactly what the windows cover.
    const PADDED_H: usize = (OH - 1) * SH + KH;
    const PADDED_W: usize = (OW - 1) * SW + KW;
    /// Elements of the padded copy.
    const PADDED_LEN: usize = Self::PADDED_H * Self::PADDED_W * C;
    /// Elements per row of the image prediction reads in place.
    const ROW: usize = if Self::PADDED { Self::PADDED_W } else { W } * C;
    /// Whether prediction can read the windows in place: from the sample, or from a padded
    /// copy that fits its stack buffer.
    const READS_IN_PLACE: bool = !Self::PADDED || Self::PADDED_LEN <= PREDICT_CHUNK;

    /// Whether the input gradient can be computed as a convolution: with stride 1, input cell
    /// `(i, j)` receives `dz[i + PT - u, j + PL - v] · K[u, v]` summed over the window, which is
    /// a `valid` correlation of the output gradient, padded by `KH - 1 - PT` rows above and
    /// `KW - 1 - PL` columns to the left (to `H + KH - 1` by `W + KW - 1`), with the kernel
    /// flipped in both directions and its channels swapped (`F` in, `C` out).
    const FLIPS: bool = SH == 1
        && SW == 1
        && PT < KH
        && PL < KW
        && OH + Self::DZ_TOP <= Self::DZ_H
        && OW + Self::DZ_LEFT <= Self::DZ_W;
    /// Rows and columns of zeros above and to the left of the padded output gradient.
    const DZ_TOP: usize = (KH - 1).saturating_sub(PT);
    const DZ_LEFT: usize = (KW - 1).saturating_sub(PL);
    /// Rows and columns of the padded output gradient, and its elements.
    const DZ_H: usize = H + KH - 1;
    const DZ_W: usize = W + KW - 1;
    const DZ_LEN: usize = Self::DZ_H * Self::DZ_W * F;

    /// A layer with zero weights; [`Layer::initialize`] fills the kernel with `init`.
    pub fn new(activation: A, init: Initializer, regularizer: Regularizer) -> Self {
        // Element `(u, v, c)` of a window, `(u * KW + v) * C + c` in the patch, lies `u` rows
        // and `v` cells from the window's first cell.
        let run = KW * C;
        let offsets = (0..Self::PATCH)
            .map(|p| (p / run) * Self::ROW + p % run)
            .collect();
        let origins = (0..OH * OW)
            .map(|pos| (pos / OW) * SH * Self::ROW + (pos % OW) * SW * C)
            .collect();
        // The input gradient's windows (none where it is not gathered): `(u, v, f)` of a
        // flipped-kernel window is `u` rows and `v` cells from its start in the padded output
        // gradient; input cell `(i, j)`'s window starts at its cell `(i, j)`.
        let (dz_row, dz_run) = (Self::DZ_W * F, KW * F);
        let (cells, taps) = if Self::FLIPS {
            (H * W, KH * KW * F)
        } else {
            (0, 0)
        };
        let dz_offsets = (0..taps)
            .map(|p| (p / dz_run) * dz_row + p % dz_run)
            .collect();
        let dz_origins = (0..cells)
            .map(|cell| (cell / W) * dz_row + (cell % W) * F)
            .collect();
        Self {
            weights: vec![T::zero(); Self::KERNEL + F].into_boxed_slice(),
            origins,
            offsets,
            dz_origins,
            dz_offsets,
            activation,
            init,
            regularizer,
        }
    }

    /// The kernel, `(KH, KW, C, F)` row-major, as Keras stores it.
    pub fn kernel(&self) -> &[T] {
        &self.weights[..Self::KERNEL]
    }

    /// The biases, one per filter.
    pub fn bias(&self) -> &[T] {
        &self.weights[Self::KERNEL..]
    }

    /// Unrolls the receptive fields of consecutive output positions, from position `first`
    /// counted across the batch (sample-major), into rows of `patches` (`KH * KW * C` each,
    /// zeros where the window covers padding). A window row that lies inside the image is one
    /// contiguous run of the sample, copied at once.
    fn im2col(x: &[T], first: usize, patches: &mut [T]) {
        let g = Self::WINDOW;
        for (r, row) in patches.chunks_exact_mut(Self::PATCH).enumerate() {
            let (sample, pos) = ((first + r) / (OH * OW), (first + r) % (OH * OW));
            let sample = &x[sample * H * W * C..(sample + 1) * H * W * C];
            let (i, j) = (pos / OW, pos % OW);
            let left = (j * SW).checked_sub(PL).filter(|&x0| x0 + KW <= W);
            for (u, dst) in row.chunks_exact_mut(KW * C).enumerate() {
                let top = (i * SH + u).checked_sub(PT).filter(|&y| y < H);
                match (top, left) {
                    (Some(y), Some(x0)) => {
                        dst.copy_from_slice(&sample[(y * W + x0) * C..(y * W + x0 + KW) * C])
                    }
                    (None, _) => dst.iter_mut().for_each(|d| *d = T::zero()),
                    (Some(_), None) => {
                        for (v, dst) in dst.chunks_exact_mut(C).enumerate() {
                            match g.cell(i, j, u, v) {
                                Some((y, xx)) => dst.copy_from_slice(
                                    &sample[(y * W + xx) * C..(y * W + xx + 1) * C],
                                ),
                                None => dst.iter_mut().for_each(|d| *d = T::zero()),
                            }
                        }
                    }
                }
            }
        }
    }

    /// Prediction without allocating: positions unrolled a chunk at a time into a buffer on the
    /// stack and multiplied by the register-tiled kernel, which reads both in place. Returns
    /// false (doing nothing) where a patch does not fit the buffer or the filters are too many
    /// for that kernel on this CPU.
    fn predict_in_chunks(&self, x: &[T], y: &mut [T]) -> bool {
        if Self::PATCH > PREDICT_CHUNK || F > in_place_columns::<T>() {
            return false;
        }
        let mut buffer = [T::zero(); PREDICT_CHUNK];
        let per_chunk = PREDICT_CHUNK / Self::PATCH;
        let kernel = &self.weights[..Self::KERNEL];
        for (chunk, out) in y.chunks_mut(per_chunk * F).enumerate() {
            let rows = out.len() / F;
            let patches = &mut buffer[..rows * Self::PATCH];
            Self::im2col(x, chunk * per_chunk, patches);
            gemm(
                T::one(),
                Mat::rows(patches, rows, Self::PATCH),
                Mat::rows(kernel, Self::PATCH, F),
                T::zero(),
                out,
            );
        }
        true
    }

    /// Whether the products read the receptive fields in place (see [`Gathered`]) rather than
    /// unrolled: where the filters fit the register-tiled kernel on this CPU.
    fn gathers() -> bool {
        F <= in_place_columns::<T>()
    }

    /// The unrolled patches of `image` (a sample, or its padded copy), read in place.
    fn patches<'b>(&'b self, image: &'b [T]) -> Gathered<'b, T> {
        Gathered {
            data: image,
            rows: &self.origins,
            columns: &self.offsets,
        }
    }

    /// The pre-activations of one sample from `image` (the sample, or its padded copy), its
    /// patches read in place.
    fn convolve(&self, image: &[T], out: &mut [T]) {
        let done = try_gathered(
            self.patches(image),
            &self.weights[..Self::KERNEL],
            out,
            false,
        );
        assert!(done, "the gathered product runs wherever `gathers` holds");
    }

    /// Prediction reading every receptive field in place: from the sample itself when no
    /// window covers padding, else from a zero-padded copy on the stack. This skips unrolling
    /// the patches (for LeNet-5's first layer, 19,600 copied values per sample). False (nothing
    /// done) where the filters are too many for that kernel on this CPU or the padded copy
    /// would not fit its buffer.
    fn predict_in_place(&self, x: &[T], y: &mut [T]) -> bool {
        if !Self::gathers() || !Self::READS_IN_PLACE {
            return false;
        }
        let mut buffer = [const { MaybeUninit::<T>::uninit() }; PREDICT_CHUNK];
        for (sample, out) in x
            .chunks_exact(H * W * C)
            .zip(y.chunks_exact_mut(OH * OW * F))
        {
            let image = if Self::PADDED {
                pad(
                    sample,
                    (H, W, C),
                    (PT, PL),
                    Self::PADDED_W,
                    &mut buffer[..Self::PADDED_LEN],
                )
            } else {
                sample
            };
            self.convolve(image, out);
        }
        true
    }

    /// Whether the input gradient can be gathered as a convolution (see [`Self::FLIPS`]):
    /// where the geometry allows and the input channels fit the register-tiled kernel on this
    /// CPU.
    fn can_flip() -> bool {
        Self::FLIPS && C <= in_place_columns::<T>()
    }

    /// Whether the input gradient is gathered as a convolution: where it can be and costs less
    /// than twice col2im's product. The correlation multiplies the padding's zeros too (`H x W`
    /// windows against `OH x OW` rows) and puts its `C` columns on whole registers; col2im's
    /// product runs on wide panels but writes the patches' gradient and folds it back. The limit
    /// lies between measured ties and col2im's clear wins (`BENCHMARKS.md`, "Design
    /// measurements"). (`lanes_paid` is zero only where `can_flip` is false.)
    fn flips() -> bool {
        Self::can_flip() && H * W * lanes_paid::<T>(C) < FLIP_COST_LIMIT * OH * OW * C
    }

    /// The cache's first region for a batch. The forward pass keeps there what the kernel
    /// gradient reads: the unrolled patches, or where the patches are read in place the padded
    /// copies of the samples (nothing when the samples themselves are read). Once the kernel
    /// gradient is done, the `input_gradient` (where there is one) reuses it: for the flipped
    /// kernel and one padded output gradient, or for the patches' gradient (`batch * OH * OW x
    /// PATCH`) that col2im folds back.
    fn patch_region(batch: usize, input_gradient: bool) -> usize {
        let unrolled = batch * OH * OW * Self::PATCH;
        let forward = match (Self::gathers(), Self::PADDED) {
            (false, _) => unrolled,
            (true, true) => batch * Self::PADDED_LEN,
            (true, false) => 0,
        };
        let scratch = match (input_gradient, Self::flips()) {
            (false, _) => 0,
            (true, true) => Self::KERNEL + Self::DZ_LEN,
            (true, false) => unrolled,
        };
        forward.max(scratch)
    }

    /// The cache's last region: the logits of softmax or sigmoid outputs, else nothing.
    fn logits_len(&self, batch: usize) -> usize {
        if self.activation.logits_kind().is_some() {
            batch * OH * OW * F
        } else {
            0
        }
    }

    /// Where the logits start in `cache`: after the patch region, whichever length the cache
    /// was given ([`Layer::cache_len`] or [`Layer::cache_len_without_input_gradient`]).
    fn logits_at(&self, cache: &[T], batch: usize) -> usize {
        cache.len() - self.logits_len(batch)
    }

    /// The kernel flipped in both directions with its channels swapped, `(KH, KW, F, C)`
    /// row-major: element `(u, v, f, c)` is the kernel's `(KH - 1 - u, KW - 1 - v, c, f)`.
    fn flip_kernel(&self, flipped: &mut [T]) {
        let kernel = &self.weights[..Self::KERNEL];
        for (cell, taps) in kernel.chunks_exact(C * F).enumerate() {
            let (u, v) = (KH - 1 - cell / KW, KW - 1 - cell % KW);
            let out = &mut flipped[(u * KW + v) * F * C..][..F * C];
            for (c, filters) in taps.chunks_exact(F).enumerate() {
                for (f, &k) in filters.iter().enumerate() {
                    out[f * C + c] = k;
                }
            }
        }
    }

    /// The input gradient of each sample as the `valid` correlation of its padded output
    /// gradient with the flipped kernel, the windows gathered in place (see [`Self::FLIPS`]).
    /// `scratch` holds the flipped kernel and one padded output gradient.
    fn input_gradient_flipped(&self, dz: &[T], dx: &mut [T], scratch: &mut [T]) {
        let (flipped, padded) = scratch.split_at_mut(Self::KERNEL);
        self.flip_kernel(flipped);
        let padded = &mut padded[..Self::DZ_LEN];
        for (dz, dx) in dz
            .chunks_exact(OH * OW * F)
            .zip(dx.chunks_exact_mut(H * W * C))
        {
            let image = pad_over(
                dz,
                (OH, OW, F),
                (Self::DZ_TOP, Self::DZ_LEFT),
                Self::DZ_W,
                &mut *padded,
            );
            let windows = Gathered {
                data: image,
                rows: &self.dz_origins,
                columns: &self.dz_offsets,
            };
            let done = try_gathered(windows, flipped, dx, false);
            assert!(done, "the gathered product runs wherever `flips` holds");
        }
    }

    /// Prediction without allocating: in place where it applies, else in chunks, else the
    /// direct loop for a single sample. False (nothing done) for a batch that needs all its
    /// patches unrolled.
    fn predict_without_allocating(&self, x: &[T], y: &mut [T]) -> bool {
        if self.predict_in_place(x, y) || self.predict_in_chunks(x, y) {
            return true;
        }
        let one_sample = x.len() == H * W * C;
        if one_sample {
            self.direct(x, y);
        }
        one_sample
    }

    /// The convolution of one sample without unrolling (no scratch, no allocation): for each
    /// output position, the window's cells times the kernel rows, accumulated per filter.
    /// Predicts one sample where [`Self::predict_in_chunks`] does not apply; the chunks come
    /// first because this loop predicted a LeNet-5 sample 4x slower than they do.
    fn direct(&self, x: &[T], y: &mut [T]) {
        let g = Self::WINDOW;
        let kernel = &self.weights[..Self::KERNEL];
        for (pos, out) in y.chunks_exact_mut(F).enumerate() {
            let (i, j) = (pos / OW, pos % OW);
            out.iter_mut().for_each(|o| *o = T::zero());
            for u in 0..KH {
                for v in 0..KW {
                    let Some((yy, xx)) = g.cell(i, j, u, v) else {
                        continue;
                    };
                    let cell = &x[(yy * W + xx) * C..(yy * W + xx + 1) * C];
                    for (c, &value) in cell.iter().enumerate() {
                        let row =
                            &kernel[((u * KW + v) * C + c) * F..((u * KW + v) * C + c + 1) * F];
                        out.iter_mut().zip(row).for_each(|(o, &k)| *o += value * k);
                    }
                }
            }
        }
    }

    /// The adjoint of [`Self::im2col`]: each input cell's gradient is the sum of the patch
    /// cells it was copied to, gathered cell by cell and written once. (Adding each patch row
    /// back in place instead has each load overlap the previous window's stores at another
    /// offset, which the CPU cannot forward: measured slower on LeNet-5's second layer.)
    fn col2im(patches: &[T], dx: &mut [T]) {
        for (sample, rows) in dx
            .chunks_exact_mut(H * W * C)
            .zip(patches.chunks_exact(OH * OW * Self::PATCH))
        {
            for (cells, y) in sample.chunks_exact_mut(W * C).zip(0..) {
                let window_rows = covering(y, PT, SH, KH, OH);
                for (cell, x) in cells.chunks_exact_mut(C).zip(0..) {
                    let window_columns = covering(x, PL, SW, KW, OW);
                    let mut sum = [T::zero(); C];
                    for (i, u) in window_rows.clone() {
                        // Each window row summed on its own: one running sum over all the
                        // taps would be a chain of dependent additions as long as the window.
                        let mut row = [T::zero(); C];
                        for (j, v) in window_columns.clone() {
                            let at = (i * OW + j) * Self::PATCH + (u * KW + v) * C;
                            row.iter_mut()
                                .zip(&rows[at..at + C])
                                .for_each(|(s, &p)| *s += p);
                        }
                        sum.iter_mut().zip(row).for_each(|(s, r)| *s += r);
                    }
                    cell.copy_from_slice(&sum);
                }
            }
        }
    }
}

/// The windows that cover input row (or column) `y`: each output index `i` whose window,
/// starting at `i * stride - pad`, holds `y` at its offset `u < k`, as `(i, u)` pairs.
#[inline(always)]
fn covering(
    y: usize,
    pad: usize,
    stride: usize,
    k: usize,
    out: usize,
) -> impl Iterator<Item = (usize, usize)> + Clone {
    // `y + pad = i * stride + u`: from the first `i` whose offset fits the window to the last
    // whose window starts at or before `y`.
    let t = y + pad;
    let first = t.saturating_sub(k - 1).div_ceil(stride);
    let last = (t / stride + 1).min(out);
    (first..last).map(move |i| (i, t - i * stride))
}

/// Writes an `h x w` image of `ch` channels into `buffer` with zero padding and returns it:
/// `top` rows and `left` columns of zeros before the image, then zeros up to the buffer's
/// rows of `padded_w` cells (the image is cut where a row or the buffer ends first).
fn pad<'b, T: Float>(
    image: &[T],
    (h, w, ch): (usize, usize, usize),
    (top, left): (usize, usize),
    padded_w: usize,
    buffer: &'b mut [MaybeUninit<T>],
) -> &'b [T] {
    let row = padded_w * ch;
    let zero = |cells: &mut [MaybeUninit<T>]| {
        cells.iter_mut().for_each(|d| {
            d.write(T::zero());
        })
    };
    for (r, dst) in buffer.chunks_exact_mut(row).enumerate() {
        match r.checked_sub(top).filter(|&y| y < h) {
            Some(y) => {
                let left = (left * ch).min(row);
                let inner = (w * ch).min(row - left);
                let (before, rest) = dst.split_at_mut(left);
                let (cells, after) = rest.split_at_mut(inner);
                zero(before);
                cells
                    .iter_mut()
                    .zip(&image[y * w * ch..])
                    .for_each(|(d, &v)| {
                        d.write(v);
                    });
                zero(after);
            }
            None => zero(dst),
        }
    }
    // SAFETY: every element of `buffer` was written above (its length is a whole number of
    // rows), and `MaybeUninit<T>` has `T`'s layout.
    unsafe { core::slice::from_raw_parts(buffer.as_ptr().cast::<T>(), buffer.len()) }
}

/// [`pad`] over cells that are already initialised (a cache).
fn pad_over<'b, T: Float>(
    image: &[T],
    dims: (usize, usize, usize),
    corner: (usize, usize),
    padded_w: usize,
    cells: &'b mut [T],
) -> &'b [T] {
    // SAFETY: `MaybeUninit<T>` has `T`'s layout, and `pad` writes only initialised values
    // (every element), so the cells stay initialised for their owner.
    let cells = unsafe { &mut *(cells as *mut [T] as *mut [MaybeUninit<T>]) };
    pad(image, dims, corner, padded_w, cells)
}

impl<
        T: Float,
        const H: usize,
        const W: usize,
        const C: usize,
        const F: usize,
        const KH: usize,
        const KW: usize,
        const SH: usize,
        const SW: usize,
        const PT: usize,
        const PL: usize,
        const OH: usize,
        const OW: usize,
        A: Activation,
    > Layer<T> for Conv2D<T, H, W, C, F, KH, KW, SH, SW, PT, PL, OH, OW, A>
{
    fn input_size(&self) -> usize {
        H * W * C
    }
    fn output_size(&self) -> usize {
        OH * OW * F
    }
    fn weight_specs(&self) -> Vec<WeightSpec> {
        vec![
            WeightSpec {
                name: "kernel",
                shape: vec![KH, KW, C, F],
                trainable: true,
            },
            WeightSpec {
                name: "bias",
                shape: vec![F],
                trainable: true,
            },
        ]
    }
    fn weights(&self) -> &[T] {
        &self.weights
    }
    fn weights_mut(&mut self) -> &mut [T] {
        &mut self.weights
    }
    fn initialize(&mut self, rng: &mut dyn RngCore) {
        let (kernel, bias) = self.weights.split_at_mut(Self::KERNEL);
        // Keras's fans for a (kh, kw, in, out) kernel: receptive field times in / out.
        self.init.fill(kernel, KH * KW * C, KH * KW * F, rng);
        bias.iter_mut().for_each(|b| *b = T::zero());
    }
    /// A region for what the kernel gradient reads (unrolled patches or padded copies of the
    /// samples), reused afterwards as the input gradient's scratch, then (for softmax or
    /// sigmoid outputs) the logits.
    fn cache_len(&self, batch: usize) -> usize {
        Self::patch_region(batch, true) + self.logits_len(batch)
    }
    /// The first layer's patches' gradient alone would be `OH * OW * PATCH` elements a sample
    /// (LeNet-5's first layer: 78 KB).
    fn cache_len_without_input_gradient(&self, batch: usize) -> usize {
        Self::patch_region(batch, false) + self.logits_len(batch)
    }
    fn forward(&self, x: &[T], y: &mut [T], cache: &mut [T], mode: Mode<'_>) {
        let batch = x.len() / (H * W * C);
        let bias = &self.weights[Self::KERNEL..];
        if matches!(mode, Mode::Predict) && self.predict_without_allocating(x, y) {
            return finish_forward::<T, A, F>(y, bias, &self.activation, None);
        }
        if !matches!(mode, Mode::Predict) && Self::gathers() {
            // Training: the patches are read in place, from padded copies kept in the cache
            // for the kernel gradient where the windows cover padding.
            let (region, logits) = cache.split_at_mut(self.logits_at(cache, batch));
            for (s, (sample, out)) in x
                .chunks_exact(H * W * C)
                .zip(y.chunks_exact_mut(OH * OW * F))
                .enumerate()
            {
                if Self::PADDED {
                    let copy = &mut region[s * Self::PADDED_LEN..(s + 1) * Self::PADDED_LEN];
                    let image = pad_over(sample, (H, W, C), (PT, PL), Self::PADDED_W, copy);
                    self.convolve(image, out);
                } else {
                    self.convolve(sample, out);
                }
            }
            return finish_forward::<T, A, F>(y, bias, &self.activation, Some(logits));
        }
        let rows = batch * OH * OW;
        let mut scratch = Vec::new();
        let (patches, logits) = if matches!(mode, Mode::Predict) {
            T::resize_zeroed(&mut scratch, rows * Self::PATCH);
            (scratch.as_mut_slice(), None)
        } else {
            let (p, l) = cache.split_at_mut(self.logits_at(cache, batch));
            (&mut p[..rows * Self::PATCH], Some(l))
        };
        Self::im2col(x, 0, patches);
        gemm(
            T::one(),
            Mat::rows(patches, rows, Self::PATCH),
            Mat::rows(&self.weights[..Self::KERNEL], Self::PATCH, F),
            T::zero(),
            y,
        );
        finish_forward::<T, A, F>(y, bias, &self.activation, logits);
    }
    fn logits<'a>(&self, x: &'a [T], cache: &'a [T]) -> Option<Logits<'a, T>> {
        let kind = self.activation.logits_kind()?;
        let batch = x.len() / (H * W * C);
        Some(Logits {
            kind,
            values: &cache[self.logits_at(cache, batch)..],
            row_sums: &[],
        })
    }
    fn backward(
        &self,
        x: &[T],
        y: &[T],
        cache: &mut [T],
        upstream: Upstream<'_, T>,
        dx: Option<&mut [T]>,
        grad: &mut [T],
    ) {
        let batch = x.len() / (H * W * C);
        let rows = batch * OH * OW;
        let dz = pre_activation_gradient(upstream, y, &self.activation, F);
        let region_len = self.logits_at(cache, batch);
        let region = &mut cache[..region_len];
        assert!(
            region_len >= Self::patch_region(batch, dx.is_some()),
            "a cache without room for the input gradient, which is asked for"
        );
        let (g_kernel, g_bias) = grad.split_at_mut(Self::KERNEL);
        // dK = patchesᵀ · dz, db = column sums of dz, then dx: dz padded and correlated with the
        // flipped kernel, or d(patches) = dz · Kᵀ folded back by col2im.
        if Self::gathers() {
            // Sample by sample, the patches read in place (transposed: rows are the window's
            // cells, columns the output positions), each sample's product added to the last.
            for (s, dz) in dz.chunks_exact(OH * OW * F).enumerate() {
                let image = if Self::PADDED {
                    &region[s * Self::PADDED_LEN..(s + 1) * Self::PADDED_LEN]
                } else {
                    &x[s * H * W * C..(s + 1) * H * W * C]
                };
                let transposed = Gathered {
                    data: image,
                    rows: &self.offsets,
                    columns: &self.origins,
                };
                let done = try_gathered(transposed, dz, g_kernel, s > 0);
                assert!(done, "the gathered product runs wherever `gathers` holds");
            }
        } else {
            gemm(
                T::one(),
                Mat::transposed(&region[..rows * Self::PATCH], rows, Self::PATCH),
                Mat::rows(dz, rows, F),
                T::zero(),
                g_kernel,
            );
        }
        bias_gradient::<T, F>(dz, g_bias);
        // The patches (or padded copies) are no longer needed: the input gradient's scratch
        // takes their place.
        if let Some(dx) = dx {
            if Self::flips() {
                return self.input_gradient_flipped(dz, dx, region);
            }
            let d_patches = &mut region[..rows * Self::PATCH];
            let kernel = &self.weights[..Self::KERNEL];
            gemm(
                T::one(),
                Mat::rows(dz, rows, F),
                Mat::transposed(kernel, Self::PATCH, F),
                T::zero(),
                d_patches,
            );
            Self::col2im(d_patches, dx);
        }
    }
    fn penalty(&self) -> T {
        self.regularizer.penalty(&self.weights[..Self::KERNEL])
    }
    fn add_penalty_gradient(&self, grad: &mut [T]) {
        self.regularizer
            .add_gradient(&self.weights[..Self::KERNEL], &mut grad[..Self::KERNEL]);
    }
}

#[cfg(test)]
mod tests {
    use super::super::gradient_check::check_layer;
    use super::*;
    use crate::activation::{Linear, Relu, Softmax, Tanh};

    type Cv<
        const H: usize,
        const W: usize,
        const C: usize,
        const F: usize,
        const KH: usize,
        const KW: usize,
        const SH: usize,
        const SW: usize,
        const PT: usize,
        const PL: usize,
        const OH: usize,
        const OW: usize,
        A,
    > = Conv2D<f64, H, W, C, F, KH, KW, SH, SW, PT, PL, OH, OW, A>;

    fn new<
        L: Activation,
        const H: usize,
        const W: usize,
        const C: usize,
        const F: usize,
        const KH: usize,
        const KW: usize,
        const SH: usize,
        const SW: usize,
        const PT: usize,
        const PL: usize,
        const OH: usize,
        const OW: usize,
    >(
        act: L,
    ) -> Cv<H, W, C, F, KH, KW, SH, SW, PT, PL, OH, OW, L> {
        Conv2D::new(act, Initializer::GlorotUniform, Regularizer::NONE)
    }

    #[test]
    fn every_stride_and_padding_passes_the_gradient_check() {
        // valid, stride 1
        check_layer(
            &mut new::<Linear, 5, 5, 2, 3, 3, 3, 1, 1, 0, 0, 3, 3>(Linear),
            2,
        );
        // same, stride 1: 5x5 -> 5x5, pad 1 each side
        check_layer(
            &mut new::<Tanh, 5, 5, 2, 3, 3, 3, 1, 1, 1, 1, 5, 5>(Tanh),
            2,
        );
        // valid, stride 2, rectangular kernel: (6-2)/2+1 = 3, (7-3)/2+1 = 3
        check_layer(
            &mut new::<Relu, 6, 7, 1, 2, 2, 3, 2, 2, 0, 0, 3, 3>(Relu),
            2,
        );
        // same, stride 2 on odd sizes: 5 -> 3 (pad total 2: 1 top), 6 -> 3 (pad total 1: 0 left)
        check_layer(
            &mut new::<Linear, 5, 6, 2, 2, 3, 3, 2, 2, 1, 0, 3, 3>(Linear),
            2,
        );
        // same, unequal strides (1, 3) with a (2, 4) kernel: 4x7 -> 4x3
        check_layer(
            &mut new::<Softmax, 4, 7, 1, 3, 2, 4, 1, 3, 0, 1, 4, 3>(Softmax),
            2,
        );
        // More filters than the register-tiled kernel takes (on any instruction set): the
        // patches are unrolled rather than read in place.
        assert!(40 > in_place_columns::<f64>());
        check_layer(
            &mut new::<Tanh, 4, 4, 2, 40, 3, 3, 1, 1, 1, 1, 4, 4>(Tanh),
            2,
        );
    }

    /// Every prediction path of one geometry against training's forward pass on `batch`
    /// samples (which gathers the patches where the filters fit the register-tiled kernel and
    /// unrolls them otherwise): in place, in stack chunks (unrolled), and the direct loop
    /// (neither), so each way of forming the patches is checked against another; and
    /// `forward` in `Predict` mode, batched and for one sample, whichever path it takes.
    fn every_path_agrees<
        const H: usize,
        const W: usize,
        const C: usize,
        const F: usize,
        const KH: usize,
        const KW: usize,
        const SH: usize,
        const SW: usize,
        const PT: usize,
        const PL: usize,
        const OH: usize,
        const OW: usize,
    >(
        batch: usize,
    ) {
        let mut conv = new::<Tanh, H, W, C, F, KH, KW, SH, SW, PT, PL, OH, OW>(Tanh);
        let w: Vec<f64> = (0..conv.weights().len())
            .map(|i| ((i * 7 % 11) as f64 - 5.0) / 10.0)
            .collect();
        conv.weights_mut().copy_from_slice(&w);
        let (sample, out) = (H * W * C, OH * OW * F);
        let x: Vec<f64> = (0..batch * sample)
            .map(|i| ((i * 5 % 13) as f64 - 6.0) / 6.0)
            .collect();
        let mut trained = vec![0.0; batch * out];
        let mut cache = vec![0.0; conv.cache_len(batch)];
        conv.forward(&x, &mut trained, &mut cache, Mode::Evaluate);
        let geometry = format!("{H}x{W}x{C} -> {OH}x{OW}x{F}, window {KH}x{KW}");
        let close = |a: &[f64], b: &[f64], what: &str| {
            let worst = a
                .iter()
                .zip(b)
                .map(|(a, b)| (a - b).abs())
                .fold(0.0, f64::max);
            assert!(worst < 1e-12, "{what}, {geometry}: off by {worst}");
        };
        // The products alone, finished as `forward` finishes them.
        let finish = |y: &mut [f64]| {
            finish_forward::<_, _, F>(y, &w[conv.weights().len() - F..], &Tanh, None)
        };

        let mut y = vec![f64::NAN; batch * out];
        let in_place = conv.predict_in_place(&x, &mut y);
        if in_place {
            finish(&mut y);
            close(&y, &trained, "in place");
        }
        let fits = Cv::<H, W, C, F, KH, KW, SH, SW, PT, PL, OH, OW, Tanh>::READS_IN_PLACE;
        assert_eq!(
            in_place,
            fits && F <= in_place_columns::<f64>(),
            "{geometry}"
        );
        let mut y = vec![f64::NAN; batch * out];
        if conv.predict_in_chunks(&x, &mut y) {
            finish(&mut y);
            close(&y, &trained, "in chunks");
        }
        let mut y = vec![f64::NAN; out];
        conv.direct(&x[..sample], &mut y);
        finish(&mut y);
        close(&y, &trained[..out], "direct loop");

        let mut y = vec![f64::NAN; batch * out];
        conv.forward(&x, &mut y, &mut [], Mode::Predict);
        close(&y, &trained, "batched prediction");
        let mut y = vec![f64::NAN; out];
        conv.forward(&x[..sample], &mut y, &mut [], Mode::Predict);
        close(&y, &trained[..out], "single prediction");
    }

    #[test]
    fn every_prediction_path_equals_the_training_forward_pass() {
        // Padding above (1 row), stride 2 x 1; 50 samples make 750 output positions, more than
        // one stack chunk of 12-wide patches.
        const { assert!(50 * 15 > PREDICT_CHUNK / 12) };
        every_path_agrees::<5, 6, 2, 3, 3, 2, 2, 1, 1, 0, 3, 5>(50);
        // `valid`: windows read from the sample itself.
        every_path_agrees::<7, 6, 3, 5, 3, 3, 1, 1, 0, 0, 5, 4>(3);
        // `valid` with stride 2 and a last column no window reaches.
        every_path_agrees::<6, 7, 2, 4, 2, 2, 2, 2, 0, 0, 3, 3>(3);
        // `same` with stride 2: padding only below and to the right.
        every_path_agrees::<6, 6, 1, 2, 3, 3, 2, 2, 0, 0, 3, 3>(3);
        // `same` 5 x 5 on one channel, as LeNet-5's first layer.
        every_path_agrees::<8, 8, 1, 6, 5, 5, 1, 1, 2, 2, 8, 8>(2);
        // More filters than the register-tiled kernel takes: unrolled in full.
        every_path_agrees::<4, 4, 1, 70, 3, 3, 1, 1, 0, 0, 2, 2>(2);
    }

    /// The input gradient as a correlation of the padded output gradient with the flipped
    /// kernel, against `dz · Kᵀ` folded back by col2im, on `batch` samples of one geometry.
    fn flipped_input_gradient_agrees<
        const H: usize,
        const W: usize,
        const C: usize,
        const F: usize,
        const KH: usize,
        const KW: usize,
        const PT: usize,
        const PL: usize,
        const OH: usize,
        const OW: usize,
    >(
        batch: usize,
    ) {
        let geometry = format!("{H}x{W}x{C} -> {OH}x{OW}x{F}, window {KH}x{KW}");
        assert!(
            Cv::<H, W, C, F, KH, KW, 1, 1, PT, PL, OH, OW, Linear>::FLIPS,
            "{geometry}"
        );
        // Tested wherever it can run, also where col2im is preferred.
        if !Cv::<H, W, C, F, KH, KW, 1, 1, PT, PL, OH, OW, Linear>::can_flip() {
            return; // no register-tiled kernel on this CPU
        }
        let mut conv = new::<Linear, H, W, C, F, KH, KW, 1, 1, PT, PL, OH, OW>(Linear);
        conv.weights_mut()
            .iter_mut()
            .enumerate()
            .for_each(|(i, w)| *w = ((i * 7 % 11) as f64 - 5.0) / 10.0);
        let rows = batch * OH * OW;
        let patch = KH * KW * C;
        let dz: Vec<f64> = (0..rows * F)
            .map(|i| ((i * 5 % 13) as f64 - 6.0) / 6.0)
            .collect();
        let mut d_patches = vec![0.0; rows * patch];
        gemm(
            1.0,
            Mat::rows(&dz, rows, F),
            Mat::transposed(conv.kernel(), patch, F),
            0.0,
            &mut d_patches,
        );
        let mut want = vec![f64::NAN; batch * H * W * C];
        Cv::<H, W, C, F, KH, KW, 1, 1, PT, PL, OH, OW, Linear>::col2im(&d_patches, &mut want);
        let mut scratch = vec![f64::NAN; KH * KW * C * F + (H + KH - 1) * (W + KW - 1) * F];
        let mut got = vec![f64::NAN; batch * H * W * C];
        conv.input_gradient_flipped(&dz, &mut got, &mut scratch);
        let worst = got
            .iter()
            .zip(&want)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f64::max);
        assert!(worst < 1e-12, "{geometry}: off by {worst}");
    }

    #[test]
    fn a_first_layer_keeps_no_room_for_an_input_gradient() {
        // LeNet-5's first layer: its patches' gradient would be 784 x 25 a sample, where the
        // forward pass keeps a padded copy of 32 x 32.
        let conv = new::<Relu, 28, 28, 1, 6, 5, 5, 1, 1, 2, 2, 28, 28>(Relu);
        let (full, lean) = (conv.cache_len(4), conv.cache_len_without_input_gradient(4));
        if Cv::<28, 28, 1, 6, 5, 5, 1, 1, 2, 2, 28, 28, Relu>::gathers() {
            assert_eq!((full, lean), (4 * 784 * 25, 4 * 32 * 32));
        } else {
            assert_eq!(lean, full); // the forward pass unrolls the patches there
        }
    }

    #[test]
    fn the_input_gradient_is_a_correlation_only_where_it_costs_less() {
        // A `same` layer: the windows are the output positions, and 16 channels fill whole
        // registers on every instruction set.
        type Same = Cv<14, 14, 16, 16, 5, 5, 1, 1, 2, 2, 14, 14, Linear>;
        // LeNet-5's second layer: twice the windows, and 6 channels on 8-lane registers or wider.
        type LeNet2 = Cv<14, 14, 6, 16, 5, 5, 1, 1, 0, 0, 10, 10, Linear>;
        const { assert!(Same::FLIPS && LeNet2::FLIPS) };
        assert_eq!(Same::flips(), Same::can_flip());
        assert!(!LeNet2::flips());
    }

    #[test]
    fn the_flipped_kernel_gives_the_unrolled_input_gradient() {
        // LeNet-5's second convolution (`valid`, six input channels).
        flipped_input_gradient_agrees::<14, 14, 6, 16, 5, 5, 0, 0, 10, 10>(3);
        // `same` 5 x 5 on one channel, as LeNet-5's first layer.
        flipped_input_gradient_agrees::<8, 8, 1, 6, 5, 5, 2, 2, 8, 8>(2);
        // `same` with uneven padding: a 4 x 2 window pads 1 row above and 2 below, 0 columns
        // left and 1 right.
        flipped_input_gradient_agrees::<6, 7, 3, 5, 4, 2, 1, 0, 6, 7>(2);
        // `valid`, a rectangular window, and input channels filling several f64 registers.
        flipped_input_gradient_agrees::<5, 4, 9, 2, 3, 2, 0, 0, 3, 3>(2);
        // One output position per sample: every input cell sees one window cell.
        flipped_input_gradient_agrees::<3, 3, 2, 4, 3, 3, 0, 0, 1, 1>(4);
    }

    /// col2im is im2col's adjoint: `<im2col(x), p> = <x, col2im(p)>` for any `x` and `p`, on
    /// `batch` samples of one geometry (every input cell written, also those no window reaches).
    fn col2im_is_the_adjoint_of_im2col<
        const H: usize,
        const W: usize,
        const C: usize,
        const KH: usize,
        const KW: usize,
        const SH: usize,
        const SW: usize,
        const PT: usize,
        const PL: usize,
        const OH: usize,
        const OW: usize,
    >(
        batch: usize,
    ) {
        let rows = batch * OH * OW * KH * KW * C;
        let x: Vec<f64> = (0..batch * H * W * C)
            .map(|i| ((i * 5 % 13) as f64 - 6.0) / 6.0)
            .collect();
        let p: Vec<f64> = (0..rows)
            .map(|i| ((i * 7 % 11) as f64 - 5.0) / 4.0)
            .collect();
        let mut patches = vec![f64::NAN; rows];
        Cv::<H, W, C, 1, KH, KW, SH, SW, PT, PL, OH, OW, Linear>::im2col(&x, 0, &mut patches);
        let mut folded = vec![f64::NAN; x.len()];
        Cv::<H, W, C, 1, KH, KW, SH, SW, PT, PL, OH, OW, Linear>::col2im(&p, &mut folded);
        let dot = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(a, b)| a * b).sum::<f64>();
        let (left, right) = (dot(&patches, &p), dot(&x, &folded));
        assert!(
            (left - right).abs() < 1e-9 * left.abs().max(1.0),
            "{H}x{W}x{C} window {KH}x{KW} stride {SH}x{SW} pad {PT},{PL}: {left} != {right}"
        );
    }

    #[test]
    fn col2im_folds_back_what_im2col_unrolls() {
        // LeNet-5's second convolution.
        col2im_is_the_adjoint_of_im2col::<14, 14, 6, 5, 5, 1, 1, 0, 0, 10, 10>(2);
        // `same` 5 x 5 on one channel, as LeNet-5's first layer.
        col2im_is_the_adjoint_of_im2col::<8, 8, 1, 5, 5, 1, 1, 2, 2, 8, 8>(2);
        // Stride 2 with a last row and column no window reaches.
        col2im_is_the_adjoint_of_im2col::<6, 7, 2, 2, 2, 2, 2, 0, 0, 3, 3>(3);
        // `same` with stride 2 on odd sizes, padding above.
        col2im_is_the_adjoint_of_im2col::<5, 6, 2, 3, 3, 2, 2, 1, 0, 3, 3>(2);
        // Unequal strides (1, 3) with a (2, 4) kernel, padding to the left.
        col2im_is_the_adjoint_of_im2col::<4, 7, 1, 2, 4, 1, 3, 0, 1, 4, 3>(2);
        // Windows larger than the stride in one direction and smaller in the other.
        col2im_is_the_adjoint_of_im2col::<9, 9, 3, 3, 1, 2, 3, 1, 0, 5, 3>(2);
    }

    #[test]
    fn forward_is_keras_cross_correlation() {
        // One 3x3 single-channel image, one 2x2 filter: y[i, j] = sum x[i+u, j+v] * k[u, v] + b.
        let mut conv = new::<Linear, 3, 3, 1, 1, 2, 2, 1, 1, 0, 0, 2, 2>(Linear);
        conv.weights_mut()
            .copy_from_slice(&[1.0, 2.0, 3.0, 4.0, 0.5]);
        let x = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0];
        let mut y = [0.0; 4];
        conv.forward(&x, &mut y, &mut [], Mode::Predict);
        let at = |i: usize, j: usize| {
            x[i * 3 + j]
                + 2.0 * x[i * 3 + j + 1]
                + 3.0 * x[(i + 1) * 3 + j]
                + 4.0 * x[(i + 1) * 3 + j + 1]
                + 0.5
        };
        assert_eq!(y, [at(0, 0), at(0, 1), at(1, 0), at(1, 1)]);
    }
}
