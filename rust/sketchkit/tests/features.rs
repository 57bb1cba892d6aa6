//! Random feature maps and sliced distances against explicit references.

use sketchkit::features::{cos_fast, FeatureMap, Kernel, RandomFeatures};
use sketchkit::rng::{gaussians4, Stream};
use sketchkit::sliced::{self, ControlVariates, SlicedCost};
use sketchkit::{MatMut, MatRef, SketchError};

fn data(n: usize, d: usize, seed: u64, scale: f64) -> Vec<f64> {
    let mut out = Vec::with_capacity(n * d);
    let mut b = 0u32;
    while out.len() < n * d {
        for g in gaussians4(Stream::block_words(seed, 999, 0, b)) {
            out.push(g * scale);
        }
        b += 1;
    }
    out.truncate(n * d);
    out
}

fn features(f: &RandomFeatures, x: &[f64], n: usize) -> Vec<f64> {
    let mut z = vec![0.0; n * f.n_components()];
    f.transform(
        MatRef::from_row_major(x, n, f.d()).unwrap(),
        MatMut::from_row_major(&mut z, n, f.n_components()).unwrap(),
    )
    .unwrap();
    z
}

#[test]
fn fourier_gram_approximates_each_kernel() {
    let (n, d, nc, gamma) = (12, 4, 20_000, 0.6);
    let x = data(n, d, 1, 0.5);
    for kernel in [Kernel::Rbf, Kernel::Laplacian, Kernel::Cauchy] {
        let f =
            RandomFeatures::new(FeatureMap::Fourier, kernel, d, nc, gamma, 1.0, 0.0, 7).unwrap();
        let z = features(&f, &x, n);
        for i in 0..n {
            for j in 0..n {
                let g: f64 = (0..nc).map(|c| z[i * nc + c] * z[j * nc + c]).sum();
                let k = kernel.value(gamma, &x[i * d..(i + 1) * d], &x[j * d..(j + 1) * d]);
                // mean of nc terms bounded by 2 (sd <= 1): 6 sd
                assert!(
                    (g - k).abs() < 6.0 / (nc as f64).sqrt(),
                    "{kernel:?} {i} {j} {g} {k}"
                );
            }
        }
    }
}

#[test]
fn transform_equals_reference_from_weights() {
    let (n, d, nc) = (9, 11, 37);
    let x = data(n, d, 2, 1.0);
    for map in [
        FeatureMap::Fourier,
        FeatureMap::Orthogonal,
        FeatureMap::Structured,
        FeatureMap::Relu,
    ] {
        let f = RandomFeatures::new(map, Kernel::Rbf, d, nc, 0.3, 1.0, 0.0, 5).unwrap();
        let w = f.weights().unwrap();
        let b = f.offsets();
        let z = features(&f, &x, n);
        let amp = (2.0 / nc as f64).sqrt();
        for i in 0..n {
            for j in 0..nc {
                let p: f64 = (0..d).map(|c| w[j * d + c] * x[i * d + c]).sum();
                let want = if map == FeatureMap::Relu {
                    amp * p.max(0.0)
                } else {
                    amp * (p + b[j]).cos()
                };
                assert!((z[i * nc + j] - want).abs() < 1e-12, "{map:?} {i} {j}");
            }
        }
    }
}

#[test]
fn orthogonal_blocks_have_orthogonal_rows() {
    let d = 16;
    for map in [FeatureMap::Orthogonal, FeatureMap::Structured] {
        let f = RandomFeatures::new(map, Kernel::Rbf, d, 2 * d, 0.5, 1.0, 0.0, 3).unwrap();
        let w = f.weights().unwrap();
        for blk in 0..2 {
            for i in 0..d {
                for j in 0..d {
                    let r = |k: usize| &w[(blk * d + k) * d..(blk * d + k + 1) * d];
                    let dot: f64 = r(i).iter().zip(r(j)).map(|(a, b)| a * b).sum();
                    if i != j {
                        assert!(dot.abs() < 1e-9, "{map:?} block {blk} rows {i},{j}: {dot}");
                    } else if map == FeatureMap::Structured {
                        assert!((dot - 2.0 * 0.5 * d as f64).abs() < 1e-9);
                    }
                }
            }
        }
    }
}

