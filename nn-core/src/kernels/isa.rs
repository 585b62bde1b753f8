//! Which vector instruction set the kernels run on, chosen once at run time, and the one way
//! a kernel is run on it.
//!
//! The default build targets baseline x86-64 (SSE2), so the fast paths are compiled separately
//! with `#[target_feature]` and picked here from what the CPU reports. Each kernel is written
//! once over the register type ([`Vector`]) as a [`Kernel`], and [`Isa::run`] runs it inside
//! the one function here compiled for the chosen set: the only `#[target_feature]` sites of the
//! kernels. Everything the body calls is `#[inline(always)]`, so it is compiled into that
//! function with the set's instructions (a call to a function not inlined would run the
//! baseline's code).

use super::element::{Realign, Vector};
use super::Element;

/// A kernel written once, with a body per kind of instruction set. Implementations mark each
/// method `#[inline(always)]`, so that the body is compiled into [`Isa::run`]'s function for
/// the set.
pub(crate) trait Kernel<T: Element>: Sized {
    /// What the kernel returns.
    type Output;

    /// The body on AVX-512's 32 registers `V`, which can also realign rows (see
    /// [`Realign`]). By default the AVX2 body, which suits loops the compiler vectorises itself;
    /// register-tiled kernels choose their own tiles here.
    ///
    /// # Safety
    /// `V`'s instruction set is enabled, and the kernel's own contract holds.
    #[inline(always)]
    unsafe fn avx512<V: Realign<Elem = T>>(self) -> Self::Output {
        // SAFETY: this function's contract, which its caller upholds.
        unsafe { self.avx2::<V>() }
    }

    /// The body on AVX2's 16 registers `V` (with FMA), or on AVX-512's where
    /// [`Kernel::avx512`] leaves it the job. By default the portable body, compiled here for
    /// the set: a plain loop that the compiler vectorises itself.
    ///
    /// # Safety
    /// As for [`Kernel::avx512`].
    #[inline(always)]
    unsafe fn avx2<V: Vector<Elem = T>>(self) -> Self::Output {
        // SAFETY: this function's contract, which its caller upholds.
        unsafe { self.portable() }
    }

    /// The body without vector intrinsics: the portable build, or a CPU without AVX2 + FMA
    /// (and, by default, every instruction set's, compiled for it). Marked
    /// `#[inline(always)]` where it is that default.
    ///
    /// # Safety
    /// The kernel's own contract.
    unsafe fn portable(self) -> Self::Output;
}

/// A body with nothing to choose per instruction set, as a [`Kernel`]: compiled into each
/// set's function, where the compiler vectorises its loops for that set's registers.
struct Compiled<F>(F);

impl<T: Element, R, F: FnOnce() -> R> Kernel<T> for Compiled<F> {
    type Output = R;

    #[inline(always)]
    unsafe fn portable(self) -> R {
        (self.0)()
    }
}

/// Runs `body` compiled for this CPU's widest instruction set. Callers mark the closure
/// `#[inline(always)]`, and what it calls too, so that all of it is compiled there (the
/// baseline build would run it on SSE2's 4 lanes).
#[inline(always)]
pub(crate) fn on_this_cpu<T: Element, R>(body: impl FnOnce() -> R) -> R {
    // SAFETY: the detected instruction set is this CPU's; a body without intrinsics has no
    // contract of its own.
    unsafe { Isa::detect().run::<T, _>(Compiled(body)) }
}

/// The instruction sets the kernels are compiled for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Isa {
    /// x86-64 with AVX-512F (512-bit vectors, fused multiply-add), and with AVX2 and FMA as
    /// well (every AVX-512 CPU has them), so code for `Avx2Fma` runs here too.
    Avx512,
    /// x86-64 with AVX2 and FMA (256-bit vectors, fused multiply-add).
    Avx2Fma,
    /// Anything else: plain multiply and add, vectorised for the compilation target.
    Portable,
}

/// The environment variable that caps the instruction set the kernels use: `avx512`, `avx2` or
/// `portable`, as oneDNN's `ONEDNN_MAX_CPU_ISA` does, so that one machine can measure and test
/// the code an older CPU would run. A cap above what the CPU has changes nothing; other names
/// (`avx2fma`, oneDNN's `avx512_core`) are ignored. Read once, when a model is first created
/// or a kernel first runs.
#[cfg(feature = "std")]
pub const MAX_ISA_ENV: &str = "TYPED_NN_MAX_ISA";

impl Isa {
    /// The best instruction set this CPU supports, capped by `TYPED_NN_MAX_ISA` when that
    /// names one (any other value is ignored, as `TYPED_NN_THREADS` ignores one that is not a
    /// count). Without `std` there is no run-time detection (and no hardware `mul_add`), so
    /// the portable kernels run.
    #[inline]
    pub fn detect() -> Isa {
        #[cfg(all(feature = "std", target_arch = "x86_64"))]
        {
            use core::sync::atomic::{AtomicU8, Ordering};
            // Asked once per process: small models call this several times per prediction.
            // Holds `rank + 1` once known, 0 before.
            static BEST: AtomicU8 = AtomicU8::new(0);
            match BEST.load(Ordering::Relaxed) {
                0 => {
                    let avx2_fma = std::is_x86_feature_detected!("avx2")
                        && std::is_x86_feature_detected!("fma");
                    let found = if avx2_fma && std::is_x86_feature_detected!("avx512f") {
                        Isa::Avx512
                    } else if avx2_fma {
                        Isa::Avx2Fma
                    } else {
                        Isa::Portable
                    };
                    let cap = std::env::var(MAX_ISA_ENV).ok();
                    let isa = found.capped(cap.as_deref().and_then(Isa::named));
                    BEST.store(1 + isa.rank(), Ordering::Relaxed);
                    isa
                }
                known => Isa::ALL[usize::from(known - 1)],
            }
        }
        #[cfg(not(all(feature = "std", target_arch = "x86_64")))]
        Isa::Portable
    }

