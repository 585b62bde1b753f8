//! `y = x · B` for one sample: the batch-1 forward product of `Dense`, register-tiled.
//!
//! `B` is the layer's kernel in Keras's `(in, out)` row-major layout. Up to four registers of
//! outputs stay in registers for the whole pass over the `k` inputs, in several interleaved
//! sets of sums so that enough multiply-adds are in flight to cover the FMA latency; wider
//! outputs are accumulated in `y`, four rows of `B` per pass. Either way each weight is loaded
//! once.
//!
//! Where a quarter or more of the inputs are zero (image background, inactive ReLUs), the
//! nonzero ones are listed first and only their rows of `B` are read (in the narrow form, only
//! for weights beyond L1 read in rows of two cache lines or more: [`LISTED_ROW_BYTES`]);
//! denser inputs skip only the wide form's all-zero groups of rows. Each sum keeps its order,
//! so skipping changes no result with finite weights: an MNIST digit (82% of its pixels zero)
//! goes through the 784-300-10 MLP's first product about four times faster than a dense input.
//!
//! [`affine_sized`] is the same product with the sizes fixed at compile time and the bias
//! folded in, for small layers.
//!
//! No crate offers a tiled product for this shape with run-time ISA dispatch (general GEMMs
//! pack `B` first, which costs more than the product for one row), hence the hand-written loop.
//! It is written once over [`Vector`] and compiled per instruction set (16 `f32` lanes on
//! AVX-512, 8 on AVX2 + FMA, one in the portable build).

use super::elementwise::{list_nonzero, mostly_zero, LIST_CHUNK as CHUNK};
use super::isa::{Isa, Kernel};
#[cfg(all(feature = "std", target_arch = "x86_64"))]
use super::realigned;
use super::simd::{Realign, Scalar, Vector};
use super::Element;

/// `y = x · B` for a row `x` of `k` elements and a row-major `k x n` matrix `B`, `n = y.len()`.
///
/// # Panics
/// If `B` does not have `x.len() * y.len()` elements.
pub fn vec_mat<T: Element>(x: &[T], b: &[T], y: &mut [T]) {
    check_sizes(x, b, y);
    // SAFETY: sizes checked; the detected instruction set is this CPU's.
    unsafe { dispatch(Isa::detect(), x, b, &[], y) }
}

/// [`vec_mat`] on a given instruction set, which the CPU must support (see [`Isa::available`]).
///
/// # Panics
/// If the sizes disagree, or if `isa` is not available on this CPU.
pub fn vec_mat_on<T: Element>(isa: Isa, x: &[T], b: &[T], y: &mut [T]) {
    check_sizes(x, b, y);
    assert!(
        Isa::available().any(|i| i == isa),
        "vec_mat: {isa:?} is not available on this CPU"
    );
    // SAFETY: sizes checked, and the CPU has `isa`.
    unsafe { dispatch(isa, x, b, &[], y) }
}

/// `y = x · B + bias` (a single-sample `Dense` before its activation) for a `K x N` matrix
/// known when the caller compiles: every trip count is a constant, so small layers' products
/// unroll completely, and the bias starts the sums instead of taking a pass of its own. For a
/// tiny model this per-call overhead is most of the time. Each `(K, N)` is its own
/// instantiation, so large layers, whose loops are long anyway, should use [`vec_mat`].
///
/// # Panics
/// If `x`, `b`, `bias` or `y` is shorter than `K`, `K * N`, `N` or `N` elements.
#[inline]
pub fn affine_sized<T: Element, const K: usize, const N: usize>(
    x: &[T],
    b: &[T],
    bias: &[T],
    y: &mut [T],
) {
    let (x, b, bias, y) = (&x[..K], &b[..K * N], &bias[..N], &mut y[..N]);
    let kernel = FixedVecMat::<T, K, N>(VecMat { x, b, bias, y });
    // SAFETY: the slices have the sizes `product` needs; the detected instruction set is this
    // CPU's.
    unsafe { Isa::detect().run(kernel) }
}

fn check_sizes<T>(x: &[T], b: &[T], y: &[T]) {
    assert_eq!(
        x.len() * y.len(),
        b.len(),
        "vec_mat: matrix has the wrong size"
    );
}

/// Runs the variant for `isa`.
///
/// # Safety
/// `b` holds `x.len() * y.len()` elements, `bias` none or `y.len()`, and this CPU has `isa`.
#[inline]
unsafe fn dispatch<T: Element>(isa: Isa, x: &[T], b: &[T], bias: &[T], y: &mut [T]) {
    // SAFETY: passed on from the caller.
    unsafe { T::vec_mat_on_isa(isa, x, b, bias, y) }
}

/// [`dispatch`]'s body, instantiated by [`Element::vec_mat_on_isa`].
///
/// # Safety
/// As for [`dispatch`].
pub(super) unsafe fn dispatch_here<T: Element>(
    isa: Isa,
    x: &[T],
    b: &[T],
    bias: &[T],
    y: &mut [T],
) {
    // SAFETY: passed on from the caller.
    unsafe { isa.run(VecMat { x, b, bias, y }) }
}

