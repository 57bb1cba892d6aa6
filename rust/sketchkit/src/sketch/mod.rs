//! Sketch operators `S` of shape `(k, d)`, all matrix-free and scaled so that
//! `E‖Sx‖² = ‖x‖²`.
//!
//! | family | entries of column `j` |
//! |---|---|
//! | [`Family::Gaussian`] | `N(0, 1)/√k` |
//! | [`Family::Rademacher`] | `±1/√k` |
//! | [`Family::VerySparse`] | `±√(1/(density·k))` with probability `density/2` each (Achlioptas, Li–Hastie–Church); positions by geometric skips |
//! | [`Family::SparseSign`] | exactly `nnz` entries `±1/√nnz` at distinct rows (Floyd's sampling) |
//! | [`Family::CountSketch`] | one `±1` at a uniform row |
//!
//! Column `j` is a pure function of `(seed, family, k, parameters, j)`.
//!
//! ```
//! use sketchkit::{Family, LinearSketch, MatMut, MatRef, Sketch};
//! let s = Sketch::new(Family::SparseSign { nnz: 4 }, 16, 100, 7).unwrap();
//! let x = vec![1.0f64; 3 * 100];
//! let mut y = vec![0.0f64; 3 * 16];
//! s.project(MatRef::from_row_major(&x, 3, 100).unwrap(),
//!           MatMut::from_row_major(&mut y, 3, 16).unwrap()).unwrap();
//! // Same operator, same rows: same bits.
//! assert_eq!(y[..16], y[16..32]);
//! ```

#[cfg(target_arch = "x86_64")]
pub(crate) mod compact_x86;
pub(crate) mod csr;
pub(crate) mod dense;
#[cfg(target_arch = "x86_64")]
pub(crate) mod micro_x86;
pub(crate) mod sparse_kernels;
pub(crate) mod srht;
pub(crate) mod structure;
#[cfg(target_arch = "x86_64")]
pub(crate) mod transpose_x86;

pub use csr::{CsrParts, CsrParts32};
pub use structure::{SparseMat, MAX_SPARSE_DIM};

/// Test hooks (not part of the API).
#[doc(hidden)]
pub mod hooks {
    use std::sync::atomic::Ordering;

    /// Sets the least input per output part of the scatter kernel (`None`: the
    /// default), so that tests on small inputs reach the split into parts.
    pub fn set_part_min_bytes(bytes: Option<usize>) {
        super::sparse_kernels::PART_MIN_OVERRIDE
            .store(bytes.map_or(0, |b| b.max(1)), Ordering::Relaxed);
    }
}

use crate::backend::DenseEntries;
use crate::backend::ENTRY_SIGN;
use crate::error::{checked_mul, try_vec, Result, SketchError};
use crate::rng::{open01, tag, LaneStream, Stream};
use crate::view::{CsrRef, MatMut, MatRef, SparseIndex};
use crate::Real;
use rayon::prelude::*;
use std::sync::OnceLock;
use structure::Compressed;

/// The operator families, with their parameters. The names (`"gaussian"`, …) belong
/// to [`FamilyKind`]; `Display` writes them.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Family {
    /// Dense i.i.d. `N(0, 1/k)` entries.
    Gaussian,
    /// Dense i.i.d. `±1/√k` entries.
    Rademacher,
    /// Achlioptas/Li very sparse projection with the given `density` in (0, 1].
    VerySparse {
        /// Probability that an entry is nonzero.
        density: f64,
    },
    /// Sparse sign embedding with exactly `nnz` nonzeros per column.
    SparseSign {
        /// Nonzeros per column (`1 <= nnz <= k`).
        nnz: usize,
    },
    /// CountSketch: one `±1` per column.
    CountSketch,
    /// Subsampled randomized Hadamard transform (`k <= d'`, `d'` = next power of two).
    Srht,
}

/// A family without its parameters: what a name like `"sparse_sign"` denotes. The one
/// place where family names are written ([`FamilyKind::name`]); everything else
/// (the binding, Python, the CLI) asks for [`FamilyKind::ALL`] or parses with
/// [`str::parse`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FamilyKind {
    /// See [`Family::Gaussian`].
    Gaussian,
    /// See [`Family::Rademacher`].
    Rademacher,
    /// See [`Family::VerySparse`].
    VerySparse,
    /// See [`Family::SparseSign`].
    SparseSign,
    /// See [`Family::CountSketch`].
    CountSketch,
    /// See [`Family::Srht`].
    Srht,
}

impl FamilyKind {
    /// Every family, in documentation order.
    pub const ALL: [FamilyKind; 6] = [
        FamilyKind::Gaussian,
        FamilyKind::Rademacher,
        FamilyKind::VerySparse,
        FamilyKind::SparseSign,
        FamilyKind::CountSketch,
        FamilyKind::Srht,
    ];

