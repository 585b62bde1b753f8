//! Element-wise loops that every training step runs over whole batches (ReLU and its gradient,
//! dropout by its draws, sums of arrays), compiled once per element type here through
//! [`Element`]'s entry points: left generic in the layers, they were monomorphized into the
//! user's crate, where a debug build runs them unoptimised. Each runs through `on_this_cpu`, so
//! the compiler vectorises it for the CPU's widest registers rather than the baseline's 4 lanes,
//! except the in-place ReLU loops, written over registers (`InPlace`) because the compiler
//! vectorises them into conditional stores.
//! Also the batch-1 products' listing of nonzero inputs, and the test of whether it pays.

use super::isa::{on_this_cpu, Isa, Kernel};
use super::operands::KeepDraws;
use super::simd::{Scalar, Vector};
use super::Element;

/// `x < 0 ? 0 : x` in place: TensorFlow's ReLU, which keeps a NaN (and a negative zero).
/// Written over registers (`max(0, x)`): as a plain loop the compiler makes it a conditional
/// store, which on AVX2 is a `vmaskmovps` (microcoded on AMD Zen: several times slower).
pub(super) fn relu<T: Element>(xs: &mut [T]) {
    // SAFETY: the detected instruction set is this CPU's; the kernel has no other contract.
    unsafe { Isa::detect().run(InPlace { xs, gates: None }) }
}

/// ReLU's input gradient `dz` from its output `y` and output gradient `dy`: a select rather
/// than a conditional store, so that the loop vectorises.
pub(super) fn relu_gradient<T: Element>(y: &[T], dy: &[T], dz: &mut [T]) {
    assert!(
        dy.len() == y.len() && dz.len() == y.len(),
        "relu: lengths differ"
    );
    on_this_cpu::<T, _>(
        #[inline(always)]
        || {
            for ((z, &d), &y) in dz.iter_mut().zip(dy).zip(y) {
                *z = if y <= T::zero() { T::zero() } else { d };
            }
        },
    );
}

/// [`relu_gradient`] with the output gradient overwritten in place, over registers for the
/// reason given at [`relu`].
pub(super) fn relu_gradient_in_place<T: Element>(y: &[T], dy: &mut [T]) {
    assert_eq!(dy.len(), y.len(), "relu: lengths differ");
    // SAFETY: the detected instruction set is this CPU's; the lengths are checked.
    unsafe {
        Isa::detect().run(InPlace {
            xs: dy,
            gates: Some(y),
        })
    }
}

/// ReLU over `xs` in place, or with `gates` its gradient: `xs` zeroed where the gate (ReLU's
/// output) is `<= 0`. Its contract: `gates`, when given, is as long as `xs`.
struct InPlace<'a, T> {
    xs: &'a mut [T],
    gates: Option<&'a [T]>,
}

impl<T: Element> Kernel<T> for InPlace<'_, T> {
    type Output = ();

    #[inline(always)]
    unsafe fn avx2<V: Vector<Elem = T>>(self) {
        // SAFETY: the kernel's contract, which the caller upholds.
        unsafe { in_place::<V>(self.xs, self.gates) }
    }

    #[inline(always)]
    unsafe fn portable(self) {
        // SAFETY: the kernel's contract, which the caller upholds.
        unsafe { in_place::<Scalar<T>>(self.xs, self.gates) }
    }
}

/// [`InPlace`] on registers `V`.
///
/// # Safety
/// `gates`, when given, is as long as `xs`; `V`'s instruction set is enabled.
#[inline(always)]
unsafe fn in_place<V: Vector>(xs: &mut [V::Elem], gates: Option<&[V::Elem]>) {
    // SAFETY: this function's contract, which its caller upholds.
    unsafe {
        match gates {
            Some(g) => zip_in_place::<V, true>(xs, g, |d, y| V::relu_gate(y, d)),
            None => zip_in_place::<V, false>(xs, &[], |x, _| V::max(V::zero(), x)),
        }
    }
}

