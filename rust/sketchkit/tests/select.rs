//! Neighbour graphs, hashing and attention selection through the public API.

use sketchkit::select::attention::{scores, select, AttentionConfig};
use sketchkit::select::hashing::{HashConfig, HashFamily, HierarchicalHasher};
use sketchkit::select::knn::{exact_knn, exact_knn_graph, recall};
use sketchkit::select::minibatch::{minibatch_graph, stratified_batches};
use sketchkit::select::{quota, CsrRows, DenseRows, Labels, Metric};
use sketchkit::CsrRef;

/// Clustered data: `centers` Gaussian-ish blobs (deterministic xorshift noise).
fn blobs(n: usize, d: usize, centers: usize) -> (Vec<f64>, Vec<u32>) {
    let mut s = 0x9E37_79B9_7F4A_7C15u64;
    let mut u = move || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        (s >> 11) as f64 / (1u64 << 53) as f64
    };
    let c: Vec<f64> = (0..centers * d).map(|_| 20.0 * u() - 10.0).collect();
    let mut x = Vec::with_capacity(n * d);
    let mut y = Vec::with_capacity(n);
    for i in 0..n {
        let b = i % centers;
        for j in 0..d {
            // sum of 3 uniforms: a bell-shaped bump
            x.push(c[b * d + j] + (u() + u() + u() - 1.5));
        }
        y.push((b % 3) as u32);
    }
    (x, y)
}

fn cfg(family: HashFamily, views: usize) -> HashConfig {
    HashConfig {
        family,
        n_bits: 24,
        n_levels: 3,
        n_views: views,
        min_bucket: 20,
        max_bucket: 64,
        seed: 11,
    }
}

#[test]
fn exact_knn_matches_explicit_brute_force() {
    let (x, _) = blobs(150, 5, 4);
    let rows = DenseRows::new(&x, 150, 5).unwrap();
    let g = exact_knn_graph(&rows, 6, Metric::Euclidean).unwrap();
    for i in 0..150 {
        let mut all: Vec<(f64, usize)> = (0..150)
            .filter(|&j| j != i)
            .map(|j| {
                let d2: f64 = (0..5).map(|t| (x[i * 5 + t] - x[j * 5 + t]).powi(2)).sum();
                (d2.sqrt(), j)
            })
            .collect();
        all.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        let want: Vec<i64> = all[..6].iter().map(|&(_, j)| j as i64).collect();
        assert_eq!(g.neighbors(i), &want[..]);
        for (a, b) in g.dists(i).iter().zip(&all[..6]) {
            assert!((a - b.0).abs() <= 1e-12 * b.0.max(1.0));
        }
    }
}

#[test]
fn csr_distances_match_dense() {
    let (mut x, _) = blobs(80, 6, 3);
    for (t, v) in x.iter_mut().enumerate() {
        if t % 3 == 0 {
            *v = 0.0;
        }
    }
    let (mut indptr, mut indices, mut data) = (vec![0i64], Vec::new(), Vec::new());
    for i in 0..80 {
        for j in 0..6 {
            if x[i * 6 + j] != 0.0 {
                indices.push(j as i64);
                data.push(x[i * 6 + j]);
            }
        }
        indptr.push(indices.len() as i64);
    }
    let csr = CsrRows::new(CsrRef::new(80, 6, &indptr, &indices, &data).unwrap()).unwrap();
    let dense = DenseRows::new(&x, 80, 6).unwrap();
    for m in [Metric::Euclidean, Metric::Cosine] {
        let a = exact_knn_graph(&csr, 5, m).unwrap();
        let b = exact_knn_graph(&dense, 5, m).unwrap();
        for (p, q) in a.distances.iter().zip(&b.distances) {
            assert!((p - q).abs() < 1e-9, "{m:?}: {p} vs {q}");
        }
    }
}