/// The product as a [`Kernel`]: `y = x · B`, the sums started from `bias` when it is not
/// empty. Its contract: `b` holds `x.len() * y.len()` elements and `bias` none or `y.len()`.
struct VecMat<'a, T> {
    x: &'a [T],
    b: &'a [T],
    bias: &'a [T],
    y: &'a mut [T],
}

impl<T: Element> Kernel<T> for VecMat<'_, T> {
    type Output = ();

    /// Outputs 5 to 24 registers wide are held in registers with their rows realigned
    /// ([`realigned`]); the rest as on AVX2.
    #[inline(always)]
    unsafe fn avx512<V: Realign<Elem = T>>(self) {
        // SAFETY: the kernel's contract, which the caller upholds.
        unsafe {
            #[cfg(all(feature = "std", target_arch = "x86_64"))]
            if realigned::try_product::<V>(self.x, self.b, self.bias, self.y) {
                return;
            }
            product::<V>(self.x, self.b, self.bias, self.y)
        }
    }

    #[inline(always)]
    unsafe fn avx2<V: Vector<Elem = T>>(self) {
        // SAFETY: the kernel's contract, which the caller upholds.
        unsafe { product::<V>(self.x, self.b, self.bias, self.y) }
    }

    #[inline(always)]
    unsafe fn portable(self) {
        // SAFETY: the kernel's contract, which the caller upholds.
        unsafe { product::<Scalar<T>>(self.x, self.b, self.bias, self.y) }
    }
}

/// [`VecMat`] on slices of `K`, `K * N` and `N` elements: each body slices them again, so
/// that the constant lengths reach the loops compiled for its instruction set.
struct FixedVecMat<'a, T, const K: usize, const N: usize>(VecMat<'a, T>);

impl<'a, T: Element, const K: usize, const N: usize> FixedVecMat<'a, T, K, N> {
    #[inline(always)]
    fn resliced(self) -> VecMat<'a, T> {
        let VecMat { x, b, bias, y } = self.0;
        VecMat {
            x: &x[..K],
            b: &b[..K * N],
            bias: &bias[..N],
            y: &mut y[..N],
        }
    }
}

/// [`VecMat`]'s forms, chosen by `N`'s register count, which is a constant here: the caller's
/// crate compiles only the form its layer uses, instead of every form on every instruction set.
impl<T: Element, const K: usize, const N: usize> Kernel<T> for FixedVecMat<'_, T, K, N> {
    type Output = ();

    #[inline(always)]
    unsafe fn avx512<V: Realign<Elem = T>>(self) {
        let VecMat { x, b, bias, y } = self.resliced();
        // SAFETY: the kernel's contract, which the caller upholds.
        unsafe {
            #[cfg(all(feature = "std", target_arch = "x86_64"))]
            if const { realigned::holds(N.div_ceil(V::LANES)) } {
                return realigned::sized::<V, N>(x, b, bias, y);
            }
            sized_product::<V, N>(x, b, bias, y)
        }
    }

    #[inline(always)]
    unsafe fn avx2<V: Vector<Elem = T>>(self) {
        let VecMat { x, b, bias, y } = self.resliced();
        // SAFETY: the kernel's contract, which the caller upholds.
        unsafe { sized_product::<V, N>(x, b, bias, y) }
    }

    #[inline(always)]
    unsafe fn portable(self) {
        let VecMat { x, b, bias, y } = self.resliced();
        // SAFETY: the kernel's contract, which the caller upholds.
        unsafe { sized_product::<Scalar<T>, N>(x, b, bias, y) }
    }
}

/// [`product`]'s form for `y` `$regs` registers wide, one arm per register count: with a
/// count known when the caller compiles, only its own arm is compiled.
macro_rules! product_form {
    ($regs:expr, $v:ty, $x:expr, $b:expr, $bias:expr, $y:expr) => {
        match $regs {
            0 => {}
            1 => in_registers::<$v, 1, 4>($x, $b, $bias, $y),
            2 => in_registers::<$v, 2, 4>($x, $b, $bias, $y),
            3 => in_registers::<$v, 3, 4>($x, $b, $bias, $y),
            4 => in_registers::<$v, 4, 3>($x, $b, $bias, $y),
            _ => row_groups::<$v, ROWS, LISTED_ROWS>($x, $b, $bias, $y),
        }
    };
}

/// Narrow outputs (up to four registers) stay in registers for the whole product; wider ones
/// are accumulated in `y`, reading `B` in row order.
///
/// The sums start from `bias` when it is not empty.
///
/// # Safety
/// `b` holds `x.len() * y.len()` elements, `bias` none or `y.len()`, and `V`'s instruction set
/// is enabled.
#[inline(always)]
unsafe fn product<V: Vector>(x: &[V::Elem], b: &[V::Elem], bias: &[V::Elem], y: &mut [V::Elem]) {
    // SAFETY: this function's contract, which its caller upholds.
    unsafe { product_form!(y.len().div_ceil(V::LANES), V, x, b, bias, y) }
}

