//! Borrowed matrix views over caller memory: dense with arbitrary element strides
//! (C order, F order, sliced, negative strides) and compressed sparse (CSR/CSC) with
//! `i32` or `i64` indices. No copies are made.

use crate::error::{Result, SketchError};
use std::marker::PhantomData;

/// A read-only dense `rows × cols` view; element `(r, c)` lives at
/// `ptr + r*rs + c*cs` (strides in elements, possibly negative).
#[derive(Debug)]
pub struct MatRef<'a, T> {
    ptr: *const T,
    rows: usize,
    cols: usize,
    rs: isize,
    cs: isize,
    _life: PhantomData<&'a T>,
}

impl<T> Clone for MatRef<'_, T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T> Copy for MatRef<'_, T> {}

// SAFETY: a MatRef is a shared borrow of `T` data (like `&'a [T]`); sharing it across
// threads only ever reads, which is sound for `T: Sync`.
unsafe impl<T: Sync> Send for MatRef<'_, T> {}
// SAFETY: as above.
unsafe impl<T: Sync> Sync for MatRef<'_, T> {}

/// Largest and smallest element offsets addressed by a strided view, or `None` when
/// the view is empty.
fn extent(rows: usize, cols: usize, rs: isize, cs: isize) -> Option<(isize, isize)> {
    if rows == 0 || cols == 0 {
        return None;
    }
    let r = (rows - 1) as isize;
    let c = (cols - 1) as isize;
    let a = r.checked_mul(rs)?;
    let b = c.checked_mul(cs)?;
    let lo = a.min(0).checked_add(b.min(0))?;
    let hi = a.max(0).checked_add(b.max(0))?;
    Some((lo, hi))
}

impl<'a, T> MatRef<'a, T> {
    /// A row-major (C order) view of `data` as `rows × cols`.
    pub fn from_row_major(data: &'a [T], rows: usize, cols: usize) -> Result<Self> {
        Self::from_slice(data, 0, rows, cols, cols as isize, 1)
    }

    /// A column-major (F order) view of `data` as `rows × cols`.
    pub fn from_col_major(data: &'a [T], rows: usize, cols: usize) -> Result<Self> {
        Self::from_slice(data, 0, rows, cols, 1, rows as isize)
    }

    /// A strided view of `data` starting at element `offset`; every addressed element
    /// must lie inside `data`.
    pub fn from_slice(
        data: &'a [T],
        offset: usize,
        rows: usize,
        cols: usize,
        rs: isize,
        cs: isize,
    ) -> Result<Self> {
        if let Some((lo, hi)) = extent(rows, cols, rs, cs) {
            let off = offset as isize;
            if off + lo < 0 || (off + hi) as usize >= data.len() {
                return Err(SketchError::arg(
                    "view",
                    format!(
                        "strided {rows}x{cols} view (strides {rs}, {cs}) at offset {offset} \
                         exceeds a buffer of {} elements",
                        data.len()
                    ),
                ));
            }
        }
        // SAFETY: the bounds check above proves every addressed element is in `data`,
        // which outlives 'a; an empty view addresses nothing.
        Ok(unsafe {
            Self::from_raw_parts(
                data.as_ptr().add(offset.min(data.len())),
                rows,
                cols,
                rs,
                cs,
            )
        })
    }

    /// A view from raw parts.
    ///
    /// # Safety
    /// For every `r < rows`, `c < cols`, `ptr + r*rs + c*cs` must point to an
    /// initialized `T` that stays valid and unmutated for `'a`.
    pub unsafe fn from_raw_parts(
        ptr: *const T,
        rows: usize,
        cols: usize,
        rs: isize,
        cs: isize,
    ) -> Self {
        MatRef {
            ptr,
            rows,
            cols,
            rs,
            cs,
            _life: PhantomData,
        }
    }

    /// Number of rows.
    #[inline]
    pub fn rows(&self) -> usize {
        self.rows
    }
    /// Number of columns.
    #[inline]
    pub fn cols(&self) -> usize {
        self.cols
    }
    /// Row stride in elements.
    #[inline]
    pub fn row_stride(&self) -> isize {
        self.rs
    }
    /// Column stride in elements.
    #[inline]
    pub fn col_stride(&self) -> isize {
        self.cs
    }

