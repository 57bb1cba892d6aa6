//! Fast finiteness check over a strided view (parallel, no temporaries).

// `v - v` is 0 for finite `v` and NaN otherwise: a branch-free, vectorizable test.
#![allow(clippy::eq_op)]

use crate::view::MatRef;
use crate::Real;
use rayon::prelude::*;

/// True when every element of `x` is finite (neither NaN nor ±inf).
pub fn all_finite<T: Real>(x: MatRef<'_, T>) -> bool {
    let rows = x.rows();
    let check = || {
        (0..rows)
            .into_par_iter()
            .with_min_len(64)
            .all(|r| match x.row_slice(r) {
                Some(row) => {
                    crate::dispatch!(row.iter().fold(T::ZERO, |a, &v| a + (v - v)) == T::ZERO)
                }
                None => (0..x.cols()).all(|c| x.get(r, c).is_finite()),
            })
    };
    crate::parallel::install(check)
        .unwrap_or_else(|_| (0..rows).all(|r| (0..x.cols()).all(|c| x.get(r, c).is_finite())))
}