/// [`product`] for `y.len() == N`, a constant, so that only `N`'s form is compiled.
///
/// # Safety
/// As for [`product`].
#[inline(always)]
unsafe fn sized_product<V: Vector, const N: usize>(
    x: &[V::Elem],
    b: &[V::Elem],
    bias: &[V::Elem],
    y: &mut [V::Elem],
) {
    // SAFETY: this function's contract, which its caller upholds.
    unsafe { product_form!({ const { N.div_ceil(V::LANES) } }, V, x, b, bias, y) }
}

/// `y = x · B (+ bias)` with `y` (`NV` registers, the last possibly partial) held in registers
/// across all of `k`, in `SETS` interleaved sets of sums so that enough multiply-adds are in
/// flight.
///
/// # Safety
/// `(NV - 1) * LANES < n <= NV * LANES` for `n = y.len()`, `b` holds `x.len() * n` elements,
/// `bias` none or `n`, and `V`'s instruction set is enabled.
#[inline(always)]
unsafe fn in_registers<V: Vector, const NV: usize, const SETS: usize>(
    x: &[V::Elem],
    b: &[V::Elem],
    bias: &[V::Elem],
    y: &mut [V::Elem],
) {
    // SAFETY: this function's contract, which its caller upholds.
    unsafe {
        let n = y.len();
        let last = n - (NV - 1) * V::LANES;
        // Rows read with whole registers: a partial last register runs into the next row, whose
        // lanes are never stored, so only rows that leave `b` this way are read exactly.
        let span = NV * V::LANES;
        let whole = if last == V::LANES {
            x.len()
        } else {
            (b.len().saturating_sub(span) / n + usize::from(b.len() >= span)).min(x.len())
        };
        let b = b.as_ptr();
        let mut acc = [[V::zero(); NV]; SETS];
        if !bias.is_empty() {
            for (v, a) in acc[0].iter_mut().enumerate() {
                let p = bias.as_ptr().add(v * V::LANES);
                *a = if v + 1 < NV || last == V::LANES {
                    V::load(p)
                } else {
                    V::load_partial(p, last)
                };
            }
        }
        let rounds = whole / SETS;
        let interleaved = &x[..rounds * SETS];
        let row_bytes = NV * V::LANES * core::mem::size_of::<V::Elem>();
        if row_bytes >= LISTED_ROW_BYTES
            && interleaved.len() * row_bytes >= LISTED_FROM_BYTES
            && mostly_zero(interleaved)
        {
            listed_sets::<V, NV, SETS>(interleaved, b, n, &mut acc);
        } else {
            all_sets::<V, NV, SETS>(interleaved, b, n, &mut acc);
        }
        // The last rows (fewer than `SETS`, and those past `whole`) go to the first set; a zero
        // input adds nothing there either.
        let zero = <V::Elem as num_traits::Zero>::zero();
        for (k, &xk) in x.iter().enumerate().skip(rounds * SETS) {
            if xk == zero {
                continue;
            }
            let s = V::splat(xk);
            let row = b.add(k * n);
            for (v, a) in acc[0].iter_mut().enumerate() {
                let w = if v + 1 < NV || k < whole {
                    V::load(row.add(v * V::LANES))
                } else {
                    V::load_partial(row.add(v * V::LANES), last)
                };
                *a = V::mul_add(s, w, *a);
            }
        }
        let y = y.as_mut_ptr();
        for v in 0..NV {
            let mut sum = acc[0][v];
            for set in &acc[1..] {
                sum = V::add(sum, set[v]);
            }
            if v + 1 < NV || last == V::LANES {
                sum.store(y.add(v * V::LANES));
            } else {
                sum.store_partial(y.add(v * V::LANES), last);
            }
        }
    }
}

/// [`in_registers`]'s part of `x` that runs in interleaved sets: row `k` goes to set
/// `k % SETS`.
///
/// # Safety
/// As [`listed_sets`].
#[inline(always)]
unsafe fn all_sets<V: Vector, const NV: usize, const SETS: usize>(
    x: &[V::Elem],
    b: *const V::Elem,
    n: usize,
    acc: &mut [[V; NV]; SETS],
) {
    // SAFETY: this function's contract, which its caller upholds.
    unsafe {
        for (q, xs) in x.chunks_exact(SETS).enumerate() {
            for (set, (acc, &xk)) in acc.iter_mut().zip(xs).enumerate() {
                add_to_set(acc, xk, b.add((q * SETS + set) * n));
            }
        }
    }
}

/// `acc += xk · row` for one set of `NV` registers of sums.
///
/// # Safety
/// `row` is readable as `NV` whole registers; `V`'s instruction set is enabled.
#[inline(always)]
unsafe fn add_to_set<V: Vector, const NV: usize>(
    acc: &mut [V; NV],
    xk: V::Elem,
    row: *const V::Elem,
) {
    // SAFETY: this function's contract, which its caller upholds.
    unsafe {
        let s = V::splat(xk);
        for (v, a) in acc.iter_mut().enumerate() {
            *a = V::mul_add(s, V::load(row.add(v * V::LANES)), *a);
        }
    }
}

