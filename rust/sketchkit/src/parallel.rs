//! The crate's own rayon thread pools.
//!
//! Size: [`set_num_threads`], else the environment variable `SKETCHKIT_NUM_THREADS`
//! (an integer from 1 to [`max_threads`]; anything else is an error naming it), else
//! the number of available CPUs.
//!
//! - **Several workers.** One shared pool of that size runs every call.
//! - **One worker.** Each call borrows a one-worker pool of its own from a free list
//!   and returns it afterwards, so calls from different threads (a web server's, Dask's
//!   threaded scheduler, joblib threads) run side by side instead of queueing on one
//!   worker. The list grows to the largest number of concurrent calls seen. (Rayon can
//!   make a caller's own thread a pool's worker, but then leaks that pool for good, one
//!   per calling thread.)
//! - **Nested calls.** A call made on a rayon worker thread (inside one of these pools,
//!   or a Rust caller's own pool) runs inline on that pool.
//! - **fork().** Each pool remembers the process id it was built in; a child created by
//!   `fork()` has none of its parent's worker threads, so its first call builds fresh
//!   pools instead of waiting forever on threads that do not exist (the parent's pool
//!   objects are deliberately leaked in the child). The locks guarding the pools are
//!   taken across `fork()` by `pthread_atfork` handlers ([`init`]), so a child forked
//!   while another thread looks a pool up never inherits a held lock.
//!
//! Results never depend on the pool size: every kernel splits work into pieces whose
//! boundaries are fixed by the problem shape alone.

use crate::error::{Result, SketchError};
use std::cell::RefCell;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

struct PoolState {
    pool: Arc<rayon::ThreadPool>,
    pid: u32,
    threads: usize,
}

/// One-worker pools not lent out, and the process they were built in.
struct Solo {
    pid: u32,
    idle: Vec<Arc<rayon::ThreadPool>>,
}

static STATE: Mutex<Option<PoolState>> = Mutex::new(None);
static SOLO: Mutex<Solo> = Mutex::new(Solo {
    pid: 0,
    idle: Vec::new(),
});
/// The size `set_num_threads` asked for; 0 when it was never called.
static REQUESTED: AtomicUsize = AtomicUsize::new(0);

/// The largest pool size accepted: four times the CPU count (at least 4). Beyond it a
/// pool only adds threads that wait for cores, and starting 100 000 of them takes
/// minutes.
pub fn max_threads() -> usize {
    4 * cpus().max(1)
}

