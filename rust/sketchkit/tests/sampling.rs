//! `sketchkit::sampling` against brute-force enumeration on tiny problems.

use sketchkit::linalg::faer::linalg::solvers::DenseSolveCore;
use sketchkit::linalg::faer::Mat;
use sketchkit::linalg::LeverageMethod;
use sketchkit::sampling::dpp::{self, DppMethod, VolumeScheme};
use sketchkit::sampling::{self, rs2, SampleSize, SensitivityMethod};

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

fn mat(n: usize, d: usize, seed: u64) -> Mat<f64> {
    let v = values(n * d, seed);
    Mat::from_fn(n, d, |i, j| v[i * d + j])
}

fn det(m: &Mat<f64>) -> f64 {
    // tiny matrices: Gaussian elimination with partial pivoting
    let k = m.nrows();
    let mut a = m.clone();
    let mut d = 1.0;
    for c in 0..k {
        let p = (c..k)
            .max_by(|&x, &y| a[(x, c)].abs().total_cmp(&a[(y, c)].abs()))
            .unwrap();
        if a[(p, c)] == 0.0 {
            return 0.0;
        }
        if p != c {
            for j in 0..k {
                let t = a[(p, j)];
                a[(p, j)] = a[(c, j)];
                a[(c, j)] = t;
            }
            d = -d;
        }
        d *= a[(c, c)];
        for r in c + 1..k {
            let f = a[(r, c)] / a[(c, c)];
            for j in c..k {
                a[(r, j)] -= f * a[(c, j)];
            }
        }
    }
    d
}

fn subsets(n: usize, k: usize) -> Vec<Vec<usize>> {
    let mut out = Vec::new();
    for mask in 0u32..(1 << n) {
        if mask.count_ones() as usize == k {
            out.push((0..n).filter(|&i| mask >> i & 1 == 1).collect());
        }
    }
    out
}

/// Pearson chi-square of observed counts against probabilities.
fn chi2(counts: &[f64], probs: &[f64], total: f64) -> f64 {
    counts
        .iter()
        .zip(probs)
        .map(|(c, p)| (c - total * p).powi(2) / (total * p))
        .sum()
}

#[test]
fn projection_dpp_matches_enumeration() {
    let (n, d) = (6, 2);
    let a = mat(n, d, 1);
    let subs = subsets(n, d);
    let w: Vec<f64> = subs
        .iter()
        .map(|s| det(&Mat::from_fn(d, d, |i, j| a[(s[i], j)])).powi(2))
        .collect();
    let z: f64 = w.iter().sum();
    let probs: Vec<f64> = w.iter().map(|x| x / z).collect();
    let trials = 20_000;
    let mut counts = vec![0.0; subs.len()];
    for seed in 0..trials {
        let s = dpp::dpp_sample(a.as_ref(), SampleSize::Rule, DppMethod::Exact, seed, 0).unwrap();
        let k = subs.iter().position(|x| *x == s.indices).unwrap();
        counts[k] += 1.0;
        // weights are 1/π_i with π = the marginal
        let pi: f64 = subs
            .iter()
            .zip(&probs)
            .filter(|(x, _)| x.contains(&s.indices[0]))
            .map(|(_, p)| p)
            .sum();
        assert!((s.weights[0] * pi - 1.0).abs() < 1e-9);
    }
    // 14 degrees of freedom: P(chi2 > 45) ≈ 4e-5
    let c = chi2(&counts, &probs, trials as f64);
    assert!(c < 45.0, "chi2 = {c}");
}

#[test]
fn k_dpp_matches_enumeration() {
    let (n, d, k) = (6, 3, 2);
    let a = mat(n, d, 2);
    let subs = subsets(n, k);
    let w: Vec<f64> = subs
        .iter()
        .map(|s| {
            let g = Mat::from_fn(k, k, |i, j| {
                (0..d).map(|c| a[(s[i], c)] * a[(s[j], c)]).sum::<f64>()
            });
            det(&g)
        })
        .collect();
    let z: f64 = w.iter().sum();
    let probs: Vec<f64> = w.iter().map(|x| x / z).collect();
    // marginals from the core agree with enumeration
    let av: Vec<f64> = (0..n * d).map(|t| a[(t / d, t % d)]).collect();
    let view = sketchkit::MatRef::from_row_major(&av, n, d).unwrap();
    let pi = dpp::dpp_marginals(view, SampleSize::Count(k)).unwrap();
    for (i, &pi_i) in pi.iter().enumerate() {
        let e: f64 = subs
            .iter()
            .zip(&probs)
            .filter(|(s, _)| s.contains(&i))
            .map(|(_, p)| p)
            .sum();
        assert!((pi_i - e).abs() < 1e-9, "{i}: {pi_i} vs {e}");
    }
    let trials = 20_000;
    let mut counts = vec![0.0; subs.len()];
    for seed in 0..trials {
        let s =
            dpp::dpp_sample(a.as_ref(), SampleSize::Count(k), DppMethod::Exact, seed, 3).unwrap();
        counts[subs.iter().position(|x| *x == s.indices).unwrap()] += 1.0;
    }
    let c = chi2(&counts, &probs, trials as f64);
    assert!(c < 45.0, "chi2 = {c}");
}

