//! FastRP, propagation and code search against plain references.

use sketchkit::graph::{check_adjacency, propagate, FastRp, RowScale};
use sketchkit::quantize::{max_query_magnitude, search_hamming, search_u8};
use sketchkit::{CsrRef, Family, MatRef, Sketch, SketchError};

/// A symmetric random graph as CSR arrays (canonical), with weights in [0.5, 2).
fn graph(n: usize, seed: u64) -> (Vec<i64>, Vec<i64>, Vec<f64>) {
    let mut state = seed.wrapping_mul(6364136223846793005).wrapping_add(1);
    let mut next = || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (state >> 33) as f64 / (1u64 << 31) as f64
    };
    let mut dense = vec![0.0f64; n * n];
    for i in 0..n {
        for j in (i + 1)..n {
            if next() < 0.15 {
                let w = 0.5 + 1.5 * next();
                dense[i * n + j] = w;
                dense[j * n + i] = w;
            }
        }
    }
    let (mut indptr, mut indices, mut data) = (vec![0i64], vec![], vec![]);
    for i in 0..n {
        for j in 0..n {
            if dense[i * n + j] != 0.0 {
                indices.push(j as i64);
                data.push(dense[i * n + j]);
            }
        }
        indptr.push(indices.len() as i64);
    }
    (indptr, indices, data)
}

fn normalize(row: &mut [f64]) {
    let s: f64 = row.iter().map(|v| v * v).sum::<f64>().sqrt();
    if s > 0.0 {
        row.iter_mut().for_each(|v| *v /= s);
    }
}

#[test]
fn initial_vectors_are_the_operator_columns() {
    let p = FastRp::new(24, 7);
    let r = p.initial_vectors(50, None).unwrap();
    let s = Sketch::new(Family::VerySparse { density: 1.0 / 3.0 }, 24, 50, 7).unwrap();
    let dense: Vec<f32> = s.to_dense().unwrap(); // 24 × 50
    for j in 0..50 {
        for c in 0..24 {
            assert_eq!(r[j * 24 + c], dense[c * 50 + j]);
        }
    }
}

#[test]
fn fastrp_matches_a_dense_reference() {
    let n = 40;
    let (indptr, indices, data) = graph(n, 3);
    let adj = CsrRef::new(n, n, &indptr, &indices, &data).unwrap();
    let mut p = FastRp::new(32, 11);
    p.iteration_weights = vec![0.5, 1.0, 2.0];
    p.normalization_strength = -0.4;
    p.node_self_influence = 0.25;
    let got = p.embed(&adj, None).unwrap();
    let r: Vec<f64> = p
        .initial_vectors(n, None)
        .unwrap()
        .into_iter()
        .map(f64::from)
        .collect();
    let k = 32;
    let mut out = vec![0.0f64; n * k];
    let mut e = r.clone();
    for i in 0..n {
        let mut row = r[i * k..(i + 1) * k].to_vec();
        normalize(&mut row);
        for c in 0..k {
            out[i * k + c] = 0.25 * row[c];
        }
        let deg = (indptr[i + 1] - indptr[i]) as f64;
        let f = if deg > 0.0 { deg.powf(-0.4) } else { 1.0 };
        e[i * k..(i + 1) * k].iter_mut().for_each(|v| *v *= f);
    }
    for &w in &[0.5, 1.0, 2.0] {
        let mut next = vec![0.0f64; n * k];
        for i in 0..n {
            for t in indptr[i] as usize..indptr[i + 1] as usize {
                let j = indices[t] as usize;
                for c in 0..k {
                    next[i * k + c] += data[t] * e[j * k + c];
                }
            }
            normalize(&mut next[i * k..(i + 1) * k]);
            for c in 0..k {
                out[i * k + c] += w * next[i * k + c];
            }
        }
        e = next;
    }
    for (g, want) in got.iter().zip(&out) {
        assert!((f64::from(*g) - want).abs() < 1e-5, "{g} vs {want}");
    }
}

#[test]
fn fastrp_has_the_same_bits_for_any_thread_count() {
    let n = 500;
    let (indptr, indices, data) = graph(n, 5);
    let adj = CsrRef::new(n, n, &indptr, &indices, &data).unwrap();
    let p = FastRp::new(70, 2);
    let pool = |t| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(t)
            .build()
            .unwrap()
    };
    let one = pool(1).install(|| p.embed(&adj, None).unwrap());
    let four = pool(4).install(|| p.embed(&adj, None).unwrap());
    assert!(one
        .iter()
        .zip(&four)
        .all(|(a, b)| a.to_bits() == b.to_bits()));
}

