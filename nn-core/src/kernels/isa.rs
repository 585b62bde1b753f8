//! Which vector instruction set the kernels run on, chosen once at run time.
//!
//! The default build targets baseline x86-64 (SSE2), so the fast paths are compiled separately
//! with `#[target_feature]` and picked here from what the CPU reports. Each kernel is written
//! once, generically over its tile width, and instantiated per instruction set; see
//! `gemv.rs` for the pattern.

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

impl Isa {
    /// The best instruction set this CPU supports. Without `std` there is no run-time
    /// detection (and no hardware `mul_add`), so the portable kernels run.
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
                    let isa = if avx2_fma && std::is_x86_feature_detected!("avx512f") {
                        Isa::Avx512
                    } else if avx2_fma {
                        Isa::Avx2Fma
                    } else {
                        Isa::Portable
                    };
                    BEST.store(1 + isa.rank(), Ordering::Relaxed);
                    isa
                }
                known => Isa::ALL[usize::from(known - 1)],
            }
        }
        #[cfg(not(all(feature = "std", target_arch = "x86_64")))]
        Isa::Portable
    }

    /// Every instruction set this CPU can run, best first (tests compare them all).
    pub fn available() -> impl Iterator<Item = Isa> {
        let best = Isa::detect();
        Isa::ALL
            .into_iter()
            .rev()
            .filter(move |&isa| isa.rank() <= best.rank())
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