    /// The lower-case name used by every API.
    pub fn name(self) -> &'static str {
        match self {
            FamilyKind::Gaussian => "gaussian",
            FamilyKind::Rademacher => "rademacher",
            FamilyKind::VerySparse => "very_sparse",
            FamilyKind::SparseSign => "sparse_sign",
            FamilyKind::CountSketch => "countsketch",
            FamilyKind::Srht => "srht",
        }
    }

    /// Whether the family is stored as index lists (most entries exactly zero).
    pub fn is_sparse(self) -> bool {
        matches!(
            self,
            FamilyKind::VerySparse | FamilyKind::SparseSign | FamilyKind::CountSketch
        )
    }

    /// The names of the parameters the family takes: `nnz` (sparse sign) or
    /// `density` (very sparse); none for the other families.
    pub fn parameters(self) -> &'static [&'static str] {
        match self {
            FamilyKind::VerySparse => &["density"],
            FamilyKind::SparseSign => &["nnz"],
            _ => &[],
        }
    }

    /// The family with its parameters: `nnz` (default [`DEFAULT_NNZ`]) and `density`
    /// (default [`auto_density`]`(d)`) for the families whose
    /// [`FamilyKind::parameters`] name them. A parameter given to a family that does
    /// not take it is an error naming it; ranges are checked by [`Sketch::new`].
    pub fn with_params(self, d: usize, nnz: Option<usize>, density: Option<f64>) -> Result<Family> {
        for (arg, given) in [("nnz", nnz.is_some()), ("density", density.is_some())] {
            if given && !self.parameters().contains(&arg) {
                let takers: Vec<&str> = FamilyKind::ALL
                    .into_iter()
                    .filter(|k| k.parameters().contains(&arg))
                    .map(|k| k.name())
                    .collect();
                return Err(SketchError::arg(
                    arg,
                    format!(
                        "applies to the '{}' family only, not {:?}",
                        takers.join("', '"),
                        self.name()
                    ),
                ));
            }
        }
        Ok(match self {
            FamilyKind::Gaussian => Family::Gaussian,
            FamilyKind::Rademacher => Family::Rademacher,
            FamilyKind::VerySparse => Family::VerySparse {
                density: density.unwrap_or_else(|| auto_density(d)),
            },
            FamilyKind::SparseSign => Family::SparseSign {
                nnz: nnz.unwrap_or(DEFAULT_NNZ),
            },
            FamilyKind::CountSketch => Family::CountSketch,
            FamilyKind::Srht => Family::Srht,
        })
    }
}

impl std::fmt::Display for FamilyKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for FamilyKind {
    type Err = SketchError;
    /// Parses a family name; the error names `family` and lists every name.
    fn from_str(s: &str) -> Result<Self> {
        parse_name(s, FamilyKind::ALL, FamilyKind::name, "family")
    }
}

/// The one name parser: the member of `all` whose `name` is `s`, or an error naming
/// `arg` that lists every name ("unknown name "x"; expected one of a, b, c").
pub fn parse_name<T: Copy, const N: usize>(
    s: &str,
    all: [T; N],
    name: fn(T) -> &'static str,
    arg: &'static str,
) -> Result<T> {
    all.into_iter().find(|&t| name(t) == s).ok_or_else(|| {
        SketchError::arg(
            arg,
            format!(
                "unknown name {s:?}; expected one of {}",
                all.map(name).join(", ")
            ),
        )
    })
}

/// Nonzeros per column of a sparse sign operator when none is given: 8 keeps the
/// embedding accurate at 8 adds per input coordinate.
pub const DEFAULT_NNZ: usize = 8;

/// The smallest `density · k` of the very sparse family: its entries `±1/√(density·k)`
/// stay at most `2^125`, inside float32 (beyond it they would overflow to inf, and a
/// projection would be NaN where it should be 0). Such operators are all-zero with
/// overwhelming probability anyway.
pub const MIN_DENSITY_K: f64 = 1.0 / ((1u128 << 125) as f64 * (1u128 << 125) as f64);

/// The very sparse family's default density, `1/√d` (Li, Hastie and Church;
/// scikit-learn's `density='auto'`).
pub fn auto_density(d: usize) -> f64 {
    1.0 / (d as f64).sqrt()
}

impl Family {
    /// The family without its parameters.
    pub fn kind(&self) -> FamilyKind {
        match self {
            Family::Gaussian => FamilyKind::Gaussian,
            Family::Rademacher => FamilyKind::Rademacher,
            Family::VerySparse { .. } => FamilyKind::VerySparse,
            Family::SparseSign { .. } => FamilyKind::SparseSign,
            Family::CountSketch => FamilyKind::CountSketch,
            Family::Srht => FamilyKind::Srht,
        }
    }

    /// Lower-case name used by every API (that of [`Family::kind`]).
    pub fn name(&self) -> &'static str {
        self.kind().name()
    }

    /// Whether the family is stored as index lists.
    pub fn is_sparse(&self) -> bool {
        self.kind().is_sparse()
    }

    /// The entry law of a dense family, `None` for the others.
    pub fn dense_entries(&self) -> Option<DenseEntries> {
        match self {
            Family::Gaussian => Some(DenseEntries::Gaussian),
            Family::Rademacher => Some(DenseEntries::Rademacher),
            _ => None,
        }
    }
}