#[test]
fn adjacency_checks_name_the_argument() {
    let (indptr, indices, data) = (vec![0i64, 1, 1], vec![1i64], vec![1.0f64]);
    let adj = CsrRef::new(2, 2, &indptr, &indices, &data).unwrap();
    let e = check_adjacency(&adj, true).unwrap_err();
    assert_eq!(e.arg_name(), Some("adjacency"));
    assert!(e.to_string().contains("(0, 1)"), "{e}");
    assert!(check_adjacency(&adj, false).is_ok());
    let neg = vec![-1.0f64];
    let adj = CsrRef::new(2, 2, &indptr, &indices, &neg).unwrap();
    assert!(check_adjacency(&adj, false)
        .unwrap_err()
        .to_string()
        .contains("negative"));
    let rect = CsrRef::new(2, 3, &indptr, &indices, &data).unwrap();
    assert_eq!(
        check_adjacency(&rect, false).unwrap_err().arg_name(),
        Some("adjacency")
    );
    let mut p = FastRp::new(0, 1);
    assert_eq!(
        p.validate(None).unwrap_err().arg_name(),
        Some("embedding_dim")
    );
    p.embedding_dim = 8;
    p.iteration_weights.clear();
    assert_eq!(
        p.validate(None).unwrap_err().arg_name(),
        Some("iteration_weights")
    );
    p.iteration_weights = vec![1.0];
    p.density = 0.0;
    assert_eq!(p.validate(None).unwrap_err().arg_name(), Some("density"));
    p.density = 0.5;
    p.property_ratio = 1.0;
    assert_eq!(
        p.validate(Some(3)).unwrap_err().arg_name(),
        Some("property_ratio")
    );
}

#[test]
fn propagate_matches_the_plain_product() {
    let n = 30;
    let (indptr, indices, data) = graph(n, 9);
    let adj = CsrRef::new(n, n, &indptr, &indices, &data).unwrap();
    let x: Vec<f32> = (0..n * 5).map(|v| (v as f32 * 0.37).sin()).collect();
    let got = propagate(
        &adj,
        true,
        MatRef::from_row_major(&x, n, 5).unwrap(),
        RowScale::Mean,
    )
    .unwrap();
    for i in 0..n {
        let rng = indptr[i] as usize..indptr[i + 1] as usize;
        let wsum: f64 = data[rng.clone()].iter().sum();
        for c in 0..5 {
            let s: f64 = rng
                .clone()
                .map(|t| data[t] * f64::from(x[indices[t] as usize * 5 + c]))
                .sum();
            let want = if wsum > 0.0 { s / wsum } else { 0.0 };
            assert!((f64::from(got[i * 5 + c]) - want).abs() < 1e-5);
        }
    }
    let short = MatRef::from_row_major(&x[..5], 1, 5).unwrap();
    assert!(matches!(
        propagate(&adj, true, short, RowScale::Sum),
        Err(SketchError::ShapeMismatch(_))
    ));
}

#[test]
fn code_search_is_exhaustive() {
    let (n, m, d) = (97, 5, 13);
    let codes: Vec<u8> = (0..n * d).map(|v| ((v * 7919) % 251) as u8).collect();
    let queries: Vec<i16> = (0..m * d).map(|v| ((v * 31) % 61) as i16 - 30).collect();
    let k = 9;
    let (idx, s) = search_u8(&codes, n, &queries, m, d, k).unwrap();
    for q in 0..m {
        let mut all: Vec<(i32, usize)> = (0..n)
            .map(|i| {
                let v = (0..d)
                    .map(|c| i32::from(codes[i * d + c]) * i32::from(queries[q * d + c]))
                    .sum();
                (v, i)
            })
            .collect();
        all.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        for r in 0..k {
            assert_eq!((s[q * k + r], idx[q * k + r] as usize), all[r]);
        }
    }
    let (idx, dist) = search_hamming(&codes, n, &codes[..2 * d], 2, d, k).unwrap();
    assert_eq!((idx[0], dist[0]), (0, 0));
    assert_eq!((idx[k], dist[k]), (1, 0));
    assert_eq!(
        search_u8(&codes, n, &queries, m, d, n + 1)
            .unwrap_err()
            .arg_name(),
        Some("k")
    );
    // d = 300: 255 · 300 · 32767 overflows i32, so the core refuses such queries.
    let (wide, big) = (vec![0u8; 2 * 300], vec![i16::MAX; 300]);
    assert!(max_query_magnitude(300) < i32::from(i16::MAX));
    assert_eq!(
        search_u8(&wide, 2, &big, 1, 300, 1).unwrap_err().arg_name(),
        Some("queries")
    );
}

