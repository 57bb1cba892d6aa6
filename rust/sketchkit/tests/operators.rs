//! Operator properties: equality with the materialized matrix in every layout and
//! direction, dense vs CSR paths, determinism across threads / chunks / SIMD levels,
//! scaling, and golden values pinning the streams.

use sketchkit::simd::{set_cap, Level};
use sketchkit::{CsrRef, Family, LinearSketch, MatMut, MatRef, Real, Sketch, SketchError};
use std::sync::Mutex;

/// Tests that change global state (thread count, SIMD cap) run one at a time.
static GLOBAL: Mutex<()> = Mutex::new(());

fn families() -> Vec<Family> {
    vec![
        Family::Gaussian,
        Family::Rademacher,
        Family::VerySparse { density: 0.2 },
        Family::VerySparse { density: 1.0 },
        Family::SparseSign { nnz: 3 },
        Family::CountSketch,
        Family::Srht,
    ]
}

fn data<T: Real>(n: usize, seed: u64) -> Vec<T> {
    let mut s = sketchkit::rng::Stream::new(seed, 77, 0);
    (0..n)
        .map(|_| T::from_f64(sketchkit::rng::open01(s.next_u64()) * 2.0 - 1.0))
        .collect()
}

/// out = X Sᵀ by the definition, in f64.
fn reference(s: &[f64], k: usize, d: usize, x: &[f64], n: usize) -> Vec<f64> {
    let mut y = vec![0.0; n * k];
    for r in 0..n {
        for i in 0..k {
            y[r * k + i] = (0..d).map(|j| x[r * d + j] * s[i * d + j]).sum();
        }
    }
    y
}

fn close(a: &[f64], b: &[f64], tol: f64) {
    assert_eq!(a.len(), b.len());
    for (x, y) in a.iter().zip(b) {
        assert!((x - y).abs() <= tol * (1.0 + y.abs()), "{x} vs {y}");
    }
}

fn project_c<T: Real>(s: &Sketch, x: &[T], n: usize) -> Vec<T> {
    let (k, d) = s.shape();
    let mut y = vec![T::ZERO; n * k];
    s.project(
        MatRef::from_row_major(x, n, d).unwrap(),
        MatMut::from_row_major(&mut y, n, k).unwrap(),
    )
    .unwrap();
    y
}

/// `X Sᵀ` for row-major `x` (`n × d`), computed from an F-order copy of `x` into an
/// F-order output (the scatter kernel for sparse families), returned row-major.
fn project_f(s: &Sketch, x: &[f64], n: usize) -> Vec<f64> {
    let (k, d) = s.shape();
    let mut xf = vec![0.0; n * d];
    for r in 0..n {
        for j in 0..d {
            xf[j * n + r] = x[r * d + j];
        }
    }
    let mut yf = vec![0.0; n * k];
    s.project(
        MatRef::from_col_major(&xf, n, d).unwrap(),
        MatMut::from_col_major(&mut yf, n, k).unwrap(),
    )
    .unwrap();
    let mut yc = vec![0.0; n * k];
    for r in 0..n {
        for i in 0..k {
            yc[r * k + i] = yf[i * n + r];
        }
    }
    yc
}

#[test]
fn project_matches_materialized_in_every_layout() {
    let _g = GLOBAL.lock().unwrap_or_else(|e| e.into_inner());
    for (k, d, n) in [(13, 70, 150), (9, 256, 130)] {
        layouts(k, d, n);
    }
}

fn layouts(k: usize, d: usize, n: usize) {
    for fam in families() {
        let s = Sketch::new(fam, k, d, 11).unwrap();
        let sd: Vec<f64> = s.to_dense().unwrap();
        let x: Vec<f64> = data(n * d, 1);
        let want = reference(&sd, k, d, &x, n);
        // C order
        close(&project_c(&s, &x, n), &want, 1e-12);
        // F order input (scatter kernel for sparse families), F order output
        close(&project_f(&s, &x, n), &want, 1e-12);
        // strided: every other column of a wider buffer
        let mut xw = vec![f64::NAN; n * 2 * d];
        for r in 0..n {
            for j in 0..d {
                xw[r * 2 * d + 2 * j] = x[r * d + j];
            }
        }
        let mut ys = vec![0.0; n * k];
        s.project(
            MatRef::from_slice(&xw, 0, n, d, 2 * d as isize, 2).unwrap(),
            MatMut::from_row_major(&mut ys, n, k).unwrap(),
        )
        .unwrap();
        close(&ys, &want, 1e-12);
    }
}

#[test]
fn all_four_directions_match_materialized() {
    let _g = GLOBAL.lock().unwrap_or_else(|e| e.into_inner());
    let (k, d, m) = (9, 40, 17);
    for fam in families() {
        let s = Sketch::new(fam, k, d, 5).unwrap();
        let sd: Vec<f64> = s.to_dense().unwrap();
        // sketch: S A, A (d × m) C order
        let a: Vec<f64> = data(d * m, 2);
        let mut out = vec![0.0; k * m];
        s.sketch(
            MatRef::from_row_major(&a, d, m).unwrap(),
            MatMut::from_row_major(&mut out, k, m).unwrap(),
        )
        .unwrap();
        let mut want = vec![0.0; k * m];
        for i in 0..k {
            for c in 0..m {
                want[i * m + c] = (0..d).map(|j| sd[i * d + j] * a[j * m + c]).sum();
            }
        }
        close(&out, &want, 1e-12);
        // sketch_adjoint: Sᵀ Y, Y (k × m)
        let y: Vec<f64> = data(k * m, 3);
        let mut out = vec![0.0; d * m];
        s.sketch_adjoint(
            MatRef::from_row_major(&y, k, m).unwrap(),
            MatMut::from_row_major(&mut out, d, m).unwrap(),
        )
        .unwrap();
        for j in 0..d {
            for c in 0..m {
                let w: f64 = (0..k).map(|i| sd[i * d + j] * y[i * m + c]).sum();
                assert!((out[j * m + c] - w).abs() < 1e-12 * (1.0 + w.abs()));
            }
        }
        // project_adjoint: Z S, Z (m × k)
        let mut out = vec![0.0; m * d];
        s.project_adjoint(
            MatRef::from_row_major(&y, m, k).unwrap(),
            MatMut::from_row_major(&mut out, m, d).unwrap(),
        )
        .unwrap();
        for r in 0..m {
            for j in 0..d {
                let w: f64 = (0..k).map(|i| y[r * k + i] * sd[i * d + j]).sum();
                assert!((out[r * d + j] - w).abs() < 1e-12 * (1.0 + w.abs()));
            }
        }
    }
}

