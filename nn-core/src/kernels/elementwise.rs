//! Element-wise loops that every training step runs over whole batches (ReLU and its gradient,
//! dropout by its draws, sums of arrays), compiled once per element type here through
//! [`Element`]'s entry points: left generic in the layers, they were monomorphized into the
//! user's crate, where a debug build runs them unoptimised. Each runs through `on_this_cpu`, so
//! the compiler vectorises it for the CPU's widest registers rather than the baseline's 4 lanes.
//! Also the batch-1 products' listing of nonzero inputs, and the test of whether it pays.

use super::isa::on_this_cpu;
use super::operands::KeepDraws;
use super::Element;

/// `x < 0 ? 0 : x` in place: TensorFlow's ReLU, which keeps a NaN (and a negative zero).
pub(super) fn relu<T: Element>(xs: &mut [T]) {
    on_this_cpu::<T, _>(
        #[inline(always)]
        || {
            xs.iter_mut()
                .for_each(|v| *v = if *v < T::zero() { T::zero() } else { *v })
        },
    );
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

/// [`relu_gradient`] with the output gradient overwritten in place.
pub(super) fn relu_gradient_in_place<T: Element>(y: &[T], dy: &mut [T]) {
    assert_eq!(dy.len(), y.len(), "relu: lengths differ");
    on_this_cpu::<T, _>(
        #[inline(always)]
        || {
            for (d, &y) in dy.iter_mut().zip(y) {
                *d = if y <= T::zero() { T::zero() } else { *d };
            }
        },
    );
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
