//! Single-thread FWHT timings per length (median of 7 samples), for profiling:
//! `cargo run --release -p sketchkit --example fwht_timing`.
use std::time::Instant;

fn main() {
    let cap = std::env::args()
        .nth(1)
        .and_then(|s| sketchkit::simd::Level::parse(&s));
    sketchkit::simd::set_cap(cap);
    println!("level {}", sketchkit::simd::level().name());
    for m in [10u32, 12, 14, 16, 18, 20] {
        let n = 1usize << m;
        let mut x: Vec<f32> = (0..n)
            .map(|i| ((i * 7919) % 1000) as f32 / 1000.0)
            .collect();
        let reps = ((1usize << 24) / n).max(3);
        let mut samples = Vec::new();
        for _ in 0..7 {
            let t = Instant::now();
            for _ in 0..reps {
                sketchkit::fwht::fwht(&mut x).unwrap();
                // keep magnitudes bounded
                x[0] = 1.0;
            }
            samples.push(t.elapsed().as_secs_f64() / reps as f64);
        }
        samples.sort_by(|a, b| a.total_cmp(b));
        println!("2^{m}: {:.2} us", samples[3] * 1e6);
    }
}
