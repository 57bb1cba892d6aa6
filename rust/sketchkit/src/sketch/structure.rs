//! Compressed index lists of a sparse operator whose nonzeros all have the same
//! magnitude (`±scale`): the very sparse, sparse sign and CountSketch families.
//!
//! One entry is a `u32`: the index in the low 31 bits and the sign (1 = negative) in
//! bit 31. Both orientations are kept: columns (`csc`, as generated) and rows (`csr`,
//! the transposed index lists), plus the rows split by blocks of columns for the
//! cache-blocked gather kernel. Memory is `O(nnz)`, never `O(k·d)`.

use crate::error::{try_vec, Result, SketchError};
use rayon::prelude::*;
use std::sync::OnceLock;

pub(crate) use crate::backend::{ENTRY_INDEX, ENTRY_SIGN};
/// Largest dimension a sparse operator may have (indices need 31 bits).
pub const MAX_SPARSE_DIM: usize = ENTRY_INDEX as usize;

/// `+1` or `-1` for an entry.
#[inline(always)]
pub(crate) fn sign_of<T: crate::Real>(e: u32) -> T {
    if e & ENTRY_SIGN == 0 {
        T::ONE
    } else {
        -T::ONE
    }
}

/// Lists of entries per outer index (`ptr[o]..ptr[o+1]`), inner indices ascending.
#[derive(Clone, Debug, Default)]
pub(crate) struct Compressed {
    pub ptr: Vec<usize>,
    pub ent: Vec<u32>,
}

impl Compressed {
    #[inline(always)]
    pub fn list(&self, o: usize) -> &[u32] {
        &self.ent[self.ptr[o]..self.ptr[o + 1]]
    }

    /// Builds the lists by generating each outer index's entries with `gen`
    /// (in parallel, over fixed chunks of outer indices): `gen(o0..o1, lens, ent)`
    /// appends the entries of `o0`, `o0 + 1`, … to `ent` and their counts to `lens`
    /// ([`Self::per_outer`] adapts a generator of one list). `per_outer` is the number
    /// of entries an outer index usually has: each chunk reserves that much up front,
    /// fallibly, so that lists too large for memory are an error, not an abort (a
    /// list longer than usual grows the chunk's reservation by a small amount).
    pub fn generate(
        n_outer: usize,
        per_outer: usize,
        gen: impl Fn(std::ops::Range<usize>, &mut Vec<usize>, &mut Vec<u32>) + Sync,
    ) -> Result<Self> {
        const CHUNK: usize = 2048;
        let parts: Vec<(Vec<usize>, Vec<u32>)> = (0..n_outer.div_ceil(CHUNK))
            .into_par_iter()
            .map(|c| -> Result<_> {
                let (o0, o1) = (c * CHUNK, ((c + 1) * CHUNK).min(n_outer));
                let mut lens = try_vec(0, 0usize, "index list lengths")?;
                let mut ent = try_vec(0, 0u32, "index lists")?;
                let want = per_outer.saturating_mul(o1 - o0);
                if lens.try_reserve_exact(o1 - o0).is_err() || ent.try_reserve(want).is_err() {
                    return Err(SketchError::Alloc(format!(
                        "index lists of about {} entries",
                        per_outer.saturating_mul(n_outer)
                    )));
                }
                gen(o0..o1, &mut lens, &mut ent);
                debug_assert_eq!(lens.len(), o1 - o0);
                Ok((lens, ent))
            })
            .collect::<Result<_>>()?;
        let total: usize = parts.iter().map(|p| p.1.len()).sum();
        let mut ptr = Vec::new();
        let mut ent = Vec::new();
        if ptr.try_reserve_exact(n_outer + 1).is_err() || ent.try_reserve_exact(total).is_err() {
            return Err(SketchError::Alloc(format!(
                "index lists of {total} entries"
            )));
        }
        ptr.push(0);
        for (lens, e) in parts {
            for l in lens {
                ptr.push(ptr.last().copied().unwrap_or(0) + l);
            }
            ent.extend_from_slice(&e);
        }
        Ok(Compressed { ptr, ent })
    }

