//! Activation functions, as Keras defines them (`keras.activations`).
//!
//! Each is a small `Copy` value: a unit struct, or a struct holding its one parameter
//! (`LeakyRelu`, `Elu`). The derivative is computed from the activation's *output*, which every
//! function here allows, so layers need not keep their pre-activations for the backward pass.

use crate::Float;

/// Which output activations let a cross-entropy loss work on the logits (Keras's shortcut).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogitsKind {
    /// The output is `softmax(z)` over the last axis.
    Softmax,
    /// The output is `sigmoid(z)` element-wise.
    Sigmoid,
}

/// An activation applied along the rows (last axis) of a layer's output.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not an activation",
    note = "activations are Relu, LeakyRelu, Elu, Sigmoid, Tanh, Softmax and Linear"
)]
pub trait Activation: Copy + Send + Sync + core::fmt::Debug + 'static {
    /// Keras's name for it (`"relu"`, `"softmax"`, ...).
    const NAME: &'static str;

    /// Applies the activation in place to one row (the last axis of one sample).
    fn forward<T: Float>(&self, row: &mut [T]);

    /// Turns `dy` (gradient w.r.t. the output `y` of one row) into the gradient w.r.t. the input.
    fn backward<T: Float>(&self, y: &[T], dy: &mut [T]);

    /// Whether each output element depends on its own input alone (all but `Softmax`), so
    /// that a whole batch can be passed as one row.
    const ELEMENTWISE: bool = false;

    /// `forward` on every row of `width` elements of `z`: in one call when the activation is
    /// [`ELEMENTWISE`](Self::ELEMENTWISE) (one vectorised loop instead of a call per row,
    /// which for a convolution's few filters is a call per six elements), else row by row.
    fn forward_rows<T: Float>(&self, z: &mut [T], width: usize) {
        if Self::ELEMENTWISE {
            self.forward(z);
        } else {
            z.chunks_exact_mut(width).for_each(|row| self.forward(row));
        }
    }

    /// `backward` on every row of `width` elements, as [`forward_rows`](Self::forward_rows).
    fn backward_rows<T: Float>(&self, y: &[T], dy: &mut [T], width: usize) {
        if Self::ELEMENTWISE {
            self.backward(y, dy);
        } else {
            for (d, y) in dy.chunks_exact_mut(width).zip(y.chunks_exact(width)) {
                self.backward(y, d);
            }
        }
    }

    /// [`backward_rows`](Self::backward_rows) with the input gradient written to `dz`, and
    /// `dy` left as it was or overwritten. By default `backward_rows` in place, then a copy;
    /// an element-wise activation can write `dz` in the same pass.
    fn backward_rows_into<T: Float>(&self, y: &[T], dy: &mut [T], dz: &mut [T], width: usize) {
        self.backward_rows(y, dy, width);
        dz.copy_from_slice(dy);
    }

    /// `Some` when a cross-entropy loss may read this activation's input as logits.
    fn logits_kind(&self) -> Option<LogitsKind> {
        None
    }
}

/// The identity (Keras's `"linear"`, the default of `Dense`).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Linear;

impl Activation for Linear {
    const NAME: &'static str = "linear";
    const ELEMENTWISE: bool = true;
    fn forward<T: Float>(&self, _row: &mut [T]) {}
    fn backward<T: Float>(&self, _y: &[T], _dy: &mut [T]) {}
}

/// `max(x, 0)`; its gradient at 0 is 0, and a NaN stays NaN, as in TensorFlow (`x < 0 ? 0 :
/// x`).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Relu;

impl Activation for Relu {
    const NAME: &'static str = "relu";
    const ELEMENTWISE: bool = true;
    fn forward<T: Float>(&self, row: &mut [T]) {
        T::relu(row);
    }
    fn backward<T: Float>(&self, y: &[T], dy: &mut [T]) {
        T::relu_gradient_in_place(y, dy);
    }
    fn backward_rows_into<T: Float>(&self, y: &[T], dy: &mut [T], dz: &mut [T], _: usize) {
        T::relu_gradient(y, dy, dz);
    }
}

