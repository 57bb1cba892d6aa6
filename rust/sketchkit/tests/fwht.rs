//! FWHT against the explicit Sylvester matrix at every SIMD level and length,
//! blocked lengths, batches along both axes, SRHT and rotation properties.
#![allow(clippy::needless_range_loop)]

use sketchkit::fwht::{fwht, fwht_cols, fwht_normalized, fwht_rows};
use sketchkit::rotation::HadamardRotation;
use sketchkit::simd::{set_cap, Level};
use sketchkit::{Family, LinearSketch, MatMut, MatRef, Real, Sketch};
use std::sync::Mutex;

static GLOBAL: Mutex<()> = Mutex::new(());

fn data<T: Real>(n: usize, seed: u64) -> Vec<T> {
    let mut s = sketchkit::rng::Stream::new(seed, 91, 0);
    (0..n)
        .map(|_| T::from_f64(sketchkit::rng::open01(s.next_u64()) * 2.0 - 1.0))
        .collect()
}

/// Entry (i, j) of the Sylvester Hadamard matrix.
fn h(i: usize, j: usize) -> f64 {
    if (i & j).count_ones().is_multiple_of(2) {
        1.0
    } else {
        -1.0
    }
}

#[test]
fn matches_explicit_hadamard_at_every_level() {
    let _g = GLOBAL.lock().unwrap_or_else(|e| e.into_inner());
    for lvl in [Level::Scalar, Level::Avx2, Level::Avx512] {
        set_cap(Some(lvl));
        for m in 0..=12 {
            let n = 1usize << m;
            let x: Vec<f64> = data(n, m as u64);
            let mut y = x.clone();
            fwht(&mut y).unwrap();
            for i in 0..n {
                let want: f64 = (0..n).map(|j| h(i, j) * x[j]).sum();
                assert!(
                    (y[i] - want).abs() < 1e-9 * (1.0 + want.abs()),
                    "n={n} level={lvl:?}"
                );
            }
            let x32: Vec<f32> = data(n, m as u64);
            let mut y32 = x32.clone();
            fwht(&mut y32).unwrap();
            for i in 0..n {
                let want: f64 = (0..n).map(|j| h(i, j) * f64::from(x32[j])).sum();
                assert!((f64::from(y32[i]) - want).abs() < 1e-4 * (1.0 + want.abs()));
            }
        }
    }
    set_cap(None);
}

#[test]
fn bits_agree_across_levels_lengths_and_paths() {
    let _g = GLOBAL.lock().unwrap_or_else(|e| e.into_inner());
    // Lengths on both sides of the in-L1 block (2^11) use the blocked path; 2^6, 2^7,
    // 2^9 and 2^10 take the AVX2 kernels' wide base pass (f64 at 2^6 and 2^9, f32 at
    // 2^7 and 2^10); AVX2 f32 transforms 2^13 in one piece and splits 2^16 and 2^19
    // into such pieces (its recursion's longer leaf).
    for m in [4usize, 6, 7, 9, 10, 11, 12, 13, 14, 16, 19] {
        let n = 1 << m;
        let x: Vec<f32> = data(n, 7);
        let x64: Vec<f64> = data(n, 9);
        set_cap(Some(Level::Scalar));
        let mut want = x.clone();
        fwht(&mut want).unwrap();
        let mut want64 = x64.clone();
        fwht(&mut want64).unwrap();
        for lvl in [Level::Avx2, Level::Avx512] {
            set_cap(Some(lvl));
            let mut y = x.clone();
            fwht(&mut y).unwrap();
            assert!(y == want, "n={n} level={lvl:?}");
            let mut y64 = x64.clone();
            fwht(&mut y64).unwrap();
            assert!(y64 == want64, "f64 n={n} level={lvl:?}");
        }
        set_cap(None);
        // involution: H(Hx) = n x (exact in f64 for these magnitudes? use tolerance)
        let x64: Vec<f64> = data(n, 8);
        let mut z = x64.clone();
        fwht(&mut z).unwrap();
        fwht(&mut z).unwrap();
        for (a, b) in z.iter().zip(&x64) {
            assert!((a / n as f64 - b).abs() < 1e-12);
        }
        // Parseval for the orthonormal form
        let mut p = x64.clone();
        fwht_normalized(&mut p).unwrap();
        let (e0, e1): (f64, f64) = (
            x64.iter().map(|v| v * v).sum(),
            p.iter().map(|v| v * v).sum(),
        );
        assert!((e0 - e1).abs() < 1e-9 * e0);
    }
    set_cap(None);
}