#[test]
fn volume_sampling_expected_copies_match_enumeration() {
    let (n, d, m) = (5, 2, 3);
    let a = mat(n, d, 3);
    let av: Vec<f64> = (0..n * d).map(|t| a[(t / d, t % d)]).collect();
    let view = sketchkit::MatRef::from_row_major(&av, n, d).unwrap();
    let tau = sampling::ridge_leverage(view, 0.0, LeverageMethod::Exact, 0).unwrap();
    let q: Vec<f64> = tau.iter().map(|t| t / d as f64).collect();
    // brute force over the n^m ordered draws
    let mut expect = vec![0.0; n];
    let mut z = 0.0;
    for code in 0..n.pow(m as u32) {
        let seq: Vec<usize> = (0..m).map(|t| code / n.pow(t as u32) % n).collect();
        let g = Mat::from_fn(d, d, |i, j| {
            seq.iter()
                .map(|&s| a[(s, i)] * a[(s, j)] / q[s])
                .sum::<f64>()
        });
        let p = det(&g) * seq.iter().map(|&s| q[s]).product::<f64>();
        z += p;
        for &s in &seq {
            expect[s] += p;
        }
    }
    for (i, e) in expect.iter_mut().enumerate() {
        *e /= z;
        // the closed form the weights use: m τ_i / r
        assert!((*e - m as f64 * q[i]).abs() < 1e-9, "{i}: {e}");
    }
    let trials = 20_000;
    let mut copies = vec![0.0; n];
    for seed in 0..trials {
        let s = dpp::volume_sample(
            a.as_ref(),
            SampleSize::Count(m),
            VolumeScheme::Volume,
            seed,
            0,
        )
        .unwrap();
        let mut total = 0.0;
        for (&i, &w) in s.indices.iter().zip(&s.weights) {
            let c = (w * m as f64 * q[i]).round();
            copies[i] += c;
            total += c;
        }
        assert_eq!(total, m as f64);
    }
    for i in 0..n {
        let mean = copies[i] / trials as f64;
        // per-draw copies lie in [0, m]: sd of the mean <= m / (2 sqrt(trials))
        assert!(
            (mean - expect[i]).abs() < 6.0 * 1.5 / (trials as f64).sqrt(),
            "{i}"
        );
    }
}

#[test]
fn repeated_dpp_size_and_weights() {
    let a = mat(40, 3, 4);
    let s = dpp::volume_sample(
        a.as_ref(),
        SampleSize::Count(7),
        VolumeScheme::Repeated,
        1,
        0,
    )
    .unwrap();
    // 3 repetitions of a 3-row DPP: weights sum to E-unbiased total around n
    assert!(s.indices.len() <= 9 && s.indices.len() >= 3);
}

#[test]
fn weighted_sums_are_unbiased() {
    let (n, d) = (30, 3);
    let a = mat(n, d, 5);
    let f: Vec<f64> = values(n, 9).iter().map(|v| v + 1.5).collect();
    let truth: f64 = f.iter().sum();
    let trials = 4000u64;
    for which in 0..3 {
        let mut acc = 0.0;
        let mut acc2 = 0.0;
        for seed in 0..trials {
            let s = match which {
                0 => dpp::dpp_sample(a.as_ref(), SampleSize::Rule, DppMethod::Exact, seed, 0),
                1 => sampling::leverage_sample(
                    a.as_ref(),
                    SampleSize::Count(10),
                    0.0,
                    LeverageMethod::Exact,
                    0.1,
                    0.5,
                    0.1,
                    seed,
                    0,
                ),
                _ => sampling::sensitivity_sample(
                    a.as_ref(),
                    SampleSize::Count(10),
                    1.0,
                    SensitivityMethod::Lewis,
                    LeverageMethod::Exact,
                    0.1,
                    0.5,
                    0.1,
                    seed,
                    0,
                ),
            }
            .unwrap();
            let est: f64 = s
                .indices
                .iter()
                .zip(&s.weights)
                .map(|(&i, w)| w * f[i])
                .sum();
            acc += est;
            acc2 += est * est;
        }
        let mean = acc / trials as f64;
        let sd = ((acc2 / trials as f64 - mean * mean) / trials as f64).sqrt();
        assert!(
            (mean - truth).abs() < 5.0 * sd,
            "{which}: {mean} vs {truth} (sd {sd})"
        );
    }
}

