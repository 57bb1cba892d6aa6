//! Cost of the sparse projection `X · Sᵀ` with X already near the core (profiling
//! aid): `cargo run --release -p sketchkit --example rp_hot [avx2]` projects an `N` ×
//! 4096 block (default 128 rows; `F64` for float64) into 256 rows by a very sparse S of
//! density `1/DENS` (default 1/64) on one thread, over and over, and reports the time
//! per 20000 rows. With `DENS=4096` (one entry a row) it is the kernel's floor: the
//! transposition, the finite check and the writes.
use sketchkit::sketch::{Family, LinearSketch, Sketch};
use sketchkit::view::{MatMut, MatRef};
use sketchkit::Real;
use std::time::Instant;
fn run<T: Real>() {
    let n: usize = std::env::var("N")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(128);
    let (d, k) = (4096, 256);
    let x: Vec<T> = (0..n * d)
        .map(|i| T::from_f64(((i.wrapping_mul(2_654_435_761) >> 7) % 2001) as f64 / 1000.0 - 1.0))
        .collect();
    let mut out = vec![T::ZERO; n * k];
    let dens: f64 = std::env::var("DENS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(64.0);
    let s = Sketch::new(
        Family::VerySparse {
            density: 1.0 / dens,
        },
        k,
        d,
        0,
    )
    .unwrap();
    let xv = MatRef::from_row_major(&x, n, d).unwrap();
    let reps = 20000 * 4 / n;
    for _ in 0..3 {
        s.project(xv, MatMut::from_row_major(&mut out, n, k).unwrap())
            .unwrap();
    }
    let t0 = Instant::now();
    for _ in 0..reps {
        s.project(xv, MatMut::from_row_major(&mut out, n, k).unwrap())
            .unwrap();
    }
    let per = t0.elapsed().as_secs_f64() * 1e3 / reps as f64 * (20000.0 / n as f64);
    let sum: f64 = out.iter().map(|v| v.to_f64()).sum();
    println!(
        "n {n} {}: {per:.1} ms per 20000 rows (1 thread, hot) checksum {sum:.6}",
        std::any::type_name::<T>()
    );
}
fn main() {
    let lvl = std::env::args().nth(1);
    if lvl.as_deref() == Some("avx2") {
        sketchkit::simd::set_cap(Some(sketchkit::simd::Level::Avx2));
    }
    sketchkit::parallel::set_num_threads(1).unwrap();
    if std::env::var_os("F64").is_some() {
        run::<f64>()
    } else {
        run::<f32>()
    }
}
