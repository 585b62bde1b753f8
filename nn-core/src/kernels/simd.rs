//! A vector register as the kernels see it: load, store, broadcast, multiply-add.
//!
//! Each kernel is written once over [`Vector`] and instantiated per instruction set: [`Scalar`]
//! (one lane, plain `a * b + c`) for the portable build and the tails, and the AVX2 / AVX-512
//! registers of `f32` and `f64` on x86-64, chosen through [`Element::Avx2`]
//! and [`Element::Avx512`]. The x86 methods wrap one intrinsic each (loads and stores are plain
//! unaligned moves, see `Unaligned`); they must only run inside a function compiled with the
//! matching `#[target_feature]`.

pub use super::element::{Realign, Vector};
use super::Element;

/// One element as a one-lane "register": the portable kernels and the column tails.
#[derive(Clone, Copy, Debug)]
pub struct Scalar<T>(T);

// SAFETY: plain arithmetic; pointers are only read and written for one element.
unsafe impl<T: Element> Vector for Scalar<T> {
    type Elem = T;
    const LANES: usize = 1;
    #[inline(always)]
    unsafe fn zero() -> Self {
        Scalar(T::zero())
    }
    #[inline(always)]
    unsafe fn splat(x: T) -> Self {
        Scalar(x)
    }
    #[inline(always)]
    unsafe fn load(p: *const T) -> Self {
        // SAFETY: this function's contract, which its caller upholds.
        unsafe { Scalar(*p) }
    }
    #[inline(always)]
    unsafe fn store(self, p: *mut T) {
        // SAFETY: this function's contract, which its caller upholds.
        unsafe { *p = self.0 }
    }
    #[inline(always)]
    unsafe fn mul_add(a: Self, b: Self, c: Self) -> Self {
        Scalar(a.0 * b.0 + c.0)
    }
    #[inline(always)]
    unsafe fn add(a: Self, b: Self) -> Self {
        Scalar(a.0 + b.0)
    }
    #[inline(always)]
    unsafe fn max(a: Self, b: Self) -> Self {
        if a.0 > b.0 {
            a
        } else {
            b
        }
    }
    #[inline(always)]
    unsafe fn relu_gate(y: Self, d: Self) -> Self {
        if y.0 <= T::zero() {
            Scalar(T::zero())
        } else {
            d
        }
    }
    #[inline(always)]
    unsafe fn load_partial(_p: *const T, _count: usize) -> Self {
        Scalar(T::zero())
    }
    #[inline(always)]
    unsafe fn store_partial(self, _p: *mut T, _count: usize) {}
}

/// A register's worth of elements at any alignment: loads and stores through it compile to the
/// same unaligned moves as `_mm512_loadu_ps` and its kin. Those copy through a temporary with
/// `ptr::copy_nonoverlapping` (directly or through `read_unaligned`), which in a build with
/// debug assertions (a user's debug profile, even with the dependencies optimised) checks at
/// every load that the temporary and the source do not overlap. In the products' inner loops
/// those checks sent every loaded register through the stack and kept the sums in memory.
#[cfg(target_arch = "x86_64")]
#[repr(C, packed)]
struct Unaligned<R>(R);