#[test]
fn batches_along_rows_and_columns_equal_one_by_one() {
    let _g = GLOBAL.lock().unwrap_or_else(|e| e.into_inner());
    for (rows, n) in [(37usize, 64usize), (5, 4096), (130, 16)] {
        let x: Vec<f64> = data(rows * n, 3);
        let mut one = x.clone();
        for r in 0..rows {
            fwht(&mut one[r * n..(r + 1) * n]).unwrap();
        }
        for threads in [1, 2, 3] {
            sketchkit::set_num_threads(threads).unwrap();
            // rows of a C-order matrix
            let mut c = x.clone();
            fwht_rows(MatMut::from_row_major(&mut c, rows, n).unwrap(), false).unwrap();
            assert!(c == one, "rows, threads {threads}");
            // the same data as the columns of an F-order... i.e. axis 0 of the transpose
            let mut t = vec![0.0; rows * n];
            for r in 0..rows {
                for j in 0..n {
                    t[j * rows + r] = x[r * n + j];
                }
            }
            fwht_cols(MatMut::from_row_major(&mut t, n, rows).unwrap(), false).unwrap();
            for r in 0..rows {
                for j in 0..n {
                    assert!(t[j * rows + r] == one[r * n + j], "cols, threads {threads}");
                }
            }
        }
    }
    sketchkit::set_num_threads(std::thread::available_parallelism().map_or(2, |v| v.get()))
        .unwrap();
    assert!(fwht(&mut [0.0f64; 3]).is_err());
    assert!(fwht::<f64>(&mut []).is_err());
}

#[test]
fn srht_is_exact_and_scaled() {
    let _g = GLOBAL.lock().unwrap_or_else(|e| e.into_inner());
    // d a power of two: S Sᵀ = (d/k) I exactly up to rounding; entries ±1/√k.
    let (k, d) = (16, 64);
    let s = Sketch::new(Family::Srht, k, d, 5).unwrap();
    let sd: Vec<f64> = s.to_dense().unwrap();
    for v in &sd {
        assert!((v.abs() - 1.0 / (k as f64).sqrt()).abs() < 1e-15);
    }
    for i in 0..k {
        for j in 0..k {
            let dot: f64 = (0..d).map(|c| sd[i * d + c] * sd[j * d + c]).sum();
            let want = if i == j { d as f64 / k as f64 } else { 0.0 };
            assert!((dot - want).abs() < 1e-12, "{i},{j}: {dot}");
        }
    }
    // k beyond d's padding: d' = next power of two >= max(d, k).
    assert_eq!(
        Sketch::new(Family::Srht, 65, 64, 0).unwrap().padded_dim(),
        128
    );
    assert_eq!(
        Sketch::new(Family::Srht, 128, 100, 0).unwrap().padded_dim(),
        128
    );
    assert!(Sketch::new(Family::Srht, (1 << 30) + 1, 64, 0).is_err());
}