/// Dense X as CSR with sorted indices (zeros dropped).
fn to_csr<T: Real>(x: &[T], n: usize, d: usize) -> (Vec<i64>, Vec<i64>, Vec<T>) {
    let (mut p, mut idx, mut v) = (vec![0i64], vec![], vec![]);
    for r in 0..n {
        for j in 0..d {
            if x[r * d + j] != T::ZERO {
                idx.push(j as i64);
                v.push(x[r * d + j]);
            }
        }
        p.push(idx.len() as i64);
    }
    (p, idx, v)
}

#[test]
fn csr_packed_lists_with_long_columns_equal_dense_path() {
    // About 1.6 entries a column: the CSR kernel keeps two entries per column in a
    // slot and the rest of a long column in a tail found by rank; 700 columns span
    // eleven 64-bit words of the long-column flags.
    let (k, d, n) = (40, 700, 37);
    let s = Sketch::new(Family::VerySparse { density: 0.04 }, k, d, 5).unwrap();
    let m: Vec<f64> = s.to_dense().unwrap();
    let per_col: Vec<usize> = (0..d)
        .map(|j| (0..k).filter(|&i| m[i * d + j] != 0.0).count())
        .collect();
    assert!(
        per_col.iter().sum::<usize>() <= 2 * d,
        "packed lists in play"
    );
    let long: Vec<usize> = (0..d).filter(|&j| per_col[j] > 2).collect();
    assert!(long.len() > 20 && long[0] < 64 && *long.last().unwrap() > 640);
    let mut x: Vec<f64> = data(n * d, 8);
    for (i, v) in x.iter_mut().enumerate() {
        if i % 4 == 1 {
            *v = 0.0;
        }
    }
    let dense = project_c(&s, &x, n);
    close(&dense, &reference(&m, k, d, &x, n), 1e-12);
    let (p, idx, v) = to_csr(&x, n, d);
    let csr = CsrRef::new(n, d, &p, &idx, &v).unwrap();
    let mut y = vec![0.0; n * k];
    s.project_csr(&csr, MatMut::from_row_major(&mut y, n, k).unwrap())
        .unwrap();
    assert_eq!(y, dense);
    // An F-order output (rows not contiguous).
    let mut yf = vec![0.0; n * k];
    s.project_csr(&csr, MatMut::from_col_major(&mut yf, n, k).unwrap())
        .unwrap();
    for r in 0..n {
        for i in 0..k {
            assert_eq!(yf[i * n + r], dense[r * k + i]);
        }
    }
}

#[test]
fn csr_paths_equal_dense_paths_bitwise() {
    let _g = GLOBAL.lock().unwrap_or_else(|e| e.into_inner());
    let (k, d, n) = (11, 60, 90);
    for fam in families() {
        let s = Sketch::new(fam, k, d, 9).unwrap();
        let mut x: Vec<f64> = data(n * d, 4);
        for (i, v) in x.iter_mut().enumerate() {
            if i % 3 != 0 {
                *v = 0.0;
            }
        }
        let mut dense = project_c(&s, &x, n);
        if fam == Family::Srht {
            // The SRHT runs an FWHT on dense rows but uses its materialized matrix
            // for sparse input: equal to rounding, not bit for bit. Compare within
            // tolerance, then continue against the materialized-path result.
            let (p, idx, v) = to_csr(&x, n, d);
            let csr = CsrRef::new(n, d, &p, &idx, &v).unwrap();
            let mut y = vec![0.0; n * k];
            s.project_csr(&csr, MatMut::from_row_major(&mut y, n, k).unwrap())
                .unwrap();
            close(&y, &dense, 1e-12);
            dense = y;
        }
        let (p, idx, v) = to_csr(&x, n, d);
        let csr = CsrRef::new(n, d, &p, &idx, &v).unwrap();
        let mut y = vec![0.0; n * k];
        s.project_csr(&csr, MatMut::from_row_major(&mut y, n, k).unwrap())
            .unwrap();
        assert_eq!(y, dense, "{fam:?} project_csr");
        let (sp, si, sv) = s.project_csr_sparse(&csr).unwrap();
        let mut from_sparse = vec![0.0; n * k];
        for r in 0..n {
            for t in sp[r] as usize..sp[r + 1] as usize {
                from_sparse[r * k + si[t] as usize] = sv[t];
            }
        }
        assert_eq!(from_sparse, dense, "{fam:?} sparse output");
        // S A with A = Xᵀ given as CSR of A (d × n): build CSR of the transpose.
        let mut xt = vec![0.0; d * n];
        for r in 0..n {
            for j in 0..d {
                xt[j * n + r] = x[r * d + j];
            }
        }
        let (p2, i2, v2) = to_csr(&xt, d, n);
        let a = CsrRef::new(d, n, &p2, &i2, &v2).unwrap();
        let mut sa = vec![0.0; k * n];
        s.sketch_csr(&a, MatMut::from_row_major(&mut sa, k, n).unwrap())
            .unwrap();
        for r in 0..n {
            for i in 0..k {
                let (a, b) = (sa[i * n + r], dense[r * k + i]);
                assert!(
                    a == b || (fam == Family::Srht && (a - b).abs() < 1e-12),
                    "{fam:?} sketch_csr"
                );
            }
        }
    }
}

