//! The bias-and-activation step that ends `Dense` and `Conv2D`, and its backward pass.
//!
//! Both layers compute `z = (something) · kernel + bias` as rows of `width` units (one row per
//! sample for `Dense`, per output position for `Conv2D`), then `y = act(z)` row by row.

use super::Upstream;
use crate::activation::Activation;
use crate::Float;

/// Adds `bias` to every row of `z`, then [`activate`]s it.
pub(crate) fn finish_forward<T: Float, A: Activation>(
    z: &mut [T],
    bias: &[T],
    activation: &A,
    logits: Option<&mut [T]>,
) {
    let width = bias.len();
    for row in z.chunks_exact_mut(width) {
        row.iter_mut().zip(bias).for_each(|(v, &b)| *v += b);
    }
    activate(z, width, activation, logits);
}

/// Copies the pre-activation `z` into `logits` when given (the cross-entropy shortcut needs
/// it), then applies `activation` in place to each row of `width` units.
pub(crate) fn activate<T: Float, A: Activation>(
    z: &mut [T],
    width: usize,
    activation: &A,
    logits: Option<&mut [T]>,
) {
    if let Some(logits) = logits.filter(|l| !l.is_empty()) {
        logits.copy_from_slice(z);
    }
    if z.len() == width {
        // One sample (every single-sample prediction): no division into rows.
        activation.forward(z);
    } else {
        z.chunks_exact_mut(width)
            .for_each(|row| activation.forward(row));
    }
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
            for (d, y) in dy.chunks_exact_mut(width).zip(y.chunks_exact(width)) {
                activation.backward(y, d);
            }
            dy
        }
    }
}

/// The bias gradient: the column sums of `dz`.
pub(crate) fn bias_gradient<T: Float>(dz: &[T], g_bias: &mut [T]) {
    g_bias.iter_mut().for_each(|g| *g = T::zero());
    for row in dz.chunks_exact(g_bias.len()) {
        g_bias.iter_mut().zip(row).for_each(|(g, &d)| *g += d);
    }
}