impl std::fmt::Display for Family {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Linear sketch operators of shape `(k, d)` applied in both directions. Only the
/// two feature-direction methods are required; the row-direction ones are the same
/// computation on transposed views (free).
pub trait LinearSketch {
    /// `(k, d)`.
    fn shape(&self) -> (usize, usize);
    /// `out = X · Sᵀ` for `X` of shape `(n, d)`; `out` is `(n, k)`.
    fn project<T: Real>(&self, x: MatRef<'_, T>, out: MatMut<'_, T>) -> Result<()>;
    /// `out = Z · S` for `Z` of shape `(n, k)`; `out` is `(n, d)`.
    fn project_adjoint<T: Real>(&self, z: MatRef<'_, T>, out: MatMut<'_, T>) -> Result<()>;
    /// `out = S · A` for `A` of shape `(d, m)`; `out` is `(k, m)`.
    fn sketch<T: Real>(&self, a: MatRef<'_, T>, out: MatMut<'_, T>) -> Result<()> {
        self.project(a.t(), out.t()).map_err(|e| e.for_input("A"))
    }
    /// `out = Sᵀ · Y` for `Y` of shape `(k, m)`; `out` is `(d, m)`.
    fn sketch_adjoint<T: Real>(&self, y: MatRef<'_, T>, out: MatMut<'_, T>) -> Result<()> {
        self.project_adjoint(y.t(), out.t())
            .map_err(|e| e.for_input("Y"))
    }
}

/// A sketch operator: family, shape and seed. Sparse families build their index
/// lists (`O(nnz)` memory) on first use and keep them.
#[derive(Debug)]
pub struct Sketch {
    family: Family,
    k: usize,
    d: usize,
    seed: u64,
    /// Index of column 0 in the operator this one is a column block of
    /// ([`Sketch::columns`]); 0 for every operator built by [`Sketch::new`].
    col0: usize,
    sparse: OnceLock<SparseMat>,
    sparse_t: OnceLock<SparseMat>,
    srht: OnceLock<srht::Srht>,
}

/// One draw of a very sparse column's scan: the gap `q = ln U / ln(1 − density)`
/// before the next entry moves `pos` (the next free row of `k` rows); emits the
/// entry (sign from the draw `w`'s low bit) and returns whether the column goes on.
#[inline(always)]
fn skip_step(w: u64, q: f64, k: u64, pos: &mut u64, emit: &mut impl FnMut(u32)) -> bool {
    // floor(q) >= k exactly when q >= k; also stops on NaN (never produced:
    // ln U < 0 and ln(1-p) < 0, so q >= 0)
    if q.is_nan() || q >= k as f64 {
        return false;
    }
    // truncation is floor for q >= 0 (one instruction; `floor` is a library call on
    // baseline x86-64)
    *pos += q as u64;
    if *pos >= k {
        return false;
    }
    emit(*pos as u32 | if w & 1 == 1 { ENTRY_SIGN } else { 0 });
    *pos += 1;
    true
}

/// A very sparse family's density with `ln(1 − density)`, the denominator of its
/// geometric skips: computed once per operator, not per column.
pub(crate) struct SkipLog {
    pub(crate) density: f64,
    ln_keep: f64,
}

impl SkipLog {
    pub(crate) fn new(density: f64) -> Self {
        SkipLog {
            density,
            ln_keep: crate::rng::ln_1p_neg(-density),
        }
    }
}

impl Clone for Sketch {
    fn clone(&self) -> Self {
        Sketch {
            family: self.family,
            k: self.k,
            d: self.d,
            seed: self.seed,
            col0: self.col0,
            sparse: OnceLock::new(),
            sparse_t: OnceLock::new(),
            srht: OnceLock::new(),
        }
    }
}

fn check_shape(what: &str, got: (usize, usize), want: (usize, usize)) -> Result<()> {
    if got != want {
        return Err(SketchError::ShapeMismatch(format!(
            "{what} has shape ({}, {}), expected ({}, {})",
            got.0, got.1, want.0, want.1
        )));
    }
    Ok(())
}

impl Sketch {
    /// Validates the parameters and creates the operator (no work is done yet). The
    /// rules, each error naming its argument: `k, d ≥ 1`; `k · d` within int64
    /// (`Overflow`); very sparse `density` in `(0, 1]` with `density · k ≥`
    /// [`MIN_DENSITY_K`]; sparse sign `1 ≤ nnz ≤ k`;
    /// sparse families `k, d ≤` [`MAX_SPARSE_DIM`] (`Overflow`); SRHT
    /// `k, d ≤ 2^30` (`Overflow`), with `d' ≥ max(d, k)` the padded dimension
    /// (the smallest power of two `≥ max(d, k)`).
    pub fn new(family: Family, k: usize, d: usize, seed: u64) -> Result<Self> {
        if k == 0 {
            return Err(SketchError::arg("k", "must be at least 1"));
        }
        if d == 0 {
            return Err(SketchError::arg("d", "must be at least 1"));
        }
        if k.checked_mul(d).is_none_or(|n| i64::try_from(n).is_err()) {
            return Err(SketchError::overflow(
                "k",
                format!("k * d = {k} * {d} overflows a signed 64-bit integer; reduce k or d"),
            ));
        }
        match family {
            Family::VerySparse { density } if !(density > 0.0 && density <= 1.0) => {
                return Err(SketchError::arg(
                    "density",
                    format!("must be in (0, 1], got {density}"),
                ));
            }
            Family::VerySparse { density } if density * (k as f64) < MIN_DENSITY_K => {
                return Err(SketchError::arg(
                    "density",
                    format!(
                        "must be at least 2^-250 / k = {:e} for k = {k}, got {density}: the \
                         entries ±1/√(density·k) must fit in float32",
                        MIN_DENSITY_K / k as f64
                    ),
                ));
            }
            Family::SparseSign { nnz } if nnz == 0 || nnz > k => {
                return Err(SketchError::arg(
                    "nnz",
                    format!("must be in [1, k={k}], got {nnz}"),
                ));
            }
            _ => {}
        }
        if family == Family::Srht {
            if d > crate::fwht::MAX_LEN {
                return Err(SketchError::overflow(
                    "d",
                    format!("the 'srht' family supports d up to 2^30, got {d}"),
                ));
            }
            if k > crate::fwht::MAX_LEN {
                return Err(SketchError::overflow(
                    "k",
                    format!("the 'srht' family supports k up to 2^30, got {k}"),
                ));
            }
        }
        if family.is_sparse() {
            for (arg, v) in [("k", k), ("d", d)] {
                if v > MAX_SPARSE_DIM {
                    return Err(SketchError::overflow(
                        arg,
                        format!(
                            "{arg}={v} exceeds 2^31 - 1, the largest dimension of the {:?} \
                             family",
                            family.name()
                        ),
                    ));
                }
            }
        }
        Ok(Sketch {
            family,
            k,
            d,
            seed,
            col0: 0,
            sparse: OnceLock::new(),
            sparse_t: OnceLock::new(),
            srht: OnceLock::new(),
        })
    }

    /// The operator named by `family` (see [`FamilyKind`]'s `FromStr`), with the
    /// family's parameters resolved by [`FamilyKind::with_params`] and every rule of
    /// [`Sketch::new`] checked.
    pub fn from_name(
        family: &str,
        k: usize,
        d: usize,
        seed: u64,
        nnz: Option<usize>,
        density: Option<f64>,
    ) -> Result<Self> {
        let kind: FamilyKind = family.parse()?;
        Sketch::new(kind.with_params(d, nnz, density)?, k, d, seed)
    }

    /// Nonzeros per column: `nnz` for sparse sign, 1 for CountSketch, `None` for the
    /// other families.
    pub fn nnz(&self) -> Option<usize> {
        match self.family {
            Family::SparseSign { nnz } => Some(nnz),
            Family::CountSketch => Some(1),
            _ => None,
        }
    }

    /// The very sparse family's density, `None` for the other families.
    pub fn density(&self) -> Option<f64> {
        match self.family {
            Family::VerySparse { density } => Some(density),
            _ => None,
        }
    }