/// `x` for `x > 0`, else `alpha * x`; Keras's `LeakyReLU` layer defaults to `alpha = 0.3`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LeakyRelu {
    /// The slope for negative inputs (non-negative).
    pub alpha: f64,
}

impl LeakyRelu {
    /// A leaky ReLU with the given negative slope.
    pub const fn new(alpha: f64) -> Self {
        Self { alpha }
    }
}

impl Default for LeakyRelu {
    fn default() -> Self {
        Self::new(0.3)
    }
}

impl Activation for LeakyRelu {
    const NAME: &'static str = "leaky_relu";
    const ELEMENTWISE: bool = true;
    fn forward<T: Float>(&self, row: &mut [T]) {
        let a = T::of(self.alpha);
        row.iter_mut().for_each(|v| {
            if *v <= T::zero() {
                *v *= a
            }
        });
    }
    fn backward<T: Float>(&self, y: &[T], dy: &mut [T]) {
        let a = T::of(self.alpha);
        for (d, &y) in dy.iter_mut().zip(y) {
            *d = if y <= T::zero() { *d * a } else { *d };
        }
    }
}

/// `x` for `x > 0`, else `alpha * (exp(x) - 1)`; `alpha = 1.0` by default.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Elu {
    /// The scale of the negative part (positive).
    pub alpha: f64,
}

impl Elu {
    /// An ELU with the given `alpha`.
    pub const fn new(alpha: f64) -> Self {
        Self { alpha }
    }
}

impl Default for Elu {
    fn default() -> Self {
        Self::new(1.0)
    }
}

impl Activation for Elu {
    const NAME: &'static str = "elu";
    const ELEMENTWISE: bool = true;
    fn forward<T: Float>(&self, row: &mut [T]) {
        let a = T::of(self.alpha);
        row.iter_mut().for_each(|v| {
            if *v <= T::zero() {
                *v = a * v.exp_m1()
            }
        });
    }
    fn backward<T: Float>(&self, y: &[T], dy: &mut [T]) {
        // For x <= 0, d/dx alpha * (e^x - 1) = alpha * e^x = y + alpha.
        let a = T::of(self.alpha);
        for (d, &y) in dy.iter_mut().zip(y) {
            *d = if y <= T::zero() { *d * (y + a) } else { *d };
        }
    }
}

/// `1 / (1 + exp(-x))`.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Sigmoid;

impl Activation for Sigmoid {
    const NAME: &'static str = "sigmoid";
    const ELEMENTWISE: bool = true;
    fn forward<T: Float>(&self, row: &mut [T]) {
        row.iter_mut().for_each(|v| *v = sigmoid(*v));
    }
    fn backward<T: Float>(&self, y: &[T], dy: &mut [T]) {
        for (d, &y) in dy.iter_mut().zip(y) {
            *d = *d * y * (T::one() - y);
        }
    }
    fn logits_kind(&self) -> Option<LogitsKind> {
        Some(LogitsKind::Sigmoid)
    }
}

/// The logistic function, written to avoid overflow for large `|x|`.
pub(crate) fn sigmoid<T: Float>(x: T) -> T {
    if x >= T::zero() {
        T::one() / (T::one() + (-x).exp())
    } else {
        let e = x.exp();
        e / (T::one() + e)
    }
}

/// The hyperbolic tangent.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Tanh;

impl Activation for Tanh {
    const NAME: &'static str = "tanh";
    const ELEMENTWISE: bool = true;
    fn forward<T: Float>(&self, row: &mut [T]) {
        T::tanh_in_place(row);
    }
    fn backward<T: Float>(&self, y: &[T], dy: &mut [T]) {
        for (d, &y) in dy.iter_mut().zip(y) {
            *d *= T::one() - y * y;
        }
    }
}

/// Softmax over the last axis, max-subtracted for stability.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Softmax;