/// An operator with more than 1024 rows and few entries per column (a short sketch of
/// a tall matrix, as `S A` in sketched least squares): the gather kernel's column
/// blocks widen, and the result keeps the same bits as the scatter and CSR kernels
/// and every thread count.
#[test]
fn wide_gather_blocks_keep_every_kernels_bits() {
    let _g = GLOBAL.lock().unwrap_or_else(|e| e.into_inner());
    let (k, d, n) = (3000, 2500, 40);
    for fam in [Family::SparseSign { nnz: 8 }, Family::CountSketch] {
        let s = Sketch::new(fam, k, d, 21).unwrap();
        let x: Vec<f64> = data(n * d, 6);
        sketchkit::set_num_threads(1).unwrap();
        let gather = project_c(&s, &x, n);
        let sd: Vec<f64> = s.to_dense().unwrap();
        close(&gather, &reference(&sd, k, d, &x, n), 1e-12);
        for threads in [2, 3] {
            sketchkit::set_num_threads(threads).unwrap();
            assert!(project_c(&s, &x, n) == gather, "{fam:?} threads {threads}");
        }
        // F-order input and output: the scatter kernel.
        assert!(project_f(&s, &x, n) == gather, "{fam:?} scatter");
        let (p, idx, v) = to_csr(&x, n, d);
        let csr = CsrRef::new(n, d, &p, &idx, &v).unwrap();
        let mut y = vec![0.0; n * k];
        s.project_csr(&csr, MatMut::from_row_major(&mut y, n, k).unwrap())
            .unwrap();
        assert!(y == gather, "{fam:?} csr");
    }
    sketchkit::set_num_threads(std::thread::available_parallelism().map_or(2, |v| v.get()))
        .unwrap();
}

/// `S·A` for a narrow C-order `A` (the scatter kernel with fewer row strips than
/// threads): with at most one entry per column of `S` on average (CountSketch, a very
/// sparse `S` with empty columns) and a large enough `A` (here any: the test hook) the
/// tasks split the output rows of `S·A`, and the bits equal one thread's and the
/// dense reference's; NaN or infinity in any row of `A`, including rows whose column
/// of `S` is empty (read by no task's sums), is an error for every thread count.
#[test]
fn narrow_sketches_split_output_rows_across_threads() {
    let _g = GLOBAL.lock().unwrap_or_else(|e| e.into_inner());
    // Parts on every input of at least a byte per part (the default is for large ones).
    sketchkit::sketch::hooks::set_part_min_bytes(Some(1));
    let (k, d, m) = (300, 5000, 24);
    let sketch_of = |s: &Sketch, a: &[f64]| {
        let mut y = vec![0.0; k * m];
        s.sketch(
            MatRef::from_row_major(a, d, m).unwrap(),
            MatMut::from_row_major(&mut y, k, m).unwrap(),
        )
        .map(|()| y)
    };
    for fam in [Family::CountSketch, Family::VerySparse { density: 0.002 }] {
        let s = Sketch::new(fam, k, d, 5).unwrap();
        let a: Vec<f64> = data(d * m, 9);
        // Aᵀ row-major is A's columns: (S·A)ᵀ = Aᵀ Sᵀ, the reference's X Sᵀ.
        let mut at = vec![0.0; m * d];
        for j in 0..d {
            for c in 0..m {
                at[c * d + j] = a[j * m + c];
            }
        }
        let sd: Vec<f64> = s.to_dense().unwrap();
        let want = reference(&sd, k, d, &at, m);
        sketchkit::set_num_threads(1).unwrap();
        let base = sketch_of(&s, &a).unwrap();
        for i in 0..k {
            for c in 0..m {
                let (got, w) = (base[i * m + c], want[c * k + i]);
                assert!((got - w).abs() <= 1e-12 * (1.0 + w.abs()), "{fam:?}");
            }
        }
        let cols = s.to_csc::<f64>().unwrap().0;
        let empty = (0..d).find(|&j| cols[j] == cols[j + 1]);
        assert_eq!(empty.is_some(), fam != Family::CountSketch, "{fam:?}");
        let last_used = (0..d).rev().find(|&j| cols[j] != cols[j + 1]).unwrap();
        for threads in [1, 2, 3, 4] {
            sketchkit::set_num_threads(threads).unwrap();
            assert!(
                sketch_of(&s, &a).unwrap() == base,
                "{fam:?} threads {threads}"
            );
            for row in empty.into_iter().chain([0, last_used]) {
                let mut bad = a.clone();
                bad[row * m + m / 2] = f64::INFINITY;
                let e = sketch_of(&s, &bad).map(|_| ());
                assert_eq!(
                    e,
                    Err(SketchError::NonFinite { arg: "A" }),
                    "{fam:?} threads {threads} row {row}"
                );
            }
        }
    }
    sketchkit::sketch::hooks::set_part_min_bytes(None);
    sketchkit::set_num_threads(std::thread::available_parallelism().map_or(2, |v| v.get()))
        .unwrap();
}

#[test]
fn bit_identical_across_threads_chunks_and_simd_levels() {
    let _g = GLOBAL.lock().unwrap_or_else(|e| e.into_inner());
    let (k, d, n) = (64, 300, 333);
    for fam in families() {
        let s = Sketch::new(fam, k, d, 123).unwrap();
        for_both(&s, n, d, k);
    }
    sketchkit::set_num_threads(std::thread::available_parallelism().map_or(2, |v| v.get()))
        .unwrap();
    set_cap(None);
}

/// Rows 4 KB or more apart take the gather kernel's 8-row transposes on every SIMD
/// level (16-row ones below that on AVX-512): the same bits either way, for rows
/// exactly one page long and for rows longer than that.
#[test]
fn long_rows_bit_identical_across_simd_levels() {
    let _g = GLOBAL.lock().unwrap_or_else(|e| e.into_inner());
    let (k, n) = (32, 140);
    for d in [1024, 1100] {
        for fam in [
            Family::VerySparse { density: 0.1 },
            Family::SparseSign { nnz: 3 },
        ] {
            let s = Sketch::new(fam, k, d, 7).unwrap();
            for_both(&s, n, d, k);
        }
    }
    set_cap(None);
}

fn for_both(s: &Sketch, n: usize, d: usize, k: usize) {
    let x32: Vec<f32> = data(n * d, 8);
    let x64: Vec<f64> = data(n * d, 8);
    check_det(s, &x32, n, d, k);
    check_det(s, &x64, n, d, k);
}