    /// `d'`: for the SRHT, the smallest power of two `≥ max(d, k)` (inputs are
    /// zero-padded to it; `k > d` needs `d' ≥ k` distinct rows of `H`), `d` otherwise.
    pub fn padded_dim(&self) -> usize {
        match self.family {
            Family::Srht => srht::padded_dim(self.d, self.k),
            _ => self.d,
        }
    }

    /// Bytes the operator's own structures take once built: the index lists of both
    /// orientations for the sparse families (about 16 bytes per expected nonzero and
    /// per row and column), the `k × d` matrix of `dtype_bytes`-byte entries that
    /// dense families and the SRHT materialize for sparse input. A guard in front of
    /// impossible requests, before any allocation.
    pub fn working_bytes(&self, dtype_bytes: usize) -> f64 {
        let (k, d) = (self.k as f64, self.d as f64);
        let nnz = match self.family {
            Family::VerySparse { density } => density * k * d,
            Family::SparseSign { nnz } => nnz as f64 * d,
            Family::CountSketch => d,
            _ => return k * d * dtype_bytes as f64,
        };
        16.0 * nnz + 16.0 * (k + d)
    }

    /// The family.
    pub fn family(&self) -> Family {
        self.family
    }
    /// The seed.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// Magnitude of the nonzero entries (sparse families) or `1/√k` (dense ones).
    pub fn scale(&self) -> f64 {
        match self.family {
            Family::Gaussian | Family::Rademacher | Family::Srht => 1.0 / (self.k as f64).sqrt(),
            Family::VerySparse { density } => (1.0 / (density * self.k as f64)).sqrt(),
            Family::SparseSign { nnz } => 1.0 / (nnz as f64).sqrt(),
            Family::CountSketch => 1.0,
        }
    }

    /// Appends column `j`'s entries (row index | sign bit), rows ascending.
    /// The usual number of entries in a column of a sparse family (the mean plus a
    /// little for very sparse ones), for reserving index lists up front.
    fn entries_per_column(&self) -> usize {
        match self.family {
            Family::VerySparse { density } => (density * self.k as f64 * 1.1).ceil() as usize + 4,
            Family::SparseSign { nnz } => nnz,
            Family::CountSketch => 1,
            Family::Gaussian | Family::Rademacher | Family::Srht => 0,
        }
    }

    /// Column `j` of a sparse-family operator written densely into `out` (length `k`,
    /// zeroed first); `scratch` holds the column's index list between calls.
    #[inline(always)]
    pub(crate) fn column_into(&self, j: usize, scratch: &mut Vec<u32>, out: &mut [f32]) {
        out.fill(0.0);
        scratch.clear();
        self.sparse_column(j, scratch);
        let v = self.scale() as f32;
        for &e in scratch.iter() {
            let r = (e & !ENTRY_SIGN) as usize;
            out[r] = if e & ENTRY_SIGN != 0 { -v } else { v };
        }
    }

    /// Column `j`'s entries (row | sign bit), rows ascending, of a very sparse
    /// operator of this shape and seed with the given density, each passed to `emit`
    /// ([`Self::sparse_column`] collects them; FastRP sets sign bits directly).
    ///
    /// The draws are taken in batches: their logarithms vectorize, and the
    /// independent divisions of a batch overlap. A column takes about
    /// `density · k + 1` draws, so a long column goes 32 at a time and a short one 8
    /// (fewer draws made and not used). On FastRP's signs (256 rows, density 1/3,
    /// 10^5 columns, one thread, Intel AVX-512 VM) batches of 8 took 128 ms, of 16
    /// 100 ms, of 32 77 ms and of 64 88 ms. Building the index lists of 2·10^5
    /// columns (one thread, same VM) with batches of 8 against 32: 31 against 76 ms at
    /// 4 expected entries, 75 against 88 at 16, 104 against 103 at 24, 92–101 against
    /// 97 at 21 and 327 against 300 at 85; hence 32 from 24 entries on. Below 4
    /// expected entries (the default density 1/√d with d ≫ k², as for wide sparse
    /// input) a batch is one Philox block, two draws: 10^5 columns of 256 rows at
    /// density 1/316 (0.8 entries a column) took 12.6 ms with batches of 8 and 8.7 ms
    /// with batches of 2 (one thread), 13.4 against 10.0 ms at 1.6 entries, 14.8
    /// against 12.1 ms at 3.2. The batch changes no entry.
    #[inline(always)]
    pub(crate) fn very_sparse_column(&self, j: usize, skip: &SkipLog, emit: impl FnMut(u32)) {
        let expected = self.k as f64 * skip.density;
        if expected >= 24.0 {
            self.very_sparse_draws::<32, 16>(j, skip, emit)
        } else if expected >= 4.0 {
            self.very_sparse_draws::<8, 4>(j, skip, emit)
        } else {
            self.very_sparse_draws::<2, 1>(j, skip, emit)
        }
    }