    /// The transposed view (free: swaps shape and strides).
    #[inline]
    pub fn t(self) -> MatRef<'a, T> {
        MatRef {
            ptr: self.ptr,
            rows: self.cols,
            cols: self.rows,
            rs: self.cs,
            cs: self.rs,
            _life: PhantomData,
        }
    }

    /// Rows `r0..r1` and columns `c0..c1`.
    #[inline]
    pub fn sub(self, r0: usize, r1: usize, c0: usize, c1: usize) -> MatRef<'a, T> {
        assert!(r0 <= r1 && r1 <= self.rows && c0 <= c1 && c1 <= self.cols);
        let ptr = if r0 < self.rows && c0 < self.cols {
            // SAFETY: (r0, c0) is inside the view, so the offset is in bounds.
            unsafe {
                self.ptr
                    .offset(r0 as isize * self.rs + c0 as isize * self.cs)
            }
        } else {
            self.ptr
        };
        MatRef {
            ptr,
            rows: r1 - r0,
            cols: c1 - c0,
            rs: self.rs,
            cs: self.cs,
            _life: PhantomData,
        }
    }

    /// Pointer to element `(r, c)`.
    ///
    /// # Safety
    /// `r < rows` and `c < cols`.
    #[inline(always)]
    pub unsafe fn ptr_at(&self, r: usize, c: usize) -> *const T {
        self.ptr.offset(r as isize * self.rs + c as isize * self.cs)
    }
}

impl<T: Copy> MatRef<'_, T> {
    /// Element `(r, c)` (bounds-checked).
    #[inline]
    pub fn get(&self, r: usize, c: usize) -> T {
        assert!(r < self.rows && c < self.cols, "index out of bounds");
        // SAFETY: checked just above.
        unsafe { *self.ptr_at(r, c) }
    }

    /// Row `r` as a slice when columns are contiguous.
    #[inline]
    pub fn row_slice(&self, r: usize) -> Option<&[T]> {
        if r < self.rows && (self.cs == 1 || self.cols <= 1) {
            // SAFETY: the row's `cols` elements are contiguous and inside the view.
            Some(unsafe { std::slice::from_raw_parts(self.ptr_at(r, 0), self.cols) })
        } else {
            None
        }
    }
}

/// The rule for writing through a strided view in place: no two elements share an
/// address. A zero stride (broadcast arrays) and overlapping rows or columns (e.g.
/// `as_strided` views) are refused, naming `arg`. The test is the usual sufficient
/// one: the run along the smaller stride must end before the larger stride's next
/// step.
pub fn check_writable_strides(
    rows: usize,
    cols: usize,
    rs: isize,
    cs: isize,
    arg: &'static str,
) -> Result<()> {
    if rows == 0 || cols == 0 {
        return Ok(());
    }
    // A single row (column) addresses only along the column (row) stride.
    let zero = match (rows, cols) {
        (1, 1) => false,
        (1, _) => cs == 0,
        (_, 1) => rs == 0,
        _ => rs == 0 || cs == 0,
    };
    if zero {
        return Err(SketchError::arg(
            arg,
            "broadcast (zero-stride) arrays cannot be written in place",
        ));
    }
    if rows == 1 || cols == 1 {
        return Ok(());
    }
    let (small, n_small, large) = if rs.unsigned_abs() <= cs.unsigned_abs() {
        (rs, rows, cs)
    } else {
        (cs, cols, rs)
    };
    if small.unsigned_abs().saturating_mul(n_small) > large.unsigned_abs() {
        return Err(SketchError::arg(
            arg,
            "arrays whose elements overlap in memory cannot be written in place",
        ));
    }
    Ok(())
}

/// A mutable dense view; same addressing as [`MatRef`]. The strides must not alias
/// two elements to one address.
#[derive(Debug)]
pub struct MatMut<'a, T> {
    ptr: *mut T,
    rows: usize,
    cols: usize,
    rs: isize,
    cs: isize,
    _life: PhantomData<&'a mut T>,
}

// SAFETY: a MatMut is an exclusive borrow (like `&'a mut [T]`), sendable for `T: Send`.
unsafe impl<T: Send> Send for MatMut<'_, T> {}

impl<'a, T> MatMut<'a, T> {
    /// A mutable view of caller memory described by a strided array (NumPy, say)
    /// for in-place work, after the rule of [`check_writable_strides`]: the strides
    /// must give every element its own address.
    ///
    /// # Safety
    /// Every addressed element must be valid for reads and writes for `'a` and not
    /// accessed through any other path meanwhile (the aliasing among the view's own
    /// elements is what this function checks).
    pub unsafe fn from_raw_parts_writable(
        ptr: *mut T,
        rows: usize,
        cols: usize,
        rs: isize,
        cs: isize,
        arg: &'static str,
    ) -> Result<Self> {
        check_writable_strides(rows, cols, rs, cs, arg)?;
        // SAFETY: the caller guarantees validity and exclusivity; distinct (r, c)
        // map to distinct addresses by the check above.
        Ok(unsafe { Self::from_raw_parts(ptr, rows, cols, rs, cs) })
    }

