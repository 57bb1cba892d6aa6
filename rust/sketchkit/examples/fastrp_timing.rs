//! Timing of FastRP's stages on a random block graph (profiling aid):
//! `cargo run --release -p sketchkit --example fastrp_timing [nodes] [threads]`
//! (`FRP_SIMD=avx2`: the AVX2 path; `FRP_REPS`: runs, 3 by default).
use sketchkit::graph::FastRp;
use sketchkit::view::CsrRef;
use std::time::Instant;

fn main() {
    let mut args = std::env::args().skip(1);
    let n: usize = args
        .next()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1_000_000);
    let threads: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(1);
    sketchkit::parallel::set_num_threads(threads).unwrap();
    // FRP_SIMD=avx2 caps the dispatch level (the AVX2 path on an AVX-512 machine)
    if std::env::var("FRP_SIMD").as_deref() == Ok("avx2") {
        sketchkit::simd::set_cap(Some(sketchkit::simd::Level::Avx2));
    }
    // 10 n undirected edges, 80 % inside 50 blocks of consecutive labels scattered
    // over the node ids by a multiplicative permutation (neighbours are far apart).
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let blocks = 50u64;
    let bsize = (n as u64).div_ceil(blocks);
    let mut rows: Vec<Vec<i32>> = vec![Vec::new(); n];
    let scatter = |v: u64| ((v.wrapping_mul(0x9e37_79b9) ^ 0x5bd1) % n as u64) as usize;
    for _ in 0..10 * n {
        let u = next() % n as u64;
        let v = if next() % 5 != 0 {
            (u / bsize) * bsize + next() % bsize
        } else {
            next() % n as u64
        }
        .min(n as u64 - 1);
        if u != v {
            let (a, b) = (scatter(u), scatter(v));
            rows[a].push(b as i32);
            rows[b].push(a as i32);
        }
    }
    let mut indptr = vec![0i32];
    let mut indices = Vec::new();
    for r in &mut rows {
        r.sort_unstable();
        r.dedup();
        indices.extend_from_slice(r);
        indptr.push(indices.len() as i32);
    }
    let data = vec![1.0f32; indices.len()];
    let adj = CsrRef::new(n, n, &indptr, &indices, &data).unwrap();
    println!(
        "{n} nodes, {} stored entries, {threads} threads",
        indices.len()
    );
    let frp = FastRp::new(256, 0);
    let reps: usize = std::env::var("FRP_REPS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3);
    for _ in 0..reps {
        let t = Instant::now();
        let r = frp.initial_vectors(n, None).unwrap();
        let t_init = t.elapsed().as_secs_f64();
        drop(r);
        let t = Instant::now();
        let e = frp.embed(&adj, None).unwrap();
        println!(
            "initial vectors {t_init:.3} s, embed {:.3} s (checksum {:.6})",
            t.elapsed().as_secs_f64(),
            e.iter().map(|&v| v as f64).sum::<f64>()
        );
    }
}
