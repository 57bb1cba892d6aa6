//! Property tests for the borrowed views and the CSR structure check: a strided view
//! is accepted exactly when every element it addresses lies in the buffer, and then
//! reads the element the strides name; a CSR structure is accepted exactly when it
//! obeys the rules `CsrRef::new` states, and then its rows are the stored ranges.

use proptest::prelude::*;
use sketchkit::view::check_writable_strides;
use sketchkit::{CsrRef, MatRef};

/// Every address `offset + r·rs + c·cs` of a `rows × cols` view, or `None` when one
/// overflows.
fn addresses(offset: usize, rows: usize, cols: usize, rs: isize, cs: isize) -> Option<Vec<i128>> {
    let mut out = Vec::new();
    for r in 0..rows {
        for c in 0..cols {
            out.push(offset as i128 + r as i128 * rs as i128 + c as i128 * cs as i128);
        }
    }
    Some(out)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn strided_view_accepted_iff_in_bounds(
        len in 0usize..64,
        offset in 0usize..70,
        rows in 0usize..6,
        cols in 0usize..6,
        rs in -12isize..12,
        cs in -12isize..12,
    ) {
        let data: Vec<u32> = (0..len as u32).collect();
        let addr = addresses(offset, rows, cols, rs, cs).unwrap();
        let inside = addr.iter().all(|&a| a >= 0 && (a as usize) < len);
        let view = MatRef::from_slice(&data, offset, rows, cols, rs, cs);
        prop_assert_eq!(view.is_ok(), inside, "addresses {:?}", addr);
        if let Ok(v) = view {
            prop_assert_eq!((v.rows(), v.cols()), (rows, cols));
            for r in 0..rows {
                for c in 0..cols {
                    prop_assert_eq!(v.get(r, c) as i128, addr[r * cols + c]);
                }
            }
            // The transpose addresses the same elements.
            let t = v.t();
            for r in 0..rows {
                for c in 0..cols {
                    prop_assert_eq!(t.get(c, r), v.get(r, c));
                }
            }
        }
    }

    #[test]
    fn writable_strides_refuse_exactly_the_aliasing_views(
        rows in 0usize..6,
        cols in 0usize..6,
        rs in -8isize..8,
        cs in -8isize..8,
    ) {
        let addr = addresses(0, rows, cols, rs, cs).unwrap();
        let mut uniq = addr.clone();
        uniq.sort_unstable();
        uniq.dedup();
        let distinct = uniq.len() == addr.len();
        match check_writable_strides(rows, cols, rs, cs, "out") {
            // Accepted strides never alias (the rule is sufficient).
            Ok(()) => prop_assert!(distinct, "accepted aliasing strides {rs}, {cs}"),
            // Refused ones alias, or are the rule's documented conservative case:
            // both strides non-zero with the shorter run reaching the longer step.
            Err(e) => {
                let msg = e.to_string();
                prop_assert!(msg.contains("out"), "{msg}");
                if distinct {
                    prop_assert!(rs != 0 && cs != 0, "{msg}");
                }
            }
        }
    }

    #[test]
    fn csr_accepted_iff_well_formed(
        rows in 0usize..5,
        cols in 0usize..5,
        indptr in proptest::collection::vec(-1i64..8, 0..7),
        indices in proptest::collection::vec(-1i64..6, 0..8),
    ) {
        let data = vec![1.0f64; indices.len()];
        let well_formed = indptr.len() == rows + 1
            && indptr[0] == 0
            && indptr.iter().all(|&p| p >= 0)
            && indptr.windows(2).all(|w| w[0] <= w[1])
            && *indptr.last().unwrap() as usize == indices.len()
            && indices.iter().all(|&j| j >= 0 && (j as usize) < cols);
        let got = CsrRef::new(rows, cols, &indptr, &indices, &data);
        prop_assert_eq!(got.is_ok(), well_formed, "{:?}", got.as_ref().err());
        match got {
            Ok(m) => {
                let mut seen = 0;
                for r in 0..rows {
                    let range = m.row_range(r);
                    prop_assert_eq!(range.start, indptr[r] as usize);
                    prop_assert_eq!(range.end, indptr[r + 1] as usize);
                    for t in range {
                        prop_assert_eq!(m.col(t), indices[t] as usize);
                        seen += 1;
                    }
                }
                prop_assert_eq!(seen, indices.len());
            }
            Err(e) => {
                let msg = e.to_string();
                prop_assert!(msg.contains("indptr") || msg.contains("indices"), "{}", msg);
            }
        }
    }

    #[test]
    fn csr_int32_and_int64_agree(
        rows in 1usize..4,
        cols in 1usize..4,
        indptr in proptest::collection::vec(0i64..6, 1..5),
        indices in proptest::collection::vec(-1i64..5, 0..6),
    ) {
        let data = vec![0.5f32; indices.len()];
        let (p32, i32s): (Vec<i32>, Vec<i32>) = (
            indptr.iter().map(|&v| v as i32).collect(),
            indices.iter().map(|&v| v as i32).collect(),
        );
        let a = CsrRef::new(rows, cols, &indptr, &indices, &data).map(|_| ());
        let b = CsrRef::new(rows, cols, &p32, &i32s, &data).map(|_| ());
        prop_assert_eq!(a, b);
    }
}