    /// A row-major (C order) mutable view of `data` as `rows × cols`.
    pub fn from_row_major(data: &'a mut [T], rows: usize, cols: usize) -> Result<Self> {
        Self::check_len(data.len(), rows, cols)?;
        // SAFETY: length checked; row-major strides never alias.
        Ok(unsafe { Self::from_raw_parts(data.as_mut_ptr(), rows, cols, cols as isize, 1) })
    }

    /// A column-major (F order) mutable view of `data` as `rows × cols`.
    pub fn from_col_major(data: &'a mut [T], rows: usize, cols: usize) -> Result<Self> {
        Self::check_len(data.len(), rows, cols)?;
        // SAFETY: length checked; column-major strides never alias.
        Ok(unsafe { Self::from_raw_parts(data.as_mut_ptr(), rows, cols, 1, rows as isize) })
    }

    fn check_len(len: usize, rows: usize, cols: usize) -> Result<()> {
        let need = crate::error::checked_mul(rows, cols, "out", "output size")?;
        if len < need {
            return Err(SketchError::arg(
                "out",
                format!("buffer of {len} elements is too small for {rows}x{cols}"),
            ));
        }
        Ok(())
    }

    /// A mutable view from raw parts.
    ///
    /// # Safety
    /// Every addressed element must be valid for reads and writes for `'a`, not
    /// accessed through any other path meanwhile, and no two `(r, c)` may map to the
    /// same address.
    pub unsafe fn from_raw_parts(
        ptr: *mut T,
        rows: usize,
        cols: usize,
        rs: isize,
        cs: isize,
    ) -> Self {
        MatMut {
            ptr,
            rows,
            cols,
            rs,
            cs,
            _life: PhantomData,
        }
    }

    /// Number of rows.
    #[inline]
    pub fn rows(&self) -> usize {
        self.rows
    }
    /// Number of columns.
    #[inline]
    pub fn cols(&self) -> usize {
        self.cols
    }
    /// Row stride in elements.
    #[inline]
    pub fn row_stride(&self) -> isize {
        self.rs
    }
    /// Column stride in elements.
    #[inline]
    pub fn col_stride(&self) -> isize {
        self.cs
    }

    /// The transposed view.
    #[inline]
    pub fn t(self) -> MatMut<'a, T> {
        MatMut {
            ptr: self.ptr,
            rows: self.cols,
            cols: self.rows,
            rs: self.cs,
            cs: self.rs,
            _life: PhantomData,
        }
    }

    /// A read-only view of the same elements, borrowing `self` shared.
    #[inline]
    pub fn as_ref(&self) -> MatRef<'_, T> {
        MatRef {
            ptr: self.ptr,
            rows: self.rows,
            cols: self.cols,
            rs: self.rs,
            cs: self.cs,
            _life: PhantomData,
        }
    }

    /// Reborrow.
    #[inline]
    pub fn rb(&mut self) -> MatMut<'_, T> {
        MatMut {
            ptr: self.ptr,
            rows: self.rows,
            cols: self.cols,
            rs: self.rs,
            cs: self.cs,
            _life: PhantomData,
        }
    }

    /// Pointer to element `(r, c)`.
    ///
    /// # Safety
    /// `r < rows` and `c < cols`.
    #[inline(always)]
    pub unsafe fn ptr_at(&self, r: usize, c: usize) -> *mut T {
        self.ptr.offset(r as isize * self.rs + c as isize * self.cs)
    }

    /// Row `r` as a mutable slice.
    ///
    /// # Safety
    /// The view must have unit column stride (or at most one column) and `r < rows`.
    pub(crate) unsafe fn row_mut(&mut self, r: usize) -> &mut [T] {
        debug_assert!(r < self.rows && (self.cs == 1 || self.cols <= 1));
        std::slice::from_raw_parts_mut(self.ptr.offset(r as isize * self.rs), self.cols)
    }

    /// The elements of a one-row view with unit column stride as a slice.
    ///
    /// # Safety
    /// The view must have one row and unit column stride (or at most one column).
    pub(crate) unsafe fn into_row_slice(self) -> &'a mut [T] {
        debug_assert!(self.rows == 1 && (self.cs == 1 || self.cols <= 1));
        std::slice::from_raw_parts_mut(self.ptr, self.cols)
    }

    /// Splits into a raw, `Sync` handle that parallel kernels use to write disjoint
    /// parts of the view.
    pub(crate) fn into_shared(self) -> SharedMut<'a, T> {
        SharedMut {
            ptr: self.ptr,
            rows: self.rows,
            cols: self.cols,
            rs: self.rs,
            cs: self.cs,
            _life: PhantomData,
        }
    }
}