/// [`all_sets`] on the rows whose input is not zero: row `k` still goes to set `k % SETS`, and
/// each set takes its rows in order, so the sums are those of [`all_sets`] (see [`row_groups`]
/// on infinite or NaN weights). The nonzero inputs are listed per set, `LISTED_PER_SET` to a
/// chunk, then taken one from each set in turn while every set has one, and the rest set by
/// set.
///
/// # Safety
/// `x.len()` is a multiple of `SETS`; `b` holds `x.len()` rows of `n` elements, each readable
/// as `NV` whole registers; `V`'s instruction set is enabled.
#[inline(always)]
unsafe fn listed_sets<V: Vector, const NV: usize, const SETS: usize>(
    x: &[V::Elem],
    b: *const V::Elem,
    n: usize,
    acc: &mut [[V; NV]; SETS],
) {
    // SAFETY: this function's contract, which its caller upholds.
    unsafe {
        let zero = <V::Elem as num_traits::Zero>::zero();
        let mut lists = [[0u16; LISTED_PER_SET]; SETS];
        for (c, xs) in x.chunks(SETS * LISTED_PER_SET).enumerate() {
            // Each chunk starts on a multiple of `SETS`, so input `i` of the chunk is row
            // `k ≡ i (mod SETS)`. Branch-free listing, as in `listed_groups`.
            let mut counts = [0usize; SETS];
            for q in 0..xs.len() / SETS {
                for (set, (list, count)) in lists.iter_mut().zip(&mut counts).enumerate() {
                    let i = q * SETS + set;
                    list[*count] = i as u16;
                    // Wrapping, as in `list_nonzero`.
                    *count = count.wrapping_add(usize::from(xs[i] != zero));
                }
            }
            let first = b.add(c * SETS * LISTED_PER_SET * n);
            let add_row = |acc: &mut [V; NV], i: u16| {
                let i = usize::from(i);
                add_to_set(acc, xs[i], first.add(i * n))
            };
            let common = counts.iter().copied().min().unwrap_or(0);
            for j in 0..common {
                for (acc, list) in acc.iter_mut().zip(&lists) {
                    add_row(acc, list[j]);
                }
            }
            for ((acc, list), &count) in acc.iter_mut().zip(&lists).zip(&counts) {
                for &i in &list[common..count] {
                    add_row(acc, i);
                }
            }
        }
    }
}

/// Inputs per set listed at a time on the stack, in [`listed_sets`].
const LISTED_PER_SET: usize = 64;

/// Listing the nonzero inputs costs a pass over them, which skipping a row of the narrow form
/// repays only where the row is read from beyond L1: rows of at least two cache lines, in
/// weights larger than L1: small models' digits run about twice as fast listed, while a
/// one-register layer such as the 784-300-10 MLP's second ran slower listed (measurements:
/// `BENCHMARKS.md`, "Design measurements").
const LISTED_ROW_BYTES: usize = 128;

/// See [`LISTED_ROW_BYTES`].
const LISTED_FROM_BYTES: usize = 64 * 1024;

/// Consecutive rows of `B` combined per pass over `y`.
const ROWS: usize = 4;

/// Listed rows of `B` combined per pass over `y`: eights beat fours, sixes and twelves on
/// listed rows, while consecutive rows ran slower in eights than in fours, hence the two sizes
/// (`BENCHMARKS.md`, "Design measurements").
const LISTED_ROWS: usize = 8;

/// `y = x · B (+ bias)`, reading `B` in row order a group of rows at a time and skipping rows
/// whose input is zero: their weights are neither loaded nor multiplied.
///
/// Where at least a quarter of `x` is zero (image background, inactive ReLUs), the nonzero
/// inputs are listed first and taken `LR` at a time ([`listed_groups`]); otherwise `KR`
/// consecutive rows are grouped and only all-zero groups are skipped ([`consecutive_groups`]),
/// which costs less per row. Measured on the 784-300-10 MLP's first layer (784 x 300, AVX-512): a
/// third to 57% of the inputs zero, scattered, takes 13-45% less time listed; dense inputs a
/// fifth more.
///
/// Each `y[j]` takes its multiply-adds in row order either way, so skipping changes no sum,
/// except that an infinite or NaN weight facing a zero input may no longer make it NaN (as in
/// reference BLAS, and the batched products' skipped steps).
///
/// # Safety
/// `b` holds `x.len() * y.len()` elements, `bias` none or `y.len()`, and `V`'s instruction set
/// is enabled.
#[inline(always)]
unsafe fn row_groups<V: Vector, const KR: usize, const LR: usize>(
    x: &[V::Elem],
    b: &[V::Elem],
    bias: &[V::Elem],
    y: &mut [V::Elem],
) {
    // SAFETY: this function's contract, which its caller upholds.
    unsafe {
        let zero = <V::Elem as num_traits::Zero>::zero();
        if bias.is_empty() {
            y.iter_mut().for_each(|v| *v = zero);
        } else {
            y.copy_from_slice(bias);
        }
        let n = y.len();
        let (b, y) = (b.as_ptr(), y.as_mut_ptr());
        if mostly_zero(x) {
            listed_groups::<V, LR>(x, b, n, y)
        } else {
            consecutive_groups::<V, KR>(x, b, n, y)
        }
    }
}

