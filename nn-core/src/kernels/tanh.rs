//! A vectorisable `tanh` for `f32` rows (the `Tanh` activation's forward pass).
//!
//! The standard library's `tanhf` is a scalar libm call; for a small model it costs
//! more than the matrix products. This is Eigen's rational approximation (the one TensorFlow
//! uses on CPU): an odd degree-13 over an even degree-6 polynomial on `[-7.905, 7.905]`, exact
//! to a few ulp, with `x` returned as is for `|x| < 4e-4`. It is branch-free, so the loop
//! vectorises; it is compiled for AVX2 + FMA as well as the baseline and picked at run time
//! (the two differ by rounding only).

use super::isa::{Isa, Kernel};
use super::simd::Vector;

/// Replaces every element of `xs` by its hyperbolic tangent (NaN stays NaN).
pub fn tanh_f32(xs: &mut [f32]) {
    // SAFETY: the detected instruction set is this CPU's; the loop has no contract of its own.
    unsafe { Isa::detect().run(Tanh(xs)) }
}

/// [`tanh_f32`] as a [`Kernel`]: one loop the compiler vectorises, with fused multiply-adds
/// where the instruction set has them.
struct Tanh<'a>(&'a mut [f32]);

impl Kernel<f32> for Tanh<'_> {
    type Output = ();

    #[inline(always)]
    unsafe fn avx2<V: Vector<Elem = f32>>(self) {
        self.0.iter_mut().for_each(|v| *v = tanh_with::<true>(*v));
    }

    #[inline(always)]
    unsafe fn portable(self) {
        self.0.iter_mut().for_each(|v| *v = tanh(*v));
    }
}

/// One element of [`tanh_f32`] (the portable, unfused arithmetic).
pub fn tanh(a: f32) -> f32 {
    tanh_with::<false>(a)
}

/// The approximation, with fused multiply-adds (which halve the polynomials' latency) when the
/// caller is compiled for FMA.
#[inline(always)]
#[allow(clippy::excessive_precision)] // Eigen's coefficients, as published.
fn tanh_with<const FMA: bool>(a: f32) -> f32 {
    let madd = |a: f32, b: f32, c: f32| {
        if FMA {
            num_traits::Float::mul_add(a, b, c)
        } else {
            a * b + c
        }
    };
    const CLAMP: f32 = 7.905_311_107_635_498;
    const TINY: f32 = 0.0004;
    // `clamp` keeps NaN (`min`/`max` would replace it).
    let x = a.clamp(-CLAMP, CLAMP);
    let x2 = x * x;
    let mut p = madd(x2, -2.760_768_477_423_55e-16, 2.000_187_904_824_77e-13);
    p = madd(x2, p, -8.604_671_522_137_35e-11);
    p = madd(x2, p, 5.122_297_090_371_14e-8);
    p = madd(x2, p, 1.485_722_357_179_79e-5);
    p = madd(x2, p, 6.372_619_288_754_36e-4);
    p = madd(x2, p, 4.893_524_558_917_86e-3);
    p *= x;
    let mut q = madd(x2, 1.198_258_394_667_02e-6, 1.185_347_056_866_54e-4);
    q = madd(x2, q, 2.268_434_632_439e-3);
    q = madd(x2, q, 4.893_525_185_543_85e-3);
    // `x` rather than `a` (equal here): selecting the input unchanged lets the compiler turn
    // the loop into a masked store, which AMD Zen microcodes (a quarter of the time).
    if a.abs() < TINY {
        x
    } else {
        p / q
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tanh_is_within_a_few_ulp_of_the_exact_value() {
        let xs: Vec<f32> = (0..64_865).map(|i| -12.0 + i as f32 * 0.000_37).collect();
        let mut fast = xs.clone();
        tanh_f32(&mut fast);
        for (results, what) in [
            (xs.iter().map(|&x| tanh(x)).collect(), "scalar"),
            (fast, "vector"),
        ] {
            let worst = xs
                .iter()
                .zip(&results)
                .map(|(&x, &got): (&f32, &f32)| {
                    let want = (x as f64).tanh();
                    (got as f64 - want).abs() / want.abs().clamp(1e-30, 1.0)
                })
                .fold(0.0, f64::max);
            assert!(worst < 4e-7, "{what}: worst relative error {worst}");
        }
    }

    #[test]
    fn special_values() {
        assert_eq!(tanh(0.0), 0.0);
        assert_eq!(tanh(1e-5), 1e-5);
        assert!(tanh(f32::NAN).is_nan());
        assert!((tanh(f32::INFINITY) - 1.0).abs() < 1e-6);
        assert!((tanh(f32::NEG_INFINITY) + 1.0).abs() < 1e-6);
        assert_eq!(tanh(-0.7), -tanh(0.7));
    }

    #[test]
    fn the_vector_path_agrees_with_the_scalar_function() {
        let xs: Vec<f32> = (0..1001).map(|i| (i as f32 - 500.0) * 0.013).collect();
        let mut ys = xs.clone();
        ys.push(f32::NAN);
        tanh_f32(&mut ys);
        for (x, y) in xs.iter().zip(&ys) {
            assert!((*y - tanh(*x)).abs() <= 6e-7, "{x}: {y} vs {}", tanh(*x));
        }
        assert!(ys[1001].is_nan());
    }
}