    /// Runs `kernel`'s body for this instruction set, compiled for it.
    ///
    /// # Safety
    /// This CPU has the instruction set (it is [`Isa::detect`] or one of [`Isa::available`]),
    /// and `kernel`'s own contract holds.
    #[inline]
    pub(crate) unsafe fn run<T: Element, K: Kernel<T>>(self, kernel: K) -> K::Output {
        // SAFETY: this function's contract, which its caller upholds.
        unsafe {
            match self {
                #[cfg(all(feature = "std", target_arch = "x86_64"))]
                Isa::Avx512 => on_avx512(kernel),
                #[cfg(all(feature = "std", target_arch = "x86_64"))]
                Isa::Avx2Fma => on_avx2(kernel),
                _ => kernel.portable(),
            }
        }
    }

    /// Lanes of `T` per register on this instruction set; `None` for the portable build, which
    /// has no vector kernels.
    #[cfg_attr(
        not(all(feature = "std", target_arch = "x86_64")),
        allow(clippy::extra_unused_type_parameters)
    )]
    pub(crate) fn lanes<T: Element>(self) -> Option<usize> {
        match self {
            #[cfg(all(feature = "std", target_arch = "x86_64"))]
            Isa::Avx512 => Some(<T::Avx512 as Vector>::LANES),
            #[cfg(all(feature = "std", target_arch = "x86_64"))]
            Isa::Avx2Fma => Some(<T::Avx2 as Vector>::LANES),
            _ => None,
        }
    }

    /// Every instruction set this CPU can run, up to `TYPED_NN_MAX_ISA`'s cap, best first (tests
    /// compare them all).
    pub fn available() -> impl Iterator<Item = Isa> {
        let best = Isa::detect();
        Isa::ALL
            .into_iter()
            .rev()
            .filter(move |&isa| isa.rank() <= best.rank())
    }

    /// The instruction set `name` stands for in `TYPED_NN_MAX_ISA` (any case, surrounding
    /// blanks ignored).
    #[cfg(all(feature = "std", target_arch = "x86_64"))]
    fn named(name: &str) -> Option<Isa> {
        let names = [
            ("avx512", Isa::Avx512),
            ("avx2", Isa::Avx2Fma),
            ("portable", Isa::Portable),
        ];
        let name = name.trim();
        names
            .into_iter()
            .find(|(known, _)| known.eq_ignore_ascii_case(name))
            .map(|(_, isa)| isa)
    }

    /// The narrower of `self` and `cap`; `self` without a cap.
    #[cfg(all(feature = "std", target_arch = "x86_64"))]
    fn capped(self, cap: Option<Isa>) -> Isa {
        match cap {
            Some(cap) if cap.rank() < self.rank() => cap,
            _ => self,
        }
    }

    /// Every instruction set, indexed by [`Isa::rank`].
    const ALL: [Isa; 3] = [Isa::Portable, Isa::Avx2Fma, Isa::Avx512];

    /// The position in [`Isa::ALL`]: higher is wider.
    fn rank(self) -> u8 {
        match self {
            Isa::Portable => 0,
            Isa::Avx2Fma => 1,
            Isa::Avx512 => 2,
        }
    }
}

/// [`Kernel::avx512`] on `T`'s AVX-512 register, compiled for AVX-512F (which brings AVX2 and
/// FMA with it).
///
/// # Safety
/// As for [`Isa::run`] with [`Isa::Avx512`].
#[cfg(all(feature = "std", target_arch = "x86_64"))]
#[target_feature(enable = "avx512f")]
unsafe fn on_avx512<T: Element, K: Kernel<T>>(kernel: K) -> K::Output {
    // SAFETY: this function's contract, which its caller upholds.
    unsafe { kernel.avx512::<T::Avx512>() }
}

/// [`Kernel::avx2`] on `T`'s AVX2 register, compiled for AVX2 and FMA.
///
/// # Safety
/// As for [`Isa::run`] with [`Isa::Avx2Fma`].
#[cfg(all(feature = "std", target_arch = "x86_64"))]
#[target_feature(enable = "avx2,fma")]
unsafe fn on_avx2<T: Element, K: Kernel<T>>(kernel: K) -> K::Output {
    // SAFETY: this function's contract, which its caller upholds.
    unsafe { kernel.avx2::<T::Avx2>() }
}

#[cfg(all(test, feature = "std", target_arch = "x86_64"))]
mod tests {
    use super::*;

    #[test]
    fn a_cap_names_a_set_in_any_case() {
        assert_eq!(Isa::named("avx512"), Some(Isa::Avx512));
        assert_eq!(Isa::named(" AVX2\n"), Some(Isa::Avx2Fma));
        assert_eq!(Isa::named("Portable"), Some(Isa::Portable));
        for other in ["", "avx", "avx2fma", "sse2", "avx-512"] {
            assert_eq!(Isa::named(other), None, "{other:?}");
        }
    }

    #[test]
    fn a_cap_only_narrows() {
        assert_eq!(Isa::Avx512.capped(Some(Isa::Avx2Fma)), Isa::Avx2Fma);
        assert_eq!(Isa::Avx512.capped(Some(Isa::Portable)), Isa::Portable);
        assert_eq!(Isa::Avx2Fma.capped(Some(Isa::Avx512)), Isa::Avx2Fma);
        assert_eq!(Isa::Portable.capped(Some(Isa::Avx2Fma)), Isa::Portable);
        for isa in Isa::ALL {
            assert_eq!(isa.capped(None), isa);
            assert_eq!(isa.capped(Some(isa)), isa);
        }
    }
}