impl<T: Copy> MatMut<'_, T> {
    /// Element `(r, c)`.
    ///
    /// # Panics
    /// If `(r, c)` is out of bounds.
    #[inline]
    pub fn get(&self, r: usize, c: usize) -> T {
        assert!(r < self.rows && c < self.cols, "index out of bounds");
        // SAFETY: checked just above.
        unsafe { *self.ptr_at(r, c) }
    }

    /// Writes element `(r, c)`.
    ///
    /// # Panics
    /// If `(r, c)` is out of bounds.
    #[inline]
    pub fn set(&mut self, r: usize, c: usize, v: T) {
        assert!(r < self.rows && c < self.cols, "index out of bounds");
        // SAFETY: checked just above; `&mut self` makes the write exclusive.
        unsafe { *self.ptr_at(r, c) = v };
    }

    /// Row `r` as a mutable slice when columns are contiguous.
    #[inline]
    pub fn row_slice_mut(&mut self, r: usize) -> Option<&mut [T]> {
        if r < self.rows && (self.cs == 1 || self.cols <= 1) {
            // SAFETY: the row's `cols` elements are contiguous, inside the view, and
            // borrowed exclusively through `&mut self`.
            Some(unsafe { self.row_mut(r) })
        } else {
            None
        }
    }

    /// Sets every element to `v`.
    pub fn fill(&mut self, v: T) {
        for r in 0..self.rows {
            for c in 0..self.cols {
                // SAFETY: (r, c) in bounds.
                unsafe { *self.ptr_at(r, c) = v };
            }
        }
    }
}

/// A mutable view shared by the tasks of one parallel kernel. Each task must write
/// only elements no other task touches (kernels split by rows or columns).
#[derive(Debug)]
pub(crate) struct SharedMut<'a, T> {
    ptr: *mut T,
    rows: usize,
    cols: usize,
    rs: isize,
    cs: isize,
    _life: PhantomData<&'a mut T>,
}

// SAFETY: the handle only hands out disjoint sub-views (see `part`), whose exclusive
// use by one task each is the caller's obligation stated on `part`.
unsafe impl<T: Send> Sync for SharedMut<'_, T> {}
// SAFETY: as above.
unsafe impl<T: Send> Send for SharedMut<'_, T> {}

impl<T> SharedMut<'_, T> {
    pub(crate) fn cols(&self) -> usize {
        self.cols
    }
    /// The sub-view rows `r0..r1`, columns `c0..c1`.
    ///
    /// # Safety
    /// While the returned view lives, no other live view from this handle may
    /// overlap it.
    pub(crate) unsafe fn part(&self, r0: usize, r1: usize, c0: usize, c1: usize) -> MatMut<'_, T> {
        assert!(r0 <= r1 && r1 <= self.rows && c0 <= c1 && c1 <= self.cols);
        let ptr = if r0 < self.rows && c0 < self.cols {
            self.ptr
                .offset(r0 as isize * self.rs + c0 as isize * self.cs)
        } else {
            self.ptr
        };
        MatMut::from_raw_parts(ptr, r1 - r0, c1 - c0, self.rs, self.cs)
    }
}

/// Index types of compressed sparse matrices.
pub trait SparseIndex: Copy + Send + Sync + 'static {
    /// As `usize`, or `None` when negative or too large.
    fn to_usize(self) -> Option<usize>;
    /// From a `usize` known to fit (an offset no larger than one already stored in
    /// this type).
    fn from_usize(v: usize) -> Self;
    /// The unsigned type of the same width.
    type Unsigned: Copy + Ord + Default + Into<u64>;
    /// The bits as an unsigned number of the same width: a negative value becomes
    /// [`SparseIndex::NEGATIVE_FROM`] or more.
    fn to_unsigned(self) -> Self::Unsigned;
    /// Smallest unsigned image of a negative value (`2^(bits - 1)`).
    const NEGATIVE_FROM: u64;
}
impl SparseIndex for i32 {
    #[inline(always)]
    fn to_usize(self) -> Option<usize> {
        usize::try_from(self).ok()
    }
    #[inline(always)]
    fn from_usize(v: usize) -> Self {
        v as i32
    }
    type Unsigned = u32;
    #[inline(always)]
    fn to_unsigned(self) -> u32 {
        self as u32
    }
    const NEGATIVE_FROM: u64 = 1 << 31;
}
impl SparseIndex for i64 {
    #[inline(always)]
    fn to_usize(self) -> Option<usize> {
        usize::try_from(self).ok()
    }
    #[inline(always)]
    fn from_usize(v: usize) -> Self {
        v as i64
    }
    type Unsigned = u64;
    #[inline(always)]
    fn to_unsigned(self) -> u64 {
        self as u64
    }
    const NEGATIVE_FROM: u64 = 1 << 63;
}

