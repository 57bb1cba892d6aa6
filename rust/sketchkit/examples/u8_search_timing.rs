//! Timing of `search_u8` (profiling aid):
//! `cargo run --release -p sketchkit --example u8_search_timing [n] [queries] [d]`.
use sketchkit::quantize::{max_query_magnitude, search_u8};
use std::time::Instant;

fn main() {
    let mut args = std::env::args().skip(1);
    let mut arg = |v: usize| args.next().and_then(|s| s.parse().ok()).unwrap_or(v);
    let (n, m, d) = (arg(100_000), arg(1000), arg(384));
    sketchkit::parallel::set_num_threads(1).unwrap();
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let codes: Vec<u8> = (0..n * d).map(|_| next() as u8).collect();
    let lim = max_query_magnitude(d) as u64;
    let queries: Vec<i16> = (0..m * d)
        .map(|_| ((next() % (2 * lim + 1)) as i64 - lim as i64) as i16)
        .collect();
    for _ in 0..5 {
        let t = Instant::now();
        let (idx, score) = search_u8(&codes, n, &queries, m, d, 10).unwrap();
        let s = t.elapsed().as_secs_f64();
        println!(
            "{:.0} q/s (checksum {} {})",
            m as f64 / s,
            idx.iter().sum::<i64>(),
            score.iter().map(|&v| v as i64).sum::<i64>()
        );
    }
}
