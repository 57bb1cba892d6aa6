//! How long a rayon worker takes to start after the pool has been idle (profiling
//! aid): `cargo run --release -p sketchkit --example pool_wake`.
//!
//! After sleeping `s` ms, the main thread posts two busy tasks of `TASK_US` µs
//! (default 5000) to a 2-thread pool and records when each starts. When the second
//! start lags the first by about a task's length, one worker ran both; a lag between
//! zero and a task's length is the time the second worker took to wake. Medians of
//! 15 rounds per sleep.
use std::time::{Duration, Instant};

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let task = Duration::from_micros(
        std::env::var("TASK_US")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(5000),
    );
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(2)
        .build()
        .expect("a 2-thread pool");
    for sleep_ms in [100u64, 10, 1, 0] {
        let (mut first, mut second, mut total) = (vec![], vec![], vec![]);
        for _ in 0..15 {
            std::thread::sleep(Duration::from_millis(sleep_ms));
            let t0 = Instant::now();
            let starts: Vec<f64> = pool.install(|| {
                use rayon::prelude::*;
                (0..2)
                    .into_par_iter()
                    .map(|_| {
                        let s = t0.elapsed().as_secs_f64() * 1e3;
                        let t = Instant::now();
                        while t.elapsed() < task {
                            std::hint::spin_loop();
                        }
                        s
                    })
                    .collect()
            });
            total.push(t0.elapsed().as_secs_f64() * 1e3);
            first.push(starts[0].min(starts[1]));
            second.push(starts[0].max(starts[1]));
        }
        println!(
            "after {sleep_ms:>3} ms idle: first task starts at {:.2} ms, second at {:.2} ms, \
             both done at {:.2} ms (medians)",
            median(&mut first),
            median(&mut second),
            median(&mut total)
        );
    }
}