#[test]
fn hashed_graph_recall_on_clustered_data() {
    let (x, _) = blobs(3000, 8, 30);
    let rows = DenseRows::new(&x, 3000, 8).unwrap();
    let sample: Vec<usize> = (0..3000).step_by(15).collect();
    // FlyHash's units each sum 6 of only 8 coordinates here, so they are strongly
    // correlated and resolve clusters better than positions inside them.
    for (family, bound) in [
        (HashFamily::SimHash { center: true }, 0.85),
        (HashFamily::E2Lsh { width: 4.0 }, 0.85),
        (
            HashFamily::FlyHash {
                expansion: 8,
                fan_in: 6,
                center: true,
            },
            0.55,
        ),
    ] {
        let h = HierarchicalHasher::build(&rows, cfg(family, 4)).unwrap();
        let g = h.knn_graph(&rows, 10, Metric::Euclidean).unwrap();
        assert_eq!(g.short_rows(10), 0);
        let r = recall(&rows, g.view(), &sample, 10, Metric::Euclidean).unwrap();
        assert!(r >= bound, "{family:?}: recall {r}");
    }
}

#[test]
fn bucket_bounds_and_nested_levels() {
    let (x, _) = blobs(2000, 6, 10);
    let rows = DenseRows::new(&x, 2000, 6).unwrap();
    let h = HierarchicalHasher::build(&rows, cfg(HashFamily::SimHash { center: true }, 2)).unwrap();
    assert!(h.bucket_sizes().iter().all(|&s| s >= 20));
    for i in 0..2000 {
        assert!(h.window_sizes(i).iter().all(|&w| w <= 64));
    }
    // Nested: rows sharing a level-2 bucket share their level-1 bucket.
    let (l1, l2) = (h.level_ids(1).unwrap(), h.level_ids(2).unwrap());
    let mut parent = std::collections::HashMap::new();
    for t in 0..l1.len() {
        assert_eq!(*parent.entry((t % 2, l2[t])).or_insert(l1[t]), l1[t]);
    }
    assert!(h.level_ids(4).is_err());
}

#[test]
fn graphs_are_identical_across_thread_counts() {
    let (x, y) = blobs(1500, 7, 12);
    let rows = DenseRows::new(&x, 1500, 7).unwrap();
    let labels = Labels::new(&y, 1500, 3).unwrap();
    let run = |t: usize| {
        sketchkit::set_num_threads(t).unwrap();
        let h = HierarchicalHasher::build(&rows, cfg(HashFamily::E2Lsh { width: 2.0 }, 3)).unwrap();
        let g = h.knn_graph(&rows, 8, Metric::Cosine).unwrap();
        let (m, _) = minibatch_graph(&rows, Some(&labels), 200, 8, Metric::Euclidean, 5).unwrap();
        (g, m)
    };
    let one = run(1);
    for t in [2, 3] {
        assert_eq!(run(t), one);
    }
}

#[test]
fn minibatches_are_stratified() {
    let y: Vec<u32> = (0..1000)
        .map(|i| if i % 10 < 7 { 0 } else { 1 + (i % 2) as u32 })
        .collect();
    let labels = Labels::new(&y, 1000, 3).unwrap();
    let b = stratified_batches(1000, Some(&labels), 128, 3).unwrap();
    let nb = 1000usize.div_ceil(128);
    for c in 0..3u32 {
        let mut per = vec![0usize; nb];
        for (i, &bb) in b.iter().enumerate() {
            if y[i] == c {
                per[bb as usize] += 1;
            }
        }
        assert!(per.iter().max().unwrap() - per.iter().min().unwrap() <= 1);
    }
    assert!(stratified_batches(10, None, 1, 0).is_err());
}

#[test]
fn attention_selection_honours_quotas_and_weights() {
    let (x, y) = blobs(1200, 5, 9);
    let rows = DenseRows::new(&x, 1200, 5).unwrap();
    let labels = Labels::new(&y, 1200, 3).unwrap();
    let g = exact_knn_graph(&rows, 10, Metric::Euclidean).unwrap();
    let s = scores(g.view(), &labels, AttentionConfig::default()).unwrap();
    for r in [0.5, 0.9, 0.97] {
        let q = quota(labels.counts(), r).unwrap();
        let sel = select(g.view(), &labels, &s, Some(&q)).unwrap();
        for c in 0..3u32 {
            let kept: Vec<usize> = sel.indices.iter().copied().filter(|&i| y[i] == c).collect();
            assert_eq!(kept.len(), q[c as usize]);
            let w: f64 = sel
                .indices
                .iter()
                .zip(&sel.weights)
                .filter(|(&i, _)| y[i] == c)
                .map(|(_, &w)| w)
                .sum();
            assert!((w - labels.counts()[c as usize] as f64).abs() < 1e-6);
        }
        assert!(sel.indices.windows(2).all(|w| w[0] < w[1]));
    }
    let auto = select(g.view(), &labels, &s, None).unwrap();
    assert!(auto.indices.len() < 600 && auto.indices.len() >= 3);
    assert!(quota(&[10], 1.0).is_err());
}

