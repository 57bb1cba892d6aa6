//! Timing of `X · Sᵀ` for CSR `X` (profiling aid):
//! `cargo run --release -p sketchkit --example csr_timing [avx2|avx512] [threads]`.
//! X is `N` × `D` (default 100000 × 100000) with `NNZ` stored values a row (default
//! 100, random sorted columns), S very sparse (density 1/√D) with `K` rows (256).
//! Prints the dense-output and the sparse-output times (median of 9).
mod common;

use sketchkit::sketch::{Family, Sketch};
use sketchkit::view::{CsrRef, MatMut};
use std::time::Instant;

fn main() {
    let mut args = std::env::args().skip(1);
    let threads = common::level_and_threads(&mut args);
    let env = common::env_usize;
    let (n, d, per, k) = (
        env("N", 100_000),
        env("D", 100_000),
        env("NNZ", 100),
        env("K", 256),
    );
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut indices = Vec::with_capacity(n * per);
    for _ in 0..n {
        let mut row: Vec<i32> = (0..per).map(|_| (next() % d as u64) as i32).collect();
        row.sort_unstable();
        indices.extend(row);
    }
    let data: Vec<f32> = (0..n * per)
        .map(|_| (next() % 2001) as f32 / 1000.0 - 1.0)
        .collect();
    let indptr: Vec<i32> = (0..=n).map(|r| (r * per) as i32).collect();
    let x = CsrRef::new(n, d, &indptr, &indices, &data).unwrap();
    let s = Sketch::new(
        Family::VerySparse {
            density: 1.0 / (d as f64).sqrt(),
        },
        k,
        d,
        1,
    )
    .unwrap();
    let mut out = vec![0f32; n * k];
    let (mut dense, mut sparse) = (Vec::new(), Vec::new());
    let mut nnz = 0;
    for _ in 0..9 {
        let t0 = Instant::now();
        s.project_csr(&x, MatMut::from_row_major(&mut out, n, k).unwrap())
            .unwrap();
        dense.push(t0.elapsed().as_secs_f64() * 1e3);
        let t0 = Instant::now();
        let r = s.project_csr_sparse(&x).unwrap();
        sparse.push(t0.elapsed().as_secs_f64() * 1e3);
        nnz = r.1.len();
    }
    dense.sort_by(f64::total_cmp);
    sparse.sort_by(f64::total_cmp);
    println!(
        "level {} threads {threads}: dense output {:.1} ms, sparse output {:.1} ms ({nnz} nonzeros)",
        sketchkit::simd::level().name(),
        dense[4],
        sparse[4]
    );
}