    /// Columns `cols` of a very sparse operator: entries appended to `ent`, counts to
    /// `lens`. Below 2 expected entries most columns end within their first Philox
    /// block (two draws), so those blocks and their logarithms are computed for 8
    /// columns at once; a column that needs a third draw is drawn again from its
    /// start by [`Self::very_sparse_column`] (the same entries either way). For 10^5
    /// columns of 256 rows at density 1/316 (0.8 expected entries; one thread,
    /// `gen_timing`) 8.4 → 6.1 ms, at 1.6 entries 9.8 → 8.9 ms; at 3.2 entries, where
    /// most columns draw again, it lost (12.0 → 13.4 ms), hence the bound.
    #[inline(always)]
    fn very_sparse_chunk(
        &self,
        cols: std::ops::Range<usize>,
        skip: &SkipLog,
        lens: &mut Vec<usize>,
        ent: &mut Vec<u32>,
    ) {
        const L: usize = 8;
        let k = self.k as u64;
        let mut j = cols.start;
        if self.k as f64 * skip.density < 2.0 {
            while j + L <= cols.end {
                let first = (self.col0 + j) as u64;
                let w = Stream::block_words_lanes::<L>(self.seed, tag::VERY_SPARSE, first, 0);
                // A column's draws 0 and 1 (`LaneStream::next_u64`: low word first).
                let draws: [[u64; L]; 2] = std::array::from_fn(|d| {
                    std::array::from_fn(|l| {
                        u64::from(w[2 * d][l]) | (u64::from(w[2 * d + 1][l]) << 32)
                    })
                });
                let q = draws.map(|ds| ds.map(|w| crate::rng::ln_normal(open01(w)) / skip.ln_keep));
                for l in 0..L {
                    let before = ent.len();
                    // The scan of `very_sparse_draws`, over the two draws.
                    let mut pos = 0u64;
                    let mut push = |e| ent.push(e);
                    let more =
                        (0..2).all(|d| skip_step(draws[d][l], q[d][l], k, &mut pos, &mut push));
                    if more {
                        ent.truncate(before);
                        self.very_sparse_column(j + l, skip, |e| ent.push(e));
                    }
                    lens.push(ent.len() - before);
                }
                j += L;
            }
        }
        for j in j..cols.end {
            let before = ent.len();
            self.very_sparse_column(j, skip, |e| ent.push(e));
            lens.push(ent.len() - before);
        }
    }

    /// [`Self::very_sparse_column`] with batches of `B` draws, one refill of a
    /// stream of `L` Philox blocks each (`B = 2 · L` 64-bit draws).
    #[inline(always)]
    fn very_sparse_draws<const B: usize, const L: usize>(
        &self,
        j: usize,
        skip: &SkipLog,
        mut emit: impl FnMut(u32),
    ) {
        const { assert!(B == 2 * L) };
        let (k, seed, jj) = (self.k, self.seed, (self.col0 + j) as u64);
        // Geometric skips: the gap before the next nonzero is
        // floor(ln U / ln(1 - density)), so positions are Bernoulli(density)
        // without a trial per entry. The logarithms are the crate's own
        // (`ln_normal`, `ln_1p_neg`: the same bits on every platform); those of
        // a batch are taken together, and the scan uses them in order.
        let lq = skip.ln_keep;
        let mut s = LaneStream::<L>::new(seed, tag::VERY_SPARSE, jj);
        let mut pos = 0u64;
        'draws: loop {
            let mut w = [0u64; B];
            for v in w.iter_mut() {
                *v = s.next_u64();
            }
            let q = w.map(|w| crate::rng::ln_normal(open01(w)) / lq);
            for (&w, &q) in w.iter().zip(&q) {
                if !skip_step(w, q, k as u64, &mut pos, &mut emit) {
                    break 'draws;
                }
            }
        }
    }

    #[inline(always)]
    pub(crate) fn sparse_column(&self, j: usize, out: &mut Vec<u32>) {
        let (k, seed, jj) = (self.k, self.seed, (self.col0 + j) as u64);
        match self.family {
            Family::VerySparse { density } => {
                self.very_sparse_column(j, &SkipLog::new(density), |e| out.push(e));
            }
            Family::SparseSign { nnz } => {
                let mut s = Stream::new(seed, tag::SPARSE_SIGN, jj);
                let start = out.len();
                // Floyd's algorithm: nnz distinct rows with exactly nnz draws.
                for t in (k - nnz)..k {
                    let r = s.below(t as u32 + 1);
                    let chosen = &out[start..];
                    let taken = if nnz <= 64 {
                        chosen.contains(&r)
                    } else {
                        chosen.binary_search(&r).is_ok()
                    };
                    let v = if taken { t as u32 } else { r };
                    if nnz <= 64 {
                        out.push(v);
                    } else {
                        let at = start + out[start..].partition_point(|&x| x < v);
                        out.insert(at, v);
                    }
                }
                out[start..].sort_unstable();
                let mut word = 0u32;
                for (q, e) in out[start..].iter_mut().enumerate() {
                    if q % 32 == 0 {
                        word = s.next_u32();
                    }
                    if (word >> (q % 32)) & 1 == 1 {
                        *e |= ENTRY_SIGN;
                    }
                }
            }
            Family::CountSketch => {
                let mut s = Stream::new(seed, tag::COUNTSKETCH, jj);
                let r = s.below(k as u32);
                let neg = s.next_u32() & 1 == 1;
                out.push(r | if neg { ENTRY_SIGN } else { 0 });
            }
            Family::Gaussian | Family::Rademacher | Family::Srht => {}
        }
    }

    /// CountSketch's column lists (one entry per column), the same entries as
    /// [`Self::sparse_column`] but with the Philox blocks of 16 columns computed at
    /// once: a column whose first word would need Lemire's rejection step (probability
    /// below `k / 2³²`) takes the scalar path.
    fn countsketch_lists(&self) -> Result<Compressed> {
        const L: usize = 16;
        const CHUNK: usize = 1 << 14;
        let (k, seed) = (self.k as u32, self.seed);
        let mut ent = try_vec(self.d, 0u32, "index lists")?;
        let mut ptr = try_vec(0, 0usize, "index list pointers")?;
        if ptr.try_reserve_exact(self.d + 1).is_err() {
            return Err(SketchError::Alloc("index list pointers".into()));
        }
        ptr.extend(0..=self.d);
        ent.par_chunks_mut(CHUNK)
            .enumerate()
            .for_each(|(c, chunk)| {
                crate::dispatch!({
                    let mut scratch = Vec::new();
                    for (g, lanes) in chunk.chunks_mut(L).enumerate() {
                        let j0 = c * CHUNK + g * L;
                        let first = (self.col0 + j0) as u64;
                        let w = Stream::block_words_lanes::<L>(seed, tag::COUNTSKETCH, first, 0);
                        for (l, e) in lanes.iter_mut().enumerate() {
                            let m = u64::from(w[0][l]) * u64::from(k);
                            *e = if (m as u32) >= k {
                                // Accepted at once (the threshold is below k): below(k)
                                // used word 0 and the sign is word 1's low bit.
                                ((m >> 32) as u32) | if w[1][l] & 1 == 1 { ENTRY_SIGN } else { 0 }
                            } else {
                                scratch.clear();
                                self.sparse_column(j0 + l, &mut scratch);
                                scratch[0]
                            };
                        }
                    }
                })
            });
        Ok(Compressed { ptr, ent })
    }