#[test]
fn errors_name_the_argument() {
    let x = [1.0f64, 2.0, f64::NAN, 4.0];
    assert!(matches!(
        DenseRows::new(&x, 2, 2),
        Err(sketchkit::SketchError::NonFinite { .. })
    ));
    let ok = [1.0f64, 2.0, 3.0, 4.0];
    let rows = DenseRows::new(&ok, 2, 2).unwrap();
    let e = exact_knn(&rows, &[0], 0, Metric::Euclidean).unwrap_err();
    assert!(e.to_string().contains("n_neighbors"));
    assert!(Labels::new(&[0, 5], 2, 2)
        .unwrap_err()
        .to_string()
        .contains("y"));
    let mut c = cfg(HashFamily::SimHash { center: true }, 1);
    c.max_bucket = 30;
    assert!(HierarchicalHasher::build(&rows, c)
        .unwrap_err()
        .to_string()
        .contains("max_bucket"));
}

#[test]
fn column_sums_and_huge_values() {
    use sketchkit::select::Rows;
    let (x, _) = blobs(300_000, 4, 7);
    let rows = DenseRows::new(&x, 300_000, 4).unwrap();
    let sums: Vec<Vec<u64>> = [1, 2, 3]
        .iter()
        .map(|&t| {
            sketchkit::set_num_threads(t).unwrap();
            rows.column_sums()
                .unwrap()
                .iter()
                .map(|v| v.to_bits())
                .collect()
        })
        .collect();
    assert_eq!(sums[0], sums[1]);
    assert_eq!(sums[0], sums[2]);
    // Finite values whose squared norm overflows are data, not NaN.
    let big = [1e20f32, 1.0, 2.0, 3.0];
    assert!(DenseRows::new(&big, 2, 2).is_ok());
}

#[test]
fn names_parse_print_and_list_once() {
    use sketchkit::select::baselines::LshVariant;
    use sketchkit::select::hashing::{default_min_bucket, HashConfig, HashFamily};
    use sketchkit::select::Metric;
    use sketchkit::simd::Level;
    for name in HashFamily::NAMES {
        let f: HashFamily = name.parse().unwrap();
        assert_eq!(f.to_string(), name);
    }
    let e = "minhash".parse::<HashFamily>().unwrap_err();
    assert_eq!(e.arg_name(), Some("family"));
    assert!(HashFamily::NAMES.iter().all(|n| e.to_string().contains(n)));
    for m in Metric::ALL {
        assert_eq!(m.to_string().parse::<Metric>().unwrap(), m);
    }
    assert_eq!(
        "l1".parse::<Metric>().unwrap_err().arg_name(),
        Some("metric")
    );
    for v in LshVariant::ALL {
        assert_eq!(
            v.to_string().to_lowercase().parse::<LshVariant>().unwrap(),
            v
        );
    }
    for l in Level::ALL {
        assert_eq!(l.to_string().parse::<Level>().unwrap(), l);
    }
    assert_eq!(
        "neon".parse::<Level>().unwrap_err().arg_name(),
        Some("level")
    );
    assert_eq!(
        default_min_bucket(10, 1).unwrap_err().arg_name(),
        Some("max_bucket")
    );
    // the defaults are a valid configuration, and the default min_bucket keeps
    // max_bucket >= 2 * min_bucket
    let c = HashConfig::default();
    c.validate().unwrap();
    for (k, maxb) in [(1, 64), (10, 64), (40, 64), (10, 16)] {
        let m = default_min_bucket(k, maxb).unwrap();
        assert!(
            2 * m <= maxb && (m >= 8 || m == maxb / 2),
            "{k} {maxb} -> {m}"
        );
        HashConfig {
            min_bucket: m.max(1),
            max_bucket: maxb,
            ..HashConfig::default()
        }
        .validate()
        .unwrap();
    }
}