fn check_det<T: Real>(s: &Sketch, x: &[T], n: usize, d: usize, k: usize) {
    set_cap(None);
    sketchkit::set_num_threads(1).unwrap();
    let base = project_c(s, x, n);
    for threads in [2, 3, 4] {
        sketchkit::set_num_threads(threads).unwrap();
        assert!(project_c(s, x, n) == base, "threads {threads}");
    }
    // chunked rows: 1, 37, 295 rows
    let mut chunked = Vec::new();
    for (r0, r1) in [(0, 1), (1, 38), (38, n)] {
        chunked.extend(project_c(s, &x[r0 * d..r1 * d], r1 - r0));
    }
    if chunked != base {
        let bad = chunked
            .iter()
            .zip(&base)
            .position(|(a, b)| a != b)
            .unwrap_or(0);
        panic!(
            "chunks: {:?} {} first diff at {} (row {}): {:?} vs {:?}",
            s.family(),
            T::NAME,
            bad,
            bad / k,
            chunked[bad],
            base[bad]
        );
    }
    for lvl in [Level::Scalar, Level::Avx2, Level::Avx512] {
        set_cap(Some(lvl));
        assert!(project_c(s, x, n) == base, "level {lvl:?}");
    }
    set_cap(None);
    let _ = k;
}

#[test]
fn scaling_is_unbiased_on_average() {
    let _g = GLOBAL.lock().unwrap_or_else(|e| e.into_inner());
    // E‖Sx‖² = ‖x‖²: the mean over 400 seeds of ‖Sx‖²/‖x‖² is within 4 standard
    // errors of 1 (the ratio's variance is below 2/k + 2/nnz-ish; 0.5 bounds it).
    let (k, d) = (32, 200);
    let x: Vec<f64> = data(d, 5);
    let nx: f64 = x.iter().map(|v| v * v).sum();
    for fam in families() {
        let reps = 400;
        let mean: f64 = (0..reps)
            .map(|seed| {
                let s = Sketch::new(fam, k, d, seed).unwrap();
                let y = project_c(&s, &x, 1);
                y.iter().map(|v| v * v).sum::<f64>() / nx
            })
            .sum::<f64>()
            / reps as f64;
        assert!(
            (mean - 1.0).abs() < 4.0 * (0.5f64 / reps as f64).sqrt(),
            "{fam:?}: {mean}"
        );
    }
}

#[test]
fn sparse_structure_properties() {
    let _g = GLOBAL.lock().unwrap_or_else(|e| e.into_inner());
    let (k, d) = (50, 400);
    let s = Sketch::new(Family::SparseSign { nnz: 7 }, k, d, 3).unwrap();
    let sd: Vec<f64> = s.to_dense().unwrap();
    for j in 0..d {
        let nz: Vec<f64> = (0..k)
            .map(|i| sd[i * d + j])
            .filter(|v| *v != 0.0)
            .collect();
        assert_eq!(nz.len(), 7);
        assert!(nz
            .iter()
            .all(|v| (v.abs() - 1.0 / 7f64.sqrt()).abs() < 1e-15));
    }
    let cs = Sketch::new(Family::CountSketch, k, d, 3).unwrap();
    let cd: Vec<f64> = cs.to_dense().unwrap();
    for j in 0..d {
        let nz: Vec<f64> = (0..k)
            .map(|i| cd[i * d + j])
            .filter(|v| *v != 0.0)
            .collect();
        assert_eq!(nz.len(), 1);
        assert_eq!(nz[0].abs(), 1.0);
    }
    // very sparse: total nonzeros ~ Binomial(k d, p): within 5 sd of the mean.
    let p = 0.05;
    let vs = Sketch::new(Family::VerySparse { density: p }, k, d, 3).unwrap();
    let (_, idx, _) = vs.to_csc::<f64>().unwrap();
    let mean = p * (k * d) as f64;
    let sd5 = 5.0 * (mean * (1.0 - p)).sqrt();
    assert!(
        (idx.len() as f64 - mean).abs() < sd5,
        "{} vs {mean}",
        idx.len()
    );
}

#[test]
fn bad_arguments_are_errors() {
    assert!(matches!(
        Sketch::new(Family::Gaussian, 0, 5, 0),
        Err(SketchError::InvalidArgument { arg: "k", .. })
    ));
    assert!(matches!(
        Sketch::new(Family::Gaussian, 5, 0, 0),
        Err(SketchError::InvalidArgument { arg: "d", .. })
    ));
    assert!(matches!(
        Sketch::new(Family::VerySparse { density: 0.0 }, 5, 5, 0),
        Err(SketchError::InvalidArgument { arg: "density", .. })
    ));
    assert!(matches!(
        Sketch::new(Family::VerySparse { density: f64::NAN }, 5, 5, 0),
        Err(SketchError::InvalidArgument { arg: "density", .. })
    ));
    assert!(matches!(
        Sketch::new(Family::SparseSign { nnz: 6 }, 5, 5, 0),
        Err(SketchError::InvalidArgument { arg: "nnz", .. })
    ));
    assert!(matches!(
        Sketch::new(Family::Gaussian, 1 << 40, 1 << 40, 0),
        Err(SketchError::Overflow { .. })
    ));
    let s = Sketch::new(Family::Gaussian, 3, 4, 0).unwrap();
    let x = [0.0f64; 10];
    let mut y = [0.0f64; 6];
    let e = s.project(
        MatRef::from_row_major(&x, 2, 5).unwrap(),
        MatMut::from_row_major(&mut y, 2, 3).unwrap(),
    );
    assert!(matches!(e, Err(SketchError::ShapeMismatch(_))));
    assert!(MatRef::from_row_major(&x, 3, 5).is_err());
    let p = [0i32, 2, 1];
    assert!(CsrRef::new(2, 4, &p, &[0, 1], &[1.0f64, 2.0]).is_err());
    assert!(CsrRef::new(1, 4, &[0i32, 1], &[4], &[1.0f64]).is_err());
}