/// Implements [`Vector`] for an x86 register type from its intrinsics.
#[cfg(target_arch = "x86_64")]
macro_rules! x86_vector {
    ($name:ident, $reg:ident, $elem:ty, $lanes:literal,
     $zero:ident, $splat:ident, $fmadd:ident, $add:ident, $max:ident,
     |$p:ident, $count:ident| $load_partial:expr, |$q:ident, $v:ident, $n:ident| $store_partial:expr,
     |$y:ident, $d:ident| $relu_gate:expr) => {
        #[doc = concat!("`", stringify!($reg), "`: ", stringify!($lanes), " lanes of `", stringify!($elem), "`.")]
        #[derive(Clone, Copy, Debug)]
        pub struct $name(core::arch::x86_64::$reg);

        // SAFETY: see the trait; callers guarantee the target feature and valid pointers.
        unsafe impl Vector for $name {
            type Elem = $elem;
            const LANES: usize = $lanes;
            #[inline(always)]
            unsafe fn zero() -> Self {
                // SAFETY: the `Vector` contract: this instruction set is available.
                unsafe {
                    $name(core::arch::x86_64::$zero())
                }
            }
            #[inline(always)]
            unsafe fn splat(x: $elem) -> Self {
                // SAFETY: the `Vector` contract: this instruction set is available.
                unsafe {
                    $name(core::arch::x86_64::$splat(x))
                }
            }
            #[inline(always)]
            unsafe fn load(p: *const $elem) -> Self {
                // SAFETY: the `Vector` contract: the instruction set is available, `p` valid
                // for a register's worth of elements, at any alignment (`Unaligned`).
                unsafe {
                    $name((*p.cast::<Unaligned<core::arch::x86_64::$reg>>()).0)
                }
            }
            #[inline(always)]
            unsafe fn store(self, p: *mut $elem) {
                // SAFETY: as for `load`.
                unsafe {
                    *p.cast::<Unaligned<core::arch::x86_64::$reg>>() = Unaligned(self.0);
                }
            }
            #[inline(always)]
            unsafe fn mul_add(a: Self, b: Self, c: Self) -> Self {
                // SAFETY: the `Vector` contract: this instruction set is available.
                unsafe {
                    $name(core::arch::x86_64::$fmadd(a.0, b.0, c.0))
                }
            }
            #[inline(always)]
            unsafe fn add(a: Self, b: Self) -> Self {
                // SAFETY: the `Vector` contract: this instruction set is available.
                unsafe {
                    $name(core::arch::x86_64::$add(a.0, b.0))
                }
            }
            #[inline(always)]
            unsafe fn max(a: Self, b: Self) -> Self {
                // SAFETY: the `Vector` contract: this instruction set is available.
                unsafe {
                    $name(core::arch::x86_64::$max(a.0, b.0))
                }
            }
            #[inline(always)]
            unsafe fn relu_gate(y: Self, d: Self) -> Self {
                // SAFETY: the `Vector` contract: this instruction set is available.
                unsafe {
                    #[allow(unused_imports)]
                    use core::arch::x86_64::*;
                    let ($y, $d) = (y.0, d.0);
                    $name($relu_gate)
                }
            }
            #[inline(always)]
            unsafe fn load_partial($p: *const $elem, $count: usize) -> Self {
                // SAFETY: the `Vector` contract: the instruction set is available, the pointer valid.
                unsafe {
                    #[allow(unused_imports)]
                    use core::arch::x86_64::*;
                    $name($load_partial)
                }
            }
            #[inline(always)]
            unsafe fn store_partial(self, $q: *mut $elem, $n: usize) {
                // SAFETY: the `Vector` contract: the instruction set is available, the pointer valid.
                unsafe {
                    #[allow(unused_imports)]
                    use core::arch::x86_64::*;
                    let $v = self.0;
                    $store_partial
                }
            }
        }
    };
}

/// Loads the first `count < 8` elements from `p` into an AVX2 `f32` register, the other lanes
/// zero, with 4-, 2- and 1-lane loads. AVX2's masked load (`vmaskmovps`) costs about ten
/// cycles on AMD Zen 1: the partial last register of a 300-wide batch-1 product made it 15%
/// slower (`BENCHMARKS.md`, "Design measurements").
#[cfg(target_arch = "x86_64")]
#[inline(always)]
unsafe fn load_prefix_ps(p: *const f32, count: usize) -> core::arch::x86_64::__m256 {
    debug_assert!(count < 8, "a partial register of {count} lanes");
    // SAFETY: this function's contract, which its caller upholds.
    unsafe {
        use core::arch::x86_64::*;
        /// The first `n < 4` elements from `p`, the other lanes zero.
        #[inline(always)]
        unsafe fn short(p: *const f32, n: usize) -> __m128 {
            // SAFETY: `p` is valid for `n` elements.
            unsafe {
                match n {
                    0 => _mm_setzero_ps(),
                    1 => _mm_load_ss(p),
                    2 => _mm_castpd_ps(_mm_load_sd(p.cast())),
                    _ => _mm_movelh_ps(_mm_castpd_ps(_mm_load_sd(p.cast())), _mm_load_ss(p.add(2))),
                }
            }
        }
        if count >= 4 {
            let low = _mm_loadu_ps(p);
            _mm256_insertf128_ps::<1>(_mm256_castps128_ps256(low), short(p.add(4), count - 4))
        } else {
            _mm256_zextps128_ps256(short(p, count))
        }
    }
}

