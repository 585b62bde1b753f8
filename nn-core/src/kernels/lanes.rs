//! A vector register in plain Rust, for tests: `N` lanes of `T`, one loop per operation.
//!
//! The kernels are generic over [`Vector`], and the AVX-512 instantiations differ from the
//! AVX2 ones in lane count (16 `f32`, 8 `f64`) and in the tile shapes picked for 32 registers.
//! On a CPU without AVX-512 those instantiations never run, so the kernels' tests also run the
//! same generic code over `Lanes<f32, 16>` and `Lanes<f64, 8>`: every index, tail and partial
//! register of the 16-lane paths is then checked against the naive product on any machine.
//! The AVX2 shapes run emulated as well, for the access checks below.
//! What this leaves untested is only the one intrinsic per method in [`super::simd`].
//!
//! Inside [`checked`], every register load and store is also checked against the operands'
//! memory, so a kernel that reads a whole register past the end of a matrix (which on real
//! hardware goes unnoticed until it crosses into an unmapped page) fails its test.

use core::cell::RefCell;
use core::ops::Range;

use super::simd::{Realign, Vector};
use super::Element;

std::thread_local! {
    /// The address ranges registers may touch while [`checked`] runs; empty otherwise.
    static BOUNDS: RefCell<Vec<Range<usize>>> = const { RefCell::new(Vec::new()) };
}

/// The memory of `slice`, for [`checked`].
pub(crate) fn span<T>(slice: &[T]) -> Range<usize> {
    let start = slice.as_ptr() as usize;
    start..start + core::mem::size_of_val(slice)
}

/// Runs `f` with every access of a [`Lanes`] register required to lie within one of `spans`.
pub(crate) fn checked<R>(spans: &[Range<usize>], f: impl FnOnce() -> R) -> R {
    BOUNDS.with(|b| *b.borrow_mut() = spans.to_vec());
    let result = f();
    BOUNDS.with(|b| b.borrow_mut().clear());
    result
}

/// Panics if `count` elements from `p` leave every span of [`checked`] (when it runs).
fn check_access<T>(p: *const T, count: usize, what: &str) {
    let (start, end) = (p as usize, p as usize + count * core::mem::size_of::<T>());
    BOUNDS.with(|b| {
        let bounds = b.borrow();
        assert!(
            bounds.is_empty() || bounds.iter().any(|s| s.start <= start && end <= s.end),
            "{what} of {count} lanes at {start:#x} leaves the operands {bounds:x?}"
        );
    });
}

/// `N` lanes of `T` in an array.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Lanes<T, const N: usize>([T; N]);

/// AVX-512's register shapes: 16 `f32` or 8 `f64` lanes.
pub(crate) type Like512F32 = Lanes<f32, 16>;
pub(crate) type Like512F64 = Lanes<f64, 8>;
/// AVX2's register shapes: 8 `f32` or 4 `f64` lanes (run emulated for the access checks).
pub(crate) type Like256F32 = Lanes<f32, 8>;
pub(crate) type Like256F64 = Lanes<f64, 4>;

// SAFETY: plain array arithmetic; pointers are read and written for the lanes named.
unsafe impl<T: Element, const N: usize> Vector for Lanes<T, N> {
    type Elem = T;
    const LANES: usize = N;
    unsafe fn zero() -> Self {
        Lanes([T::zero(); N])
    }
    unsafe fn splat(x: T) -> Self {
        Lanes([x; N])
    }
    unsafe fn load(p: *const T) -> Self {
        // SAFETY: this function's contract, which its caller upholds.
        unsafe {
            check_access(p, N, "a load");
            Lanes(core::array::from_fn(|i| *p.add(i)))
        }
    }
    unsafe fn store(self, p: *mut T) {
        // SAFETY: this function's contract, which its caller upholds.
        unsafe {
            check_access(p, N, "a store");
            self.0.iter().enumerate().for_each(|(i, &v)| *p.add(i) = v);
        }
    }
    unsafe fn mul_add(a: Self, b: Self, c: Self) -> Self {
        Lanes(core::array::from_fn(|i| a.0[i].mul_add(b.0[i], c.0[i])))
    }
    unsafe fn add(a: Self, b: Self) -> Self {
        Lanes(core::array::from_fn(|i| a.0[i] + b.0[i]))
    }
    unsafe fn max(a: Self, b: Self) -> Self {
        Lanes(core::array::from_fn(|i| {
            if a.0[i] > b.0[i] {
                a.0[i]
            } else {
                b.0[i]
            }
        }))
    }
    unsafe fn relu_gate(y: Self, d: Self) -> Self {
        Lanes(core::array::from_fn(|i| {
            if y.0[i] <= T::zero() {
                T::zero()
            } else {
                d.0[i]
            }
        }))
    }
    unsafe fn load_partial(p: *const T, count: usize) -> Self {
        // SAFETY: this function's contract, which its caller upholds.
        unsafe {
            assert!(count < N, "a partial load takes fewer than {N} lanes");
            check_access(p, count, "a partial load");
            Lanes(core::array::from_fn(|i| {
                if i < count {
                    *p.add(i)
                } else {
                    T::zero()
                }
            }))
        }
    }
    unsafe fn store_partial(self, p: *mut T, count: usize) {
        // SAFETY: this function's contract, which its caller upholds.
        unsafe {
            assert!(count < N, "a partial store takes fewer than {N} lanes");
            check_access(p, count, "a partial store");
            self.0[..count]
                .iter()
                .enumerate()
                .for_each(|(i, &v)| *p.add(i) = v);
        }
    }
}

