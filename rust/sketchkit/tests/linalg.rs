//! `sketchkit::linalg` against direct (faer) references.

use sketchkit::linalg::faer::{Mat, MatRef};
use sketchkit::linalg::{
    self, CsrOp, DenseOp, LeverageMethod, LinOp, LstsqMethod, LstsqOptions, RsvdOptions,
};
use sketchkit::{CsrRef, FamilyKind, Sketch};

/// Deterministic pseudo-random values in [-1, 1).
fn values(n: usize, seed: u64) -> Vec<f64> {
    let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..n)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            (s >> 11) as f64 / (1u64 << 52) as f64 - 1.0
        })
        .collect()
}

fn dense(n: usize, d: usize, seed: u64) -> Vec<f64> {
    values(n * d, seed)
}

/// [`dense`] with every entry zeroed except one in `every` (row-major order).
fn sparse(n: usize, d: usize, seed: u64, every: usize) -> Vec<f64> {
    let mut a = dense(n, d, seed);
    for (t, v) in a.iter_mut().enumerate() {
        if t % every != 0 {
            *v = 0.0;
        }
    }
    a
}

/// The CSR arrays of the row-major `rows × cols` matrix `a` (zeros dropped).
fn compressed<I: TryFrom<usize>>(a: &[f64], rows: usize, cols: usize) -> (Vec<I>, Vec<I>, Vec<f64>)
where
    I::Error: std::fmt::Debug,
{
    let ix = |v: usize| I::try_from(v).unwrap();
    let (mut indptr, mut indices, mut data) = (vec![ix(0)], Vec::new(), Vec::new());
    for i in 0..rows {
        for j in 0..cols {
            if a[i * cols + j] != 0.0 {
                indices.push(ix(j));
                data.push(a[i * cols + j]);
            }
        }
        indptr.push(ix(data.len()));
    }
    (indptr, indices, data)
}

/// `aᵀ` row-major (`a` row-major `n × d`).
fn transposed(a: &[f64], n: usize, d: usize) -> Vec<f64> {
    (0..d * n).map(|t| a[(t % n) * d + t / n]).collect()
}

fn view(a: &[f64], n: usize, d: usize) -> sketchkit::MatRef<'_, f64> {
    sketchkit::MatRef::from_row_major(a, n, d).unwrap()
}

fn direct_lstsq(a: MatRef<'_, f64>, b: MatRef<'_, f64>) -> Mat<f64> {
    let qr = a.qr();
    let q = qr.compute_thin_Q();
    let mut x = q.transpose() * b;
    let r = qr.thin_R().to_owned();
    linalg::faer::linalg::triangular_solve::solve_upper_triangular_in_place(
        r.as_ref(),
        x.as_mut(),
        linalg::faer::Par::Seq,
    );
    x
}

fn norm(v: impl Iterator<Item = f64>) -> f64 {
    v.map(|x| x * x).sum::<f64>().sqrt()
}

#[test]
fn precondition_and_iterative_reach_the_direct_residual() {
    let (n, d) = (2000, 12);
    // scale columns to condition number ~1e6
    let mut a = dense(n, d, 1);
    for i in 0..n {
        for j in 0..d {
            a[i * d + j] *= 10f64.powf(-6.0 * j as f64 / (d - 1) as f64);
        }
    }
    let b = values(n, 2);
    let op = DenseOp::new(view(&a, n, d), "A").unwrap();
    let bm = MatRef::from_column_major_slice(&b, n, 1);
    let x_ref = direct_lstsq(op.view(), bm);
    let r_ref =
        norm((0..n).map(|i| (0..d).map(|j| a[i * d + j] * x_ref[(j, 0)]).sum::<f64>() - b[i]));
    for method in [LstsqMethod::Precondition, LstsqMethod::Iterative] {
        let opts = LstsqOptions {
            method,
            ..Default::default()
        };
        let res = linalg::lstsq(&op, bm, &opts).unwrap();
        assert!(res.converged, "{method:?}");
        assert!(res.residual_norm[0] <= r_ref * (1.0 + 1e-10), "{method:?}");
    }
}

