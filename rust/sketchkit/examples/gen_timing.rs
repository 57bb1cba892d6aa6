//! Timing of building a very sparse operator's column lists (profiling aid):
//! `cargo run --release -p sketchkit --example gen_timing [avx2|avx512|scalar] [threads]`.
//! `K` × `D` (default 256 × 100000), density 1/√D; prints the median of 21 builds.
mod common;

use sketchkit::sketch::{Family, Sketch};
use sketchkit::view::{CsrRef, MatMut};
use std::time::Instant;

fn main() {
    let mut args = std::env::args().skip(1);
    let threads = common::level_and_threads(&mut args);
    let env = common::env_usize;
    let (k, d) = (env("K", 256), env("D", 100_000));
    // One CSR row with one stored value: projecting it builds the lists the CSR
    // kernel uses (column lists, packed slots).
    let (indptr, indices, data) = ([0i32, 1], [0i32], [1f32]);
    let x = CsrRef::new(1, d, &indptr, &indices, &data).unwrap();
    let mut y = vec![0f32; k];
    let mut times = Vec::new();
    let mut check = 0f64;
    for seed in 0..21 {
        let t0 = Instant::now();
        let s = Sketch::new(
            Family::VerySparse {
                density: 1.0 / (d as f64).sqrt(),
            },
            k,
            d,
            seed,
        )
        .unwrap();
        s.project_csr(&x, MatMut::from_row_major(&mut y, 1, k).unwrap())
            .unwrap();
        times.push(t0.elapsed().as_secs_f64() * 1e3);
        check += y.iter().map(|&v| f64::from(v)).sum::<f64>();
    }
    times.sort_by(f64::total_cmp);
    println!(
        "level {} threads {threads}: {:.2} ms a build (checksum {check})",
        sketchkit::simd::level().name(),
        times[10]
    );
}