#[test]
fn rotation_is_orthogonal_and_inverts() {
    let _g = GLOBAL.lock().unwrap_or_else(|e| e.into_inner());
    for (d, rounds) in [(6usize, 3usize), (64, 1), (100, 2)] {
        let q = HadamardRotation::new(d, rounds, 9).unwrap();
        let n = q.dim();
        let m: Vec<f64> = q.to_dense().unwrap();
        for i in 0..n {
            for j in 0..n {
                let dot: f64 = (0..n).map(|c| m[i * n + c] * m[j * n + c]).sum();
                assert!((dot - if i == j { 1.0 } else { 0.0 }).abs() < 1e-12);
            }
        }
        let x: Vec<f64> = data(3 * d, 1);
        let mut y = vec![0.0; 3 * n];
        q.apply(
            MatRef::from_row_major(&x, 3, d).unwrap(),
            MatMut::from_row_major(&mut y, 3, n).unwrap(),
        )
        .unwrap();
        let mut back = vec![0.0; 3 * n];
        q.inverse(
            MatRef::from_row_major(&y, 3, n).unwrap(),
            MatMut::from_row_major(&mut back, 3, n).unwrap(),
        )
        .unwrap();
        for r in 0..3 {
            for j in 0..n {
                let want = if j < d { x[r * d + j] } else { 0.0 };
                assert!((back[r * n + j] - want).abs() < 1e-12);
            }
        }
    }
    assert!(HadamardRotation::new(0, 3, 0).is_err());
    assert!(HadamardRotation::new(8, 0, 0).is_err());
}

#[test]
fn srht_project_layouts_and_threads_agree_bitwise() {
    let _g = GLOBAL.lock().unwrap_or_else(|e| e.into_inner());
    let (k, d, n) = (24, 200, 150);
    let s = Sketch::new(Family::Srht, k, d, 2).unwrap();
    let x: Vec<f32> = data(n * d, 4);
    let mut c = vec![0f32; n * k];
    s.project(
        MatRef::from_row_major(&x, n, d).unwrap(),
        MatMut::from_row_major(&mut c, n, k).unwrap(),
    )
    .unwrap();
    let mut xf = vec![0f32; n * d];
    for r in 0..n {
        for j in 0..d {
            xf[j * n + r] = x[r * d + j];
        }
    }
    for threads in [1, 2, 4] {
        sketchkit::set_num_threads(threads).unwrap();
        let mut f = vec![0f32; n * k];
        s.project(
            MatRef::from_col_major(&xf, n, d).unwrap(),
            MatMut::from_col_major(&mut f, n, k).unwrap(),
        )
        .unwrap();
        for r in 0..n {
            for i in 0..k {
                assert!(f[i * n + r] == c[r * k + i]);
            }
        }
    }
    sketchkit::set_num_threads(std::thread::available_parallelism().map_or(2, |v| v.get()))
        .unwrap();
}

/// Stream stability for the SRHT (rows P, signs D) and the rotation signs: values
/// produced by this release, never to change silently.
#[test]
fn golden_srht_and_rotation() {
    let s: Vec<f64> = Sketch::new(Family::Srht, 3, 6, 0)
        .unwrap()
        .to_dense()
        .unwrap();
    let signs: Vec<i8> = s.iter().map(|v| if *v > 0.0 { 1 } else { -1 }).collect();
    assert!(s
        .iter()
        .all(|v| (v.abs() - 1.0 / 3f64.sqrt()).abs() < 1e-15));
    assert_eq!(
        signs,
        [-1, 1, -1, -1, -1, 1, -1, -1, -1, 1, -1, -1, -1, 1, 1, 1, -1, 1]
    );
    let q: Vec<f64> = HadamardRotation::new(4, 2, 0).unwrap().to_dense().unwrap();
    assert_eq!(
        q,
        [0.0, 0.0, 0.0, -1.0, 0.0, 0.0, 1.0, 0.0, 0.0, -1.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0]
    );
}

#[test]
fn in_place_transforms_refuse_non_finite_input_before_writing() {
    use sketchkit::{MatMut, SketchError};
    for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
        let mut v: Vec<f64> = (0..64).map(|i| i as f64).collect();
        v[37] = bad;
        let before = v.clone();
        assert_eq!(fwht(&mut v), Err(SketchError::NonFinite { arg: "x" }));
        assert_eq!(
            fwht_normalized(&mut v),
            Err(SketchError::NonFinite { arg: "x" })
        );
        let m = MatMut::from_row_major(&mut v, 4, 16).unwrap();
        assert_eq!(
            fwht_rows(m, false),
            Err(SketchError::NonFinite { arg: "x" })
        );
        let m = MatMut::from_row_major(&mut v, 16, 4).unwrap();
        assert_eq!(fwht_cols(m, true), Err(SketchError::NonFinite { arg: "x" }));
        // nothing was written: the same bits (NaN compared by bits)
        let bits = |s: &[f64]| s.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&v), bits(&before));
    }
}