/// [`Softmax`] of one row in place; returns the sum of `exp(z - max)` it divided by, which a
/// cross-entropy on the logits reuses (`ln` of it is the row's log-sum-exp, less `max`).
pub(crate) fn softmax_row<T: Float>(row: &mut [T]) -> T {
    let max = row.iter().copied().fold(T::neg_infinity(), T::max);
    let mut sum = T::zero();
    for v in row.iter_mut() {
        *v = (*v - max).exp();
        sum += *v;
    }
    row.iter_mut().for_each(|v| *v /= sum);
    sum
}

impl Activation for Softmax {
    const NAME: &'static str = "softmax";
    fn forward<T: Float>(&self, row: &mut [T]) {
        softmax_row(row);
    }
    fn backward<T: Float>(&self, y: &[T], dy: &mut [T]) {
        // Jacobian-vector product: dx = y * (dy - <dy, y>).
        let dot: T = y.iter().zip(dy.iter()).map(|(&y, &d)| y * d).sum();
        for (d, &y) in dy.iter_mut().zip(y) {
            *d = y * (*d - dot);
        }
    }
    fn logits_kind(&self) -> Option<LogitsKind> {
        Some(LogitsKind::Softmax)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Checks `backward` against central differences of `forward`, in f64, on one row.
    fn gradient_check<A: Activation>(act: A, x: &[f64]) {
        let n = x.len();
        let mut y = x.to_vec();
        act.forward(&mut y);
        // A fixed, uneven upstream gradient so that every output matters.
        let up: Vec<f64> = (0..n).map(|i| 0.3 + 0.7 * i as f64).collect();
        let mut dx = up.clone();
        act.backward(&y, &mut dx);
        // Over two rows, the gradient written elsewhere is the one computed in place.
        let (y2, up2) = (
            [y.clone(), y.clone()].concat(),
            [up.clone(), up.clone()].concat(),
        );
        let mut in_place = up2.clone();
        act.backward_rows(&y2, &mut in_place, n);
        let mut into = vec![f64::NAN; 2 * n];
        act.backward_rows_into(&y2, &mut up2.clone(), &mut into, n);
        assert_eq!(into, in_place, "{}: backward_rows_into", A::NAME);
        assert_eq!(in_place[..n], dx[..], "{}: backward_rows", A::NAME);
        let h = 1e-6;
        for i in 0..n {
            let f = |delta: f64| {
                let mut z = x.to_vec();
                z[i] += delta;
                act.forward(&mut z);
                z.iter().zip(&up).map(|(a, b)| a * b).sum::<f64>()
            };
            let numeric = (f(h) - f(-h)) / (2.0 * h);
            assert!(
                (numeric - dx[i]).abs() < 1e-6 * (1.0 + numeric.abs()),
                "{}: d/dx[{i}] analytic {} numeric {numeric}",
                A::NAME,
                dx[i]
            );
        }
    }

    const X: [f64; 6] = [-2.1, -0.7, -0.05, 0.13, 0.9, 3.2];

    #[test]
    fn every_activation_passes_a_finite_difference_check() {
        gradient_check(Linear, &X);
        gradient_check(Relu, &X);
        gradient_check(LeakyRelu::default(), &X);
        gradient_check(LeakyRelu::new(0.05), &X);
        gradient_check(Elu::default(), &X);
        gradient_check(Elu::new(0.4), &X);
        gradient_check(Sigmoid, &X);
        gradient_check(Tanh, &X);
        gradient_check(Softmax, &X);
    }

    #[test]
    fn values_match_keras_definitions() {
        let mut r = [-1.0f64, 0.0, 2.0];
        LeakyRelu::default().forward(&mut r);
        assert_eq!(r, [-0.3, 0.0, 2.0]);
        let mut e = [-1.0f64, 1.0];
        Elu::default().forward(&mut e);
        assert!((e[0] - ((-1.0f64).exp() - 1.0)).abs() < 1e-15 && e[1] == 1.0);
        let mut s = [1000.0f64, 1000.0, -1000.0];
        Softmax.forward(&mut s);
        assert_eq!(s, [0.5, 0.5, 0.0]);
        assert_eq!(sigmoid(-800.0f64), 0.0);
        assert_eq!(sigmoid(800.0f64), 1.0);
    }
}