    /// A chunk generator for [`Self::generate`] from `one(o, ent)`, which appends the
    /// entries of outer index `o`.
    pub fn per_outer(
        one: impl Fn(usize, &mut Vec<u32>) + Sync,
    ) -> impl Fn(std::ops::Range<usize>, &mut Vec<usize>, &mut Vec<u32>) + Sync {
        move |outer, lens, ent| {
            for o in outer {
                let before = ent.len();
                one(o, ent);
                lens.push(ent.len() - before);
            }
        }
    }

    /// The transposed lists (counting sort): inner indices become outer ones; each new
    /// list is in ascending order of the old outer index.
    pub fn transpose(&self, n_inner: usize) -> Result<Self> {
        let mut counts = try_vec(n_inner + 1, 0usize, "transposed index pointers")?;
        for &e in &self.ent {
            counts[(e & ENTRY_INDEX) as usize + 1] += 1;
        }
        for i in 0..n_inner {
            counts[i + 1] += counts[i];
        }
        let mut ptr = try_vec(0, 0usize, "transposed index pointers")?;
        if ptr.try_reserve_exact(counts.len()).is_err() {
            return Err(SketchError::Alloc("transposed index pointers".into()));
        }
        ptr.extend_from_slice(&counts);
        let mut next = counts;
        let mut ent = try_vec(self.ent.len(), 0u32, "transposed index lists")?;
        for o in 0..self.ptr.len().saturating_sub(1) {
            for &e in self.list(o) {
                let i = (e & ENTRY_INDEX) as usize;
                ent[next[i]] = (o as u32) | (e & ENTRY_SIGN);
                next[i] += 1;
            }
        }
        Ok(Compressed { ptr, ent })
    }
}

/// One block of columns `[j0, j0 + width)`: the rows with entries there, each with
/// its entries (column index relative to `j0`), and the columns with no entry.
#[derive(Clone, Debug, Default)]
pub(crate) struct Block {
    pub rows: Vec<u32>,
    pub ptr: Vec<u32>,
    pub ent: Vec<u32>,
    /// Columns (relative to `j0`) that no row has an entry in, when they are at most
    /// half of the block; `None` when there are more.
    pub empty: Option<Vec<u32>>,
}

/// Row lists split by column blocks of a fixed width.
#[derive(Clone, Debug, Default)]
pub(crate) struct Blocked {
    pub width: usize,
    pub blocks: Vec<Block>,
}

impl Blocked {
    pub fn from_rows(csr: &Compressed, n_rows: usize, n_cols: usize, width: usize) -> Result<Self> {
        let nb = n_cols.div_ceil(width);
        // The lists hold every entry once more: reserve up front so that a failure is
        // an error, not an abort.
        let mut probe: Vec<u32> = Vec::new();
        if probe.try_reserve_exact(csr.ent.len() + 2 * nb).is_err() {
            return Err(SketchError::Alloc(format!(
                "blocked index lists of {} entries",
                csr.ent.len()
            )));
        }
        drop(probe);
        let mut blocks: Vec<Block> = (0..nb)
            .map(|_| Block {
                rows: Vec::new(),
                ptr: vec![0],
                ent: Vec::new(),
                empty: Some(Vec::new()),
            })
            .collect();
        let mut used = try_vec(n_cols.div_ceil(64), 0u64, "blocked index lists")?;
        for &e in &csr.ent {
            let j = (e & ENTRY_INDEX) as usize;
            used[j / 64] |= 1 << (j % 64);
        }
        for (b, blk) in blocks.iter_mut().enumerate() {
            let (j0, j1) = (b * width, ((b + 1) * width).min(n_cols));
            let empty: Vec<u32> = (j0..j1)
                .filter(|&j| used[j / 64] & (1 << (j % 64)) == 0)
                .map(|j| (j - j0) as u32)
                .collect();
            blk.empty = (2 * empty.len() <= j1 - j0).then_some(empty);
        }
        for i in 0..n_rows {
            let list = csr.list(i);
            let mut t = 0;
            while t < list.len() {
                let b = (list[t] & ENTRY_INDEX) as usize / width;
                let base = (b * width) as u32;
                let blk = &mut blocks[b];
                blk.rows.push(i as u32);
                while t < list.len() && (list[t] & ENTRY_INDEX) as usize / width == b {
                    blk.ent
                        .push(((list[t] & ENTRY_INDEX) - base) | (list[t] & ENTRY_SIGN));
                    t += 1;
                }
                blk.ptr.push(blk.ent.len() as u32);
            }
        }
        Ok(Blocked { width, blocks })
    }
}

