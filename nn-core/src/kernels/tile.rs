//! The register tile shared by the packed products: `R` rows of `A` times one packed panel of
//! `B`, with the `R x NV` registers of `C` held for the whole inner loop.
//!
//! A panel is `kc` rows of `NV * LANES` contiguous elements (zero past the matrix's last
//! column), so each step of the loop is `NV` contiguous loads, `R` broadcasts and `R * NV`
//! fused multiply-adds. `A` is read in place through two strides, so one kernel serves a
//! row-major `A` (`rs = k`, `ps = 1`) and a transposed one (`rs = 1`, `ps = m`).

// Only the x86 kernels tile; the portable build never calls this.
#![cfg_attr(not(all(feature = "std", target_arch = "x86_64")), allow(dead_code))]

use super::isa::Kernel;
use super::operands::{tile_height, Finish, Steps};
use super::simd::{Realign, Vector};
use super::Element;

/// Registers of columns per panel.
pub(crate) const NV: usize = 2;
/// [`NV`], under a name that the tiles' own `NV` (their width in registers) does not shadow.
const PANEL_NV: usize = NV;
/// Rows per tile on AVX2 (16 registers): 12 accumulators, two panel registers, one broadcast.
pub(crate) const MR_AVX2: usize = 6;
/// Rows per tile on AVX-512 (32 registers): 24 accumulators, two panel registers, one
/// broadcast.
pub(crate) const MR_AVX512: usize = 12;
/// Rows per tile on AVX2 where the steps are listed ([`super::zero_steps`]). LLVM may load a
/// listed step's broadcasts all ahead of its multiply-adds, so they must fit beside the
/// accumulators: with six rows it did so for `f64` and moved four accumulators through the
/// stack each step (objdump; `tools/check_kernel_code.py`). Four rows need 8 + 2 + 4
/// registers, and ran MNIST's listed products as fast as six (alternated, one thread).
pub(crate) const MR_LISTED_AVX2: usize = 4;
/// Rows per tile on AVX-512 where the steps are listed, four registers wide (two adjacent
/// panels; see [`across_panels`]). The fewer rows a tile has, the more of its steps are zero
/// in every row and skipped (on MNIST's first dense layer, 46% of an 8-row tile's forward
/// steps are live against 36% of a 4-row tile's, and 37% / 27% of its weight gradient's),
/// while each listed step costs about the same (its list entry, addresses and panel loads)
/// whatever its width: 4 x 4 registers run the same multiply-adds a step as 8 x 2 over fewer
/// steps. Four rows of four need 16 + 4 + 4 of the 32 registers (twelve rows of two moved 24
/// registers through the stack each step).
pub(crate) const MR_LISTED_AVX512: usize = 4;
/// Registers of columns per listed tile on AVX-512 (see [`MR_LISTED_AVX512`]).
pub(crate) const NV_LISTED_AVX512: usize = 4;
/// Registers of columns per listed tile on AVX2: one panel, as its 16 registers allow.
pub(crate) const NV_LISTED_AVX2: usize = NV;

/// Rows per tile where the steps are listed, on `isa`: what [`super::zero_steps`] lists
/// them for.
pub(crate) fn listed_tile_rows(isa: super::Isa) -> usize {
    match isa {
        super::Isa::Avx512 => MR_LISTED_AVX512,
        _ => MR_LISTED_AVX2,
    }
}

/// Registers of columns per tile where the steps are listed, on `isa`.
pub(crate) fn listed_tile_width(isa: super::Isa) -> usize {
    match isa {
        super::Isa::Avx512 => NV_LISTED_AVX512,
        _ => NV_LISTED_AVX2,
    }
}

/// A register-tiled kernel, written once over its tile height: [`Tiled`] runs it on each
/// instruction set's.
pub(crate) trait TiledKernel<T> {
    /// The kernel on registers `V`, in tiles of `MR` rows, or, where it runs only the steps
    /// [`super::zero_steps`] lists, of `LISTED_MR` rows and `LISTED_NV` registers.
    ///
    /// # Safety
    /// `V`'s instruction set is enabled, and the kernel's own contract holds.
    unsafe fn run<
        V: Vector<Elem = T>,
        const MR: usize,
        const LISTED_MR: usize,
        const LISTED_NV: usize,
    >(
        self,
    );
}