/// `y += x · B` for `n` columns, `KR` consecutive rows of `B` at a time, skipping groups whose
/// inputs are all zero.
///
/// # Safety
/// `b` holds `x.len()` rows of `n` elements and `y` holds `n`; `V`'s instruction set is
/// enabled.
#[inline(always)]
unsafe fn consecutive_groups<V: Vector, const KR: usize>(
    x: &[V::Elem],
    b: *const V::Elem,
    n: usize,
    y: *mut V::Elem,
) {
    // SAFETY: this function's contract, which its caller upholds.
    unsafe {
        let zero = <V::Elem as num_traits::Zero>::zero();
        let groups = x.len() / KR;
        for g in 0..groups {
            let xs: [V::Elem; KR] = core::array::from_fn(|r| x[g * KR + r]);
            if xs.iter().all(|&v| v == zero) {
                continue;
            }
            let rows = core::array::from_fn(|r| b.add((g * KR + r) * n));
            add_rows::<V, KR>(xs, rows, n, y);
        }
        for (k, &xk) in x.iter().enumerate().skip(groups * KR) {
            if xk != zero {
                add_rows::<V, 1>([xk], [b.add(k * n)], n, y);
            }
        }
    }
}

/// `y += x · B` for `n` columns over the rows of `B` whose input is not zero, listed `CHUNK`
/// inputs at a time and taken `KR` at a time.
///
/// # Safety
/// As [`consecutive_groups`].
#[inline(always)]
unsafe fn listed_groups<V: Vector, const KR: usize>(
    x: &[V::Elem],
    b: *const V::Elem,
    n: usize,
    y: *mut V::Elem,
) {
    // SAFETY: this function's contract, which its caller upholds.
    unsafe {
        let mut nonzero = [0u16; CHUNK];
        for (c, xs) in x.chunks(CHUNK).enumerate() {
            let count = list_nonzero(xs, &mut nonzero);
            let first = b.add(c * CHUNK * n);
            let mut groups = nonzero[..count].chunks_exact(KR);
            for group in &mut groups {
                let inputs = core::array::from_fn(|r| xs[usize::from(group[r])]);
                let rows = core::array::from_fn(|r| first.add(usize::from(group[r]) * n));
                add_rows::<V, KR>(inputs, rows, n, y);
            }
            for &i in groups.remainder() {
                let i = usize::from(i);
                add_rows::<V, 1>([xs[i]], [first.add(i * n)], n, y);
            }
        }
    }
}