/// A sparse operator `M` of shape `rows × cols` with entries `±scale`. The row lists
/// and the blocked lists are derived on first use: the scatter and CSR-row kernels
/// need only the column lists.
#[derive(Debug)]
pub struct SparseMat {
    pub(crate) rows: usize,
    pub(crate) cols: usize,
    pub(crate) scale: f64,
    pub(crate) csc: Compressed,
    csr: OnceLock<Compressed>,
    blocked: OnceLock<Blocked>,
    packed: OnceLock<Packed>,
}

/// Column lists of a very sparse operator packed for random access: one 8-byte
/// load per column instead of two dependent ones (pointer, then entries). The few
/// columns with more than two entries keep their first two in the slot and the rest
/// in a short tail list found by rank among the long columns; those arrays stay in
/// cache (a column pointer array as long as the columns did not, and every long
/// column paid two misses).
#[derive(Debug)]
pub(crate) struct Packed {
    /// The first two entries of every column (index in the low 30 bits, the sign in
    /// bit 31); [`EMPTY`] marks an unused slot, and [`TAIL`] in the second entry a
    /// column with more than two entries.
    pub cols: Vec<[u32; 2]>,
    /// Bit `j` set: column `j` has more than two entries.
    pub long: Vec<u64>,
    /// Long columns before each word of `long`.
    pub rank: Vec<u32>,
    /// Where the tail of the `r`-th long column starts in `tail` (one more at the end).
    pub tail_ptr: Vec<u32>,
    /// The entries of the long columns after their first two.
    pub tail: Vec<u32>,
}

impl Packed {
    /// The entries of column `j` beyond the two in its slot, for a column whose slot
    /// carries [`TAIL`] (ordinary entries: index and sign bit; none otherwise).
    #[inline(always)]
    pub fn tail(&self, j: usize) -> &[u32] {
        let word = self.long[j / 64];
        if word >> (j % 64) & 1 == 0 {
            return &[];
        }
        let r =
            self.rank[j / 64] as usize + (word & ((1u64 << (j % 64)) - 1)).count_ones() as usize;
        &self.tail[self.tail_ptr[r] as usize..self.tail_ptr[r + 1] as usize]
    }
}

/// Bit 30 of a [`Packed`] slot's second entry: the column has more entries, in its
/// tail. The kernel tests the slot it has just loaded instead of a bit set.
pub(crate) const TAIL: u32 = 1 << 30;
/// Index bits of a [`Packed`] slot entry (bit 30 is [`TAIL`], bit 31 the sign).
pub(crate) const SLOT_INDEX: u32 = TAIL - 1;
/// Unused entry of a [`Packed`] slot: index `2^30 − 1`, never a row (lists are only
/// packed for fewer rows), with the sign and [`TAIL`] clear.
pub(crate) const EMPTY: u32 = SLOT_INDEX;

/// Column-block width of the gather kernel: a block of the transposed input tile
/// (`width × 128 bytes`) stays in L1. On `X · Sᵀ` (X 20000 × 4096 f32, S 256 rows of
/// density 1/64, one thread) 256 columns beat 512 (58–66 against 63–73 ms).
pub(crate) const BLOCK_WIDTH: usize = 256;
/// Widest block (a 128 KB tile block, in L2).
const MAX_BLOCK_WIDTH: usize = 1024;
/// Rows of `M` above which blocks may widen.
const WIDE_ROWS: usize = 1024;

