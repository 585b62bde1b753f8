//! Buffers for whole data sets, advised onto 2 MiB pages where the system allows it.
//!
//! `fit` gathers each shuffled batch from rows all over the training set (60,000 MNIST images
//! are 188 MB of `f32`). On 4 KiB pages nearly every row is a new page, whose translation the
//! core looks up in the page tables before the row arrives; on 2 MiB pages the whole set is
//! 90 translations, which the TLB keeps. Linux gives a region huge pages on its first touch
//! once it is advised (`MADV_HUGEPAGE`), also where transparent huge pages are left to
//! `madvise`, the usual default. Elsewhere, or if the advice is refused, the buffer is an
//! ordinary one.

/// The size of a huge page on x86-64 and most aarch64 Linux systems.
const HUGE_PAGE: usize = 2 << 20;

/// An empty `Vec` with room for `len` elements. From several huge pages on, the 2 MiB-aligned
/// part of its allocation is advised onto huge pages before anything is written to it.
pub(crate) fn with_capacity<T>(len: usize) -> Vec<T> {
    let mut v = Vec::with_capacity(len);
    let bytes = len * size_of::<T>();
    if bytes >= 4 * HUGE_PAGE {
        advise(v.as_mut_ptr() as usize, bytes);
    }
    v
}

/// Advises the whole huge pages within `start..start + bytes`.
#[cfg(target_os = "linux")]
fn advise(start: usize, bytes: usize) {
    let first = start.next_multiple_of(HUGE_PAGE);
    let end = (start + bytes) / HUGE_PAGE * HUGE_PAGE;
    if end > first {
        // SAFETY: the range lies within the caller's allocation, and `MADV_HUGEPAGE` changes
        // only how the system backs those pages, never their contents or validity. The result
        // is ignored: without the advice the buffer works the same, on small pages.
        unsafe {
            libc::madvise(first as *mut libc::c_void, end - first, libc::MADV_HUGEPAGE);
        }
    }
}

#[cfg(not(target_os = "linux"))]
fn advise(_start: usize, _bytes: usize) {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buffers_of_every_size_hold_what_is_written() {
        for len in [0, 1, 1000, 4 * HUGE_PAGE / 4 + 3, 6 * HUGE_PAGE / 4] {
            let mut v: Vec<f32> = with_capacity(len);
            assert!(v.capacity() >= len);
            v.extend((0..len).map(|i| i as f32));
            assert!(v.iter().enumerate().all(|(i, &x)| x == i as f32));
        }
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_large_buffer_is_advised_onto_huge_pages() {
        // The kernel marks an advised region `hg` in its VmFlags (proc(5)), whether or not
        // huge pages are free to back it; a kernel built without them has no such setting.
        if !std::path::Path::new("/sys/kernel/mm/transparent_hugepage/enabled").exists() {
            eprintln!("this kernel has no transparent huge pages: nothing to check");
            return;
        }
        let v: Vec<f32> = with_capacity(8 * HUGE_PAGE / 4);
        let at = v.as_ptr() as usize + HUGE_PAGE * 2;
        let smaps = std::fs::read_to_string("/proc/self/smaps").expect("smaps is readable");
        let mut lines = smaps.lines();
        let mut flags = None;
        while let Some(line) = lines.next() {
            let Some((range, _)) = line.split_once(' ') else {
                continue;
            };
            let Some((lo, hi)) = range.split_once('-') else {
                continue;
            };
            let (Ok(lo), Ok(hi)) = (usize::from_str_radix(lo, 16), usize::from_str_radix(hi, 16))
            else {
                continue;
            };
            if (lo..hi).contains(&at) {
                flags = lines.find(|l| l.starts_with("VmFlags:")).map(str::to_owned);
                break;
            }
        }
        let flags = flags.expect("the buffer's mapping is listed");
        assert!(flags.split_whitespace().any(|f| f == "hg"), "{flags}");
    }
}