/// A [`TiledKernel`] as a [`Kernel`], with each instruction set's tile heights: the one choice
/// of tile shape per instruction set.
pub(crate) struct Tiled<K>(pub K);

impl<T: Element, K: TiledKernel<T>> Kernel<T> for Tiled<K> {
    type Output = ();

    #[inline(always)]
    unsafe fn avx512<V: Realign<Elem = T>>(self) {
        // SAFETY: the kernel's contract, which the caller upholds.
        unsafe {
            self.0
                .run::<V, MR_AVX512, MR_LISTED_AVX512, NV_LISTED_AVX512>()
        }
    }

    #[inline(always)]
    unsafe fn avx2<V: Vector<Elem = T>>(self) {
        // SAFETY: the kernel's contract, which the caller upholds.
        unsafe { self.0.run::<V, MR_AVX2, MR_LISTED_AVX2, NV_LISTED_AVX2>() }
    }

    unsafe fn portable(self) {
        unreachable!("tiled kernels run only where vector registers do")
    }
}

/// Where the tile's rows of `A` are: `A(r, p) = ptr[r * rs + p * ps]`.
#[derive(Clone, Copy)]
pub(crate) struct Rows<T> {
    pub ptr: *const T,
    pub rs: usize,
    pub ps: usize,
}

/// Where the tile's block of `C` is: `rows x cols` elements from `ptr`, rows `ldc` apart.
/// With `accumulate`, the product is added to what is there; otherwise it overwrites it.
#[derive(Clone, Copy)]
pub(crate) struct Out<T> {
    pub ptr: *mut T,
    pub ldc: usize,
    pub cols: usize,
    pub accumulate: bool,
}

/// `C[..R, ..cols] (+)= A[..R, ..kc] · panel`, over every step `p < kc` or only the listed
/// ones (see [`super::zero_steps`]). A tile wider than a panel (`NV > PANEL_NV`, listed
/// steps only) reads `NV / PANEL_NV` adjacent panels, each `next` elements after the one
/// before.
///
/// # Safety
/// `a` is readable at `r * rs + p * ps` for `r < R`, `p < kc`; `panel` (and each next one)
/// holds `kc * min(NV, PANEL_NV) * LANES` elements; listed steps are below `kc`; `out` is
/// valid for `R` rows of `cols <= NV * LANES` elements; `V`'s instruction set is enabled.
#[inline(always)]
pub(crate) unsafe fn tile<V: Vector, const R: usize, const NV: usize>(
    kc: usize,
    steps: Option<&[u16]>,
    a: Rows<V::Elem>,
    panel: *const V::Elem,
    next: usize,
    out: Out<V::Elem>,
) {
    // SAFETY: this function's contract, which its caller upholds.
    unsafe {
        // Each form holds and stores its own sums: sharing one array of sums across the three
        // loops made LLVM keep it in memory, stored back at every step.
        let zero = [[V::zero(); NV]; R];
        match steps {
            None if a.rs == 1 => {
                // A transposed `A` (the weight gradients' `xᵀ`): the tile's column is `R`
                // contiguous elements, read from one pointer at fixed displacements. Through
                // `R` row pointers, as below, the 12 x 2 loop ran out of general registers and
                // moved three through the stack and six between registers at every step.
                let (mut acc, mut column, mut bp) = (zero, opaque(a.ptr), panel);
                for _ in 0..kc {
                    step(&mut acc, core::array::from_fn(|r| column.add(r)), bp, next);
                    column = column.add(a.ps);
                    bp = bp.add(NV.min(PANEL_NV) * V::LANES);
                }
                store(&acc, out);
            }
            None => {
                // Each row's own pointer, opaque to the optimiser, so that a step reads row `r` at
                // `rows[r] + offset` with no arithmetic of its own. Given the rows as
                // `ptr + r * rs`, LLVM recomputed them from one base at every step, about one
                // integer instruction a row, and on Intel's cores those share the ports of the
                // AVX-512 multiply-adds (llvm-mca, skylake-avx512: 14.1 cycles a step for a
                // 12 x 2 tile against 13.1 now, 12 at best). Listed steps keep the plain form:
                // with opaque rows, LLVM rotated the AVX-512 listed loops' row pointers through
                // eight register moves and back at every step.
                let rows: [*const V::Elem; R] =
                    core::array::from_fn(|r| opaque(a.ptr.wrapping_add(r * a.rs)));
                let (mut acc, mut bp) = (zero, panel);
                if a.ps == 1 {
                    // A row-major `A` (`x` in the forward product): the offset counts the steps
                    // too. Stepped by a stride LLVM could not see was 1, the 12 x 2 loop lacked
                    // one general register and rotated its row pointers through 26 moves and
                    // two loads from the stack at every step.
                    for offset in 0..kc {
                        step(&mut acc, rows.map(|row| row.add(offset)), bp, next);
                        bp = bp.add(NV.min(PANEL_NV) * V::LANES);
                    }
                } else {
                    let mut offset = 0;
                    for _ in 0..kc {
                        step(&mut acc, rows.map(|row| row.add(offset)), bp, next);
                        offset += a.ps;
                        bp = bp.add(NV.min(PANEL_NV) * V::LANES);
                    }
                }
                store(&acc, out);
            }
            Some(list) => {
                let mut acc = zero;
                for &p in list {
                    let p = usize::from(p);
                    let column = a.ptr.add(p * a.ps);
                    step(
                        &mut acc,
                        core::array::from_fn(|r| column.add(r * a.rs)),
                        panel.add(p * NV.min(PANEL_NV) * V::LANES),
                        next,
                    );
                }
                store(&acc, out);
            }
        }
    }
}