/// Stream stability: these entries were produced by this release and must never
/// change silently (a change is a versioned, documented break).
#[test]
fn golden_values() {
    let g: Vec<f64> = Sketch::new(Family::Gaussian, 4, 3, 0)
        .unwrap()
        .to_dense()
        .unwrap();
    let r: Vec<f64> = Sketch::new(Family::Rademacher, 4, 3, 0)
        .unwrap()
        .to_dense()
        .unwrap();
    let v = Sketch::new(Family::VerySparse { density: 0.5 }, 8, 3, 0)
        .unwrap()
        .to_csc::<f64>()
        .unwrap();
    let s = Sketch::new(Family::SparseSign { nnz: 2 }, 8, 3, 0)
        .unwrap()
        .to_csc::<f64>()
        .unwrap();
    let c = Sketch::new(Family::CountSketch, 8, 3, 0)
        .unwrap()
        .to_csc::<f64>()
        .unwrap();
    golden::check(&g, &r, &v, &s, &c);
}

mod golden;

/// NaN and ±inf anywhere in the input are reported by every kernel (gather,
/// scatter, GEMM, CSR), in both directions, without a separate pass.
#[test]
fn non_finite_input_is_an_error_in_every_kernel() {
    let _g = GLOBAL.lock().unwrap_or_else(|e| e.into_inner());
    let (k, d, n) = (8, 300, 70);
    for fam in families() {
        let s = Sketch::new(fam, k, d, 1).unwrap();
        for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
            for pos in [0, n * d / 2 + 7, n * d - 1] {
                let mut x: Vec<f64> = data(n * d, 3);
                x[pos] = bad;
                let mut y = vec![0.0; n * k];
                // C order (gather / GEMM)
                let e = s.project(
                    MatRef::from_row_major(&x, n, d).unwrap(),
                    MatMut::from_row_major(&mut y, n, k).unwrap(),
                );
                assert_eq!(e, Err(SketchError::NonFinite { arg: "X" }), "{fam:?} C");
                // F order (scatter / GEMM)
                let e = s.project(
                    MatRef::from_col_major(&x, n, d).unwrap(),
                    MatMut::from_col_major(&mut y, n, k).unwrap(),
                );
                assert_eq!(e, Err(SketchError::NonFinite { arg: "X" }), "{fam:?} F");
                // CSR
                let (p, idx, v) = to_csr(&x, n, d);
                let csr = CsrRef::new(n, d, &p, &idx, &v).unwrap();
                let e = s.project_csr(&csr, MatMut::from_row_major(&mut y, n, k).unwrap());
                assert_eq!(e, Err(SketchError::NonFinite { arg: "X" }), "{fam:?} CSR");
                let e = s.project_csr_sparse(&csr).map(|_| ());
                assert_eq!(
                    e,
                    Err(SketchError::NonFinite { arg: "X" }),
                    "{fam:?} CSR sparse"
                );
            }
        }
        // adjoint direction
        let mut z: Vec<f64> = data(n * k, 4);
        z[5] = f64::NAN;
        let mut out = vec![0.0; n * d];
        let e = s.project_adjoint(
            MatRef::from_row_major(&z, n, k).unwrap(),
            MatMut::from_row_major(&mut out, n, d).unwrap(),
        );
        assert_eq!(
            e,
            Err(SketchError::NonFinite { arg: "Z" }),
            "{fam:?} adjoint"
        );
        // the row directions name their own inputs
        let e = s.sketch_adjoint(
            MatRef::from_row_major(&z, n, k).unwrap().t(),
            MatMut::from_row_major(&mut out, n, d).unwrap().t(),
        );
        assert_eq!(
            e,
            Err(SketchError::NonFinite { arg: "Y" }),
            "{fam:?} sketch_adjoint"
        );
    }
}

/// The gather kernel (`X · Sᵀ`, C order) and the scatter kernel (F order, and `S·A`
/// split into parts of the output rows) check the columns of X that no row of S reads
/// directly, and the others through the sums: a NaN or infinity in any column is an
/// error on every SIMD level, for operators with few and with many empty columns,
/// while finite values whose sums overflow are not.
#[test]
fn sparse_kernels_find_non_finite_values_in_every_column() {
    let _g = GLOBAL.lock().unwrap_or_else(|e| e.into_inner());
    // Small enough for the memcheck run of CI (every column, every level, both layouts).
    let (k, d, n) = (8, 64, 12);
    let project = |s: &Sketch, x: &[f32], f_order: bool| {
        let mut y = vec![0.0f32; n * k];
        let r = if f_order {
            s.project(
                MatRef::from_col_major(x, n, d).unwrap(),
                MatMut::from_col_major(&mut y, n, k).unwrap(),
            )
        } else {
            s.project(
                MatRef::from_row_major(x, n, d).unwrap(),
                MatMut::from_row_major(&mut y, n, k).unwrap(),
            )
        };
        r.map(|()| y)
    };
    // element (r, j) of the n × d input in either layout
    let at = |r: usize, j: usize, f_order: bool| if f_order { j * n + r } else { r * d + j };
    for density in [0.2, 0.01] {
        let s = Sketch::new(Family::VerySparse { density }, k, d, 5).unwrap();
        let m = s.to_dense::<f64>().unwrap();
        let empty = (0..d)
            .filter(|&j| (0..k).all(|i| m[i * d + j] == 0.0))
            .count();
        assert!(
            empty > 0 && empty < d,
            "density {density}: {empty} empty columns"
        );
        for lvl in [Level::Scalar, Level::Avx2, Level::Avx512] {
            set_cap(Some(lvl));
            for f_order in [false, true] {
                for j in 0..d {
                    for bad in [f32::NAN, f32::INFINITY] {
                        let mut x: Vec<f32> = data(n * d, 3);
                        x[at(j * 7 % n, j, f_order)] = bad;
                        assert_eq!(
                            project(&s, &x, f_order).map(|_| ()),
                            Err(SketchError::NonFinite { arg: "X" }),
                            "density {density}, column {j}, {bad}, {lvl:?}, F {f_order}"
                        );
                    }
                }
                // Every column of a row at the largest finite value: sums of like
                // signs overflow to ±inf, and the input is still finite.
                let mut x: Vec<f32> = data(n * d, 3);
                for j in 0..d {
                    x[at(3, j, f_order)] = f32::MAX;
                }
                let y = project(&s, &x, f_order).unwrap();
                let row3: Vec<f32> = (0..k)
                    .map(|i| y[if f_order { i * n + 3 } else { 3 * k + i }])
                    .collect();
                assert!(
                    row3.iter().any(|v| v.is_infinite()),
                    "density {density}, F {f_order}: no sum overflowed"
                );
            }
        }
        set_cap(None);
    }
    // S·A split into parts of the output rows (two threads, the test hook): one
    // column of A at the largest value overflows its sums without an error.
    sketchkit::sketch::hooks::set_part_min_bytes(Some(1));
    sketchkit::set_num_threads(2).unwrap();
    let (k, d, m) = (40, 600, 12);
    let s = Sketch::new(Family::CountSketch, k, d, 5).unwrap();
    let mut a: Vec<f64> = data(d * m, 9);
    for j in 0..d {
        a[j * m + 5] = f64::MAX;
    }
    let mut y = vec![0.0; k * m];
    s.sketch(
        MatRef::from_row_major(&a, d, m).unwrap(),
        MatMut::from_row_major(&mut y, k, m).unwrap(),
    )
    .unwrap();
    assert!(
        (0..k).any(|i| y[i * m + 5].is_infinite()),
        "no sum overflowed"
    );
    sketchkit::sketch::hooks::set_part_min_bytes(None);
    sketchkit::set_num_threads(std::thread::available_parallelism().map_or(2, |v| v.get()))
        .unwrap();
}