#[test]
fn extreme_magnitudes_give_the_graphs_of_the_unscaled_data() {
    use sketchkit::select::baselines::{condensed_nearest_neighbour, edited_nearest_neighbours};
    use sketchkit::select::Rows;
    let (n, d) = (200, 5);
    let (x, y) = blobs(n, d, 6);
    let labels = Labels::new(&y, n, 3).unwrap();
    let rows = DenseRows::new(&x, n, d).unwrap();
    assert_eq!(rows.scale_exp(), 0); // ordinary data is used as it is
    let g = exact_knn_graph(&rows, 5, Metric::Euclidean).unwrap();
    let enn = edited_nearest_neighbours(&rows, &labels, 3, Metric::Euclidean).unwrap();
    let cnn = condensed_nearest_neighbour(&rows, &labels, Metric::Euclidean, 3).unwrap();
    // Beyond 1e±154 squared distances overflow or underflow in f64: a power-of-two
    // factor must change nothing but the reported distances' units.
    for e in [600i32, -600, 1000, -1000] {
        let f = 2f64.powi(e / 2) * 2f64.powi(e - e / 2);
        let xs: Vec<f64> = x.iter().map(|v| v * f).collect();
        let rs = DenseRows::new(&xs, n, d).unwrap();
        assert_ne!(rs.scale_exp(), 0);
        let gs = exact_knn_graph(&rs, 5, Metric::Euclidean).unwrap();
        assert_eq!(gs.indices, g.indices, "2^{e}");
        for (a, b) in gs.distances.iter().zip(&g.distances) {
            assert_eq!(*a, b * f, "2^{e}");
        }
        let e2 = edited_nearest_neighbours(&rs, &labels, 3, Metric::Euclidean).unwrap();
        assert_eq!(e2, enn, "2^{e}");
        let c2 = condensed_nearest_neighbour(&rs, &labels, Metric::Euclidean, 3).unwrap();
        assert_eq!(c2, cnn, "2^{e}");
        let sc = scores(gs.view(), &labels, AttentionConfig::default()).unwrap();
        assert!(sc.score.iter().all(|v| v.is_finite()), "2^{e}");
        let s0 = scores(g.view(), &labels, AttentionConfig::default()).unwrap();
        assert_eq!(sc, s0, "2^{e}");
    }
    // f32: beyond 1e±19.
    let x32: Vec<f32> = x.iter().map(|&v| v as f32).collect();
    let g32 = exact_knn_graph(&DenseRows::new(&x32, n, d).unwrap(), 5, Metric::Euclidean).unwrap();
    for e in [70i32, -70] {
        let xs: Vec<f32> = x32.iter().map(|&v| v * 2f32.powi(e)).collect();
        let gs =
            exact_knn_graph(&DenseRows::new(&xs, n, d).unwrap(), 5, Metric::Euclidean).unwrap();
        assert_eq!(gs.indices, g32.indices, "f32 2^{e}");
    }
}

#[test]
fn a_set_cancellation_token_interrupts_and_an_unset_one_changes_nothing() {
    use sketchkit::select::baselines::edited_nearest_neighbours;
    use sketchkit::SketchError;
    use std::sync::atomic::AtomicBool;
    let (n, d) = (300, 4);
    let (x, y) = blobs(n, d, 5);
    let labels = Labels::new(&y, n, 3).unwrap();
    let plain = DenseRows::new(&x, n, d).unwrap();
    let unset = AtomicBool::new(false);
    let set = AtomicBool::new(true);
    let with = DenseRows::new(&x, n, d).unwrap().with_cancel(&unset);
    let stop = DenseRows::new(&x, n, d).unwrap().with_cancel(&set);
    assert_eq!(
        edited_nearest_neighbours(&with, &labels, 3, Metric::Euclidean).unwrap(),
        edited_nearest_neighbours(&plain, &labels, 3, Metric::Euclidean).unwrap()
    );
    let e = edited_nearest_neighbours(&stop, &labels, 3, Metric::Euclidean).unwrap_err();
    assert_eq!(e, SketchError::Interrupted);
    let h =
        HierarchicalHasher::build(&plain, cfg(HashFamily::SimHash { center: true }, 2)).unwrap();
    assert_eq!(
        h.knn_graph(&stop, 5, Metric::Euclidean).unwrap_err(),
        SketchError::Interrupted
    );
    let csr_indptr: Vec<i64> = (0..=n as i64).map(|i| i * d as i64).collect();
    let csr_indices: Vec<i64> = (0..n * d).map(|t| (t % d) as i64).collect();
    let csr = CsrRef::new(n, d, &csr_indptr, &csr_indices, &x).unwrap();
    let rows = CsrRows::new(csr).unwrap().with_cancel(&set);
    assert_eq!(
        exact_knn_graph(&rows, 4, Metric::Euclidean).unwrap_err(),
        SketchError::Interrupted
    );
}