/// Writes (or adds) a tile's sums to its block of `C`.
///
/// A full-width block takes loops with no test inside, which LLVM unrolls, so the sums stay
/// in registers. One loop deciding each register's store inside was left rolled for 12 x 2
/// tiles; it indexed the sums, so they lived in memory: 1.5 KB zeroed by a `memset` call
/// before every tile and loaded back. Narrower blocks take that loop on a copy.
#[inline(always)]
unsafe fn store<V: Vector, const R: usize, const NV: usize>(acc: &[[V; NV]; R], out: Out<V::Elem>) {
    // SAFETY: this function's contract, which its caller upholds.
    unsafe {
        let at = |r: usize, v: usize| out.ptr.add(r * out.ldc + v * V::LANES);
        if out.cols == NV * V::LANES {
            if out.accumulate {
                for (r, row) in acc.iter().enumerate() {
                    for (v, &x) in row.iter().enumerate() {
                        V::add(x, V::load(at(r, v))).store(at(r, v));
                    }
                }
            } else {
                for (r, row) in acc.iter().enumerate() {
                    for (v, &x) in row.iter().enumerate() {
                        x.store(at(r, v));
                    }
                }
            }
            return;
        }
        // A narrower block reads a copy of the sums made in memory: LLVM may leave this loop
        // rolled, and where it indexed the sums themselves it kept them in memory through the
        // whole tile, stored back at every step (the packed product ran at half speed).
        let copy = core::hint::black_box(*acc);
        for (r, row) in copy.iter().enumerate() {
            for (v, &x) in row.iter().enumerate() {
                let start = v * V::LANES;
                let p = at(r, v);
                if start + V::LANES <= out.cols {
                    let x = if out.accumulate {
                        V::add(x, V::load(p))
                    } else {
                        x
                    };
                    x.store(p);
                } else if start < out.cols {
                    let count = out.cols - start;
                    let x = if out.accumulate {
                        V::add(x, V::load_partial(p, count))
                    } else {
                        x
                    };
                    x.store_partial(p, count);
                }
            }
        }
    }
}

/// One step of [`tile`]: the panel's row at `bp` (continued `next` elements on in each next
/// panel, for a tile wider than one) times the tile's column of `A`, whose elements are at
/// `column`, added to the sums. A function rather than a closure, so that it inherits the
/// caller's instruction set when inlined.
#[inline(always)]
unsafe fn step<V: Vector, const R: usize, const NV: usize>(
    acc: &mut [[V; NV]; R],
    column: [*const V::Elem; R],
    bp: *const V::Elem,
    next: usize,
) {
    // SAFETY: this function's contract, which its caller upholds.
    unsafe {
        let w: [V; NV] = core::array::from_fn(|v| {
            V::load(bp.add(v / PANEL_NV * next + v % PANEL_NV * V::LANES))
        });
        for (row, a) in acc.iter_mut().zip(column) {
            let s = V::splat(*a);
            for (x, &w) in row.iter_mut().zip(&w) {
                *x = V::mul_add(s, w, *x);
            }
        }
    }
}