/// A backend that trusts `Sketch::plan()` reproduces the operator: the plan's lists,
/// streams and SRHT parts, read as documented, give `to_dense()` exactly.
#[test]
fn plan_describes_the_operator_exactly() {
    use sketchkit::backend::{DenseEntries, Plan, ENTRY_INDEX, ENTRY_SIGN};
    use sketchkit::rng::{gaussians4, Stream};
    let (k, d) = (13usize, 45usize);
    for family in [
        Family::Gaussian,
        Family::Rademacher,
        Family::VerySparse { density: 0.2 },
        Family::SparseSign { nnz: 3 },
        Family::CountSketch,
        Family::Srht,
    ] {
        let op = Sketch::new(family, k, d, 21).unwrap();
        let want = op.to_dense::<f64>().unwrap();
        let mut got = vec![0.0f64; k * d];
        match op.plan().unwrap() {
            Plan::Dense {
                entries,
                seed,
                scale,
                ..
            } => {
                for j in 0..d {
                    for i in 0..k {
                        let v = match entries {
                            DenseEntries::Gaussian => {
                                gaussians4(Stream::block_words(
                                    seed,
                                    entries.tag(),
                                    j as u64,
                                    (i / 4) as u32,
                                ))[i % 4]
                                    * scale
                            }
                            DenseEntries::Rademacher => {
                                let w = Stream::block_words(
                                    seed,
                                    entries.tag(),
                                    j as u64,
                                    (i / 128) as u32,
                                );
                                if (w[(i % 128) / 32] >> (i % 32)) & 1 == 1 {
                                    -scale
                                } else {
                                    scale
                                }
                            }
                        };
                        got[i * d + j] = v;
                    }
                }
            }
            Plan::Sparse {
                scale, rows, cols, ..
            } => {
                let mut from_cols = vec![0.0f64; k * d];
                for (lists, by_rows) in [(rows, true), (cols, false)] {
                    for o in 0..lists.ptr.len() - 1 {
                        let list = &lists.ent[lists.ptr[o]..lists.ptr[o + 1]];
                        assert!(list
                            .windows(2)
                            .all(|w| (w[0] & ENTRY_INDEX) < (w[1] & ENTRY_INDEX)));
                        for &e in list {
                            let t = (e & ENTRY_INDEX) as usize;
                            let v = if e & ENTRY_SIGN != 0 { -scale } else { scale };
                            if by_rows {
                                got[o * d + t] = v;
                            } else {
                                from_cols[t * d + o] = v;
                            }
                        }
                    }
                }
                assert_eq!(got, from_cols, "{family:?}: row and column lists differ");
            }
            Plan::Srht {
                dpad,
                scale,
                rows,
                signs,
                ..
            } => {
                assert_eq!(dpad, 64);
                for (i, &r) in rows.iter().enumerate() {
                    for j in 0..d {
                        let parity = (r as usize & j).count_ones()
                            + ((signs[j / 64] >> (j % 64)) & 1) as u32;
                        got[i * d + j] = if parity % 2 == 1 { -scale } else { scale };
                    }
                }
            }
        }
        for (t, (a, b)) in got.iter().zip(&want).enumerate() {
            assert_eq!(a.to_bits(), b.to_bits(), "{family:?} at {t}");
        }
    }
}

#[test]
fn cpu_backend_is_the_crates_kernels() {
    use sketchkit::backend::Cpu;
    use sketchkit::Backend;
    let op = Sketch::new(Family::SparseSign { nnz: 2 }, 8, 32, 4).unwrap();
    let x: Vec<f32> = (0..5 * 32).map(|v| (v as f32 * 0.37).sin()).collect();
    let (mut a, mut b) = (vec![0.0f32; 5 * 8], vec![0.0f32; 5 * 8]);
    let xv = MatRef::from_row_major(&x, 5, 32).unwrap();
    Cpu.project(&op, xv, MatMut::from_row_major(&mut a, 5, 8).unwrap())
        .unwrap();
    op.project(xv, MatMut::from_row_major(&mut b, 5, 8).unwrap())
        .unwrap();
    assert_eq!(a, b);
    assert!(Cpu.name().starts_with("cpu"));
}