    /// Index lists of a sparse family (built once and kept); `None` for the dense
    /// families.
    pub fn sparse_mat(&self) -> Result<Option<&SparseMat>> {
        if !self.family.is_sparse() {
            return Ok(None);
        }
        if let Some(m) = self.sparse.get() {
            return Ok(Some(m));
        }
        let csc = crate::parallel::install(|| {
            if self.family == Family::CountSketch {
                self.countsketch_lists()
            } else {
                let per = self.entries_per_column();
                match self.family {
                    Family::VerySparse { density } => {
                        // The skips' denominator once, not per column.
                        let skip = SkipLog::new(density);
                        Compressed::generate(self.d, per, |cols, lens, ent| {
                            crate::dispatch!(self.very_sparse_chunk(cols, &skip, lens, ent))
                        })
                    }
                    _ => Compressed::generate(
                        self.d,
                        per,
                        Compressed::per_outer(|j, out| self.sparse_column(j, out)),
                    ),
                }
            }
        })??;
        let m = SparseMat::from_csc(self.k, self.d, self.scale(), csc);
        Ok(Some(self.sparse.get_or_init(|| m)))
    }

    fn sparse_mat_t(&self) -> Result<Option<&SparseMat>> {
        let Some(m) = self.sparse_mat()? else {
            return Ok(None);
        };
        if let Some(t) = self.sparse_t.get() {
            return Ok(Some(t));
        }
        let t = m.transposed()?;
        Ok(Some(self.sparse_t.get_or_init(|| t)))
    }

    /// Rows `j0..j1` of `Sᵀ` for a dense family, written to `buf`.
    fn dense_st(&self, kind: DenseEntries, j0: usize, j1: usize, buf: &mut [impl Real]) {
        dense::st_block(kind, self.seed, self.k, self.col0 + j0, self.col0 + j1, buf);
    }

    /// Rows of `Sᵀ` generated per block by the dense GEMM path.
    fn dense_block(&self) -> usize {
        // ~1M entries per block, at least 64 rows: bounds memory to O(k) blocks.
        ((1 << 20) / self.k).clamp(64, 4096)
    }

