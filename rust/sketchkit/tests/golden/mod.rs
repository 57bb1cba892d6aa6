//! Pinned stream values (see `golden_values` in `operators.rs`). They were produced
//! once by this release; a failing check means the streams changed, which is a
//! versioned, documented break, never a silent one. Gaussian entries go through the
//! platform's `ln`/`sin`/`cos`, so they are compared to 4 ulps; the others exactly.

type Csc = (Vec<i64>, Vec<i64>, Vec<f64>);

const GAUSSIAN: [f64; 12] = [
    0.8255889412852309,
    0.6463246952301434,
    0.8172627006816433,
    0.42282277845422583,
    -0.4122238260782776,
    -0.8749930440193205,
    -0.05104929762373538,
    -0.7982976415609199,
    1.128157094615402,
    -0.057818044470381844,
    -0.6082611610955823,
    0.883000156911826,
];
const RADEMACHER: [f64; 12] = [
    0.5, 0.5, 0.5, 0.5, -0.5, 0.5, -0.5, -0.5, 0.5, 0.5, -0.5, -0.5,
];

pub fn check(g: &[f64], r: &[f64], v: &Csc, s: &Csc, c: &Csc) {
    for (a, b) in g.iter().zip(GAUSSIAN) {
        assert!(
            (a - b).abs() <= 4.0 * f64::EPSILON * b.abs(),
            "gaussian {a} vs {b}"
        );
    }
    assert_eq!(r, RADEMACHER);
    assert_eq!(v.0, [0, 3, 7, 9]);
    assert_eq!(v.1, [0, 1, 4, 3, 4, 5, 6, 4, 7]);
    assert_eq!(v.2, [0.5, -0.5, 0.5, -0.5, 0.5, -0.5, -0.5, -0.5, 0.5]);
    let h = 1.0 / 2f64.sqrt();
    assert_eq!(s.0, [0, 2, 4, 6]);
    assert_eq!(s.1, [0, 7, 1, 7, 1, 2]);
    assert_eq!(s.2, [h, h, h, -h, h, -h]);
    assert_eq!(c.0, [0, 1, 2, 3]);
    assert_eq!(c.1, [1, 6, 6]);
    assert_eq!(c.2, [1.0, 1.0, -1.0]);
}