/// `xs[i] = op(xs[i], with[i])` register by register, whole registers and then the partial
/// rest; without `WITH`, `with` is not read and `op` gets zeros in its place.
///
/// # Safety
/// With `WITH`, `with` is as long as `xs`; `V`'s instruction set is enabled.
#[inline(always)]
unsafe fn zip_in_place<V: Vector, const WITH: bool>(
    xs: &mut [V::Elem],
    with: &[V::Elem],
    op: impl Fn(V, V) -> V,
) {
    // SAFETY: this function's contract, which its caller upholds; every register named lies
    // within `xs` (and `with`).
    unsafe {
        let n = xs.len();
        let full = n - n % V::LANES;
        let (x, w) = (xs.as_mut_ptr(), with.as_ptr());
        let mut i = 0;
        while i < full {
            let other = if WITH { V::load(w.add(i)) } else { V::zero() };
            op(V::load(x.add(i)), other).store(x.add(i));
            i += V::LANES;
        }
        if n > full {
            let rest = n - full;
            let other = if WITH {
                V::load_partial(w.add(full), rest)
            } else {
                V::zero()
            };
            op(V::load_partial(x.add(full), rest), other).store_partial(x.add(full), rest);
        }
    }
}

/// `sum += part`, element by element.
pub(super) fn add<T: Element>(sum: &mut [T], part: &[T]) {
    assert_eq!(sum.len(), part.len(), "add: lengths differ");
    on_this_cpu::<T, _>(
        #[inline(always)]
        || sum.iter_mut().zip(part).for_each(|(s, &p)| *s += p),
    );
}

/// Inverted dropout: `y = x * (scale or 0)`, `scale` where the element's draw is at least
/// the threshold (and `keeps_any`). The same product passes the gradient back (`x` the
/// output's gradient, `y` the input's), from the same draws.
pub(super) fn dropout<T: Element>(x: &[T], draws: KeepDraws<'_>, scale: T, y: &mut [T]) {
    let bits = draws.rule.bits as usize;
    assert!(
        x.len() == y.len()
            && matches!(bits, 1 | 2 | 4 | 8 | 16 | 32)
            && draws.words.len() == draws.rule.words(y.len()),
        "dropout: lengths differ"
    );
    // Each width its own loop, so that an element's shift within its word is a constant.
    on_this_cpu::<T, _>(
        #[inline(always)]
        || match bits {
            1 => keep::<T, 1>(x, draws, scale, y),
            2 => keep::<T, 2>(x, draws, scale, y),
            4 => keep::<T, 4>(x, draws, scale, y),
            8 => keep::<T, 8>(x, draws, scale, y),
            16 => keep::<T, 16>(x, draws, scale, y),
            _ => keep_each(x, draws, scale, y),
        },
    )
}

/// [`dropout`] with a whole word an element, in one flat loop (which vectorises).
#[inline(always)]
fn keep_each<T: Element>(x: &[T], draws: KeepDraws<'_>, scale: T, y: &mut [T]) {
    for ((y, &x), &u) in y.iter_mut().zip(x).zip(draws.words) {
        *y = x * multiplier(u, draws, scale);
    }
}

/// [`dropout`] with `B`-bit draws (`B` < 32): word `w` holds the draws of elements
/// `w * 32 / B` on.
#[inline(always)]
fn keep<T: Element, const B: usize>(x: &[T], draws: KeepDraws<'_>, scale: T, y: &mut [T]) {
    let per = 32 / B;
    let low = u32::MAX >> (32 - B);
    let elements = y.chunks_mut(per).zip(x.chunks(per));
    for ((y, x), &word) in elements.zip(draws.words) {
        for (j, (y, &x)) in y.iter_mut().zip(x).enumerate() {
            // `j * B < 32`. Wrapping operations are what the plain ones compile to in release;
            // with overflow checks on (a user's debug profile), the plain ones would test both
            // in every element and the loop would not vectorise.
            let u = word.wrapping_shr(j.wrapping_mul(B) as u32) & low;
            *y = x * multiplier(u, draws, scale);
        }
    }
}

/// What [`dropout`] multiplies an element by, from its draw `u`: `scale` or zero.
#[inline(always)]
fn multiplier<T: Element>(u: u32, draws: KeepDraws<'_>, scale: T) -> T {
    if draws.rule.keeps_any && u >= draws.rule.threshold {
        scale
    } else {
        T::zero()
    }
}

/// Whether a quarter or more of `x` is zero, from which listing the nonzero inputs costs less
/// than running every row.
#[inline(always)]
pub(super) fn mostly_zero<T: Element>(x: &[T]) -> bool {
    // Summed as `u32`, which vectorises into whole registers of compare results.
    let zeros: u32 = x.iter().map(|&v| u32::from(v == T::zero())).sum();
    4 * zeros as usize >= x.len()
}

