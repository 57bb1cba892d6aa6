//! Timing of the hashed kNN graph stages (profiling aid):
//! `cargo run --release -p sketchkit --example knn_timing [n] [d]`.
use sketchkit::select::hashing::{HashConfig, HashFamily, HierarchicalHasher};
use sketchkit::select::{DenseRows, Metric};
use std::time::Instant;

fn main() {
    let mut args = std::env::args().skip(1);
    let n: usize = args
        .next()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1_000_000);
    let d: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(64);
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let x: Vec<f32> = (0..n * d)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 40) as f32 / (1u64 << 24) as f32 - 0.5
        })
        .collect();
    let rows = DenseRows::new(&x, n, d).unwrap();
    let cfg = HashConfig {
        family: HashFamily::SimHash { center: true },
        n_bits: 24,
        n_levels: 3,
        n_views: 1,
        min_bucket: 20,
        max_bucket: 64,
        seed: 0,
    };
    let t = Instant::now();
    let h = HierarchicalHasher::build(&rows, cfg).unwrap();
    println!("build {:.3} s", t.elapsed().as_secs_f64());
    let t = Instant::now();
    let g = h.knn_graph(&rows, 10, Metric::Euclidean).unwrap();
    println!(
        "knn {:.3} s ({} edges)",
        t.elapsed().as_secs_f64(),
        g.indices.len()
    );
}