#[test]
fn writable_strides_rule() {
    use sketchkit::view::check_writable_strides;
    // C and F order, transposes, negative strides, single rows/columns: fine
    for (r, c, rs, cs) in [
        (3, 4, 4, 1),
        (3, 4, 1, 3),
        (3, 4, -4, 1),
        (1, 5, 0, 1),
        (5, 1, 1, 0),
    ] {
        assert!(
            check_writable_strides(r, c, rs, cs, "x").is_ok(),
            "{r} {c} {rs} {cs}"
        );
    }
    // broadcast and overlapping runs are refused, naming the argument
    for (r, c, rs, cs) in [(3, 4, 0, 1), (3, 4, 4, 0), (3, 4, 2, 1), (4, 3, 1, 3 - 1)] {
        let e = check_writable_strides(r, c, rs, cs, "x").unwrap_err();
        assert_eq!(e.arg_name(), Some("x"), "{r} {c} {rs} {cs}");
    }
}

/// The checked 1-D transform, whose finite check is fused into the kernel's passes
/// for some lengths (`fwht::FUSED_CHECK_MAX`): the same bits as the unchecked
/// transform for finite input (overflow to infinity included), and NaN or infinity
/// anywhere refused with the input left as it was, at every SIMD level, on lengths
/// inside and outside the fused ranges.
#[test]
fn checked_transform_reads_once_and_refuses_without_writing() {
    use sketchkit::fwht::transform_vec;
    use sketchkit::SketchError;
    let _g = GLOBAL.lock().unwrap_or_else(|e| e.into_inner());
    fn case<T: Real>(n: usize, seed: u64) {
        let bits = |s: &[T]| s.iter().map(|x| x.to_f64().to_bits()).collect::<Vec<_>>();
        let x: Vec<T> = data(n, seed);
        let mut want = x.clone();
        transform_vec(&mut want, false, false).unwrap();
        let mut y = x.clone();
        transform_vec(&mut y, false, true).unwrap();
        assert!(bits(&y) == bits(&want), "{} n={n}", T::NAME);
        // Finite input whose transform overflows: not an error.
        let big = vec![T::from_f64(if T::NAME == "float32" { 3e38 } else { 1.7e308 }); n];
        let (mut a, mut b) = (big.clone(), big.clone());
        transform_vec(&mut a, false, false).unwrap();
        transform_vec(&mut b, false, true).unwrap();
        assert!(a[0].to_f64().is_infinite() || n == 1);
        assert!(bits(&a) == bits(&b), "{} n={n} overflow", T::NAME);
        // One bad value: first, in every eighth, last.
        for pos in (0..8)
            .map(|k| k * n / 8 + (k * 13) % (n / 8).max(1))
            .chain([n - 1])
        {
            for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
                let mut v = x.clone();
                v[pos] = T::from_f64(bad);
                let before = bits(&v);
                assert_eq!(
                    transform_vec(&mut v, false, true),
                    Err(SketchError::NonFinite { arg: "x" }),
                    "{} n={n} pos={pos}",
                    T::NAME
                );
                assert!(
                    bits(&v) == before,
                    "{} n={n} pos={pos}: input changed",
                    T::NAME
                );
            }
        }
    }
    for lvl in [Level::Scalar, Level::Avx2, Level::Avx512] {
        set_cap(Some(lvl));
        // the fused ranges (2–8 KiB on the stack, 32–512 KiB through the thread's
        // scratch) and lengths on both sides of them
        for m in [4usize, 8, 9, 10, 11, 12, 13, 14, 16, 17, 18] {
            case::<f32>(1 << m, 3 + m as u64);
        }
        for m in [4usize, 7, 8, 9, 10, 11, 12, 13, 15, 16, 17] {
            case::<f64>(1 << m, 5 + m as u64);
        }
    }
    set_cap(None);
}