/// `p`, where the optimiser cannot see how it was computed: an empty `asm!` that may change
/// it. Unlike `core::hint::black_box`, which stores the value and reloads it, it touches no
/// memory and costs nothing; the weight-gradient products' short tiles measured 2-3% slower
/// with `black_box`.
#[inline(always)]
fn opaque<T>(p: *const T) -> *const T {
    #[cfg(target_arch = "x86_64")]
    {
        let mut p = p;
        #[allow(
            clippy::pointers_in_nomem_asm_block,
            reason = "the assembly never dereferences the pointer"
        )]
        // SAFETY: the assembly is empty; it reads and writes only the register holding `p`.
        unsafe {
            core::arch::asm!(
                "/* {0} */",
                inout(reg) p,
                options(pure, nomem, nostack, preserves_flags)
            );
        }
        p
    }
    #[cfg(not(target_arch = "x86_64"))]
    p
}

/// Runs [`tile`] down `m` rows of `A` in the tiles of [`tile_heights`], tile `t` over the
/// steps `steps.of(t, kc)`, on `out.cols` columns packed by [`pack_panels`]: one panel `NV`
/// registers wide, or one where the columns fit in one ([`panel_width`]), or, listed, `NV /
/// PANEL_NV` adjacent whole panels, `next` elements apart.
///
/// `a` and `out` point at row 0; row `i` of `A` starts `i * a.rs` further and row `i` of `C`
/// `i * out.ldc` further. Each tile's block of `C` is finished by `finish` as soon as it is
/// stored ([`finish_tile`]; `Finish::NONE` leaves it).
///
/// # Safety
/// As for [`tile`], for every row below `m`; `steps` has lists for every tile.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
unsafe fn column<V: Vector, const MR: usize, const NV: usize>(
    m: usize,
    kc: usize,
    steps: Steps<'_>,
    a: Rows<V::Elem>,
    panel: *const V::Elem,
    next: usize,
    out: Out<V::Elem>,
    finish: Finish<V::Elem>,
) {
    // SAFETY: this function's contract, which its caller upholds.
    unsafe {
        if NV > 1 && out.cols <= V::LANES {
            return column::<V, MR, 1>(m, kc, steps, a, panel, next, out, finish);
        }
        // Counted here rather than through `tile_heights`: an iterator's extra state crowded the
        // registers of the dense loop inside (callgrind: +13% instructions in the blocked kernel).
        let tiles = m.div_ceil(MR);
        let mut i = 0;
        for t in 0..tiles {
            let height = tile_height(m, tiles, t);
            let a = Rows {
                ptr: a.ptr.add(i * a.rs),
                ..a
            };
            let out = Out {
                ptr: out.ptr.add(i * out.ldc),
                ..out
            };
            tile_of_height::<V, MR, NV>(height, kc, steps.of(t, kc), a, panel, next, out);
            finish_tile::<V, NV>(height, out, finish);
            i += height;
        }
    }
}

