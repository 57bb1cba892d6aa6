//! Large result arrays from a small cache of freed blocks.
//!
//! A result of tens of MiB allocated by NumPy (`calloc`) comes from fresh pages: glibc
//! maps every block of 32 MiB or more anew and unmaps it when freed, so the first
//! write of each 4 KiB page faults and the OS zeroes it. On the virtual machines this
//! library is measured on, a fresh 131072 × 64 `float32` array filled once took
//! 5.5 ms and the same array filled again 1.5 ms; a sparse projection of a 128 MiB
//! chunk into such an array took 2–6 % less time with the cache in one process, and
//! the two-worker Dask benchmark 0–12 % less (README). A pipeline that transforms
//! chunk after chunk (Dask, `project_blocks`, a training loop) frees each result
//! before the next is made, so the binding keeps the last few freed blocks and
//! hands one back to a request of the same size: as it is to the operators' calls,
//! which write every element of their result (`out = X·Sᵀ`, pinned by the core test
//! `every_application_overwrites_its_output`), zeroed by `memset` to the others.
//!
//! * Only blocks of [`MIN_BYTES`] or more are cached (below that `malloc` reuses
//!   freed memory itself), at most [`MAX_BLOCKS`] of them and at most the cap set by
//!   [`set_output_cache`] in total (default [`DEFAULT_CAP`]; 0 turns the cache off).
//!   The oldest block goes first; a block larger than the cap is never kept.
//! * A cached block backs a NumPy array through an [`OutputBlock`] object, the
//!   array's base: NumPy frees it when the last array or view of it goes, and its
//!   `Drop` offers the block back to the cache.
//! * The cache is only touched with the GIL held (when an array is made and when its
//!   base is deallocated), so no thread holds its lock across a `fork()`, which also
//!   runs with the GIL held; zeroing a reused block releases the GIL (the block is
//!   out of the cache by then).

use crate::error::invalid;
use pyo3::prelude::*;
use std::alloc::{alloc_zeroed, dealloc, Layout};
use std::ptr::NonNull;
use std::sync::Mutex;

/// Smallest block the cache keeps (bytes).
pub(crate) const MIN_BYTES: usize = 8 << 20;
/// Most blocks the cache keeps.
pub(crate) const MAX_BLOCKS: usize = 4;
/// Default cap on the bytes the cache keeps.
pub(crate) const DEFAULT_CAP: usize = 256 << 20;
/// Alignment of a block: `malloc`'s own, so that `alloc_zeroed` is `calloc`, which
/// maps zero pages lazily instead of writing them.
const ALIGN: usize = 16;

/// A zeroed heap block owned exclusively.
pub(crate) struct Block {
    ptr: NonNull<u8>,
    bytes: usize,
}

// SAFETY: a Block is the only handle to its allocation (no aliasing pointer is kept
// elsewhere), so moving it to or sharing it with another thread is like a Vec<u8>.
unsafe impl Send for Block {}
// SAFETY: as above; &Block exposes no mutation.
unsafe impl Sync for Block {}

impl Block {
    fn layout(bytes: usize) -> Option<Layout> {
        Layout::from_size_align(bytes.max(1), ALIGN).ok()
    }

    /// A fresh zeroed block, `None` when it cannot be allocated.
    fn zeroed(bytes: usize) -> Option<Block> {
        let layout = Self::layout(bytes)?;
        // SAFETY: the layout's size is at least 1.
        let ptr = NonNull::new(unsafe { alloc_zeroed(layout) })?;
        // Transparent huge pages, as NumPy asks for its own large arrays (a fresh
        // 32 MiB result in 4 KiB pages made a sparse projection of 128 MiB of rows
        // take 40 ms instead of 25 ms).
        // SAFETY: the range is the allocation just made.
        unsafe { sketchkit::memory::advise_huge_pages(ptr.as_ptr(), bytes) };
        Some(Block { ptr, bytes })
    }