    /// Runs `f` on the operator as the CSR kernels see it (a dense family is
    /// materialized as `Sᵀ`, `k·d` entries, for sparse inputs).
    fn with_op_ref<T: Real, R: Send>(
        &self,
        f: impl FnOnce(&csr::OpRef<'_, T>) -> Result<R> + Send,
    ) -> Result<R> {
        crate::parallel::install(|| {
            if let Some(m) = self.sparse_mat()? {
                f(&csr::OpRef::Sparse(m))
            } else {
                let st = self.materialize_st::<T>()?;
                f(&csr::OpRef::Dense { st: &st, k: self.k })
            }
        })?
    }

    /// `Sᵀ` (`d × k`, row-major) of a dense family or the SRHT.
    fn materialize_st<T: Real>(&self) -> Result<Vec<T>> {
        match (self.family.dense_entries(), self.srht()?) {
            (Some(kind), _) => csr::dense_st::<T>(kind, self.seed, self.k, self.col0, self.d),
            (None, Some(h)) => {
                let len = checked_mul(self.k, self.d, "k", "k * d")?;
                let mut st = try_vec(len, T::ZERO, "the materialized operator")?;
                st.par_chunks_mut(self.k).enumerate().for_each(|(j, row)| {
                    for (i, v) in row.iter_mut().enumerate() {
                        *v = h.entry(i, j);
                    }
                });
                Ok(st)
            }
            (None, None) => Err(SketchError::arg("family", "not a dense family")),
        }
    }

    /// The SRHT's random parts (built once); an error for other families.
    pub(crate) fn srht_parts(&self) -> Result<&srht::Srht> {
        self.srht()?
            .ok_or_else(|| SketchError::arg("family", "not an SRHT operator"))
    }

    /// The SRHT's random parts (built once and kept, like [`Sketch::sparse_mat`]);
    /// `None` for other families.
    fn srht(&self) -> Result<Option<&srht::Srht>> {
        if self.family != Family::Srht {
            return Ok(None);
        }
        if let Some(h) = self.srht.get() {
            return Ok(Some(h));
        }
        let h = srht::Srht::new(self.k, self.d, self.seed)?;
        Ok(Some(self.srht.get_or_init(|| h)))
    }

    /// `Err(NonFinite)` naming `arg` unless every stored value is finite.
    fn check_data<T: Real>(data: &[T], arg: &'static str) -> Result<()> {
        if crate::finite::slice_all_finite(data) {
            Ok(())
        } else {
            Err(SketchError::NonFinite { arg })
        }
    }

    /// `out = X · Sᵀ` for CSR `X` (`n × d`).
    pub fn project_csr<T: Real, I: SparseIndex>(
        &self,
        x: &CsrRef<'_, T, I>,
        out: MatMut<'_, T>,
    ) -> Result<()> {
        check_shape("X", (x.rows, x.cols), (x.rows, self.d))?;
        check_shape("out", (out.rows(), out.cols()), (x.rows, self.k))?;
        // The kernel checks each row's stored values as it reads them.
        self.with_op_ref(|op| csr::rows_times_st(op, x, self.k, out))
    }

    /// `X · Sᵀ` for CSR `X` as a CSR triple `(indptr, indices, data)` of shape `(n, k)`.
    pub fn project_csr_sparse<T: Real, I: SparseIndex>(
        &self,
        x: &CsrRef<'_, T, I>,
    ) -> Result<CsrParts32<T>> {
        check_shape("X", (x.rows, x.cols), (x.rows, self.d))?;
        // The kernel checks each row's stored values as it reads them.
        self.with_op_ref(|op| csr::rows_times_st_sparse(op, x, self.k))
    }

    /// `out = S · A` for CSR `A` (`d × m`).
    pub fn sketch_csr<T: Real, I: SparseIndex>(
        &self,
        a: &CsrRef<'_, T, I>,
        out: MatMut<'_, T>,
    ) -> Result<()> {
        check_shape("A", (a.rows, a.cols), (self.d, a.cols))?;
        check_shape("out", (out.rows(), out.cols()), (self.k, a.cols))?;
        Self::check_data(a.data, "A")?;
        self.with_op_ref(|op| csr::s_times_rows(op, a, self.k, out))
    }

    /// `S` as a dense row-major `k × d` array.
    pub fn to_dense<T: Real>(&self) -> Result<Vec<T>> {
        let len = checked_mul(self.k, self.d, "k", "k * d")?;
        let mut s = try_vec(len, T::ZERO, "the dense operator")?;
        let (k, d) = (self.k, self.d);
        self.with_op_ref::<T, ()>(|op| {
            match op {
                csr::OpRef::Sparse(m) => {
                    let scale = T::from_f64(m.scale);
                    for j in 0..d {
                        for &e in m.csc.list(j) {
                            let sign: T = structure::sign_of(e);
                            s[(e & structure::ENTRY_INDEX) as usize * d + j] = sign * scale;
                        }
                    }
                }
                csr::OpRef::Dense { st, .. } => {
                    for j in 0..d {
                        for i in 0..k {
                            s[i * d + j] = st[j * k + i];
                        }
                    }
                }
            }
            Ok(())
        })?;
        Ok(s)
    }

    /// `S` as a CSC triple `(indptr, indices, data)`; dense families store every entry.
    pub fn to_csc<T: Real>(&self) -> Result<CsrParts<T>> {
        let len = checked_mul(self.k, self.d, "k", "k * d")?;
        let (k, d) = (self.k, self.d);
        match self.family.is_sparse() {
            true => self.with_op_ref::<T, CsrParts<T>>(|op| {
                let csr::OpRef::Sparse(m) = op else {
                    return Err(SketchError::arg("family", "not sparse"));
                };
                let scale = T::from_f64(m.scale);
                let nnz = m.nnz();
                let mut indptr = try_vec(0, 0i64, "indptr")?;
                let mut indices = try_vec(0, 0i64, "indices")?;
                let mut data = try_vec(0, T::ZERO, "data")?;
                if indptr.try_reserve_exact(d + 1).is_err()
                    || indices.try_reserve_exact(nnz).is_err()
                    || data.try_reserve_exact(nnz).is_err()
                {
                    return Err(SketchError::Alloc(format!("a CSC copy of {nnz} entries")));
                }
                indptr.extend(m.csc.ptr.iter().map(|&p| p as i64));
                indices.extend(
                    m.csc
                        .ent
                        .iter()
                        .map(|&e| (e & structure::ENTRY_INDEX) as i64),
                );
                data.extend(
                    m.csc
                        .ent
                        .iter()
                        .map(|&e| structure::sign_of::<T>(e) * scale),
                );
                Ok((indptr, indices, data))
            }),
            false => {
                let st = crate::parallel::install(|| self.materialize_st::<T>())??;
                let mut indices = try_vec(len, 0i64, "indices")?;
                for (t, v) in indices.iter_mut().enumerate() {
                    *v = (t % k) as i64;
                }
                let indptr = (0..=d).map(|j| (j * k) as i64).collect();
                Ok((indptr, indices, st))
            }
        }
    }
}

impl Sketch {
    /// Whether `other` is the same operator: family with its parameters, shape, seed.
    pub fn same_operator(&self, other: &Sketch) -> bool {
        self.family == other.family
            && (self.k, self.d, self.seed, self.col0) == (other.k, other.d, other.seed, other.col0)
    }

    /// Columns `j0..j1` of this operator as an operator of shape `(k, j1 - j0)`: the
    /// same entries, generated from the same streams (column `j` of the block is
    /// column `j0 + j` here). Not available for the SRHT, whose columns are not
    /// generated one by one.
    pub(crate) fn columns(&self, j0: usize, j1: usize) -> Result<Sketch> {
        if self.family == Family::Srht {
            return Err(SketchError::arg(
                "operator",
                "the 'srht' family mixes all d coordinates in one transform, so a block of \
                 its columns is not an operator of its own",
            ));
        }
        if j0 >= j1 || j1 > self.d {
            return Err(SketchError::arg(
                "row_offset",
                format!(
                    "columns {j0}..{j1} are not a non-empty range inside 0..{}",
                    self.d
                ),
            ));
        }
        Ok(Sketch {
            family: self.family,
            k: self.k,
            d: j1 - j0,
            seed: self.seed,
            col0: self.col0 + j0,
            sparse: OnceLock::new(),
            sparse_t: OnceLock::new(),
            srht: OnceLock::new(),
        })
    }

    /// `out = S[:, r0..r0 + n] · A` for the `n × m` row block `A` (rows `r0..r0 + n`
    /// of a `d × m` matrix): the kernels of [`LinearSketch::sketch`] on the operator's
    /// column block, so the result depends on `(r0, A)` alone, never on the threads.
    /// SRHT operators are refused (error naming `operator`).
    pub fn sketch_rows<T: Real>(
        &self,
        r0: usize,
        a: MatRef<'_, T>,
        out: MatMut<'_, T>,
    ) -> Result<()> {
        let r1 = r0.saturating_add(a.rows());
        self.columns(r0, r1)?.sketch(a, out)
    }

    /// [`Sketch::sketch_rows`] for a CSR row block (`n × m`); the same bits as the dense
    /// block holding the same values.
    pub fn sketch_rows_csr<T: Real, I: SparseIndex>(
        &self,
        r0: usize,
        a: &CsrRef<'_, T, I>,
        out: MatMut<'_, T>,
    ) -> Result<()> {
        let r1 = r0.saturating_add(a.rows);
        self.columns(r0, r1)?.sketch_csr(a, out)
    }
}

impl LinearSketch for Sketch {
    fn shape(&self) -> (usize, usize) {
        (self.k, self.d)
    }