#[test]
fn csr_and_csc_operators_equal_the_dense_one() {
    let (n, d) = (300, 40);
    let a = sparse(n, d, 3, 7);
    let (indptr, indices, data) = compressed::<i32>(&a, n, d);
    // CSC of A = CSR of Aᵀ
    let at = transposed(&a, n, d);
    let (tp, ti, tv) = compressed::<i64>(&at, d, n);
    let dense_op = DenseOp::new(view(&a, n, d), "A").unwrap();
    let csr = CsrOp::new(
        CsrRef::new(n, d, &indptr, &indices, &data).unwrap(),
        false,
        "A",
    )
    .unwrap();
    let csc = CsrOp::new(CsrRef::new(d, n, &tp, &ti, &tv).unwrap(), true, "A").unwrap();
    let x = Mat::from_fn(d, 3, |i, j| ((i * 3 + j) as f64).sin());
    let y = Mat::from_fn(n, 3, |i, j| ((i * 5 + j) as f64).cos());
    let s_rows = Sketch::from_name("sparse_sign", 50, n, 7, None, None).unwrap();
    let s_cols = Sketch::from_name("gaussian", 9, d, 7, None, None).unwrap();
    let reference = |op: &dyn LinOp<f64>| {
        let mut ax = Mat::zeros(n, 3);
        op.apply(x.as_ref(), ax.as_mut()).unwrap();
        let mut aty = Mat::zeros(d, 3);
        op.apply_t(y.as_ref(), aty.as_mut()).unwrap();
        (
            ax,
            aty,
            op.sketch_rows(&s_rows).unwrap(),
            op.sketch_cols(&s_cols).unwrap(),
            op.frob2().unwrap(),
        )
    };
    let r0 = reference(&dense_op);
    for op in [&csr as &dyn LinOp<f64>, &csc] {
        let r = reference(op);
        for (p, q) in [(&r0.0, &r.0), (&r0.1, &r.1), (&r0.2, &r.2), (&r0.3, &r.3)] {
            assert_eq!((p.nrows(), p.ncols()), (q.nrows(), q.ncols()));
            for j in 0..p.ncols() {
                for i in 0..p.nrows() {
                    assert!((p[(i, j)] - q[(i, j)]).abs() <= 1e-12 * (1.0 + p[(i, j)].abs()));
                }
            }
        }
        assert!((r0.4 - r.4).abs() <= 1e-12 * r0.4);
    }
}

/// The CSR products (`A x`, `Aᵀ y`, the fused normal step) run dispatched kernels:
/// every SIMD level gives the same bits as the scalar one.
#[test]
fn csr_products_are_bit_identical_across_simd_levels() {
    use sketchkit::simd::{set_cap, Level};
    let (n, d, p) = (2000, 70, 13);
    let a = sparse(n, d, 11, 6);
    let (indptr, indices, data) = compressed::<i32>(&a, n, d);
    let csr = CsrOp::new(
        CsrRef::new(n, d, &indptr, &indices, &data).unwrap(),
        false,
        "A",
    )
    .unwrap();
    let x = Mat::from_fn(d, p, |i, j| ((i * 3 + j) as f64).sin() * 1e3);
    let y = Mat::from_fn(n, p, |i, j| ((i * 5 + j) as f64).cos() / 7.0);
    let c: Vec<f64> = (0..p).map(|j| 0.5 - j as f64 / 9.0).collect();
    let run = || {
        let mut ax = Mat::zeros(n, p);
        csr.apply(x.as_ref(), ax.as_mut()).unwrap();
        let mut aty = Mat::zeros(d, p);
        csr.apply_t(y.as_ref(), aty.as_mut()).unwrap();
        let mut u = y.clone();
        let mut g = Mat::zeros(d, p);
        let norms = csr
            .apply_normal(x.as_ref(), &c, u.as_mut(), g.as_mut())
            .unwrap();
        (ax, aty, u, g, norms)
    };
    set_cap(Some(Level::Scalar));
    let want = run();
    for lvl in [Level::Avx2, Level::Avx512] {
        set_cap(Some(lvl));
        let got = run();
        assert!(
            got.0 == want.0 && got.1 == want.1 && got.2 == want.2 && got.3 == want.3,
            "{lvl:?}"
        );
        assert_eq!(got.4, want.4, "{lvl:?}");
    }
    set_cap(None);
}