/// Runs [`column`] across a packed block of `n` columns (`kc` rows at `packed`, panels as
/// [`pack_panels`] lays them out), in tiles `WIDE` registers wide where whole panels allow
/// and one panel wide elsewhere; `out(first, cols)` and `finish(first)` say where the block's
/// columns from `first` on go. A wide tile reads adjacent panels, so one packing serves every
/// tile width.
///
/// # Safety
/// As for [`column`], for every panel of the block.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
pub(crate) unsafe fn across_panels<V: Vector, const MR: usize, const WIDE: usize>(
    m: usize,
    kc: usize,
    n: usize,
    steps: Steps<'_>,
    a: Rows<V::Elem>,
    packed: *const V::Elem,
    out: impl Fn(usize, usize) -> Out<V::Elem>,
    finish: impl Fn(usize) -> Finish<V::Elem>,
) {
    // SAFETY: this function's contract, which its caller upholds.
    unsafe {
        const {
            assert!(
                WIDE.is_multiple_of(PANEL_NV),
                "wide tiles cover whole panels"
            )
        };
        let width = PANEL_NV * V::LANES;
        let next = kc * width;
        let mut first = 0;
        while first < n {
            // Panel `q` starts `q * width * kc` in (only the last may be narrower).
            let panel = packed.add(first * kc);
            if WIDE > PANEL_NV && n - first >= WIDE * V::LANES {
                let cols = WIDE * V::LANES;
                let (out, finish) = (out(first, cols), finish(first));
                column::<V, MR, WIDE>(m, kc, steps, a, panel, next, out, finish);
                first += cols;
            } else {
                let (out, finish) = (out(first, width.min(n - first)), finish(first));
                column::<V, MR, PANEL_NV>(m, kc, steps, a, panel, next, out, finish);
                first += width;
            }
        }
    }
}

/// [`tile`] with `height <= MR` rows, each height its own instantiation (heights above `MR` are
/// never instantiated).
///
/// # Safety
/// As for [`tile`] with `R = height`.
#[inline(always)]
unsafe fn tile_of_height<V: Vector, const MR: usize, const NV: usize>(
    height: usize,
    kc: usize,
    steps: Option<&[u16]>,
    a: Rows<V::Elem>,
    panel: *const V::Elem,
    next: usize,
    out: Out<V::Elem>,
) {
    // SAFETY: this function's contract, which its caller upholds.
    unsafe {
        const { assert!(MR <= 12, "tile_of_height instantiates heights up to 12") };
        macro_rules! heights {
        ($($r:literal)*) => {
            match height {
                $($r if $r <= MR => tile::<V, $r, NV>(kc, steps, a, panel, next, out),)*
                _ => unreachable!("a tile of {height} rows (at most {MR})"),
            }
        };
    }
        heights!(1 2 3 4 5 6 7 8 9 10 11 12)
    }
}

/// Applies `finish` to the `m x out.cols` block of `C` at `out`, which a tile has just
/// written: it is still in L1, where two more passes over all of `C` would read it back from
/// L2 or beyond. Done here rather than to the tile's registers before they are stored, which
/// put a copy of the epilogue in every tile height's code: seconds more to rebuild a model,
/// for under 1% of a batch's time.
///
/// # Safety
/// `out` is valid for `m` rows of `out.cols <= NV * V::LANES` elements; `finish`'s bias (if
/// any) for `out.cols`; `V`'s instruction set is enabled.
#[inline(always)]
unsafe fn finish_tile<V: Vector, const NV: usize>(
    m: usize,
    out: Out<V::Elem>,
    finish: Finish<V::Elem>,
) {
    // SAFETY: this function's contract, which its caller upholds.
    unsafe {
        if finish.bias.is_null() && !finish.relu {
            return;
        }
        let cols = out.cols;
        let mut bias = [V::zero(); NV];
        for (v, b) in bias.iter_mut().enumerate() {
            let start = v * V::LANES;
            if !finish.bias.is_null() && start < cols {
                let p = finish.bias.add(start);
                *b = if start + V::LANES <= cols {
                    V::load(p)
                } else {
                    V::load_partial(p, cols - start)
                };
            }
        }
        for r in 0..m {
            let row = out.ptr.add(r * out.ldc);
            for (v, &b) in bias.iter().enumerate() {
                let start = v * V::LANES;
                if start + V::LANES <= cols {
                    let p = row.add(start);
                    finished(V::load(p), b, finish).store(p);
                } else if start < cols {
                    let (p, count) = (row.add(start), cols - start);
                    finished(V::load_partial(p, count), b, finish).store_partial(p, count);
                }
            }
        }
    }
}

/// `x` plus the bias `b` when `finish` has one, then clamped at zero when it says so. A
/// function, not a closure, so that it inherits the caller's instruction set when inlined.
#[inline(always)]
unsafe fn finished<V: Vector>(x: V, b: V, finish: Finish<V::Elem>) -> V {
    // SAFETY: this function's contract, which its caller upholds.
    unsafe {
        let x = if finish.bias.is_null() {
            x
        } else {
            V::add(x, b)
        };
        if finish.relu {
            V::max(V::zero(), x)
        } else {
            x
        }
    }
}