#[test]
fn family_names_parse_and_print_once() {
    use sketchkit::FamilyKind;
    for kind in FamilyKind::ALL {
        let parsed: FamilyKind = kind.to_string().parse().unwrap();
        assert_eq!(parsed, kind);
        let fam = kind.with_params(100, None, None).unwrap();
        assert_eq!(fam.kind(), kind);
        assert_eq!(fam.to_string(), kind.name());
    }
    // a family takes exactly the parameters it names, and refuses the others
    for kind in FamilyKind::ALL {
        let nnz = kind.with_params(100, Some(2), None);
        let density = kind.with_params(100, None, Some(0.5));
        assert_eq!(nnz.is_ok(), kind.parameters().contains(&"nnz"), "{kind}");
        assert_eq!(
            density.is_ok(),
            kind.parameters().contains(&"density"),
            "{kind}"
        );
    }
    let err = "nope".parse::<FamilyKind>().unwrap_err();
    assert_eq!(err.arg_name(), Some("family"));
    for kind in FamilyKind::ALL {
        assert!(err.to_string().contains(kind.name()), "{err} lists {kind}");
    }
}

#[test]
fn from_name_applies_defaults_and_rules() {
    let s = Sketch::from_name("sparse_sign", 16, 100, 0, None, None).unwrap();
    assert_eq!(s.nnz(), Some(sketchkit::DEFAULT_NNZ));
    let s = Sketch::from_name("very_sparse", 16, 100, 0, None, None).unwrap();
    assert_eq!(s.density(), Some(sketchkit::auto_density(100)));
    assert_eq!(s.density(), Some(0.1));
    let s = Sketch::from_name("srht", 16, 100, 0, None, None).unwrap();
    assert_eq!(s.padded_dim(), 128);
    // k above d's padding: d' grows to the next power of two >= k (scikit-learn's
    // n_components > n_features), never an error.
    let s = Sketch::from_name("srht", 17, 16, 0, None, None).unwrap();
    assert_eq!(s.padded_dim(), 32);
    let s = Sketch::from_name("srht", 3, 1, 0, None, None).unwrap();
    assert_eq!(s.padded_dim(), 4);
    let x = [2.0f64];
    let mut y = [0.0f64; 3];
    s.project(
        MatRef::from_row_major(&x, 1, 1).unwrap(),
        MatMut::from_row_major(&mut y, 1, 3).unwrap(),
    )
    .unwrap();
    // Every entry is ±1/√k: each output is ±2/√3.
    for v in y {
        assert!((v.abs() - 2.0 / 3f64.sqrt()).abs() < 1e-15, "{v}");
    }
    type Case = (
        &'static str,
        usize,
        usize,
        Option<usize>,
        Option<f64>,
        &'static str,
    );
    let cases: [Case; 8] = [
        ("gaussian", 4, 10, Some(2), None, "nnz"),
        ("countsketch", 4, 10, None, Some(0.5), "density"),
        ("sparse_sign", 4, 10, Some(5), None, "nnz"),
        ("very_sparse", 4, 10, None, Some(1.5), "density"),
        ("srht", (1 << 30) + 1, 16, None, None, "k"),
        ("srht", 1, (1 << 30) + 1, None, None, "d"),
        ("countsketch", 1, 1 << 31, None, None, "d"),
        ("gaussian", 0, 10, None, None, "k"),
    ];
    for (fam, k, d, nnz, density, arg) in cases {
        let e = Sketch::from_name(fam, k, d, 0, nnz, density).unwrap_err();
        assert_eq!(e.arg_name(), Some(arg), "{fam} {k} {d}: {e}");
    }
    let e = Sketch::from_name("gaussian", 1 << 40, 1 << 40, 0, None, None).unwrap_err();
    assert!(matches!(e, SketchError::Overflow { arg: "k", .. }), "{e}");
}

#[test]
fn csr_structure_errors_name_the_part_and_take_the_input_name() {
    let (indptr, data) = ([0i64, 1, 2], [1.0f32, 2.0]);
    let e = CsrRef::new(2, 3, &indptr, &[0i64, 3], &data).unwrap_err();
    assert!(
        matches!(
            e,
            SketchError::CsrStructure {
                part: "indices",
                ..
            }
        ),
        "{e}"
    );
    let e = CsrRef::new(2, 3, &[0i64, 2, 1], &[0i64, 1], &data).unwrap_err();
    assert!(
        matches!(e, SketchError::CsrStructure { part: "indptr", .. }),
        "{e}"
    );
    let e = e.for_input("A");
    assert_eq!(e.arg_name(), Some("A"));
    assert!(
        e.to_string()
            .starts_with("A has an invalid CSR structure: indptr: "),
        "{e}"
    );
}

/// Column indices are checked by a max reduction in parallel chunks: a negative or
/// too large index anywhere (first, last, past the first chunk), of either width, is
/// the `indices` error; the largest valid index and more than 2^31 columns with
/// `i32` indices are fine.
#[test]
fn csr_index_check_finds_every_bad_index() {
    fn check<I: sketchkit::SparseIndex + Copy>(idx: Vec<I>, cols: usize, ok: bool) {
        let n = idx.len();
        let indptr: Vec<I> = vec![I::from_usize(0), I::from_usize(n)];
        let data = vec![1.0f32; n];
        let got = CsrRef::new(1, cols, &indptr, &idx, &data);
        match (ok, got) {
            (true, Ok(_)) => {}
            (false, Err(SketchError::CsrStructure { part, .. })) => assert_eq!(part, "indices"),
            (want, got) => panic!("want ok={want}, got {:?}", got.map(|_| ())),
        }
    }
    let len = (1 << 17) + 5;
    for at in [0, 70_000, len - 1] {
        for (bad32, bad64) in [(-1i32, -1i64), (i32::MIN, i64::MIN), (100, 100)] {
            let mut a = vec![7i32; len];
            a[at] = bad32;
            check(a, 100, false);
            let mut b = vec![7i64; len];
            b[at] = bad64;
            check(b, 100, false);
        }
        let mut a = vec![7i32; len];
        a[at] = 99;
        check(a, 100, true);
        let mut b = vec![7i64; len];
        b[at] = 99;
        check(b, 100, true);
    }
    check(vec![i32::MAX, 0], 1 << 32, true);
    check(vec![-1i32, 0], 1 << 32, false);
    check(vec![(1i64 << 40), 0], (1 << 40) + 1, true);
    check(Vec::<i32>::new(), 5, true);
}