#[test]
fn fast_cosine_is_accurate() {
    let mut worst64 = 0.0f64;
    let mut worst32 = 0.0f64;
    for i in -200_000..200_000 {
        let x = i as f64 * 0.001_37;
        worst64 = worst64.max((cos_fast(x) - x.cos()).abs());
        let xf = x as f32;
        worst32 = worst32.max((f64::from(cos_fast(xf)) - f64::from(xf).cos()).abs());
    }
    assert!(worst64 < 1e-13, "{worst64}");
    assert!(worst32 < 2e-6, "{worst32}");
    assert!(cos_fast(f64::NAN).is_nan());
    assert!(cos_fast(1e30f32).abs() <= 1.0);
}

#[test]
fn results_do_not_depend_on_threads() {
    let (n, d) = (500, 24);
    let x = data(n, d, 4, 1.0);
    let y = data(300, d, 5, 1.2);
    let run = || {
        let mut out = Vec::new();
        for map in [
            FeatureMap::Fourier,
            FeatureMap::Structured,
            FeatureMap::Relu,
        ] {
            let f = RandomFeatures::new(map, Kernel::Rbf, d, 100, 0.2, 1.0, 0.0, 1).unwrap();
            out.extend(features(&f, &x, n));
        }
        let s = sliced::sliced(
            MatRef::from_row_major(&x, n, d).unwrap(),
            MatRef::from_row_major(&y, 300, d).unwrap(),
            None,
            None,
            130,
            SlicedCost::Wasserstein { p: 2.0 },
            ControlVariates::Both,
            9,
        )
        .unwrap();
        out.extend(s.per_projection);
        out.push(s.value);
        out.push(s.std_error);
        out
    };
    sketchkit::set_num_threads(1).unwrap();
    let one = run();
    sketchkit::set_num_threads(3).unwrap();
    let many = run();
    assert_eq!(
        one.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
        many.iter().map(|v| v.to_bits()).collect::<Vec<_>>()
    );
}

fn w_sorted(mut u: Vec<f64>, mut v: Vec<f64>, p: f64) -> f64 {
    u.sort_by(f64::total_cmp);
    v.sort_by(f64::total_cmp);
    u.iter()
        .zip(&v)
        .map(|(a, b)| (a - b).abs().powf(p))
        .sum::<f64>()
        / u.len() as f64
}

#[test]
fn per_projection_costs_equal_sorting() {
    let (n, d, l) = (64, 5, 12);
    let x = data(n, d, 6, 1.0);
    let y = data(n, d, 7, 2.0);
    let theta = sliced::projections(d, l, 3).unwrap();
    for p in [1.0, 2.0, 2.5] {
        let s = sliced::sliced(
            MatRef::from_row_major(&x, n, d).unwrap(),
            MatRef::from_row_major(&y, n, d).unwrap(),
            None,
            None,
            l,
            SlicedCost::Wasserstein { p },
            ControlVariates::None,
            3,
        )
        .unwrap();
        for k in 0..l {
            let t = &theta[k * d..(k + 1) * d];
            let proj = |m: &[f64]| -> Vec<f64> {
                (0..n)
                    .map(|i| (0..d).map(|c| m[i * d + c] * t[c]).sum())
                    .collect()
            };
            let want = w_sorted(proj(&x), proj(&y), p);
            assert!(
                (s.per_projection[k] - want).abs() < 1e-10 * want.max(1.0),
                "{p} {k}"
            );
        }
        assert_eq!(s.value, s.mc_value);
    }
}

