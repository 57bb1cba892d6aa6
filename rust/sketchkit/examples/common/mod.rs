//! Shared by the timing examples: the SIMD cap and the thread count from the command
//! line, sizes from the environment.
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