    fn project<T: Real>(&self, x: MatRef<'_, T>, mut out: MatMut<'_, T>) -> Result<()> {
        check_shape("X", (x.rows(), x.cols()), (x.rows(), self.d))?;
        check_shape("out", (out.rows(), out.cols()), (x.rows(), self.k))?;
        crate::parallel::install(|| match self.family.dense_entries() {
            None => match self.sparse_mat()? {
                Some(m) => sparse_kernels::apply_rows(m, x, out),
                None => self.srht_parts()?.project(x, out),
            },
            Some(kind) => {
                // `d >= 1` (the constructors' rule), so the first block below always
                // runs and overwrites `out`.
                debug_assert!(self.d > 0);
                let kb = self.dense_block();
                let mut buf = try_vec(kb.min(self.d) * self.k, T::ZERO, "operator block")?;
                for j0 in (0..self.d).step_by(kb) {
                    let j1 = (j0 + kb).min(self.d);
                    self.dense_st(kind, j0, j1, &mut buf);
                    let b = MatRef::from_row_major(&buf[..(j1 - j0) * self.k], j1 - j0, self.k)
                        .expect("buffer sized above");
                    // The first block overwrites `out`, the others add to it.
                    if !dense::gemm(x.sub(0, x.rows(), j0, j1), b, out.rb(), j0 > 0)? {
                        return Err(SketchError::NonFinite { arg: "X" });
                    }
                }
                Ok(())
            }
        })?
        .map_err(|e| e.for_input("X"))
    }

    fn project_adjoint<T: Real>(&self, z: MatRef<'_, T>, out: MatMut<'_, T>) -> Result<()> {
        check_shape("Z", (z.rows(), z.cols()), (z.rows(), self.k))?;
        check_shape("out", (out.rows(), out.cols()), (z.rows(), self.d))?;
        crate::parallel::install(|| match self.family.dense_entries() {
            None => match self.sparse_mat_t()? {
                Some(m) => sparse_kernels::apply_rows(m, z, out),
                None => self.srht_parts()?.project_adjoint(z, out),
            },
            Some(kind) => {
                let kb = self.dense_block();
                let mut buf = try_vec(kb.min(self.d) * self.k, T::ZERO, "operator block")?;
                let shared = out.into_shared();
                for j0 in (0..self.d).step_by(kb) {
                    let j1 = (j0 + kb).min(self.d);
                    self.dense_st(kind, j0, j1, &mut buf);
                    // Sᵀ block is (j1-j0) × k row-major; its transpose is k × (j1-j0).
                    let b = MatRef::from_row_major(&buf[..(j1 - j0) * self.k], j1 - j0, self.k)
                        .expect("buffer sized above")
                        .t();
                    // SAFETY: column blocks j0..j1 are disjoint and used one at a time.
                    let part = unsafe { shared.part(0, z.rows(), j0, j1) };
                    if !dense::gemm(z, b, part, false)? {
                        return Err(SketchError::NonFinite { arg: "Z" });
                    }
                }
                Ok(())
            }
        })?
        .map_err(|e| e.for_input("Z"))
    }
}

#[cfg(test)]
mod countsketch_tests {
    use super::*;

    /// The 16-lane CountSketch lists equal the per-column stream's entries, including
    /// columns whose first word is rejected (likely for k near 2³¹) and column blocks.
    #[test]
    fn lane_lists_match_per_column_entries() {
        for &(k, d, seed) in &[
            (7usize, 1000usize, 3u64),
            (2000, 40_003, 11),
            ((1 << 31) - 3, 5000, 5),
            ((1 << 31) - 1, 777, 9),
        ] {
            let s = Sketch::new(Family::CountSketch, k, d, seed).unwrap();
            for op in [s.columns(0, d).unwrap(), s.columns(d / 3, d).unwrap()] {
                let fast = op.countsketch_lists().unwrap();
                let mut one = Vec::new();
                for j in 0..op.d {
                    one.clear();
                    op.sparse_column(j, &mut one);
                    assert_eq!(fast.list(j), &one[..], "k={k} seed={seed} col {j}");
                }
            }
        }
    }

    /// The very sparse columns drawn with the crate's own logarithm are those the
    /// defining formula gives with the platform's `ln`, draw by draw, over a few
    /// million skips at several densities (the two logarithms differ by at most one
    /// unit in the last place, which moves a floor only when a quotient lies that
    /// close to an integer).
    #[test]
    fn very_sparse_columns_match_the_platform_logarithm() {
        for &(k, d, density) in &[
            (256usize, 20_000usize, 1.0 / 3.0),
            (64, 20_000, 1.0 / 16.0),
            (256, 20_003, 1.0 / 316.0),
            (100, 20_000, 0.035),
            (4096, 2000, 1.0 / 64.0),
            (1000, 500, 0.9),
        ] {
            let s = Sketch::new(Family::VerySparse { density }, k, d, 5).unwrap();
            // The lists as built (columns drawn 8 at a time when short).
            let built = &s.sparse_mat().unwrap().unwrap().csc;
            let (mut got, mut want) = (Vec::new(), Vec::new());
            for j in 0..d {
                got.clear();
                s.sparse_column(j, &mut got);
                assert_eq!(
                    built.list(j),
                    &got[..],
                    "k={k} density={density} column {j}"
                );
                want.clear();
                let lq = (-density).ln_1p();
                let mut st = LaneStream::<8>::new(5, tag::VERY_SPARSE, j as u64);
                let mut pos = 0u64;
                loop {
                    let w = st.next_u64();
                    let q = open01(w).ln() / lq;
                    if q >= k as f64 {
                        break;
                    }
                    pos += q.floor() as u64;
                    if pos >= k as u64 {
                        break;
                    }
                    want.push(pos as u32 | if w & 1 == 1 { ENTRY_SIGN } else { 0 });
                    pos += 1;
                }
                assert_eq!(got, want, "k={k} density={density} column {j}");
            }
        }
    }
}