/// [`load_prefix_ps`] for an AVX2 `f64` register (`count < 4`).
#[cfg(target_arch = "x86_64")]
#[inline(always)]
unsafe fn load_prefix_pd(p: *const f64, count: usize) -> core::arch::x86_64::__m256d {
    debug_assert!(count < 4, "a partial register of {count} lanes");
    // SAFETY: this function's contract, which its caller upholds.
    unsafe {
        use core::arch::x86_64::*;
        match count {
            0 => _mm256_setzero_pd(),
            1 => _mm256_zextpd128_pd256(_mm_load_sd(p)),
            2 => _mm256_zextpd128_pd256(_mm_loadu_pd(p)),
            _ => _mm256_insertf128_pd::<1>(
                _mm256_castpd128_pd256(_mm_loadu_pd(p)),
                _mm_load_sd(p.add(2)),
            ),
        }
    }
}

/// Stores the first `count < 8` lanes of an AVX2 `f32` register with 4-, 2- and 1-lane
/// stores. AVX2's masked store (`vmaskmovps`) is microcoded on AMD Zen and costs tens of
/// cycles, and a copy of variable length becomes a `memcpy` call.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
unsafe fn store_prefix_ps(p: *mut f32, v: core::arch::x86_64::__m256, count: usize) {
    // SAFETY: this function's contract, which its caller upholds.
    unsafe {
        use core::arch::x86_64::*;
        let (mut p, mut n) = (p, count);
        let mut rest = _mm256_castps256_ps128(v);
        if n >= 4 {
            _mm_storeu_ps(p, rest);
            rest = _mm256_extractf128_ps::<1>(v);
            (p, n) = (p.add(4), n - 4);
        }
        if n >= 2 {
            _mm_store_sd(p.cast(), _mm_castps_pd(rest));
            rest = _mm_movehl_ps(rest, rest);
            (p, n) = (p.add(2), n - 2);
        }
        if n == 1 {
            _mm_store_ss(p, rest);
        }
    }
}

/// [`store_prefix_ps`] for an AVX2 `f64` register (`count < 4`).
#[cfg(target_arch = "x86_64")]
#[inline(always)]
unsafe fn store_prefix_pd(p: *mut f64, v: core::arch::x86_64::__m256d, count: usize) {
    // SAFETY: this function's contract, which its caller upholds.
    unsafe {
        use core::arch::x86_64::*;
        let (mut p, mut n) = (p, count);
        let mut rest = _mm256_castpd256_pd128(v);
        if n >= 2 {
            _mm_storeu_pd(p, rest);
            rest = _mm256_extractf128_pd::<1>(v);
            (p, n) = (p.add(2), n - 2);
        }
        if n == 1 {
            _mm_store_sd(p, rest);
        }
    }
}