/// The SIMD scoring kernels (pairs of codes against groups of four queries, vector
/// steps of 16 or 32 bytes plus a scalar tail) against brute force on every level,
/// with the extreme values the bound allows and odd numbers of codes and queries.
#[test]
fn code_search_matches_brute_force_on_every_level() {
    use sketchkit::simd::{set_cap, Level};
    let (n, m, k) = (41, 11, 7);
    for d in [16, 32, 45, 384] {
        let lim = max_query_magnitude(d) as i64;
        let codes: Vec<u8> = (0..n * d)
            .map(|v| {
                if v % 5 == 0 {
                    255
                } else {
                    ((v * 7919) % 256) as u8
                }
            })
            .collect();
        let queries: Vec<i16> = (0..m * d)
            .map(|v| match v % 7 {
                0 => lim as i16,
                1 => -lim as i16,
                _ => (((v as i64 * 31) % (2 * lim + 1)) - lim) as i16,
            })
            .collect();
        let mut want_idx = Vec::new();
        let mut want_s = Vec::new();
        for q in 0..m {
            let mut all: Vec<(i32, usize)> = (0..n)
                .map(|i| {
                    let v: i64 = (0..d)
                        .map(|c| i64::from(codes[i * d + c]) * i64::from(queries[q * d + c]))
                        .sum();
                    (i32::try_from(v).unwrap(), i)
                })
                .collect();
            all.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
            want_s.extend(all[..k].iter().map(|p| p.0));
            want_idx.extend(all[..k].iter().map(|p| p.1 as i64));
        }
        for lvl in [Level::Scalar, Level::Avx2, Level::Avx512] {
            set_cap(Some(lvl));
            let (idx, s) = search_u8(&codes, n, &queries, m, d, k).unwrap();
            assert_eq!(s, want_s, "d {d}, level {lvl:?}");
            assert_eq!(idx, want_idx, "d {d}, level {lvl:?}");
        }
        set_cap(None);
    }
}

/// The vector Hamming kernel (codes of whole 64-bit words, up to 8 queries per pass,
/// byte counts flushed every 31 words) against brute force on every level, with a
/// short last block of queries and lengths that take the scalar path.
#[test]
fn hamming_search_matches_brute_force_on_every_level() {
    use sketchkit::simd::{set_cap, Level};
    let (n, m, k) = (53, 11, 6);
    for b in [8, 13, 48, 256] {
        let codes: Vec<u8> = (0..n * b)
            .map(|v| ((v * 7919 + v / 7) % 256) as u8)
            .collect();
        // Query 0 is code 0's complement: every bit differs (the largest byte counts).
        let queries: Vec<u8> = (0..m * b)
            .map(|v| match v {
                _ if v < b => !codes[v],
                _ if v % 11 == 0 => 255,
                _ => ((v * 31 + 5) % 256) as u8,
            })
            .collect();
        let mut want = (Vec::new(), Vec::new());
        for q in 0..m {
            let mut all: Vec<(u32, usize)> = (0..n)
                .map(|i| {
                    let dist = (0..b)
                        .map(|j| (codes[i * b + j] ^ queries[q * b + j]).count_ones())
                        .sum();
                    (dist, i)
                })
                .collect();
            all.sort();
            want.0.extend(all[..k].iter().map(|p| p.1 as i64));
            want.1.extend(all[..k].iter().map(|p| p.0));
        }
        for lvl in [Level::Scalar, Level::Avx2, Level::Avx512] {
            set_cap(Some(lvl));
            let got = search_hamming(&codes, n, &queries, m, b, k).unwrap();
            assert_eq!(got, want, "bytes {b}, level {lvl:?}");
        }
        set_cap(None);
    }
}
