//! Criterion benches of the core kernels (`cargo bench -p sketchkit`).
use criterion::{black_box, criterion_group, criterion_main, Criterion};
use sketchkit::{Family, LinearSketch, MatMut, MatRef, Sketch};

fn bench(c: &mut Criterion) {
    let (n, d, k) = (2000usize, 4096usize, 256usize);
    let x: Vec<f32> = (0..n * d)
        .map(|i| ((i * 7919) % 1000) as f32 / 1000.0)
        .collect();
    let mut out = vec![0f32; n * k];
    for fam in [
        Family::SparseSign { nnz: 8 },
        Family::VerySparse {
            density: 1.0 / 64.0,
        },
        Family::CountSketch,
        Family::Gaussian,
    ] {
        let name = fam.name();
        let s = Sketch::new(fam, k, d, 0).unwrap();
        c.bench_function(&format!("project_f32_{name}_{n}x{d}_to_{k}"), |b| {
            b.iter(|| {
                s.project(
                    MatRef::from_row_major(black_box(&x), n, d).unwrap(),
                    MatMut::from_row_major(&mut out, n, k).unwrap(),
                )
                .unwrap()
            })
        });
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