#[test]
fn weighted_one_dimension_by_cdf_integral() {
    // W1 = ∫ |F − G|: compare with the merge on weighted 1-D samples.
    let u = [0.3, -1.0, 2.0, 0.7];
    let a = [1.0, 2.0, 0.5, 0.5];
    let v = [0.0, 1.5, -0.2];
    let b = [0.2, 0.3, 0.5];
    let s = sliced::sliced(
        MatRef::from_row_major(&u, 4, 1).unwrap(),
        MatRef::from_row_major(&v, 3, 1).unwrap(),
        Some(&a),
        Some(&b),
        4,
        SlicedCost::Wasserstein { p: 1.0 },
        ControlVariates::None,
        0,
    )
    .unwrap();
    let (sa, sb): (f64, f64) = (a.iter().sum(), b.iter().sum());
    let mut pts: Vec<f64> = u.iter().chain(&v).copied().collect();
    pts.sort_by(f64::total_cmp);
    let cdf = |xs: &[f64], ws: &[f64], s: f64, t: f64| -> f64 {
        xs.iter()
            .zip(ws)
            .filter(|(x, _)| **x <= t)
            .map(|(_, w)| w / s)
            .sum()
    };
    let want: f64 = pts
        .windows(2)
        .map(|w| (w[1] - w[0]) * (cdf(&u, &a, sa, w[0]) - cdf(&v, &b, sb, w[0])).abs())
        .sum();
    for z in s.per_projection {
        assert!((z - want).abs() < 1e-12, "{z} {want}");
    }
}

#[test]
fn bad_input_names_the_argument() {
    let arg = |e: SketchError| e.arg_name();
    let new = |map, kernel, d, nc, g, s, m| RandomFeatures::new(map, kernel, d, nc, g, s, m, 0);
    let (f, r) = (FeatureMap::Fourier, Kernel::Rbf);
    assert_eq!(arg(new(f, r, 0, 4, 1.0, 1.0, 0.0).unwrap_err()), Some("d"));
    assert_eq!(
        arg(new(f, r, 3, 0, 1.0, 1.0, 0.0).unwrap_err()),
        Some("n_components")
    );
    assert_eq!(
        arg(new(f, r, 3, 4, 0.0, 1.0, 0.0).unwrap_err()),
        Some("gamma")
    );
    assert_eq!(
        arg(new(f, r, 3, 4, f64::NAN, 1.0, 0.0).unwrap_err()),
        Some("gamma")
    );
    assert_eq!(
        arg(new(f, r, 3, 4, 1.0, -1.0, 0.0).unwrap_err()),
        Some("weights")
    );
    assert_eq!(
        arg(new(f, r, 3, 4, 1.0, 1.0, f64::INFINITY).unwrap_err()),
        Some("weights")
    );
    let s = FeatureMap::Structured;
    assert_eq!(
        arg(new(s, Kernel::Cauchy, 3, 4, 1.0, 1.0, 0.0).unwrap_err()),
        Some("kernel")
    );
    assert_eq!(
        arg(new(f, r, usize::MAX / 2, 4, 1.0, 1.0, 0.0).unwrap_err()),
        Some("n_components")
    );
    assert_eq!(arg(FeatureMap::from_name("x").unwrap_err()), Some("map"));
    assert_eq!(arg(Kernel::from_name("x").unwrap_err()), Some("kernel"));

    let x = [0.0f64, 1.0, 2.0, 3.0];
    let xv = MatRef::from_row_major(&x, 2, 2).unwrap();
    let run = |p: f64, l: usize, cv, a: Option<&[f64]>| {
        sliced::sliced(xv, xv, a, None, l, SlicedCost::Wasserstein { p }, cv, 0)
    };
    let cv = ControlVariates::Both;
    assert_eq!(arg(run(0.5, 10, cv, None).unwrap_err()), Some("p"));
    assert_eq!(
        arg(run(2.0, 0, ControlVariates::None, None).unwrap_err()),
        Some("n_projections")
    );
    assert_eq!(
        arg(run(2.0, 3, cv, None).unwrap_err()),
        Some("n_projections")
    );
    assert_eq!(
        arg(run(2.0, 10, cv, Some(&[1.0])).unwrap_err()),
        Some("weights")
    );
    assert_eq!(
        arg(run(2.0, 10, cv, Some(&[-1.0, 1.0])).unwrap_err()),
        Some("weights")
    );
    assert_eq!(
        arg(run(2.0, 10, cv, Some(&[0.0, 0.0])).unwrap_err()),
        Some("weights")
    );
    assert_eq!(
        arg(ControlVariates::from_name("x").unwrap_err()),
        Some("control_variates")
    );
    let bad = [0.0f64, f64::NAN];
    let bv = MatRef::from_row_major(&bad, 1, 2).unwrap();
    let e = sliced::sliced(xv, bv, None, None, 10, SlicedCost::Energy, cv, 0).unwrap_err();
    assert_eq!(e, SketchError::NonFinite { arg: "Y" });
}
