//! Shared by the timing examples: the SIMD cap and the thread count from the command
//! line, sizes from the environment, buffers in huge pages. (Each example compiles
//! this module on its own and uses part of it.)
#![allow(dead_code)]
use sketchkit::simd::{set_cap, Level};

/// Applies `[avx512|avx2|scalar] [threads]` from `args` (the SIMD cap, then the
/// thread count, default 1) and returns the thread count.
pub fn level_and_threads(args: &mut impl Iterator<Item = String>) -> usize {
    match args.next().as_deref() {
        Some("avx2") => set_cap(Some(Level::Avx2)),
        Some("scalar") => set_cap(Some(Level::Scalar)),
        _ => {}
    }
    let threads: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(1);
    sketchkit::parallel::set_num_threads(threads).unwrap();
    threads
}

/// The environment variable `name` as a number, or `default`.
pub fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

/// `len` elements `f(i)` in memory advised to use transparent huge pages before its
/// first touch, as NumPy allocates large arrays (on 4 KB pages, TLB misses would
/// weigh on kernels that NumPy's arrays do not see).
pub fn huge_page_vec<T>(len: usize, f: impl Fn(usize) -> T) -> Vec<T> {
    const HUGE: usize = 2 << 20;
    let mut v = Vec::with_capacity(len);
    let p = v.as_mut_ptr() as usize;
    let (start, end) = (
        p.next_multiple_of(HUGE),
        (p + len * std::mem::size_of::<T>()) & !(HUGE - 1),
    );
    if end > start {
        // SAFETY: advice only, on whole pages inside this Vec's own allocation; it
        // changes no contents.
        unsafe { libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_HUGEPAGE) };
    }
    v.extend((0..len).map(f));
    v
}