// SAFETY: plain array arithmetic; only the lanes named are read.
unsafe impl<T: Element, const N: usize> Realign for Lanes<T, N> {
    unsafe fn load_lanes(p: *const T, from: usize, to: usize) -> Self {
        assert!(from <= to && to <= N, "lanes {from}..{to} of {N}");
        // SAFETY: this function's contract, which its caller upholds.
        unsafe {
            if to > from {
                check_access(p.wrapping_add(from), to - from, "a masked load");
            }
            Lanes(core::array::from_fn(|i| {
                if (from..to).contains(&i) {
                    *p.wrapping_add(i)
                } else {
                    T::zero()
                }
            }))
        }
    }
    unsafe fn realign(lo: Self, hi: Self, shift: usize) -> Self {
        assert!(shift < N, "a shift of {shift} lanes of {N}");
        Lanes(core::array::from_fn(|i| {
            let j = i + shift;
            if j < N {
                lo.0[j]
            } else {
                hi.0[j - N]
            }
        }))
    }
}

#[cfg(all(test, feature = "std", target_arch = "x86_64"))]
mod tests {
    use super::*;
    use crate::kernels::Isa;

    /// The emulation stands in for real registers only if it behaves like one: every method
    /// of `Lanes<f32, 8>` against the AVX2 register, including which lanes a partial load
    /// zeroes and which a partial store leaves alone.
    #[test]
    fn lanes_behave_like_the_avx2_register() {
        if !Isa::available().any(|isa| isa == Isa::Avx2Fma) {
            return; // no AVX2 here: nothing to compare with
        }
        // SAFETY: AVX2 + FMA checked above.
        unsafe { compare::<<f32 as Element>::Avx2>() }
    }

    #[target_feature(enable = "avx2,fma")]
    unsafe fn compare<V: Vector<Elem = f32>>() {
        // SAFETY: this function's contract, which its caller upholds.
        unsafe {
            let xs: Vec<f32> = (0..8).map(|i| i as f32 * 1.5 - 4.0).collect();
            let ys: Vec<f32> = (0..8).map(|i| 3.0 - i as f32 * 0.25).collect();
            let run = |out: &mut [f32; 8], f: &dyn Fn(*mut f32)| {
                *out = [f32::NAN; 8];
                f(out.as_mut_ptr());
            };
            let (mut real, mut emulated) = ([0.0; 8], [0.0; 8]);
            let check = |real: &[f32; 8], emulated: &[f32; 8], what: &str| {
                assert_eq!(
                    real.map(f32::to_bits),
                    emulated.map(f32::to_bits),
                    "{what}: {real:?} vs {emulated:?}"
                );
            };
            type L = Lanes<f32, 8>;
            let (x, y) = (xs.as_ptr(), ys.as_ptr());
            run(&mut real, &|p| {
                V::mul_add(V::load(x), V::load(y), V::splat(0.5)).store(p)
            });
            run(&mut emulated, &|p| {
                L::mul_add(L::load(x), L::load(y), L::splat(0.5)).store(p)
            });
            check(&real, &emulated, "mul_add");
            run(&mut real, &|p| V::add(V::load(x), V::zero()).store(p));
            run(&mut emulated, &|p| L::add(L::load(x), L::zero()).store(p));
            check(&real, &emulated, "add");
            // The gate on each kind of `y`: negative, both zeros, NaN, positive, infinities.
            let gates = [
                -1.5,
                -0.0,
                0.0,
                f32::NAN,
                2.0,
                f32::INFINITY,
                f32::NEG_INFINITY,
                1e-30,
            ];
            let g = gates.as_ptr();
            run(&mut real, &|p| {
                V::relu_gate(V::load(g), V::load(y)).store(p)
            });
            run(&mut emulated, &|p| {
                L::relu_gate(L::load(g), L::load(y)).store(p)
            });
            check(&real, &emulated, "relu_gate");
            let want = [0.0, 0.0, 0.0, ys[3], ys[4], ys[5], 0.0, ys[7]];
            assert_eq!(
                real.map(f32::to_bits),
                want.map(f32::to_bits),
                "relu_gate's lanes"
            );
            for count in 0..8 {
                run(&mut real, &|p| V::load_partial(x, count).store(p));
                run(&mut emulated, &|p| L::load_partial(x, count).store(p));
                check(&real, &emulated, "load_partial");
                run(&mut real, &|p| V::load(y).store_partial(p, count));
                run(&mut emulated, &|p| L::load(y).store_partial(p, count));
                check(&real, &emulated, "store_partial");
            }
        }
    }
}