/// Largest [`SparseIndex::to_unsigned`] image in `c` (0 when empty), reduced in the
/// index's own width.
#[inline(always)]
fn max_unsigned<I: SparseIndex>(c: &[I]) -> u64 {
    c.iter()
        .fold(I::Unsigned::default(), |m, j| m.max(j.to_unsigned()))
        .into()
}

/// A compressed sparse row matrix borrowed from caller arrays. Read as CSC it is
/// the transpose; kernels use that to serve both formats.
#[derive(Clone, Copy, Debug)]
pub struct CsrRef<'a, T, I> {
    /// Number of rows (`indptr.len() - 1`).
    pub rows: usize,
    /// Number of columns.
    pub cols: usize,
    /// Row pointers.
    pub indptr: &'a [I],
    /// Column index of each stored value.
    pub indices: &'a [I],
    /// Stored values.
    pub data: &'a [T],
}

/// A broken CSR structure: `part` breaks the rule `msg`.
fn csr_error(part: &'static str, msg: impl Into<String>) -> SketchError {
    SketchError::CsrStructure {
        arg: "matrix",
        part,
        msg: msg.into(),
    }
}

impl<'a, T, I: SparseIndex> CsrRef<'a, T, I> {
    /// Validates the arrays: `indptr` of length `rows + 1`, non-decreasing, starting at
    /// 0, ending at `nnz`; every column index in `[0, cols)`. `O(nnz)`. A violation is
    /// a [`SketchError::CsrStructure`] naming the array at fault.
    pub fn new(
        rows: usize,
        cols: usize,
        indptr: &'a [I],
        indices: &'a [I],
        data: &'a [T],
    ) -> Result<Self> {
        if indptr.len() != rows + 1 {
            return Err(csr_error(
                "indptr",
                format!("length {} does not match {} rows + 1", indptr.len(), rows),
            ));
        }
        if indices.len() != data.len() {
            return Err(csr_error(
                "indices",
                format!(
                    "length {} differs from data length {}",
                    indices.len(),
                    data.len()
                ),
            ));
        }
        let mut prev = 0usize;
        for (i, p) in indptr.iter().enumerate() {
            let p = p
                .to_usize()
                .ok_or_else(|| csr_error("indptr", "contains a negative value"))?;
            if (i == 0 && p != 0) || p < prev {
                return Err(csr_error("indptr", "must start at 0 and be non-decreasing"));
            }
            prev = p;
        }
        if prev != data.len() {
            return Err(csr_error(
                "indptr",
                format!("last entry {prev} differs from nnz {}", data.len()),
            ));
        }
        // O(nnz), in parallel chunks on the crate's pool. Every index is in range
        // exactly when the largest unsigned image is below both `cols` and the images
        // of negative values: a max reduction without branches, which vectorizes
        // (a per-index early exit did not: 7% of a sparse-output projection of
        // 10^7 stored values on two threads).
        let limit = (cols as u64).min(I::NEGATIVE_FROM);
        let ok = crate::parallel::install(|| {
            use rayon::prelude::*;
            indices
                .par_chunks(1 << 16)
                .all(|c| crate::dispatch!(max_unsigned(c)) < limit)
        })?;
        if !ok {
            return Err(csr_error(
                "indices",
                format!("an index is outside [0, {cols})"),
            ));
        }
        Ok(CsrRef {
            rows,
            cols,
            indptr,
            indices,
            data,
        })
    }

    /// Range of stored entries of row `r`.
    #[inline(always)]
    pub fn row_range(&self, r: usize) -> std::ops::Range<usize> {
        // validated in `new`
        self.indptr[r].to_usize().unwrap_or(0)..self.indptr[r + 1].to_usize().unwrap_or(0)
    }

    /// Column index of stored entry `t` (validated in `new`).
    #[inline(always)]
    pub fn col(&self, t: usize) -> usize {
        self.indices[t].to_usize().unwrap_or(0)
    }
}
