//! Single-thread FWHT timings per length (median and minimum of 7 samples), for profiling:
//! `cargo run --release -p sketchkit --example fwht_timing [scalar|avx2|avx512] [f64]`.
//!
//! `… fwht_timing check` instead compares the bits of every SIMD level against the
//! scalar path for f32 and f64 at every length 2^0 … 2^22.
//!
//! `… fwht_timing cold [avx2|avx512]`: one call per row of a fresh 16 MiB buffer
//! (`FWHT_SIZES`: the lengths' exponents, `FWHT_CHECK=fused|separate`: the checked
//! call, `FWHT_GAP`: an idle pause in ms before each timed loop, `FWHT_HUGE`: the
//! buffer in transparent huge pages); `floor` instead
//! times one pass of `+ 0.0` over the rows.
mod common;

use sketchkit::simd::{set_cap, Level};
use sketchkit::Real;
use std::time::Instant;

fn data<T: Real>(n: usize) -> Vec<T> {
    (0..n)
        .map(|i| T::from_f64(((i * 7919) % 1000) as f64 / 1000.0 - 0.5))
        .collect()
}

fn check<T: Real>() {
    for m in 0..=22 {
        let n = 1usize << m;
        let x: Vec<T> = data(n);
        set_cap(Some(Level::Scalar));
        let mut want = x.clone();
        sketchkit::fwht::fwht(&mut want).unwrap();
        for lvl in [Level::Avx2, Level::Avx512] {
            set_cap(Some(lvl));
            let mut y = x.clone();
            sketchkit::fwht::fwht(&mut y).unwrap();
            assert!(y == want, "{} n=2^{m} {lvl:?} differs", T::NAME);
        }
    }
    set_cap(None);
    println!("{}: all levels bit-identical for n = 2^0 … 2^22", T::NAME);
}

fn time<T: Real>() {
    println!("level {} {}", sketchkit::simd::level().name(), T::NAME);
    // FWHT_SIZES="10 16" restricts the lengths (log2); FWHT_SAMPLES sets the count.
    let sizes: Vec<u32> = std::env::var("FWHT_SIZES")
        .map(|s| {
            s.split_whitespace()
                .filter_map(|m| m.parse().ok())
                .collect()
        })
        .unwrap_or_else(|_| vec![10, 12, 14, 16, 18, 20]);
    let nsamp: usize = std::env::var("FWHT_SAMPLES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(7);
    for m in sizes {
        let n = 1usize << m;
        let mut x: Vec<T> = data(n);
        let reps = ((1usize << 24) / n).max(3);
        let mut samples = Vec::new();
        for _ in 0..nsamp {
            let t = Instant::now();
            for _ in 0..reps {
                // Magnitudes grow to ±inf/NaN over the repetitions, which costs
                // nothing extra on x86 (no subnormals arise); hence no finite check.
                sketchkit::fwht::transform_vec(&mut x, false, false).unwrap();
            }
            samples.push(t.elapsed().as_secs_f64() / reps as f64);
        }
        samples.sort_by(|a, b| a.total_cmp(b));
        println!(
            "2^{m}: {:.2} us (min {:.2})",
            samples[nsamp / 2] * 1e6,
            samples[0] * 1e6
        );
    }
}

/// The benchmark's protocol: a `(2^22 / n) × n` f32 buffer re-copied from the input
/// before every sample, each row transformed in place (unchecked) one call per row.
/// `FWHT_CHECK=fused` times the checked call (the check fused into the passes),
/// `FWHT_CHECK=separate` a separate check pass before the unchecked call.
/// `floor` instead adds 0 to every element of each row (one read and one write: the
/// memory floor of an in-place transform).
fn cold(floor: bool) {
    println!(
        "level {} f32 cold{} {}",
        sketchkit::simd::level().name(),
        if floor { " floor" } else { "" },
        std::env::var("FWHT_CHECK").unwrap_or_default()
    );
    let sizes: Vec<u32> = std::env::var("FWHT_SIZES")
        .map(|s| {
            s.split_whitespace()
                .filter_map(|m| m.parse().ok())
                .collect()
        })
        .unwrap_or_else(|_| vec![10, 12, 16, 20]);
    // FWHT_CHECK=fused|separate times the checked transform (default: unchecked).
    let mode = std::env::var("FWHT_CHECK").unwrap_or_default();
    // FWHT_GAP=ms: an idle pause between the copy and the timed loop (the benchmark's
    // protocol sleeps before every timed run, and the copy's lines then leave L3).
    let gap: u64 = std::env::var("FWHT_GAP")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let src: Vec<f32> = data(1 << 22);
    // FWHT_HUGE: the buffer in transparent huge pages, as NumPy allocates a 16 MiB
    // array (by default 4 KiB pages, as for arrays below NumPy's 4 MiB threshold).
    let mut buf = if std::env::var_os("FWHT_HUGE").is_some() {
        common::huge_page_vec(src.len(), |i| src[i])
    } else {
        src.clone()
    };
    for m in sizes {
        let n = 1usize << m;
        let mut samples = Vec::new();
        for _ in 0..15 {
            buf.copy_from_slice(&src);
            if gap > 0 {
                std::thread::sleep(std::time::Duration::from_millis(gap));
            }
            let t = Instant::now();
            for row in buf.chunks_exact_mut(n) {
                if floor {
                    for v in row.iter_mut() {
                        *v += 0.0;
                    }
                } else {
                    match mode.as_str() {
                        // The finite check fused into the transform's passes.
                        "fused" => sketchkit::fwht::transform_vec(row, false, true).unwrap(),
                        // A separate check pass, then the unchecked transform.
                        "separate" => {
                            assert!(sketchkit::finite::slice_all_finite(row));
                            sketchkit::fwht::transform_vec(row, false, false).unwrap()
                        }
                        _ => sketchkit::fwht::transform_vec(row, false, false).unwrap(),
                    }
                }
            }
            samples.push(t.elapsed().as_secs_f64() / (buf.len() / n) as f64);
        }
        samples.sort_by(|a, b| a.total_cmp(b));
        println!(
            "2^{m}: {:.3} us (min {:.3})",
            samples[7] * 1e6,
            samples[0] * 1e6
        );
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "cold" || a == "floor") {
        set_cap(args.iter().find_map(|s| s.parse::<Level>().ok()));
        cold(args.iter().any(|a| a == "floor"));
        return;
    }
    if args.iter().any(|a| a == "check") {
        check::<f32>();
        check::<f64>();
        return;
    }
    set_cap(args.iter().find_map(|s| s.parse::<Level>().ok()));
    if args.iter().any(|a| a == "f64") {
        time::<f64>();
    } else {
        time::<f32>();
    }
}