/// Column-block width of the gather kernel for `M` (`rows × cols`, `nnz` entries).
/// Every row a block touches costs a round trip of its 128-byte accumulator through
/// L2. With more than [`WIDE_ROWS`] rows (accumulators over 256 KB) and few entries per
/// column, as in a short sketch of a tall matrix (`S A`, `S` of `4d` rows), a
/// [`BLOCK_WIDTH`]-column block gives a touched row about one entry, so that round
/// trip would cost as much as the entry: the block widens (up to
/// [`MAX_BLOCK_WIDTH`], into L2) until rows average four entries. The width never
/// changes a result bit (each element is summed in ascending column order).
fn block_width(rows: usize, cols: usize, nnz: usize) -> usize {
    if rows <= WIDE_ROWS {
        return BLOCK_WIDTH;
    }
    let per_col = (nnz / cols.max(1)).max(1);
    (4 * rows / per_col)
        .next_power_of_two()
        .clamp(BLOCK_WIDTH, MAX_BLOCK_WIDTH)
}

impl SparseMat {
    /// From column lists.
    pub(crate) fn from_csc(rows: usize, cols: usize, scale: f64, csc: Compressed) -> Self {
        SparseMat {
            rows,
            cols,
            scale,
            csc,
            csr: OnceLock::new(),
            blocked: OnceLock::new(),
            packed: OnceLock::new(),
        }
    }

    /// Row lists (the transposed index lists).
    pub(crate) fn csr(&self) -> Result<&Compressed> {
        if let Some(c) = self.csr.get() {
            return Ok(c);
        }
        let c = self.csc.transpose(self.rows)?;
        Ok(self.csr.get_or_init(|| c))
    }

    /// Row lists split by column blocks.
    pub(crate) fn blocked(&self) -> Result<&Blocked> {
        if let Some(b) = self.blocked.get() {
            return Ok(b);
        }
        let width = block_width(self.rows, self.cols, self.nnz());
        let b = Blocked::from_rows(self.csr()?, self.rows, self.cols, width)?;
        Ok(self.blocked.get_or_init(|| b))
    }

    /// Packed column lists, worth it when columns hold about two entries or fewer.
    pub(crate) fn packed(&self) -> Result<Option<&Packed>> {
        if self.nnz() > 2 * self.cols || self.rows >= SLOT_INDEX as usize {
            return Ok(None);
        }
        if let Some(p) = self.packed.get() {
            return Ok(Some(p));
        }
        let mut cols = try_vec(self.cols, [EMPTY; 2], "packed column lists")?;
        let mut long = try_vec(self.cols.div_ceil(64), 0u64, "packed column flags")?;
        let mut rank = try_vec(long.len(), 0u32, "packed column ranks")?;
        // At most nnz / 3 long columns and nnz tail entries (nnz ≤ 2 · cols < 2^32).
        let (mut tail_ptr, mut tail) = (try_vec(1, 0u32, "packed tails")?, Vec::new());
        for (j, slot) in cols.iter_mut().enumerate() {
            if j % 64 == 0 {
                rank[j / 64] = (tail_ptr.len() - 1) as u32;
            }
            let list = self.csc.list(j);
            for (dst, &e) in slot.iter_mut().zip(list) {
                *dst = e;
            }
            if list.len() > 2 {
                slot[1] |= TAIL;
                long[j / 64] |= 1 << (j % 64);
                tail.try_reserve(list.len() - 2)
                    .and_then(|()| tail_ptr.try_reserve(1))
                    .map_err(|_| SketchError::Alloc("packed tails".into()))?;
                tail.extend_from_slice(&list[2..]);
                tail_ptr.push(tail.len() as u32);
            }
        }
        Ok(Some(self.packed.get_or_init(|| Packed {
            cols,
            long,
            rank,
            tail_ptr,
            tail,
        })))
    }

    /// The transpose `Mᵀ` (its columns are `M`'s rows).
    pub(crate) fn transposed(&self) -> Result<Self> {
        let t = SparseMat::from_csc(self.cols, self.rows, self.scale, self.csr()?.clone());
        let _ = t.csr.set(self.csc.clone());
        Ok(t)
    }

    /// Number of stored entries.
    pub fn nnz(&self) -> usize {
        self.csc.ent.len()
    }
}
