//! List layouts: the core's index lists ([`Lists`], from [`sketchkit::Plan::Sparse`])
//! rearranged in sliced ELL, the form the gather kernel (`wgsl/lists.wgsl`) reads.

use sketchkit::backend::Lists;
use sketchkit::{Result, SketchError};

/// Padding of the sliced-ELL lists (index 2^31 − 1 is never a valid index).
const PAD: u32 = u32::MAX;
/// Lists per slice (one warp's worth of invocations).
const SLICE: usize = 32;

/// Lists in sliced ELL form: slice `s` (lists `32 s .. 32 s + 31`) is padded to its
/// longest list with [`PAD`]; entry `t` of list `32 s + l` is `ent[ptr[s] + 32 t + l]`.
/// Returns `(ptr, ent)` with `ptr.len() = slices + 1`.
pub(crate) fn sliced_ell(l: &Lists<'_>) -> Result<(Vec<u32>, Vec<u32>)> {
    let n = l.ptr.len().saturating_sub(1);
    let slices = n.div_ceil(SLICE);
    let len = |o: usize| if o < n { l.ptr[o + 1] - l.ptr[o] } else { 0 };
    let mut ptr = Vec::with_capacity(slices + 1);
    let mut total = 0usize;
    ptr.push(0u32);
    for s in 0..slices {
        let width = (s * SLICE..(s + 1) * SLICE).map(len).max().unwrap_or(0);
        total += width * SLICE;
        ptr.push(u32::try_from(total).map_err(|_| {
            SketchError::overflow("k", "the operator has more than 2^32 padded nonzeros")
        })?);
    }
    let mut ent = Vec::new();
    ent.try_reserve_exact(total)
        .map_err(|_| SketchError::Alloc(format!("GPU index lists ({total} entries)")))?;
    ent.resize(total, PAD);
    for o in 0..n {
        let (s, lane) = (o / SLICE, o % SLICE);
        let base = ptr[s] as usize;
        for (t, &e) in l.ent[l.ptr[o]..l.ptr[o + 1]].iter().enumerate() {
            ent[base + t * SLICE + lane] = e;
        }
    }
    Ok((ptr, ent))
}

#[cfg(test)]
mod tests {
    use super::*;
    use sketchkit::backend::ENTRY_SIGN;

    #[test]
    fn sliced_ell_keeps_every_list_in_order() {
        // 70 lists of varied lengths (3 slices, the last one partial).
        let mut ptr = vec![0usize];
        let mut ent = Vec::new();
        for o in 0..70u32 {
            for t in 0..(o * 7 % 11) {
                ent.push((t * 3 + o % 2) | if t % 2 == 1 { ENTRY_SIGN } else { 0 });
            }
            ptr.push(ent.len());
        }
        let l = Lists {
            ptr: &ptr,
            ent: &ent,
        };
        let (sp, se) = sliced_ell(&l).unwrap();
        assert_eq!(sp.len(), 4);
        for o in 0..70 {
            let (s, lane) = (o / SLICE, o % SLICE);
            let width = (sp[s + 1] - sp[s]) as usize / SLICE;
            let got: Vec<u32> = (0..width)
                .map(|t| se[sp[s] as usize + t * SLICE + lane])
                .take_while(|&e| e != PAD)
                .collect();
            assert_eq!(got, &ent[ptr[o]..ptr[o + 1]], "list {o}");
            let rest = (got.len()..width).map(|t| se[sp[s] as usize + t * SLICE + lane]);
            assert!(rest.into_iter().all(|e| e == PAD));
        }
    }
}