/// Inputs [`list_nonzero`] lists at a time, on the stack of the batch-1 products.
pub(super) const LIST_CHUNK: usize = 256;

/// Writes the positions of `xs`'s nonzero elements to the start of `list` and returns how many
/// there are. Branch-free: every position is written, only the nonzero ones are kept.
///
/// # Panics
/// If `xs` is longer than `list`.
#[inline(always)]
pub(super) fn list_nonzero<T: Element>(xs: &[T], list: &mut [u16; LIST_CHUNK]) -> usize {
    assert!(
        xs.len() <= LIST_CHUNK,
        "list_nonzero: more inputs than places"
    );
    let mut count = 0;
    for (i, &v) in xs.iter().enumerate() {
        list[count] = i as u16;
        // Wrapping (it cannot pass `LIST_CHUNK`), so that overflow checks do not test it.
        count = count.wrapping_add(usize::from(v != T::zero()));
    }
    count
}

#[cfg(test)]
mod tests {
    use super::super::lanes::{checked, span, Like256F32, Like256F64, Like512F32, Like512F64};
    use super::*;

    /// Every kind of value ReLU distinguishes, repeated to `n` elements.
    fn values<T: Element>(n: usize, shift: usize) -> Vec<T> {
        let kinds = [
            -1.5,
            -0.0,
            0.0,
            f64::NAN,
            2.0,
            f64::INFINITY,
            f64::NEG_INFINITY,
            1e-30,
            3.25,
        ];
        (0..n)
            .map(|i| T::from(kinds[(i + shift) % kinds.len()]).unwrap())
            .collect()
    }

    /// The values' bits (through `f64`, which keeps the sign of a zero and a NaN a NaN).
    fn bits<T: Element>(xs: &[T]) -> Vec<u64> {
        xs.iter().map(|v| v.to_f64().unwrap().to_bits()).collect()
    }

    /// `x < 0 ? 0 : x` and `y <= 0 ? 0 : d`, element by element.
    fn want<T: Element>(xs: &[T], gates: Option<&[T]>) -> Vec<T> {
        let zero = T::zero();
        match gates {
            None => xs
                .iter()
                .map(|&x| if x < zero { zero } else { x })
                .collect(),
            Some(g) => xs
                .iter()
                .zip(g)
                .map(|(&d, &y)| if y <= zero { zero } else { d })
                .collect(),
        }
    }

    #[test]
    fn relu_and_its_gradient_in_place_keep_tensorflows_values_on_every_length() {
        for n in 0..=41 {
            let (xs, gates) = (values::<f32>(n, 0), values::<f32>(n, 4));
            let mut got = xs.clone();
            relu(&mut got);
            assert_eq!(bits(&got), bits(&want(&xs, None)), "relu, n={n}");
            let mut got = xs.clone();
            relu_gradient_in_place(&gates, &mut got);
            assert_eq!(
                bits(&got),
                bits(&want(&xs, Some(&gates))),
                "gradient, n={n}"
            );
            let (xs, gates) = (values::<f64>(n, 1), values::<f64>(n, 6));
            let mut got = xs.clone();
            relu_gradient_in_place(&gates, &mut got);
            assert_eq!(
                bits(&got),
                bits(&want(&xs, Some(&gates))),
                "f64 gradient, n={n}"
            );
        }
    }

    /// Both instantiations on emulated registers, every register access checked to stay inside
    /// the slices.
    #[test]
    fn both_instantiations_stay_inside_their_slices() {
        fn check<V: Vector>(n: usize) {
            let (xs, gates) = (values::<V::Elem>(n, 2), values::<V::Elem>(n, 5));
            for gated in [false, true] {
                let mut got = xs.clone();
                let g = gated.then_some(&gates[..]);
                let spans = [span(&got), span(&gates)];
                // SAFETY: the gates are as long as `got`; emulated registers need no feature.
                checked(&spans, || unsafe { in_place::<V>(&mut got, g) });
                assert_eq!(bits(&got), bits(&want(&xs, g)), "{} lanes, n={n}", V::LANES);
            }
        }
        for n in 0..=35 {
            check::<Like512F32>(n);
            check::<Like512F64>(n);
            check::<Like256F32>(n);
            check::<Like256F64>(n);
        }
    }
}
