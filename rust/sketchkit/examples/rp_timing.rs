//! Timing of the sparse projection `X · Sᵀ` on dense f32 rows (profiling aid):
//! `cargo run --release -p sketchkit --example rp_timing [avx2|avx512] [threads] [family]`
//! with family `very_sparse` (density 1/√d, the default), `sparse_sign` (nnz 8) or
//! `gaussian`; `countsketch` times `S · A` on a float64 `CS_N` × `CS_M` `A` (default
//! 200000 × 100; float32 with `CS_F32`; `CS_K` rows, default 2000) in huge pages, as
//! NumPy allocates it, after an idle pause of `CS_GAP` ms (default none: the pool's
//! workers are then already awake), and `rff` random Fourier features of `RFF_N` × 784 rows
//! (default 6000) into 4096 features.
//! X is `N` × `D` (default 20000 × 4096: 328 MB, far beyond the caches), the sketch
//! `K` rows (default 256).
mod common;
use common::env_usize;

use sketchkit::sketch::{Family, LinearSketch, Sketch};
use sketchkit::view::{MatMut, MatRef};
use sketchkit::Real;
use std::time::Instant;

fn main() {
    let mut args = std::env::args().skip(1);
    let threads = common::level_and_threads(&mut args);
    let (n, d, k) = (
        env_usize("N", 20_000),
        env_usize("D", 4096),
        env_usize("K", 256),
    );
    let fam = args.next();
    if fam.as_deref() == Some("countsketch") {
        countsketch();
        return;
    }
    if fam.as_deref() == Some("rff") {
        rff();
        return;
    }
    let family = match fam.as_deref() {
        Some("sparse_sign") => Family::SparseSign { nnz: 8 },
        Some("gaussian") => Family::Gaussian,
        _ => Family::VerySparse {
            density: 1.0 / (d as f64).sqrt(),
        },
    };
    let pad = env_usize("PAD", 0);
    let ld = d + pad;
    let x: Vec<f32> = (0..n * ld)
        .map(|i| ((i.wrapping_mul(2_654_435_761) >> 7) % 2001) as f32 / 1000.0 - 1.0)
        .collect();
    let mut out = vec![0f32; n * k];
    let xv = MatRef::from_row_major(&x, n, ld).unwrap().sub(0, n, 0, d);
    let mut times = Vec::new();
    for seed in 0..9u64 {
        let s = Sketch::new(family, k, d, seed).unwrap();
        let ov = MatMut::from_row_major(&mut out, n, k).unwrap();
        let t0 = Instant::now();
        s.project(xv, ov).unwrap();
        times.push(t0.elapsed().as_secs_f64() * 1e3);
    }
    let (sum_ms, total) = read_ms(&x);
    let (median, min) = median_min(&mut times);
    println!(
        "level {} threads {threads}: median {median:.1} ms, min {min:.1} ms (one read of X: {sum_ms:.1} ms, {total:.0}); checksum {:.6}",
        sketchkit::simd::level().name(),
        out.iter().map(|&v| v as f64).sum::<f64>()
    );
}

/// `S · A` for a CountSketch `S` (`CS_K` × `CS_N`, default 2000 × 200000) and a C-order
/// `A` (`CS_N` × `CS_M`, default 200000 × 100) of float64, or float32 with `CS_F32`.
fn countsketch() {
    if std::env::var_os("CS_F32").is_some() {
        countsketch_of::<f32>()
    } else {
        countsketch_of::<f64>()
    }
}

fn countsketch_of<T: Real>() {
    let k = env_usize("CS_K", 2000);
    let (n, m) = (env_usize("CS_N", 200_000), env_usize("CS_M", 100));
    let a = common::huge_page_vec(n * m, |i| {
        T::from_f64(((i.wrapping_mul(2_654_435_761) >> 7) % 2001) as f64 / 1000.0 - 1.0)
    });
    let mut out = vec![T::ZERO; k * m];
    let av = MatRef::from_row_major(&a, n, m).unwrap();
    let mut times = Vec::new();
    for seed in 0..15u64 {
        let gap = env_usize("CS_GAP", 0);
        if gap > 0 {
            std::thread::sleep(std::time::Duration::from_millis(gap as u64));
        }
        let s = Sketch::new(Family::CountSketch, k, n, seed).unwrap();
        s.sparse_mat().unwrap();
        let ov = MatMut::from_row_major(&mut out, k, m).unwrap();
        let t0 = Instant::now();
        s.sketch(av, ov).unwrap();
        times.push(t0.elapsed().as_secs_f64() * 1e3);
    }
    let mut reads = Vec::new();
    let mut total = 0.0;
    for _ in 0..5 {
        let (ms, t) = read_ms(&a);
        reads.push(ms);
        total = t;
    }
    let (median, min) = median_min(&mut times);
    let (_, read_min) = median_min(&mut reads);
    println!(
        "countsketch {} {n}×{m} → {k} level {}: median {median:.2} ms, min {min:.2} ms (one read of A: {read_min:.2} ms, {total:.0}); checksum {:.6}",
        std::any::type_name::<T>(),
        sketchkit::simd::level().name(),
        out.iter().map(|v| v.to_f64()).sum::<f64>()
    );
}

/// Random Fourier features of 6000 × 784 f32 rows into 4096 features, into a freshly
/// allocated (lazily zeroed) output every run, as from Python.
fn rff() {
    use sketchkit::features::{FeatureMap, Kernel, RandomFeatures};
    let n = env_usize("RFF_N", 6000);
    let (d, nc) = (784usize, 4096usize);
    let x: Vec<f32> = (0..n * d)
        .map(|i| ((i.wrapping_mul(2_654_435_761) >> 7) % 2001) as f32 / 2000.0)
        .collect();
    let xv = MatRef::from_row_major(&x, n, d).unwrap();
    let f =
        RandomFeatures::new(FeatureMap::Fourier, Kernel::Rbf, d, nc, 0.01, 1.0, 0.0, 0).unwrap();
    let mut times = Vec::new();
    let mut check = 0.0;
    for _ in 0..9 {
        let mut out = vec![0f32; n * nc];
        let t0 = Instant::now();
        f.transform(xv, MatMut::from_row_major(&mut out, n, nc).unwrap())
            .unwrap();
        times.push(t0.elapsed().as_secs_f64() * 1e3);
        check = out.iter().map(|&v| v as f64).sum::<f64>();
    }
    let (median, min) = median_min(&mut times);
    println!(
        "rff level {}: median {median:.1} ms, min {min:.1} ms; checksum {check:.6}",
        sketchkit::simd::level().name()
    );
}

/// Milliseconds of one streaming read (a 16-lane sum) of `x`, and the sum.
fn read_ms<T: Real>(x: &[T]) -> (f64, f64) {
    let t0 = Instant::now();
    let mut lanes = [T::ZERO; 16];
    for c in x.chunks_exact(16) {
        for (l, &v) in lanes.iter_mut().zip(c) {
            *l += v;
        }
    }
    let total = lanes.iter().map(|v| v.to_f64()).sum::<f64>();
    (t0.elapsed().as_secs_f64() * 1e3, total)
}

/// Median and minimum of the timings (sorted in place).
fn median_min(times: &mut [f64]) -> (f64, f64) {
    times.sort_by(f64::total_cmp);
    (times[times.len() / 2], times[0])
}
