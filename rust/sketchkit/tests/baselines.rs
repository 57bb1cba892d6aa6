//! Classic instance-selection baselines: CNN consistency, ENN and DROP3 behaviour,
//! LSH-IS bucket properties, exact stratified quotas, determinism across thread
//! counts, dense vs CSR, and argument errors.

use sketchkit::rng::{open01, tag, Stream};
use sketchkit::select::baselines::{
    condensed_nearest_neighbour, drop3, edited_nearest_neighbours, lsh_is, stratified_random,
    LshVariant, IDX_LSH_OFFSET, IDX_LSH_TABLE,
};
use sketchkit::select::hashing::scale_estimate;
use sketchkit::select::{quota, CsrRows, DenseRows, Labels, Metric, Rows};
use sketchkit::{CsrRef, Family, LinearSketch, MatMut, MatRef, Sketch, SketchError};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;

/// Tests that change the thread count run one at a time.
static GLOBAL: Mutex<()> = Mutex::new(());

fn gauss(s: &mut Stream) -> f64 {
    let (u1, u2) = (open01(s.next_u64()), open01(s.next_u64()));
    (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
}

/// `n` rows in `d` dimensions: class `c` centred at `sep · e_c`, with a fraction
/// `flip` of labels flipped to the next class.
fn blobs(
    n: usize,
    d: usize,
    classes: usize,
    sep: f64,
    flip: f64,
    seed: u64,
) -> (Vec<f64>, Vec<u32>) {
    let mut s = Stream::new(seed, 200, 0);
    let mut x = Vec::with_capacity(n * d);
    let mut y = Vec::with_capacity(n);
    for i in 0..n {
        let c = i % classes;
        for j in 0..d {
            let mu = if j == c % d { sep } else { 0.0 };
            x.push(mu + gauss(&mut s));
        }
        let f = open01(s.next_u64()) < flip;
        y.push(if f {
            ((c + 1) % classes) as u32
        } else {
            c as u32
        });
    }
    (x, y)
}

fn to_csr(x: &[f64], n: usize, d: usize) -> (Vec<i64>, Vec<i64>, Vec<f64>) {
    let (mut ip, mut ix, mut dv) = (vec![0i64], vec![], vec![]);
    for r in 0..n {
        for j in 0..d {
            let v = x[r * d + j];
            if v != 0.0 {
                ix.push(j as i64);
                dv.push(v);
            }
        }
        ip.push(ix.len() as i64);
    }
    (ip, ix, dv)
}

/// 1-NN label of row `i` among `kept` (ties by the smaller index), by the same
/// distance the library uses.
fn nn_label<R: Rows<f64>>(rows: &R, y: &[u32], kept: &[usize], i: usize, metric: Metric) -> u32 {
    let mut buf = vec![0.0; rows.dim()];
    rows.load(i, &mut buf);
    let q_sq = rows.sq_norm(i);
    let mut best = (f64::INFINITY, usize::MAX);
    for &j in kept {
        let e = (rows.distance(metric, j, &buf, q_sq), j);
        if e.0 < best.0 || (e.0 == best.0 && e.1 < best.1) {
            best = e;
        }
    }
    y[best.1]
}

fn classes_of(y: &[u32], idx: &[usize]) -> BTreeSet<u32> {
    idx.iter().map(|&i| y[i]).collect()
}

fn sorted_unique(v: &[usize]) -> bool {
    v.windows(2).all(|w| w[0] < w[1])
}

#[test]
fn cnn_is_consistent() {
    for (seed, metric) in [
        (1u64, Metric::Euclidean),
        (2, Metric::Euclidean),
        (3, Metric::Cosine),
    ] {
        let (n, d) = (400, 5);
        let (x, y) = blobs(n, d, 3, 2.0, 0.05, seed);
        let rows = DenseRows::new(&x, n, d).unwrap();
        let lab = Labels::new(&y, n, 3).unwrap();
        let kept = condensed_nearest_neighbour(&rows, &lab, metric, seed).unwrap();
        assert!(sorted_unique(&kept));
        assert!(kept.len() < n, "CNN kept everything");
        assert_eq!(classes_of(&y, &kept).len(), 3);
        let ks: BTreeSet<usize> = kept.iter().copied().collect();
        for i in (0..n).filter(|i| !ks.contains(i)) {
            assert_eq!(nn_label(&rows, &y, &kept, i, metric), y[i], "row {i}");
        }
    }
}

#[test]
fn cnn_guards_conflicting_duplicates() {
    // 300 rows; rows 0..60 are ten copies each of six points, with labels that
    // alternate inside every group (conflicting duplicates).
    let (n, d) = (300, 3);
    let (mut x, mut y) = blobs(n, d, 2, 1.5, 0.0, 9);
    for i in 0..60 {
        let g = i / 10;
        for j in 0..d {
            x[i * d + j] = x[g * 10 * d + j];
        }
        y[i] = (i % 2) as u32;
    }
    let rows = DenseRows::new(&x, n, d).unwrap();
    let lab = Labels::new(&y, n, 2).unwrap();
    for seed in 0..4 {
        let kept = condensed_nearest_neighbour(&rows, &lab, Metric::Euclidean, seed).unwrap();
        // At most one row per duplicate group and label.
        let mut per: BTreeMap<(usize, u32), usize> = BTreeMap::new();
        for &i in kept.iter().filter(|&&i| i < 60) {
            *per.entry((i / 10, y[i])).or_default() += 1;
        }
        assert!(per.values().all(|&c| c == 1), "{per:?}");
        for i in (60..n).filter(|i| kept.binary_search(i).is_err()) {
            assert_eq!(nn_label(&rows, &y, &kept, i, Metric::Euclidean), y[i]);
        }
    }
}

#[test]
fn enn_removes_planted_noise_and_keeps_classes() {
    let (n, d) = (200, 2);
    let (x, mut y) = blobs(n, d, 2, 8.0, 0.0, 4);
    // Row 10 is deep in class 0's blob; label it 1.
    assert_eq!(y[10], 0);
    y[10] = 1;
    let rows = DenseRows::new(&x, n, d).unwrap();
    let lab = Labels::new(&y, n, 2).unwrap();
    let kept = edited_nearest_neighbours(&rows, &lab, 3, Metric::Euclidean).unwrap();
    assert!(kept.binary_search(&10).is_err());
    assert_eq!(classes_of(&y, &kept).len(), 2);
    assert!(kept.len() >= n - 5);
    // A class of one row inside another blob would be removed, but is kept.
    let mut y3 = y.clone();
    y3[10] = 2;
    let lab3 = Labels::new(&y3, n, 3).unwrap();
    let kept3 = edited_nearest_neighbours(&rows, &lab3, 3, Metric::Euclidean).unwrap();
    assert!(kept3.binary_search(&10).is_ok());
    assert_eq!(classes_of(&y3, &kept3).len(), 3);
}

#[test]
fn drop3_reduces_and_keeps_classes() {
    for seed in 0..3u64 {
        let (n, d) = (300, 4);
        let (x, y) = blobs(n, d, 3, 3.0, 0.03, seed);
        let rows = DenseRows::new(&x, n, d).unwrap();
        let lab = Labels::new(&y, n, 3).unwrap();
        for k in [1, 3, 5] {
            let kept = drop3(&rows, &lab, k, Metric::Euclidean).unwrap();
            assert!(sorted_unique(&kept));
            assert!(kept.len() < n / 2, "k={k}: kept {}", kept.len());
            assert_eq!(classes_of(&y, &kept).len(), 3);
            // A subset of the ENN result.
            let enn = edited_nearest_neighbours(&rows, &lab, k, Metric::Euclidean).unwrap();
            assert!(kept.iter().all(|i| enn.binary_search(i).is_ok()));
        }
    }
}

/// Bucket keys of table `t`, recomputed from the documented definition.
fn lsh_keys(
    x: &[f64],
    n: usize,
    d: usize,
    funcs: usize,
    width: f64,
    seed: u64,
    t: u64,
) -> Vec<Vec<i64>> {
    let rows = DenseRows::new(x, n, d).unwrap();
    let w = width * scale_estimate(&rows, 1000, seed).unwrap();
    let tseed = Stream::new(seed, tag::SELECTION, IDX_LSH_TABLE + t).next_u64();
    let g = Sketch::new(Family::Gaussian, funcs, d, tseed).unwrap();
    let mut s = Stream::new(seed, tag::SELECTION, IDX_LSH_OFFSET + t);
    let off: Vec<f64> = (0..funcs).map(|_| open01(s.next_u64()) * w).collect();
    let mut p = vec![0.0; n * funcs];
    g.project(
        MatRef::from_row_major(x, n, d).unwrap(),
        MatMut::from_row_major(&mut p, n, funcs).unwrap(),
    )
    .unwrap();
    let gain = (funcs as f64).sqrt();
    (0..n)
        .map(|i| {
            (0..funcs)
                .map(|f| ((p[i * funcs + f] * gain + off[f]) / w).floor() as i64)
                .collect()
        })
        .collect()
}

#[test]
fn lsh_is_bucket_properties() {
    let (n, d) = (500, 6);
    let (x, y) = blobs(n, d, 3, 2.0, 0.05, 5);
    let rows = DenseRows::new(&x, n, d).unwrap();
    let lab = Labels::new(&y, n, 3).unwrap();
    let (tables, funcs, width, seed) = (3usize, 4usize, 2.0, 17u64);
    let s = lsh_is(&rows, &lab, LshVariant::S, tables, funcs, width, seed).unwrap();
    let f = lsh_is(&rows, &lab, LshVariant::F, tables, funcs, width, seed).unwrap();
    assert!(sorted_unique(&s) && sorted_unique(&f));
    assert!(s.len() < n && !f.is_empty());
    assert!(f.iter().all(|i| s.binary_search(i).is_ok()), "F ⊄ S");
    assert_eq!(classes_of(&y, &f).len(), 3);
    let ss: BTreeSet<usize> = s.iter().copied().collect();
    let mut picked_per_table = vec![BTreeSet::new(); tables];
    for (t, picked) in picked_per_table.iter_mut().enumerate() {
        let keys = lsh_keys(&x, n, d, funcs, width, seed, t as u64);
        let mut buckets: BTreeMap<(&Vec<i64>, u32), Vec<usize>> = BTreeMap::new();
        for i in 0..n {
            buckets.entry((&keys[i], y[i])).or_default().push(i);
        }
        for (key, members) in &buckets {
            let kept: Vec<_> = members.iter().filter(|i| ss.contains(i)).collect();
            assert!(
                !kept.is_empty(),
                "table {t}: bucket/class {key:?} has no kept row"
            );
            picked.extend(kept);
        }
    }
    // Exactly one row per (table, bucket, class) is picked, so |S| is at most the
    // number of such cells.
    let union: BTreeSet<usize> = picked_per_table.iter().flatten().copied().collect();
    assert_eq!(union, ss);
    // Huge width: one bucket per table, so S keeps exactly one row per class.
    let one = lsh_is(&rows, &lab, LshVariant::S, 1, 2, 1e9, seed).unwrap();
    assert_eq!(one.len(), 3);
    assert_eq!(classes_of(&y, &one).len(), 3);
    // Tiny width: every row alone in its bucket, so S keeps everything.
    let all = lsh_is(&rows, &lab, LshVariant::S, 1, 8, 1e-9, seed).unwrap();
    assert_eq!(all.len(), n);
}

#[test]
fn stratified_quotas_are_exact() {
    let (_, y) = blobs(1000, 2, 4, 1.0, 0.2, 6);
    let lab = Labels::new(&y, 1000, 5).unwrap(); // class 4 is empty
    for r in [0.1, 0.5, 0.97] {
        let q = quota(lab.counts(), r).unwrap();
        let s = stratified_random(&lab, &q, 3).unwrap();
        assert!(sorted_unique(&s));
        let mut got = vec![0usize; 5];
        for &i in &s {
            got[y[i] as usize] += 1;
        }
        assert_eq!(got, q);
        assert_eq!(s, stratified_random(&lab, &q, 3).unwrap());
        assert_ne!(s, stratified_random(&lab, &q, 4).unwrap());
    }
    let bad = stratified_random(&lab, &[1, 1], 0).unwrap_err();
    assert!(matches!(
        bad,
        SketchError::InvalidArgument { arg: "quota", .. }
    ));
    let too_many = vec![lab.counts()[0] + 1, 0, 0, 0, 0];
    let bad = stratified_random(&lab, &too_many, 0).unwrap_err();
    assert!(matches!(
        bad,
        SketchError::InvalidArgument { arg: "quota", .. }
    ));
}

fn run_all<R: Rows<f64>>(rows: &R, lab: &Labels<'_>, metric: Metric) -> Vec<Vec<usize>> {
    vec![
        condensed_nearest_neighbour(rows, lab, metric, 11).unwrap(),
        edited_nearest_neighbours(rows, lab, 3, metric).unwrap(),
        drop3(rows, lab, 3, metric).unwrap(),
        lsh_is(rows, lab, LshVariant::S, 4, 6, 2.0, 11).unwrap(),
        lsh_is(rows, lab, LshVariant::F, 4, 6, 2.0, 11).unwrap(),
        stratified_random(lab, &quota(lab.counts(), 0.8).unwrap(), 11).unwrap(),
    ]
}

#[test]
fn deterministic_across_threads() {
    let _g = GLOBAL.lock().unwrap_or_else(|p| p.into_inner());
    let (n, d) = (1500, 5);
    let (x, y) = blobs(n, d, 3, 2.0, 0.05, 8);
    let rows = DenseRows::new(&x, n, d).unwrap();
    let lab = Labels::new(&y, n, 3).unwrap();
    let before = sketchkit::get_num_threads().unwrap();
    for metric in [Metric::Euclidean, Metric::Cosine] {
        sketchkit::set_num_threads(1).unwrap();
        let a = run_all(&rows, &lab, metric);
        sketchkit::set_num_threads(2).unwrap();
        let b = run_all(&rows, &lab, metric);
        sketchkit::set_num_threads(4).unwrap();
        let c = run_all(&rows, &lab, metric);
        assert_eq!(a, b);
        assert_eq!(a, c);
    }
    sketchkit::set_num_threads(before).unwrap();
}

#[test]
fn csr_matches_dense() {
    let (n, d) = (300, 8);
    let (mut x, y) = blobs(n, d, 3, 2.5, 0.05, 12);
    // Sparsify: zero out small values.
    for v in x.iter_mut() {
        if v.abs() < 0.5 {
            *v = 0.0;
        }
    }
    let dense = DenseRows::new(&x, n, d).unwrap();
    let (ip, ix, dv) = to_csr(&x, n, d);
    let csr = CsrRows::new(CsrRef::new(n, d, &ip, &ix, &dv).unwrap()).unwrap();
    let lab = Labels::new(&y, n, 3).unwrap();
    for k in [1, 3] {
        assert_eq!(
            edited_nearest_neighbours(&dense, &lab, k, Metric::Euclidean).unwrap(),
            edited_nearest_neighbours(&csr, &lab, k, Metric::Euclidean).unwrap()
        );
        assert_eq!(
            drop3(&dense, &lab, k, Metric::Euclidean).unwrap(),
            drop3(&csr, &lab, k, Metric::Euclidean).unwrap()
        );
    }
    assert_eq!(
        condensed_nearest_neighbour(&dense, &lab, Metric::Euclidean, 5).unwrap(),
        condensed_nearest_neighbour(&csr, &lab, Metric::Euclidean, 5).unwrap()
    );
}

#[test]
fn argument_errors() {
    let (n, d) = (50, 3);
    let (x, y) = blobs(n, d, 2, 1.0, 0.0, 1);
    let rows = DenseRows::new(&x, n, d).unwrap();
    let lab = Labels::new(&y, n, 2).unwrap();
    let arg = |e: SketchError| match e {
        SketchError::InvalidArgument { arg, .. } => arg,
        other => panic!("unexpected {other:?}"),
    };
    assert_eq!(
        arg(edited_nearest_neighbours(&rows, &lab, 0, Metric::Euclidean).unwrap_err()),
        "n_neighbors"
    );
    assert_eq!(
        arg(drop3(&rows, &lab, 0, Metric::Euclidean).unwrap_err()),
        "n_neighbors"
    );
    assert_eq!(
        arg(lsh_is(&rows, &lab, LshVariant::S, 0, 4, 1.0, 0).unwrap_err()),
        "n_tables"
    );
    assert_eq!(
        arg(lsh_is(&rows, &lab, LshVariant::S, 2, 0, 1.0, 0).unwrap_err()),
        "n_funcs"
    );
    assert_eq!(
        arg(lsh_is(&rows, &lab, LshVariant::S, 2, 4, 0.0, 0).unwrap_err()),
        "width"
    );
    assert_eq!(
        arg(lsh_is(&rows, &lab, LshVariant::S, 2, 4, f64::NAN, 0).unwrap_err()),
        "width"
    );
    assert_eq!(arg(LshVariant::parse("X").unwrap_err()), "variant");
    // Labels for a different number of rows.
    let short = Labels::new(&y[..40], 40, 2).unwrap();
    let shape = |e: SketchError| assert!(matches!(e, SketchError::ShapeMismatch(_)), "{e:?}");
    shape(condensed_nearest_neighbour(&rows, &short, Metric::Euclidean, 0).unwrap_err());
    shape(edited_nearest_neighbours(&rows, &short, 3, Metric::Euclidean).unwrap_err());
    shape(drop3(&rows, &short, 3, Metric::Euclidean).unwrap_err());
    shape(lsh_is(&rows, &short, LshVariant::F, 2, 4, 1.0, 0).unwrap_err());
    // A single row has no neighbours.
    let one = DenseRows::new(&x[..d], 1, d).unwrap();
    let lab1 = Labels::new(&y[..1], 1, 2).unwrap();
    assert_eq!(
        arg(edited_nearest_neighbours(&one, &lab1, 3, Metric::Euclidean).unwrap_err()),
        "X"
    );
    // ... but CNN and LSH-IS accept it.
    assert_eq!(
        condensed_nearest_neighbour(&one, &lab1, Metric::Euclidean, 0).unwrap(),
        vec![0]
    );
    assert_eq!(
        lsh_is(&one, &lab1, LshVariant::F, 2, 4, 1.0, 0).unwrap(),
        vec![0]
    );
}
