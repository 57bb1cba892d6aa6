//! The crate's own rayon thread pool.
//!
//! Size: [`set_num_threads`], else the environment variable `SKETCHKIT_NUM_THREADS`,
//! else the number of available CPUs. The pool remembers the process id it was built
//! in; a child created by `fork()` has none of its parent's worker threads, so the
//! first call in the child builds a fresh pool instead of waiting forever on threads
//! that do not exist (the parent's pool object is deliberately leaked in the child).
//!
//! Results never depend on the pool size: every kernel splits work into pieces whose
//! boundaries are fixed by the problem shape alone.

use crate::error::{Result, SketchError};
use std::sync::{Arc, Mutex};

struct PoolState {
    pool: Arc<rayon::ThreadPool>,
    pid: u32,
    threads: usize,
}

static STATE: Mutex<Option<PoolState>> = Mutex::new(None);
static REQUESTED: Mutex<Option<usize>> = Mutex::new(None);

/// The size from `SKETCHKIT_NUM_THREADS` or else the CPU count, read once per process
/// (`available_parallelism` reads cgroup files: far too slow for every call).
fn env_threads() -> usize {
    static ENV: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *ENV.get_or_init(|| {
        std::env::var("SKETCHKIT_NUM_THREADS")
            .ok()
            .and_then(|v| v.trim().parse::<usize>().ok())
            .filter(|&n| n >= 1)
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
    })
}

fn default_threads() -> usize {
    REQUESTED
        .lock()
        .ok()
        .and_then(|g| *g)
        .unwrap_or_else(env_threads)
}

fn build(threads: usize) -> Result<Arc<rayon::ThreadPool>> {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .thread_name(|i| format!("sketchkit-{i}"))
        .build()
        .map(Arc::new)
        .map_err(|e| SketchError::arg("num_threads", format!("cannot start the thread pool: {e}")))
}

/// The pool, (re)built when missing, resized, or inherited through `fork()`.
pub fn pool() -> Result<Arc<rayon::ThreadPool>> {
    let mut guard = STATE.lock().unwrap_or_else(|p| p.into_inner());
    let pid = std::process::id();
    let want = default_threads();
    match guard.as_ref() {
        Some(s) if s.pid == pid && s.threads == want => Ok(Arc::clone(&s.pool)),
        _ => {
            if let Some(old) = guard.take() {
                if old.pid != pid {
                    // Forked child: the workers belong to the parent. Dropping the pool
                    // would signal threads that do not exist here, so leak it.
                    std::mem::forget(old);
                }
            }
            let pool = build(want)?;
            *guard = Some(PoolState {
                pool: Arc::clone(&pool),
                pid,
                threads: want,
            });
            Ok(pool)
        }
    }
}

/// Sets the number of worker threads (`n >= 1`); the pool is rebuilt on next use.
pub fn set_num_threads(n: usize) -> Result<()> {
    if n == 0 {
        return Err(SketchError::arg(
            "n",
            "the number of threads must be at least 1",
        ));
    }
    *REQUESTED.lock().unwrap_or_else(|p| p.into_inner()) = Some(n);
    Ok(())
}

/// The number of worker threads the pool has (or will have on next use).
pub fn get_num_threads() -> usize {
    default_threads()
}

/// Runs `f` inside the crate's pool.
pub fn install<R: Send>(f: impl FnOnce() -> R + Send) -> Result<R> {
    Ok(pool()?.install(f))
}
