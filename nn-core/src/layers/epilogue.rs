//! The bias-and-activation step that ends `Dense` and `Conv2D`, and its backward pass.
//!
//! Both layers compute `z = (something) · kernel + bias` as rows of `width` units (one row per
//! sample for `Dense`, per output position for `Conv2D`), then `y = act(z)` row by row.

use super::Upstream;
use crate::activation::{softmax_row, Activation, LogitsKind};
use crate::Float;

/// Adds `bias` to every row of `z` (rows of `W`), then [`activate`]s it.
pub(crate) fn finish_forward<T: Float, A: Activation, const W: usize>(
    z: &mut [T],
    bias: &[T],
    activation: &A,
    logits: Option<&mut [T]>,
) {
    add_bias::<T, W>(z, bias);
    activate(z, W, activation, logits);
}

/// Adds `bias` (`W` elements) to every row of `z`. Narrow rows are added four at a time from
/// the bias repeated four times, so the loop runs over whole registers instead of six lanes.
fn add_bias<T: Float, const W: usize>(z: &mut [T], bias: &[T]) {
    let bias = &bias[..W];
    let mut rest = z;
    if W <= NARROW_BIAS {
        let repeated = [core::array::from_fn::<T, W, _>(|j| bias[j]); 4];
        let repeated = repeated.as_flattened();
        let mut quads = rest.chunks_exact_mut(4 * W);
        for quad in &mut quads {
            quad.iter_mut().zip(repeated).for_each(|(v, &b)| *v += b);
        }
        rest = quads.into_remainder();
    }
    for row in rest.chunks_exact_mut(W) {
        T::add_into(row, bias);
    }
}

/// Copies the pre-activation `z` into `logits` when given (the cross-entropy shortcut needs
/// it), then applies `activation` in place to each row of `width` units. A softmax whose
/// `logits` hold one more element per row after the logits leaves each row's sum of
/// exponentials there ([`super::Logits::row_sums`]).
pub(crate) fn activate<T: Float, A: Activation>(
    z: &mut [T],
    width: usize,
    activation: &A,
    logits: Option<&mut [T]>,
) {
    if let Some(logits) = logits.filter(|l| !l.is_empty()) {
        let (values, sums) = logits.split_at_mut(z.len());
        values.copy_from_slice(z);
        // A softmax's logits may have room after them for each row's sum (`Dense`'s cache).
        if !sums.is_empty() && activation.logits_kind() == Some(LogitsKind::Softmax) {
            for (row, sum) in z.chunks_exact_mut(width).zip(sums) {
                *sum = softmax_row(row);
            }
            return;
        }
    }
    activation.forward_rows(z, width);
}

/// Whether `A` is [`Relu`](crate::Relu), which a packed product applies to each tile it
/// stores ([`crate::kernels::PackedB::multiply_then`]). Decided when the layer's code is
/// compiled: the comparison of two constant type ids folds away.
#[cfg(feature = "std")]
pub(crate) fn is_relu<A: Activation>() -> bool {
    core::any::TypeId::of::<A>() == core::any::TypeId::of::<crate::Relu>()
}

/// The gradient w.r.t. the pre-activation `z` (rows of `width`), computed in place from the
/// gradient w.r.t. the output `y`, or taken as given when it already is w.r.t. the logits.
pub(crate) fn pre_activation_gradient<'a, T: Float, A: Activation>(
    upstream: Upstream<'a, T>,
    y: &[T],
    activation: &A,
    width: usize,
) -> &'a [T] {
    match upstream {
        Upstream::Logits(dz) => dz,
        Upstream::Output(dy) => {
            activation.backward_rows(y, dy, width);
            dy
        }
    }
}

/// [`pre_activation_gradient`] written to `dz`: the gradient w.r.t. the output turned into
/// it in one pass where the activation can ([`Activation::backward_rows_into`]), or the
/// gradient w.r.t. the logits copied. `upstream` may be overwritten.
#[cfg(feature = "std")]
pub(crate) fn pre_activation_gradient_into<T: Float, A: Activation>(
    upstream: Upstream<'_, T>,
    y: &[T],
    activation: &A,
    width: usize,
    dz: &mut [T],
) {
    match upstream {
        Upstream::Logits(g) => dz.copy_from_slice(g),
        Upstream::Output(dy) => activation.backward_rows_into(y, dy, dz, width),
    }
}

/// The bias gradient: the column sums of `dz`, rows of `W`.
///
/// Narrow rows (a convolution's few filters) are summed four rows at a time into separate sums
/// held in registers, where a plain loop would load and store the `W` sums for every row.
pub(crate) fn bias_gradient<T: Float, const W: usize>(dz: &[T], g_bias: &mut [T]) {
    let g_bias = &mut g_bias[..W];
    if W > NARROW_BIAS {
        g_bias.iter_mut().for_each(|g| *g = T::zero());
        for row in dz.chunks_exact(W) {
            T::add_into(g_bias, row);
        }
        return;
    }
    let mut sums = [[T::zero(); W]; 4];
    let mut quads = dz.chunks_exact(4 * W);
    for quad in &mut quads {
        for (sum, row) in sums.iter_mut().zip(quad.chunks_exact(W)) {
            sum.iter_mut().zip(row).for_each(|(s, &d)| *s += d);
        }
    }
    for row in quads.remainder().chunks_exact(W) {
        sums[0].iter_mut().zip(row).for_each(|(s, &d)| *s += d);
    }
    for (j, g) in g_bias.iter_mut().enumerate() {
        *g = (sums[0][j] + sums[1][j]) + (sums[2][j] + sums[3][j]);
    }
}

/// The widest rows [`bias_gradient`] sums in registers and [`add_bias`] adds four at a time.
const NARROW_BIAS: usize = 32;