    pub(crate) fn as_ptr(&self) -> *mut u8 {
        self.ptr.as_ptr()
    }
}

impl Drop for Block {
    fn drop(&mut self) {
        // SAFETY: ptr came from alloc_zeroed with this layout (the layout was valid
        // then, and bytes has not changed).
        unsafe { dealloc(self.ptr.as_ptr(), Self::layout(self.bytes).unwrap()) }
    }
}

struct Cache {
    free: Vec<Block>,
    cap: usize,
}

static CACHE: Mutex<Cache> = Mutex::new(Cache {
    free: Vec::new(),
    cap: DEFAULT_CAP,
});

fn cache() -> std::sync::MutexGuard<'static, Cache> {
    // A panic while holding the lock cannot leave the list inconsistent (every
    // operation is a single push/remove), so a poisoned lock is used as is.
    CACHE.lock().unwrap_or_else(|e| e.into_inner())
}

impl Cache {
    fn total(&self) -> usize {
        self.free.iter().map(|b| b.bytes).sum()
    }

    /// Drops the oldest blocks until the count and the total fit.
    fn trim(&mut self) {
        while !self.free.is_empty() && (self.free.len() > MAX_BLOCKS || self.total() > self.cap) {
            self.free.remove(0);
        }
    }
}

/// A block of `bytes` for a result array: a cached one when the size is cached and
/// one of that size is free (zeroed when `zero`, else holding an earlier result's
/// bytes, for a caller that overwrites every byte), else a fresh zeroed one. `None`
/// when the size is not cached (the caller allocates as usual) and `Some(Err)` when
/// it cannot allocate.
pub(crate) fn take(py: Python<'_>, bytes: usize, zero: bool) -> Option<PyResult<Block>> {
    if bytes < MIN_BYTES {
        return None;
    }
    let reused = {
        let mut c = cache();
        if bytes > c.cap {
            return None;
        }
        c.free
            .iter()
            .rposition(|b| b.bytes == bytes)
            .map(|i| c.free.remove(i))
    };
    Some(match reused {
        Some(b) if zero => Ok(py.detach(move || {
            // SAFETY: the block holds `bytes` bytes, exclusively ours.
            unsafe { std::ptr::write_bytes(b.as_ptr(), 0, bytes) };
            b
        })),
        Some(b) => Ok(b),
        None => Block::zeroed(bytes).ok_or_else(|| {
            pyo3::exceptions::PyMemoryError::new_err(format!(
                "cannot allocate a result of {bytes} bytes"
            ))
        }),
    })
}

/// Offers a block back to the cache (the newest; the oldest go when over the caps).
fn give(b: Block) {
    let mut c = cache();
    if b.bytes < MIN_BYTES || b.bytes > c.cap {
        return;
    }
    c.free.push(b);
    c.trim();
}

/// The base object of a result array backed by a cached block.
#[pyclass(frozen, module = "sketchkit._native")]
pub(crate) struct OutputBlock {
    block: Option<Block>,
}

impl OutputBlock {
    pub(crate) fn new(b: Block) -> Self {
        OutputBlock { block: Some(b) }
    }
}

impl Drop for OutputBlock {
    fn drop(&mut self) {
        if let Some(b) = self.block.take() {
            give(b);
        }
    }
}

/// Sets the most bytes of freed result arrays kept for reuse (0: none) and returns
/// the previous cap; blocks over the new cap are released at once.
#[pyfunction]
pub(crate) fn set_output_cache(max_bytes: i64) -> PyResult<usize> {
    let cap = usize::try_from(max_bytes)
        .map_err(|_| invalid("max_bytes", format!("must be >= 0, got {max_bytes}")))?;
    let mut c = cache();
    let old = std::mem::replace(&mut c.cap, cap);
    c.trim();
    Ok(old)
}

/// `(blocks, bytes)` the cache holds now (testing hook).
#[pyfunction]
pub(crate) fn _output_cache_state() -> (usize, usize) {
    let c = cache();
    (c.free.len(), c.total())
}