#[cfg(target_arch = "x86_64")]
x86_vector!(
    Avx2F32,
    __m256,
    f32,
    8,
    _mm256_setzero_ps,
    _mm256_set1_ps,
    _mm256_fmadd_ps,
    _mm256_add_ps,
    _mm256_max_ps,
    |p, count| load_prefix_ps(p, count),
    |p, v, count| store_prefix_ps(p, v, count),
    // Ones where `y` is not `<= 0` (unordered counts), ANDed with `d`.
    |y, d| _mm256_and_ps(_mm256_cmp_ps::<_CMP_NLE_UQ>(y, _mm256_setzero_ps()), d)
);
#[cfg(target_arch = "x86_64")]
x86_vector!(
    Avx2F64,
    __m256d,
    f64,
    4,
    _mm256_setzero_pd,
    _mm256_set1_pd,
    _mm256_fmadd_pd,
    _mm256_add_pd,
    _mm256_max_pd,
    |p, count| load_prefix_pd(p, count),
    |p, v, count| store_prefix_pd(p, v, count),
    |y, d| _mm256_and_pd(_mm256_cmp_pd::<_CMP_NLE_UQ>(y, _mm256_setzero_pd()), d)
);
#[cfg(target_arch = "x86_64")]
x86_vector!(
    Avx512F32,
    __m512,
    f32,
    16,
    _mm512_setzero_ps,
    _mm512_set1_ps,
    _mm512_fmadd_ps,
    _mm512_add_ps,
    _mm512_max_ps,
    |p, count| _mm512_maskz_loadu_ps(((1u32 << count) - 1) as u16, p),
    |p, v, count| _mm512_mask_storeu_ps(p, ((1u32 << count) - 1) as u16, v),
    |y, d| _mm512_maskz_mov_ps(_mm512_cmp_ps_mask::<_CMP_NLE_UQ>(y, _mm512_setzero_ps()), d)
);
#[cfg(target_arch = "x86_64")]
x86_vector!(
    Avx512F64,
    __m512d,
    f64,
    8,
    _mm512_setzero_pd,
    _mm512_set1_pd,
    _mm512_fmadd_pd,
    _mm512_add_pd,
    _mm512_max_pd,
    |p, count| _mm512_maskz_loadu_pd(((1u32 << count) - 1) as u8, p),
    |p, v, count| _mm512_mask_storeu_pd(p, ((1u32 << count) - 1) as u8, v),
    |y, d| _mm512_maskz_mov_pd(_mm512_cmp_pd_mask::<_CMP_NLE_UQ>(y, _mm512_setzero_pd()), d)
);

/// Implements [`Realign`] for an AVX-512 register: `$mask` is its mask type, `$iota` its lane
/// indices, `$add` and `$splat` the integer add and broadcast for them.
#[cfg(target_arch = "x86_64")]
macro_rules! avx512_realign {
    ($name:ident, $elem:ty, $mask:ty, $load:ident, $permute:ident, $iota:expr, $add:ident, $splat:ident) => {
        // SAFETY: see the trait; callers guarantee AVX-512F and pointers valid for the lanes
        // they name (masked-off lanes are not accessed).
        unsafe impl Realign for $name {
            #[inline(always)]
            unsafe fn load_lanes(p: *const $elem, from: usize, to: usize) -> Self {
                let mask = ((1u32 << to) - 1) & !((1u32 << from) - 1);
                // SAFETY: the `Realign` contract: AVX-512F is available and the lanes in
                // `mask` are readable.
                unsafe { $name(core::arch::x86_64::$load(mask as $mask, p)) }
            }
            #[inline(always)]
            unsafe fn realign(lo: Self, hi: Self, shift: usize) -> Self {
                // SAFETY: the `Realign` contract: AVX-512F is available.
                unsafe {
                    use core::arch::x86_64::*;
                    let index = $add($iota, $splat(shift as _));
                    $name($permute(lo.0, index, hi.0))
                }
            }
        }
    };
}

#[cfg(target_arch = "x86_64")]
avx512_realign!(
    Avx512F32,
    f32,
    u16,
    _mm512_maskz_loadu_ps,
    _mm512_permutex2var_ps,
    _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
    _mm512_add_epi32,
    _mm512_set1_epi32
);
#[cfg(target_arch = "x86_64")]
avx512_realign!(
    Avx512F64,
    f64,
    u8,
    _mm512_maskz_loadu_pd,
    _mm512_permutex2var_pd,
    _mm512_set_epi64(7, 6, 5, 4, 3, 2, 1, 0),
    _mm512_add_epi64,
    _mm512_set1_epi64
);