/// The fused normal-equations step (`u ← A x − u diag(c)`, `Aᵀ u`, `‖u_j‖²`, one pass
/// over `A` for dense and CSR input) equals its two separate products, and gives the
/// same bits for every thread count.
#[test]
fn fused_normal_step_equals_its_two_products() {
    let (n, d, p) = (9000, 40, 2);
    let a = sparse(n, d, 8, 5);
    let (indptr, indices, data) = compressed::<i64>(&a, n, d);
    let at = transposed(&a, n, d);
    let (tp, ti, tv) = compressed::<i64>(&at, d, n);
    let row_major = DenseOp::new(view(&a, n, d), "A").unwrap();
    let col_major =
        DenseOp::new(sketchkit::MatRef::from_col_major(&at, n, d).unwrap(), "A").unwrap();
    let csr = CsrOp::new(
        CsrRef::new(n, d, &indptr, &indices, &data).unwrap(),
        false,
        "A",
    )
    .unwrap();
    let csc = CsrOp::new(CsrRef::new(d, n, &tp, &ti, &tv).unwrap(), true, "A").unwrap();
    let x = Mat::from_fn(d, p, |i, j| ((i * 3 + j) as f64).sin());
    let u0 = Mat::from_fn(n, p, |i, j| ((i * 5 + j) as f64).cos());
    let c = [0.75, -1.5];
    // The two products, from the dense operator's separate apply and apply_t.
    let mut want_u = Mat::zeros(n, p);
    row_major.apply(x.as_ref(), want_u.as_mut()).unwrap();
    for j in 0..p {
        for i in 0..n {
            want_u[(i, j)] -= c[j] * u0[(i, j)];
        }
    }
    let mut want_g = Mat::zeros(d, p);
    row_major.apply_t(want_u.as_ref(), want_g.as_mut()).unwrap();
    let want_n: Vec<f64> = (0..p)
        .map(|j| (0..n).map(|i| want_u[(i, j)].powi(2)).sum())
        .collect();
    let close = |p: f64, q: f64| (p - q).abs() <= 1e-12 * (1.0 + q.abs());
    for op in [&row_major as &dyn LinOp<f64>, &col_major, &csr, &csc] {
        let mut runs = Vec::new();
        for threads in [1, 2, 3] {
            sketchkit::set_num_threads(threads).unwrap();
            let mut u = u0.clone();
            let mut g = Mat::zeros(d, p);
            let norms = op
                .apply_normal(x.as_ref(), &c, u.as_mut(), g.as_mut())
                .unwrap();
            runs.push((u, g, norms));
        }
        let (u, g, norms) = &runs[0];
        for j in 0..p {
            assert!(close(norms[j], want_n[j]));
            assert!((0..n).all(|i| close(u[(i, j)], want_u[(i, j)])));
            assert!((0..d).all(|i| close(g[(i, j)], want_g[(i, j)])));
        }
        for r in &runs[1..] {
            assert!(r.0 == runs[0].0 && r.1 == runs[0].1 && r.2 == runs[0].2);
        }
    }
    sketchkit::set_num_threads(std::thread::available_parallelism().map_or(2, |v| v.get()))
        .unwrap();
}

#[test]
fn randomized_svd_is_exact_on_low_rank_input_and_thread_independent() {
    let (n, d, r) = (400, 120, 6);
    let u = dense(n, r, 4);
    let v = dense(r, d, 5);
    let a: Vec<f64> = (0..n * d)
        .map(|t| (0..r).map(|k| u[(t / d) * r + k] * v[k * d + t % d]).sum())
        .collect();
    let op = DenseOp::new(view(&a, n, d), "A").unwrap();
    let exact = op.view().thin_svd().unwrap();
    let mut runs = Vec::new();
    for threads in [1, 2, 3] {
        sketchkit::set_num_threads(threads).unwrap();
        let mut o = RsvdOptions::new(r);
        o.sketch = FamilyKind::SparseSign;
        runs.push(linalg::randomized_svd(&op, &o).unwrap());
        runs.push(linalg::randomized_svd(&op, &RsvdOptions::new(r)).unwrap());
    }
    for (i, s) in runs[0].s.iter().enumerate() {
        assert!((s - exact.S()[i]).abs() <= 1e-10 * exact.S()[0]);
    }
    for k in 2..runs.len() {
        let (p, q) = (&runs[k % 2], &runs[k]);
        assert_eq!(p.s, q.s);
        assert!(p.u == q.u && p.vt == q.vt);
    }
    // exact leverage scores sum to the rank and lie in [0, 1]
    let lev = linalg::leverage_scores(&op, LeverageMethod::Exact, 0.5, 0).unwrap();
    assert!((lev.iter().sum::<f64>() - r as f64).abs() < 1e-8);
    assert!(lev.iter().all(|&l| (-1e-12..=1.0 + 1e-12).contains(&l)));
    let approx = linalg::leverage_scores(&op, LeverageMethod::Approx, 0.5, 0).unwrap();
    for (e, a) in lev.iter().zip(&approx) {
        assert!((a / e - 1.0).abs() <= 0.5);
    }
}

#[test]
fn errors_name_their_argument() {
    let a = dense(50, 3, 6);
    let op = DenseOp::new(view(&a, 50, 3), "A").unwrap();
    let b = vec![0.0; 49];
    let bad = linalg::lstsq(
        &op,
        MatRef::from_column_major_slice(&b, 49, 1),
        &LstsqOptions::default(),
    );
    assert!(matches!(bad, Err(sketchkit::SketchError::ShapeMismatch(_))));
    let b = vec![0.0; 50];
    let opts = LstsqOptions {
        sketch_size: Some(51),
        ..Default::default()
    };
    let err = linalg::lstsq(&op, MatRef::from_column_major_slice(&b, 50, 1), &opts).unwrap_err();
    assert_eq!(err.arg_name(), Some("sketch_size"));
    let nan = vec![f64::NAN; 6];
    assert!(DenseOp::new(view(&nan, 2, 3), "A").is_err());
    let err = linalg::sketch_size(
        100,
        5,
        0.5,
        0.1,
        linalg::Guarantee::Linf,
        FamilyKind::CountSketch,
    )
    .unwrap_err();
    assert_eq!(err.arg_name(), Some("sketch"));
}