/// The sparse result of `X · Sᵀ`: per row, the nonzeros of the dense result in
/// ascending column order (no stored zeros), on every SIMD level and thread count,
/// with rows split over several parallel parts and widths that are not whole vectors.
#[test]
fn sparse_output_is_the_dense_results_nonzeros() {
    let _g = GLOBAL.lock().unwrap_or_else(|e| e.into_inner());
    let (n, d) = (700, 90);
    for k in [5, 37, 300] {
        let s = Sketch::new(Family::SparseSign { nnz: 2 }, k, d, 3).unwrap();
        sparse_case::<f32>(&s, n, d, k);
        sparse_case::<f64>(&s, n, d, k);
    }
    sketchkit::set_num_threads(std::thread::available_parallelism().map_or(2, |v| v.get()))
        .unwrap();
    set_cap(None);
}

fn sparse_case<T: Real>(s: &Sketch, n: usize, d: usize, k: usize) {
    // Rows with 0 to 5 stored values (every 7th row empty).
    let mut x: Vec<T> = vec![T::ZERO; n * d];
    let vals: Vec<T> = data(n * 5, 4);
    for r in 0..n {
        for t in 0..(r % 7).min(5) {
            x[r * d + (r * 31 + t * 17) % d] = vals[r * 5 + t];
        }
    }
    let (p, idx, v) = to_csr(&x, n, d);
    let csr = CsrRef::new(n, d, &p, &idx, &v).unwrap();
    set_cap(None);
    sketchkit::set_num_threads(1).unwrap();
    let dense = project_c(s, &x, n);
    let (mut wp, mut wi, mut wv) = (vec![0i64], Vec::new(), Vec::new());
    for r in 0..n {
        for i in 0..k {
            if dense[r * k + i] != T::ZERO {
                wi.push(i as i32);
                wv.push(dense[r * k + i]);
            }
        }
        wp.push(wi.len() as i64);
    }
    assert!(wi.len() > n, "too few nonzeros to test");
    for lvl in [Level::Scalar, Level::Avx2, Level::Avx512] {
        set_cap(Some(lvl));
        for threads in [1, 2, 3] {
            sketchkit::set_num_threads(threads).unwrap();
            let (gp, gi, gv) = s.project_csr_sparse(&csr).unwrap();
            let what = format!("{} k {k} {lvl:?} threads {threads}", T::NAME);
            assert_eq!(gp, wp, "indptr {what}");
            assert_eq!(gi, wi, "indices {what}");
            assert!(gv == wv, "data {what}");
        }
    }
}

/// Every application writes all of `out` (`out = …`, never `out += …`): an output
/// that starts as NaN ends with the same bits as one that starts as zero, for every
/// family, direction, layout, element type and the CSR paths. The binding relies on
/// this to hand reused (not re-zeroed) memory to these calls.
#[test]
fn every_application_overwrites_its_output() {
    let _g = GLOBAL.lock().unwrap_or_else(|e| e.into_inner());
    fn both<T: Real>(len: usize, f: impl Fn(&mut [T]) -> sketchkit::Result<()>) -> usize {
        let mut zero = vec![T::ZERO; len];
        let mut nan = vec![T::from_f64(f64::NAN); len];
        let (a, b) = (f(&mut zero), f(&mut nan));
        assert_eq!(a.is_ok(), b.is_ok());
        if a.is_err() {
            return 0;
        }
        let bits = |v: &[T]| v.iter().map(|x| x.to_f64().to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&zero), bits(&nan));
        1
    }
    fn out_view<T: Real>(v: &mut [T], r: usize, c: usize, f_order: bool) -> MatMut<'_, T> {
        if f_order {
            MatMut::from_col_major(v, r, c).unwrap()
        } else {
            MatMut::from_row_major(v, r, c).unwrap()
        }
    }
    fn in_view<T: Real>(v: &[T], r: usize, c: usize, f_order: bool) -> MatRef<'_, T> {
        if f_order {
            MatRef::from_col_major(v, r, c).unwrap()
        } else {
            MatRef::from_row_major(v, r, c).unwrap()
        }
    }
    fn run<T: Real>(k: usize, d: usize, n: usize) -> usize {
        let mut checked = 0;
        for fam in families() {
            let s = Sketch::new(fam, k, d, 3).unwrap();
            let x: Vec<T> = data(n * d, 5);
            let z: Vec<T> = data(n * k, 6);
            let a: Vec<T> = data(d * n, 7);
            let y: Vec<T> = data(k * n, 8);
            let mut xs = x.clone();
            for (i, v) in xs.iter_mut().enumerate() {
                if i % 3 != 0 {
                    *v = T::ZERO;
                }
            }
            let (p, idx, vals) = to_csr(&xs, n, d);
            let csr = CsrRef::new(n, d, &p, &idx, &vals).unwrap();
            for f_order in [false, true] {
                checked += both::<T>(n * k, |o| {
                    s.project(in_view(&x, n, d, f_order), out_view(o, n, k, f_order))
                });
                checked += both::<T>(n * d, |o| {
                    s.project_adjoint(in_view(&z, n, k, f_order), out_view(o, n, d, f_order))
                });
                checked += both::<T>(k * n, |o| {
                    s.sketch(in_view(&a, d, n, f_order), out_view(o, k, n, f_order))
                });
                checked += both::<T>(d * n, |o| {
                    s.sketch_adjoint(in_view(&y, k, n, f_order), out_view(o, d, n, f_order))
                });
                checked += both::<T>(n * k, |o| s.project_csr(&csr, out_view(o, n, k, f_order)));
                if d == n {
                    checked += both::<T>(k * n, |o| s.sketch_csr(&csr, out_view(o, k, n, f_order)));
                }
            }
        }
        checked
    }
    let mut checked = 0;
    for (k, d, n) in [(7, 40, 40), (13, 70, 300), (20, 256, 3)] {
        checked += run::<f32>(k, d, n) + run::<f64>(k, d, n);
    }
    // Every family ran every call (none was refused and skipped).
    assert!(
        checked >= 3 * 2 * 7 * 2 * 5,
        "{checked} applications checked"
    );
}