#[test]
fn hasher_state_round_trips_and_is_checked() {
    let (n, d) = (400, 6);
    let (x, _) = blobs(n, d, 5);
    let rows = DenseRows::new(&x, n, d).unwrap();
    let h = HierarchicalHasher::build(&rows, cfg(HashFamily::E2Lsh { width: 4.0 }, 3)).unwrap();
    let st = h.state();
    let h2 = HierarchicalHasher::from_state(st.clone()).unwrap();
    assert_eq!(h2.state(), st);
    assert_eq!(h2.bucket_ids().unwrap(), h.bucket_ids().unwrap());
    assert_eq!(h2.levels(), h.levels());
    assert_eq!(h2.bucket_sizes(), h.bucket_sizes());
    assert_eq!(h2.codes(&rows, 1).unwrap(), h.codes(&rows, 1).unwrap());
    assert_eq!(
        h2.knn_graph(&rows, 5, Metric::Euclidean).unwrap(),
        h.knn_graph(&rows, 5, Metric::Euclidean).unwrap()
    );
    let mut bad = st.clone();
    bad.orders[1][3] = bad.orders[1][4];
    assert_eq!(
        HierarchicalHasher::from_state(bad).unwrap_err().arg_name(),
        Some("state")
    );
    let mut bad = st.clone();
    bad.lcps[0][7] = 25;
    assert_eq!(
        HierarchicalHasher::from_state(bad).unwrap_err().arg_name(),
        Some("state")
    );
    let mut bad = st.clone();
    bad.orders.pop();
    assert!(HierarchicalHasher::from_state(bad).is_err());
    let mut bad = st;
    bad.scale = f64::NAN;
    assert!(HierarchicalHasher::from_state(bad).is_err());
}

/// Rows with their column indices spread over `2^31 + 1000` columns (int64 indices
/// past 2^31) give the graphs and hashes of the same values on 6 columns: the used
/// columns are renumbered in order, and no dense row of 2^31 values is allocated.
#[test]
fn csr_past_2_31_columns_is_handled_in_its_used_columns() {
    let (x, _) = blobs(60, 6, 3);
    let spread = [
        0i64,
        7,
        (1 << 31) - 1,
        1 << 31,
        (1 << 31) + 5,
        (1 << 31) + 999,
    ];
    let (mut ip, mut small, mut big, mut data) = (vec![0i64], vec![], vec![], vec![]);
    for i in 0..60 {
        for j in 0..6 {
            if (i + j) % 4 != 0 {
                small.push(j as i64);
                big.push(spread[j]);
                data.push(x[i * 6 + j]);
            }
        }
        ip.push(small.len() as i64);
    }
    let wide = (1usize << 31) + 1000;
    let a = CsrRows::new(CsrRef::new(60, wide, &ip, &big, &data).unwrap()).unwrap();
    let b = CsrRows::new(CsrRef::new(60, 6, &ip, &small, &data).unwrap()).unwrap();
    for m in [Metric::Euclidean, Metric::Cosine] {
        let (ga, gb) = (
            exact_knn_graph(&a, 4, m).unwrap(),
            exact_knn_graph(&b, 4, m).unwrap(),
        );
        assert_eq!(ga.indices, gb.indices);
        assert_eq!(ga.distances, gb.distances);
    }
    let cfg = HashConfig::default();
    let (ha, hb) = (
        HierarchicalHasher::build(&a, cfg.clone()).unwrap(),
        HierarchicalHasher::build(&b, cfg).unwrap(),
    );
    assert_eq!(ha.bucket_ids().unwrap(), hb.bucket_ids().unwrap());
}