/// The width of a panel of `width` columns (`NV` registers) that holds the `count` columns
/// left of a matrix: the full width, but one register where the columns fit in one, so that
/// the tile of the last panel does not multiply a register of zeros (300 columns on AVX-512
/// are nine panels of 32 and one of 12: 320 columns' work as full panels, 304 this way).
pub(crate) fn panel_width(width: usize, count: usize) -> usize {
    let register = width / NV;
    if count <= register {
        register
    } else {
        width
    }
}

/// Elements that [`pack_panels`] writes for `rows x cols` of `B` in panels of `width`.
pub(crate) fn packed_len(rows: usize, cols: usize, width: usize) -> usize {
    let last = cols % width;
    let last = if last == 0 {
        0
    } else {
        panel_width(width, last)
    };
    rows * (cols - cols % width + last)
}

/// Copies `B[rows, cols]` (a strided view) into panels of `width` columns, `rows.len()` rows
/// each, one after the other in `dst`: panel `q` starts at `q * width * rows.len()`, and is
/// `width` wide but the last, which is [`panel_width`] wide. Columns past `cols.end` in the
/// last panel are zero.
///
/// # Panics
/// If `dst` is shorter than [`packed_len`], or the view reaches outside its slice.
pub(crate) fn pack_panels<T: Element>(
    b: super::operands::Strided<'_, T>,
    rows: core::ops::Range<usize>,
    cols: core::ops::Range<usize>,
    width: usize,
    dst: &mut [T],
) {
    for first in cols.clone().step_by(width) {
        let count = width.min(cols.end - first);
        let panel_width = panel_width(width, count);
        let start = (first - cols.start) * rows.len();
        let panel = &mut dst[start..start + rows.len() * panel_width];
        // A transposed `B` (`Wᵀ` in the input gradient) has each of its columns contiguous:
        // it is copied in 4 x 4 squares, four neighbours down each of four columns read at
        // once and stored along four panel rows. Gathered element by element, each load
        // waited on its own cache line (about twice the time, measured on LeNet-5's first
        // dense layer).
        let blocks = if b.rs == 1 && b.cs != 1 {
            rows.len() / 4
        } else {
            0
        };
        let (squares, singles) = panel.split_at_mut(blocks * 4 * panel_width);
        for (q, dst) in squares.chunks_exact_mut(4 * panel_width).enumerate() {
            let top = rows.start + 4 * q + first * b.cs;
            let (d0, rest) = dst.split_at_mut(panel_width);
            let (d1, rest) = rest.split_at_mut(panel_width);
            let (d2, d3) = rest.split_at_mut(panel_width);
            let whole = count / 4 * 4;
            for j in (0..whole).step_by(4) {
                let column = |c: usize| -> [T; 4] {
                    let at = top + (j + c) * b.cs;
                    b.data[at..at + 4].try_into().expect("4 long")
                };
                let (c0, c1, c2, c3) = (column(0), column(1), column(2), column(3));
                for (r, d) in [&mut *d0, &mut *d1, &mut *d2, &mut *d3]
                    .into_iter()
                    .enumerate()
                {
                    d[j..j + 4].copy_from_slice(&[c0[r], c1[r], c2[r], c3[r]]);
                }
            }
            for j in whole..count {
                let at = top + j * b.cs;
                let c: [T; 4] = b.data[at..at + 4].try_into().expect("4 long");
                (d0[j], d1[j], d2[j], d3[j]) = (c[0], c[1], c[2], c[3]);
            }
            for d in [d0, d1, d2, d3] {
                d[count..].fill(T::zero());
            }
        }
        let rest = rows.start + 4 * blocks..rows.end;
        for (p, dst) in rest.zip(singles.chunks_exact_mut(panel_width)) {
            let row = p * b.rs + first * b.cs;
            if b.cs == 1 {
                dst[..count].copy_from_slice(&b.data[row..row + count]);
            } else {
                for (j, d) in dst[..count].iter_mut().enumerate() {
                    *d = b.data[row + j * b.cs];
                }
            }
            dst[count..].fill(T::zero());
        }
    }
}