/// `y += Σ_r xs[r] · rows[r]` for `KR` rows of `n` elements: each vector of `y` is loaded once,
/// takes `KR` multiply-adds in a register, in the order of `rows`, and is stored once.
///
/// # Safety
/// Each of `rows` is valid for `n` elements, `y` for `n`; `V`'s instruction set is enabled.
#[inline(always)]
unsafe fn add_rows<V: Vector, const KR: usize>(
    xs: [V::Elem; KR],
    rows: [*const V::Elem; KR],
    n: usize,
    y: *mut V::Elem,
) {
    // SAFETY: this function's contract, which its caller upholds.
    unsafe {
        let s: [V; KR] = core::array::from_fn(|r| V::splat(xs[r]));
        let full = n - n % V::LANES;
        let mut j = 0;
        while j < full {
            let mut acc = V::load(y.add(j));
            for (&s, &row) in s.iter().zip(&rows) {
                acc = V::mul_add(s, V::load(row.add(j)), acc);
            }
            acc.store(y.add(j));
            j += V::LANES;
        }
        let rest = n - full;
        if rest > 0 {
            let mut acc = V::load_partial(y.add(j), rest);
            for (&s, &row) in s.iter().zip(&rows) {
                acc = V::mul_add(s, V::load_partial(row.add(j), rest), acc);
            }
            acc.store_partial(y.add(j), rest);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::reference::{self, of};
    use super::*;

    /// `x · B` for `x` of `k` elements and `B` of `k x n`.
    fn naive(x: &[f64], b: &[f64], n: usize) -> Vec<f64> {
        reference::naive(1, x.len(), n, x, b)
    }

    /// Small integers (and halves) keep every sum exact, so all variants must agree exactly.
    fn case(k: usize, n: usize) -> (Vec<f64>, Vec<f64>) {
        let x = (0..k)
            .map(|i| if i % 9 < 4 { 0.0 } else { (i % 7) as f64 - 3.0 })
            .collect();
        let b = (0..k * n)
            .map(|i| ((i * 5 % 11) as f64) * 0.5 - 2.0)
            .collect();
        (x, b)
    }

    /// `x` with its zeros replaced by small integers: under a quarter zero, so the wide form
    /// groups consecutive rows rather than listing the nonzero ones.
    fn without_zeros(x: &[f64]) -> Vec<f64> {
        x.iter()
            .enumerate()
            .map(|(i, &v)| if v == 0.0 { (i % 3) as f64 + 1.0 } else { v })
            .collect()
    }

    #[test]
    fn every_instruction_set_matches_the_naive_product_on_odd_sizes() {
        for &(k, n) in &[
            (1, 1),
            (3, 7),
            (13, 9),
            (17, 33),
            (5, 64),
            (31, 65),
            (784, 300),
            (300, 10),
            (6, 129),
        ] {
            let (sparse, b) = case(k, n);
            for x in [without_zeros(&sparse), sparse] {
                let want = naive(&x, &b, n);
                for isa in Isa::available() {
                    let mut y = vec![f64::NAN; n];
                    vec_mat_on(isa, &x, &b, &mut y);
                    assert_eq!(y, want, "{isa:?} k={k} n={n}");
                    let (x32, b32): (Vec<f32>, Vec<f32>) = (
                        x.iter().map(|&v| v as f32).collect(),
                        b.iter().map(|&v| v as f32).collect(),
                    );
                    let mut y32 = vec![f32::NAN; n];
                    vec_mat_on(isa, &x32, &b32, &mut y32);
                    let want32: Vec<f32> = want.iter().map(|&v| v as f32).collect();
                    assert_eq!(y32, want32, "{isa:?} f32 k={k} n={n}");
                }
            }
        }
    }

    /// `affine_sized::<K, N>` against the naive product plus bias, in f64 and f32.
    fn check_affine<const K: usize, const N: usize>() {
        let (x, b) = case(K, N);
        let bias: Vec<f64> = (0..N).map(|i| (i % 5) as f64 - 2.5).collect();
        let want: Vec<f64> = naive(&x, &b, N)
            .iter()
            .zip(&bias)
            .map(|(v, c)| v + c)
            .collect();
        let mut y = vec![f64::NAN; N];
        affine_sized::<f64, K, N>(&x, &b, &bias, &mut y);
        assert_eq!(y, want, "f64 k={K} n={N}");
        let f32s = |v: &[f64]| v.iter().map(|&v| v as f32).collect::<Vec<f32>>();
        let mut y32 = vec![f32::NAN; N];
        affine_sized::<f32, K, N>(&f32s(&x), &f32s(&b), &f32s(&bias), &mut y32);
        assert_eq!(y32, f32s(&want), "f32 k={K} n={N}");
    }

    #[test]
    fn the_sized_product_adds_the_bias_on_odd_sizes() {
        // One partial register, whole registers, four registers, wider (held and realigned on
        // AVX-512) and wider than 24 AVX-512 registers (row groups everywhere): each width
        // compiles only its own form.
        check_affine::<1, 1>();
        check_affine::<3, 7>();
        check_affine::<16, 32>();
        check_affine::<32, 4>();
        check_affine::<13, 9>();
        check_affine::<17, 33>();
        check_affine::<31, 65>();
        check_affine::<9, 129>();
        check_affine::<3, 400>();
    }

    /// `affine_sized`'s bodies, whose form a constant picks, against the bodies that pick it at
    /// run time, on emulated registers of both widths and on the portable one, every access
    /// checked to stay inside the operands.
    #[test]
    fn the_sized_forms_match_the_run_time_ones_within_their_operands() {
        use super::super::lanes::{checked, span, Like256F32, Like512F32};
        fn check<const K: usize, const N: usize>() {
            let (x, b) = case(K, N);
            let f32s = |v: &[f64]| v.iter().map(|&v| v as f32).collect::<Vec<f32>>();
            let (x, b) = (f32s(&x), f32s(&b));
            let bias: Vec<f32> = (0..N).map(|i| (i % 5) as f32 - 2.5).collect();
            for body in 0..3 {
                let (mut want, mut got) = (vec![f32::NAN; N], vec![f32::NAN; N]);
                let spans = [span(&x), span(&b), span(&bias), span(&got)];
                let run = VecMat {
                    x: &x,
                    b: &b,
                    bias: &bias,
                    y: &mut want,
                };
                let sized = |y| {
                    FixedVecMat::<f32, K, N>(VecMat {
                        x: &x,
                        b: &b,
                        bias: &bias,
                        y,
                    })
                };
                // SAFETY: `b` is `K x N`, `bias` and the outputs `N` long; the emulated
                // registers need no target feature.
                unsafe {
                    match body {
                        0 => {
                            run.avx512::<Like512F32>();
                            checked(&spans, || sized(&mut got).avx512::<Like512F32>());
                        }
                        1 => {
                            run.avx2::<Like256F32>();
                            checked(&spans, || sized(&mut got).avx2::<Like256F32>());
                        }
                        _ => {
                            run.portable();
                            checked(&spans, || sized(&mut got).portable());
                        }
                    }
                }
                assert_eq!(got, want, "body {body}, k={K} n={N}");
            }
        }
        // One to four 512-bit registers, five (the first held form), 19 (the MLP's 300
        // outputs) and 25 (row groups again).
        check::<3, 7>();
        check::<13, 33>();
        check::<3, 65>();
        check::<13, 129>();
        check::<3, 300>();
        check::<3, 400>();
    }

    /// The AVX-512 and AVX2 instantiations on emulated registers of their lane counts, every
    /// register access checked to stay inside the operands: one to four registers held
    /// across `k` (every partial last register), and row groups past them, with and without
    /// a bias.
    #[test]
    fn every_register_shape_matches_the_naive_product_within_its_operands() {
        use super::super::lanes::{checked, span, Like256F32, Like256F64, Like512F32, Like512F64};
        fn check<V: Vector>(k: usize, n: usize) {
            let (sparse, b) = case(k, n);
            for x in [without_zeros(&sparse), sparse] {
                check_with::<V>(&x, &b, n);
            }
        }
        fn check_with<V: Vector>(x: &[f64], b: &[f64], n: usize) {
            let k = x.len();
            let bias: Vec<f64> = (0..n).map(|i| (i % 5) as f64 - 2.5).collect();
            let elems = |v: &[f64]| v.iter().map(|&v| of::<V::Elem>(v)).collect::<Vec<_>>();
            let product_of = |bias: &[f64]| {
                let (x, b, bias) = (elems(x), elems(b), elems(bias));
                let mut y = vec![<V::Elem as num_traits::Float>::nan(); n];
                let spans = [span(&x), span(&b), span(&bias), span(&y)];
                // SAFETY: `b` is `k x n`, `bias` empty or `n` long; the emulated registers
                // need no target feature.
                checked(&spans, || unsafe { product::<V>(&x, &b, &bias, &mut y) });
                y
            };
            let want = naive(x, b, n);
            assert!(
                product_of(&[]) == elems(&want),
                "{} lanes, k={k} n={n}",
                V::LANES
            );
            let with_bias: Vec<f64> = want.iter().zip(&bias).map(|(v, c)| v + c).collect();
            assert!(
                product_of(&bias) == elems(&with_bias),
                "{} lanes with a bias, k={k} n={n}",
                V::LANES
            );
        }
        for n in (1..=70).chain([129, 300]) {
            for k in [1, 3, 13, 31] {
                check::<Like512F32>(k, n);
                check::<Like512F64>(k, n);
                check::<Like256F32>(k, n);
                check::<Like256F64>(k, n);
            }
        }
        // Enough rows for the registers' interleaved sets to list their nonzero inputs (from
        // two cache lines a row), and narrower ones that run every row.
        let k = LISTED_FROM_BYTES / LISTED_ROW_BYTES + 5;
        for n in [1, 7, 8, 9, 16, 17, 24, 31, 33, 48, 57, 64] {
            check::<Like512F32>(k, n);
            check::<Like512F64>(k, n);
            check::<Like256F32>(k, n);
            check::<Like256F64>(k, n);
        }
        check::<Like512F32>(784, 300);
        check::<Like256F32>(784, 300);
    }

    #[test]
    fn every_row_group_size_and_register_count_is_correct() {
        // Listed (a quarter or more of the inputs zero) and consecutive groups, within one
        // chunk of listed inputs and across several.
        for k in [29, 2 * CHUNK + 87] {
            let (sparse, b) = case(k, 15);
            for x in [without_zeros(&sparse), sparse] {
                let want = naive(&x, &b, 15);
                let mut y = vec![0.0; 15];
                // SAFETY: scalar "registers" need no target feature; sizes match.
                unsafe {
                    row_groups::<Scalar<f64>, 1, 2>(&x, &b, &[], &mut y);
                    assert_eq!(y, want, "k={k}");
                    row_groups::<Scalar<f64>, 3, 6>(&x, &b, &[], &mut y);
                    assert_eq!(y, want, "k={k}");
                    row_groups::<Scalar<f64>, 8, 16>(&x, &b, &[], &mut y);
                    assert_eq!(y, want, "k={k}");
                }
            }
        }
        let (x, b) = case(29, 3);
        let want = naive(&x, &b, 3);
        let mut y = vec![0.0; 3];
        // SAFETY: as above; three one-lane registers cover three columns.
        unsafe {
            in_registers::<Scalar<f64>, 3, 1>(&x, &b, &[], &mut y);
            assert_eq!(y, want);
            in_registers::<Scalar<f64>, 3, 4>(&x, &b, &[], &mut y);
            assert_eq!(y, want);
        }
        // With a bias, which both kernels start their sums from.
        let bias = [0.5, -1.0, 2.0];
        let with_bias: Vec<f64> = want.iter().zip(&bias).map(|(v, c)| v + c).collect();
        // SAFETY: as above.
        unsafe {
            in_registers::<Scalar<f64>, 3, 4>(&x, &b, &bias, &mut y);
            assert_eq!(y, with_bias);
            row_groups::<Scalar<f64>, 3, 5>(&x, &b, &bias, &mut y);
            assert_eq!(y, with_bias);
        }
    }

    #[test]
    fn zero_inputs_skip_their_rows_without_changing_the_other_sums() {
        // A third of the inputs zero, none of them next to another, so the nonzero inputs are
        // listed. The rows facing the zeros hold NaN, which would make every sum NaN if they
        // were multiplied. Wide outputs (five AVX-512 registers and more), and two cache lines
        // of them held in registers, whole and with a partial last register (whose last rows
        // run apart from the interleaved sets).
        for n in [80, 32, 30] {
            nan_rows_facing_zeros_are_skipped(600, n);
        }
    }

    /// `x · B` for `k x n`, a third of `x` zero and NaN in the rows of `B` facing them, equals
    /// the product with those rows zero.
    fn nan_rows_facing_zeros_are_skipped(k: usize, n: usize) {
        let x: Vec<f64> = (0..k)
            .map(|i| {
                if i % 3 == 1 {
                    0.0
                } else {
                    (i % 5) as f64 - 1.5
                }
            })
            .collect();
        let b: Vec<f64> = (0..k * n)
            .map(|i| {
                if x[i / n] == 0.0 {
                    f64::NAN
                } else {
                    ((i * 7 % 13) as f64) * 0.5 - 3.0
                }
            })
            .collect();
        let finite: Vec<f64> = b
            .iter()
            .map(|&v| if v.is_nan() { 0.0 } else { v })
            .collect();
        let want = naive(&x, &finite, n);
        for isa in Isa::available() {
            let mut y = vec![0.0; n];
            vec_mat_on(isa, &x, &b, &mut y);
            assert_eq!(y, want, "{isa:?} n={n}");
        }
    }

    /// The interleaved sets over listed rows and over every row agree bit for bit, on values
    /// whose sums round (so a change of order would show), in registers of every shape.
    #[test]
    fn listed_sets_sum_exactly_as_every_row_does() {
        use super::super::lanes::{checked, span, Like256F32, Like256F64, Like512F32, Like512F64};
        fn sets<V: Vector, const NV: usize, const SETS: usize>(listed: bool) -> Vec<V::Elem> {
            // Rows across two chunks of listed inputs and into a third, with runs of zeros and
            // lone ones.
            let k = SETS * (2 * LISTED_PER_SET + 7);
            let n = NV * V::LANES;
            let x: Vec<V::Elem> = (0..k)
                .map(|i| match i % 7 {
                    0 | 3 | 4 => 0.0,
                    r => (i % 11) as f64 * 0.1 - 0.35 + r as f64 * 0.013,
                })
                .map(of::<V::Elem>)
                .collect();
            let b: Vec<V::Elem> = (0..k * n)
                .map(|i| of::<V::Elem>(((i * 7) % 19) as f64 * 0.07 - 0.6))
                .collect();
            // SAFETY: the emulated registers need no target feature.
            let mut acc = [[unsafe { V::zero() }; NV]; SETS];
            checked(&[span(&x), span(&b)], || {
                // SAFETY: `k` is a multiple of `SETS`, and `b` holds `k` rows of `NV` whole
                // registers; the emulated registers need no target feature.
                unsafe {
                    if listed {
                        listed_sets::<V, NV, SETS>(&x, b.as_ptr(), n, &mut acc)
                    } else {
                        all_sets::<V, NV, SETS>(&x, b.as_ptr(), n, &mut acc)
                    }
                }
            });
            let mut out = vec![of::<V::Elem>(f64::NAN); SETS * n];
            for (set, acc) in acc.iter().enumerate() {
                for (v, a) in acc.iter().enumerate() {
                    // SAFETY: `out` holds `SETS * NV` registers.
                    unsafe { a.store(out.as_mut_ptr().add(set * n + v * V::LANES)) };
                }
            }
            out
        }
        fn agree<V: Vector>() {
            assert!(sets::<V, 1, 4>(true) == sets::<V, 1, 4>(false));
            assert!(sets::<V, 2, 4>(true) == sets::<V, 2, 4>(false));
            assert!(sets::<V, 3, 4>(true) == sets::<V, 3, 4>(false));
            assert!(sets::<V, 4, 3>(true) == sets::<V, 4, 3>(false));
        }
        agree::<Like512F32>();
        agree::<Like512F64>();
        agree::<Like256F32>();
        agree::<Like256F64>();
    }

    #[test]
    #[should_panic(expected = "wrong size")]
    fn a_matrix_of_the_wrong_size_panics() {
        vec_mat(&[1.0f32; 3], &[0.0; 8], &mut [0.0; 3]);
    }
}