/// Rows whose column indices are unsorted or repeated are refused with the argument
/// named: squared norms come from the stored values, so a duplicate would give wrong
/// distances silently.
#[test]
fn non_canonical_csr_rows_are_refused() {
    let data = [1.0f64, 2.0, 3.0, 4.0];
    let ip = [0i64, 2, 4];
    for (indices, what) in [
        ([0i64, 0, 1, 2], "duplicate"),
        ([1i64, 0, 1, 2], "unsorted"),
    ] {
        let csr = CsrRef::new(2, 3, &ip, &indices, &data).unwrap();
        let err = CsrRows::new(csr).unwrap_err().to_string();
        assert!(err.contains("X") && err.contains("row 0"), "{what}: {err}");
    }
}

#[test]
fn tuned_prototypes_keep_the_candidate_that_classifies_held_out_rows_best() {
    use sketchkit::select::attention::{
        select_prototypes, select_prototypes_tuned, BOUNDARY_SHARE_GRID, NOISE_THRESHOLD_GRID,
        TUNE_EVAL_ROWS,
    };
    let (n, d) = (1200, 5);
    let (x, mut y) = blobs(n, d, 9);
    // Flipped labels, so that editing matters.
    for i in (0..n).step_by(23) {
        y[i] = (y[i] + 1) % 3;
    }
    // Below the sample size, every row is in the held-out sample.
    assert!(n <= TUNE_EVAL_ROWS);
    let rows = DenseRows::new(&x, n, d).unwrap();
    let labels = Labels::new(&y, n, 3).unwrap();
    let g = exact_knn_graph(&rows, 10, Metric::Euclidean).unwrap();
    let q = quota(labels.counts(), 0.9).unwrap();
    let (iters, seed) = (10, 7);
    let tuned = |b: Option<f64>, t: Option<f64>| {
        select_prototypes_tuned(
            &rows,
            Metric::Euclidean,
            g.view(),
            &labels,
            b,
            t,
            1.0,
            Some(&q),
            0.0,
            iters,
            seed,
            true,
        )
    };
    let plain = |b: f64, t: f64| {
        let cfg = AttentionConfig {
            noise_threshold: t,
            boundary_weight: 1.0,
        };
        let s = scores(g.view(), &labels, cfg).unwrap();
        let sel = select_prototypes(&rows, g.view(), &labels, &s, Some(&q), b, 0.0, iters, seed);
        (sel.unwrap(), s)
    };
    sketchkit::set_num_threads(1).unwrap();
    let t = tuned(None, None).unwrap();
    let pairs: Vec<(f64, f64)> = t
        .candidates
        .iter()
        .map(|c| (c.boundary_share, c.noise_threshold))
        .collect();
    let grid: Vec<(f64, f64)> = BOUNDARY_SHARE_GRID
        .iter()
        .flat_map(|&b| NOISE_THRESHOLD_GRID.iter().map(move |&t| (b, t)))
        .collect();
    assert_eq!(pairs, grid);
    // Each candidate's selection and figures, by brute-force 1-NN of the rows it
    // left out.
    assert_eq!(t.all.len(), t.candidates.len());
    for (c, kept_sel) in t.candidates.iter().zip(&t.all) {
        let (sel, _) = plain(c.boundary_share, c.noise_threshold);
        assert_eq!(&sel, kept_sel);
        let kept = &sel.indices;
        let mut hits = 0;
        let mut judged = 0;
        for i in (0..n).filter(|i| kept.binary_search(i).is_err()) {
            judged += 1;
            let dist =
                |j: usize| -> f64 { (0..d).map(|k| (x[i * d + k] - x[j * d + k]).powi(2)).sum() };
            let mut best = (f64::INFINITY, usize::MAX);
            for &j in kept {
                let e = (dist(j), j);
                if e.0 < best.0 || (e.0 == best.0 && e.1 < best.1) {
                    best = e;
                }
            }
            hits += usize::from(y[best.1] == y[i]);
        }
        assert_eq!((c.hits, c.judged), (hits, judged), "{c:?}");
    }
    // The most accurate wins; ties go to the earliest.
    let better = |a: &sketchkit::select::attention::Candidate,
                  b: &sketchkit::select::attention::Candidate| {
        (a.hits as u128) * (b.judged as u128) > (b.hits as u128) * (a.judged as u128)
    };
    let first_best = (0..t.candidates.len())
        .find(|&i| !t.candidates.iter().any(|c| better(c, &t.candidates[i])))
        .unwrap();
    assert_eq!(t.chosen, first_best);
    let acc: Vec<f64> = t.candidates.iter().map(|c| c.accuracy()).collect();
    assert!(acc.iter().all(|&a| a <= acc[t.chosen]));
    // The result is the chosen candidate's own selection and scores.
    let c = t.candidates[t.chosen];
    let (sel, s) = plain(c.boundary_share, c.noise_threshold);
    assert_eq!((&t.selection, &t.scores), (&sel, &s));
    // A pooled choice over parts sums their figures; one part is the call's choice.
    use sketchkit::select::attention::pooled_choice;
    assert_eq!(pooled_choice(&[&t.candidates]).unwrap(), t.chosen);
    let mut a = t.candidates.clone();
    let mut b = t.candidates.clone();
    for (i, (x, y)) in a.iter_mut().zip(b.iter_mut()).enumerate() {
        // Part a favours the last candidate, part b the first, by more.
        (x.hits, x.judged) = (usize::from(i + 1 == t.candidates.len()) * 10, 10);
        (y.hits, y.judged) = (if i == 0 { 25 } else { 1 }, 30);
    }
    assert_eq!(pooled_choice(&[&a, &b]).unwrap(), 0);
    assert_eq!(pooled_choice(&[&a]).unwrap(), a.len() - 1);
    assert!(pooled_choice(&[&a, &b[1..]]).is_err());
    assert!(pooled_choice(&[]).is_err());
    // Given values are used as they are, with nothing to choose.
    let fixed = tuned(Some(0.25), Some(0.5)).unwrap();
    assert!(fixed.candidates.is_empty());
    assert_eq!(fixed.selection, plain(0.25, 0.5).0);
    let half = tuned(Some(0.25), None).unwrap();
    assert_eq!(half.candidates.len(), NOISE_THRESHOLD_GRID.len());
    assert!(half.candidates.iter().all(|c| c.boundary_share == 0.25));
    // Same result on any thread count.
    for threads in [2, 3] {
        sketchkit::set_num_threads(threads).unwrap();
        assert_eq!(tuned(None, None).unwrap(), t);
    }
    // Out-of-range values name their argument.
    for (b, th, name) in [
        (Some(1.5), None, "boundary_share"),
        (None, Some(-0.1), "noise_threshold"),
    ] {
        let e = tuned(b, th).unwrap_err().to_string();
        assert!(e.contains(name), "{e}");
    }
}

