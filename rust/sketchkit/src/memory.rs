//! Advice to the operating system about memory the kernels use (Linux; a no-op
//! elsewhere): transparent huge pages for large fresh buffers. Advice changes no
//! value, and its failure leaves memory as it was.

/// Buffers from this size up are advised to use transparent huge pages.
pub const HUGE_PAGE_MIN: usize = 4 << 20;

/// Asks for transparent huge pages on the whole 4 KiB pages of `[ptr, ptr + size)`
/// when `size >= HUGE_PAGE_MIN`, as NumPy does for its own large arrays: a fresh
/// buffer then faults once per 2 MiB instead of once per 4 KiB.
///
/// # Safety
/// `[ptr, ptr + size)` must lie inside one live allocation of the caller's.
pub unsafe fn advise_huge_pages(ptr: *mut u8, size: usize) {
    #[cfg(target_os = "linux")]
    {
        if size < HUGE_PAGE_MIN {
            return;
        }
        let (start, end) = pages_inside(ptr as usize, size);
        if end > start {
            // SAFETY: `[start, end)` is page-aligned and inside the caller's live
            // allocation (this function's contract); MADV_HUGEPAGE is advice only: it
            // changes neither the contents nor the validity of the range (an error
            // leaves ordinary pages in place).
            unsafe {
                libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_HUGEPAGE);
            }
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = (ptr, size);
}

const PAGE: usize = 4096;

/// The whole pages inside `[addr, addr + size)` (an empty range, `end <= start`,
/// when there are none or the range wraps).
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
fn pages_inside(addr: usize, size: usize) -> (usize, usize) {
    match (addr.checked_next_multiple_of(PAGE), addr.checked_add(size)) {
        (Some(start), Some(end)) => (start, end / PAGE * PAGE),
        _ => (1, 0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_inside_rounds_inwards() {
        assert_eq!(pages_inside(4096, 8192), (4096, 12288));
        assert_eq!(pages_inside(4097, 8192), (8192, 12288));
        assert_eq!(pages_inside(100, 200), (4096, 0));
        assert_eq!(pages_inside(usize::MAX, 0), (1, 0));
        assert_eq!(pages_inside(usize::MAX - 10, 100), (1, 0));
    }
}