#[test]
fn lewis_weights_properties() {
    let (n, d) = (50, 4);
    let a = mat(n, d, 6);
    let av: Vec<f64> = (0..n * d).map(|t| a[(t / d, t % d)]).collect();
    let view = sketchkit::MatRef::from_row_major(&av, n, d).unwrap();
    let tau = sampling::ridge_leverage(view, 0.0, LeverageMethod::Exact, 0).unwrap();
    let w2 = sampling::lewis_weights(view, 2.0, LeverageMethod::Exact, 0).unwrap();
    assert_eq!(tau, w2);
    for p in [0.5, 1.0, 1.5, 3.0] {
        let w = sampling::lewis_weights(view, p, LeverageMethod::Exact, 0).unwrap();
        assert!((w.iter().sum::<f64>() - d as f64).abs() < 1e-6, "{p}");
        // fixed point: w_i = (a_i^T (A^T W^{1-2/p} A)^{-1} a_i)^{p/2}
        let m = Mat::from_fn(d, d, |i, j| {
            (0..n)
                .map(|r| w[r].powf(1.0 - 2.0 / p) * a[(r, i)] * a[(r, j)])
                .sum::<f64>()
        });
        let inv = m.partial_piv_lu().inverse();
        for r in 0..n {
            let q: f64 = (0..d)
                .flat_map(|i| (0..d).map(move |j| (i, j)))
                .map(|(i, j)| a[(r, i)] * inv[(i, j)] * a[(r, j)])
                .sum();
            assert!(
                (q.powf(p / 2.0) - w[r]).abs() < 1e-6 * (1.0 + w[r]),
                "{p} {r}"
            );
        }
    }
    assert!(sampling::lewis_weights(view, 4.0, LeverageMethod::Exact, 0).is_err());
    assert!(sampling::lewis_weights(view, 0.0, LeverageMethod::Exact, 0).is_err());
    assert!(sampling::lewis_weights(view, f64::NAN, LeverageMethod::Exact, 0).is_err());
}

#[test]
fn sample_size_rules() {
    // p < 2: S^{2/p}; p > 2: S^{2-2/p}; hybrid: min with d^{2/p} S^{2-4/p}
    let l = (2.0f64 * 5.0 / 0.1).ln() / 0.25;
    let m1 = sampling::sample_size(1.0, 5.0, 5.0, 0.5, 0.1, false).unwrap();
    assert_eq!(m1, (25.0 * l).ceil() as usize);
    let m3 = sampling::sample_size(3.0, 40.0, 5.0, 0.5, 0.1, false).unwrap();
    assert_eq!(m3, (40f64.powf(4.0 / 3.0) * l).ceil() as usize);
    let h3 = sampling::sample_size(3.0, 40.0, 5.0, 0.5, 0.1, true).unwrap();
    let alt = 5f64.powf(2.0 / 3.0) * 40f64.powf(2.0 / 3.0);
    assert_eq!(h3, (40f64.powf(4.0 / 3.0).min(alt) * l).ceil() as usize);
    assert!(h3 <= m3);
    assert!(sampling::sample_size(1.0, 5.0, 5.0, 1.5, 0.1, false).is_err());
    assert!(sampling::sample_size(-1.0, 5.0, 5.0, 0.5, 0.1, false).is_err());
}

#[test]
fn determinism_across_threads() {
    let a = mat(5000, 8, 7);
    let run = || {
        (
            dpp::dpp_sample(a.as_ref(), SampleSize::Rule, DppMethod::Exact, 11, 0).unwrap(),
            dpp::dpp_sample(a.as_ref(), SampleSize::Rule, DppMethod::Approx, 11, 0).unwrap(),
            rs2::epoch(100_000, SampleSize::Fraction(0.1), 3, 12).unwrap(),
        )
    };
    sketchkit::set_num_threads(1).unwrap();
    let one = run();
    sketchkit::set_num_threads(4).unwrap();
    let four = run();
    assert_eq!(one, four);
}

#[test]
fn bad_inputs() {
    let a = mat(20, 3, 8);
    // k > rank
    assert!(dpp::dpp_sample(a.as_ref(), SampleSize::Count(4), DppMethod::Exact, 0, 0).is_err());
    // volume sampling below the rank
    assert!(
        dpp::volume_sample(a.as_ref(), SampleSize::Count(2), VolumeScheme::Volume, 0, 0).is_err()
    );
    assert!(SampleSize::Fraction(1.5).validate().is_err());
    assert!(SampleSize::Count(0).validate().is_err());
    assert!(rs2::epochs_per_round(0, SampleSize::Rule).is_err());
    // rank-deficient: duplicated column
    let b = Mat::from_fn(20, 3, |i, j| a[(i, j.min(1))]);
    assert!(dpp::dpp_sample(b.as_ref(), SampleSize::Count(3), DppMethod::Exact, 0, 0).is_err());
    let s = dpp::dpp_sample(b.as_ref(), SampleSize::Rule, DppMethod::Exact, 0, 0).unwrap();
    assert_eq!(s.indices.len(), 2);
    let nan = vec![f64::NAN; 6];
    let v = sketchkit::MatRef::from_row_major(&nan, 3, 2).unwrap();
    assert!(sampling::ridge_leverage(v, 0.0, LeverageMethod::Exact, 0).is_err());
}