#[test]
fn tuned_prototypes_on_clean_classes_repeat_the_figures_of_equal_thresholds() {
    use sketchkit::select::attention::{select_prototypes_tuned, NOISE_THRESHOLD_GRID};
    let (n, d) = (600, 3);
    let (mut x, _) = blobs(n, d, 6);
    // Three classes far apart: no row is noisy at any threshold of the grid.
    let y: Vec<u32> = (0..n).map(|i| (i % 3) as u32).collect();
    for i in 0..n {
        x[i * d] += 1000.0 * y[i] as f64;
    }
    let rows = DenseRows::new(&x, n, d).unwrap();
    let labels = Labels::new(&y, n, 3).unwrap();
    let g = exact_knn_graph(&rows, 10, Metric::Euclidean).unwrap();
    let q = quota(labels.counts(), 0.9).unwrap();
    let t = select_prototypes_tuned(
        &rows,
        Metric::Euclidean,
        g.view(),
        &labels,
        None,
        None,
        1.0,
        Some(&q),
        0.0,
        10,
        3,
        false,
    )
    .unwrap();
    assert!(t.all.is_empty());
    assert!(!t.scores.noisy.iter().any(|&v| v));
    let k = NOISE_THRESHOLD_GRID.len();
    for row in t.candidates.chunks(k) {
        for c in row {
            assert_eq!((c.hits, c.judged), (row[0].hits, row[0].judged));
        }
    }
    // Equal figures are never better: the first threshold of a share wins.
    assert_eq!(t.chosen % k, 0);
}