/// The CPU count, read once per process (`available_parallelism` reads cgroup files:
/// far too slow for every call).
fn cpus() -> usize {
    static CPUS: OnceLock<usize> = OnceLock::new();
    *CPUS.get_or_init(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

/// The size from `SKETCHKIT_NUM_THREADS` (`None` when unset), or the error that names
/// it; read once per process.
fn env_threads() -> Result<Option<usize>> {
    static ENV: OnceLock<std::result::Result<Option<usize>, String>> = OnceLock::new();
    ENV.get_or_init(|| {
        let Some(raw) = std::env::var_os("SKETCHKIT_NUM_THREADS") else {
            return Ok(None);
        };
        let text = raw.to_string_lossy();
        match text.trim().parse::<usize>() {
            Ok(n) if (1..=max_threads()).contains(&n) => Ok(Some(n)),
            _ => Err(format!(
                "SKETCHKIT_NUM_THREADS={text:?} is not a thread count: use an integer from 1 \
                 to {} (4 x the {} CPUs), or unset it to use every CPU",
                max_threads(),
                cpus()
            )),
        }
    })
    .clone()
    .map_err(|msg| SketchError::arg("SKETCHKIT_NUM_THREADS", msg))
}

fn threads_wanted() -> Result<usize> {
    match REQUESTED.load(Ordering::Relaxed) {
        0 => Ok(env_threads()?.unwrap_or_else(cpus)),
        n => Ok(n),
    }
}

fn build(threads: usize) -> Result<Arc<rayon::ThreadPool>> {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .thread_name(|i| format!("sketchkit-{i}"))
        .build()
        .map(Arc::new)
        .map_err(|e| SketchError::arg("num_threads", format!("cannot start the thread pool: {e}")))
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// The shared pool of `threads` workers, (re)built when missing, resized, or inherited
/// through `fork()`.
fn shared(threads: usize) -> Result<Arc<rayon::ThreadPool>> {
    let mut guard = lock(&STATE);
    let pid = std::process::id();
    match guard.as_ref() {
        Some(s) if s.pid == pid && s.threads == threads => Ok(Arc::clone(&s.pool)),
        _ => {
            if let Some(old) = guard.take() {
                if old.pid != pid {
                    // Forked child: the workers belong to the parent. Dropping the pool
                    // would signal threads that do not exist here, so leak it.
                    std::mem::forget(old);
                }
            }
            let pool = build(threads)?;
            *guard = Some(PoolState {
                pool: Arc::clone(&pool),
                pid,
                threads,
            });
            Ok(pool)
        }
    }
}

/// A one-worker pool lent to one call; returned to the free list when dropped.
struct Lent(Option<Arc<rayon::ThreadPool>>);

impl Lent {
    fn take() -> Result<Lent> {
        let pid = std::process::id();
        let reused = {
            let mut solo = lock(&SOLO);
            if solo.pid != pid {
                // Built by the parent of this forked child: leak, never drop.
                std::mem::forget(std::mem::take(&mut solo.idle));
                solo.pid = pid;
            }
            solo.idle.pop()
        };
        match reused {
            Some(pool) => Ok(Lent(Some(pool))),
            None => Ok(Lent(Some(build(1)?))),
        }
    }
}

impl Drop for Lent {
    fn drop(&mut self) {
        if let Some(pool) = self.0.take() {
            let mut solo = lock(&SOLO);
            if solo.pid == std::process::id() {
                solo.idle.push(pool);
            } else {
                std::mem::forget(pool);
            }
        }
    }
}

/// The shared pool (the one [`install`] uses when more than one thread is set).
pub fn pool() -> Result<Arc<rayon::ThreadPool>> {
    shared(threads_wanted()?)
}

/// Sets the number of worker threads, from 1 to [`max_threads`]; the pools follow on
/// their next use (a call already running keeps the pool it started on).
pub fn set_num_threads(n: usize) -> Result<()> {
    if n == 0 {
        return Err(SketchError::arg(
            "n",
            "the number of threads must be at least 1",
        ));
    }
    if n > max_threads() {
        return Err(SketchError::arg(
            "n",
            format!(
                "{n} threads is more than 4 x the {} CPUs ({}); more threads than that only \
                 wait for cores",
                cpus(),
                max_threads()
            ),
        ));
    }
    REQUESTED.store(n, Ordering::Relaxed);
    Ok(())
}

/// The number of worker threads calls run on (an invalid `SKETCHKIT_NUM_THREADS` is an
/// error naming it).
pub fn get_num_threads() -> Result<usize> {
    threads_wanted()
}

/// Runs `f` on the crate's workers: the shared pool, a lent one-worker pool when one
/// thread is set, or inline when already on a rayon worker thread.
pub fn install<R: Send>(f: impl FnOnce() -> R + Send) -> Result<R> {
    init();
    if rayon::current_thread_index().is_some() {
        return Ok(f());
    }
    let f = {
        let inject = hooks::take_panic();
        move || {
            if inject {
                panic!("sketchkit test hook: a panic injected inside a kernel");
            }
            f()
        }
    };
    match threads_wanted()? {
        1 => {
            let lent = Lent::take()?;
            let pool = lent
                .0
                .as_ref()
                .expect("a lent pool is present until dropped");
            Ok(pool.install(f))
        }
        n => Ok(shared(n)?.install(f)),
    }
}

/// Both pool locks, held by the `fork()`ing thread between the handlers.
type Held = (
    MutexGuard<'static, Option<PoolState>>,
    MutexGuard<'static, Solo>,
);

thread_local! {
    /// The pool locks the `fork()`ing thread holds between `prepare` and `parent`/`child`.
    static HELD: RefCell<Option<Held>> = const { RefCell::new(None) };
}

extern "C" fn before_fork() {
    // Lock order: STATE, then SOLO (the only place both are held).
    let guards = (lock(&STATE), lock(&SOLO));
    let _ = HELD.try_with(|h| {
        if let Ok(mut h) = h.try_borrow_mut() {
            *h = Some(guards);
        }
    });
}

extern "C" fn after_fork() {
    let _ = HELD.try_with(|h| {
        if let Ok(mut h) = h.try_borrow_mut() {
            h.take();
        }
    });
}

#[cfg(unix)]
extern "C" {
    fn pthread_atfork(
        prepare: Option<extern "C" fn()>,
        parent: Option<extern "C" fn()>,
        child: Option<extern "C" fn()>,
    ) -> std::ffi::c_int;
}

/// Registers the `fork()` handlers (once) and reads the CPU count and
/// `SKETCHKIT_NUM_THREADS`. Every call does this on first use; a host that may fork
/// from several threads (the Python binding does, at import) calls it early, so no
/// one-time initialisation can be half done in a forked child.
pub fn init() {
    static INIT: std::sync::Once = std::sync::Once::new();
    INIT.call_once(|| {
        let _ = cpus();
        let _ = env_threads();
        #[cfg(unix)]
        // SAFETY: `pthread_atfork` only records the three function pointers. The
        // handlers are `extern "C"` functions with no arguments, as it requires; they
        // cannot unwind (locking uses `unwrap_or_else`, the thread-local access
        // `try_with`/`try_borrow_mut`). `before_fork` takes both pool locks in a fixed
        // order and parks the guards in the forking thread's thread-local; `after_fork`
        // runs on that same thread in the parent and in the child (whose only thread is
        // a copy of it) and drops them, so every guard is released by the thread that
        // took it.
        unsafe {
            pthread_atfork(Some(before_fork), Some(after_fork), Some(after_fork));
        }
    });
}

/// Test hook: inject a panic inside the next kernel run on the crate's workers, to show
/// that hosts turn it into an error and that the pools keep working. Costs one atomic
/// swap per call.
#[doc(hidden)]
pub mod hooks {
    use std::sync::atomic::{AtomicBool, Ordering};

    static PANIC_NEXT: AtomicBool = AtomicBool::new(false);

    /// Makes the next call that runs on the crate's workers panic inside its job.
    pub fn panic_in_next_kernel() {
        PANIC_NEXT.store(true, Ordering::SeqCst);
    }

    pub(super) fn take_panic() -> bool {
        PANIC_NEXT.swap(false, Ordering::SeqCst)
    }
}
