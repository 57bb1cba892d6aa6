// Sparse families, owner computes: output element (r, o) sums its own list,
//   O[r, o] = scale * sum over entries e of list o (ascending) of ±A[r, index(e)],
// from zero, with one add or subtract per entry: the CPU kernels' order and
// operations, so the bits are the CPU's. No atomics.
//
// Lists are stored as sliced ELL: lists 32 s .. 32 s + 31 form slice s, padded to the
// slice's longest list with PAD (never a valid entry: index 2^31 - 1); entry t of list
// 32 s + l is C[B[s] + 32 t + l], so the 32 invocations of a warp read 32 consecutive
// words. Each invocation serves P.levels (<= 8) rows with every entry it loads.
// kind 1: those rows are first staged in workgroup memory (P.levels * n_in <= XS), so
// the gathers hit workgroup memory; kind 0: they are read from device memory.
@group(0) @binding(1) var<storage, read> A: array<f32>;
@group(0) @binding(2) var<storage, read> B: array<u32>;
@group(0) @binding(3) var<storage, read> C: array<u32>;
@group(0) @binding(4) var<storage, read_write> O: array<f32>;

const PAD: u32 = 0xffffffffu;
var<workgroup> xs: array<f32, XS_FLOATS>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) li: u32) {
    let staged = P.kind == 1u;
    let o = wid.x * 256u + li;
    let r0 = wid.y * P.levels;
    let nr = min(P.levels, P.rows - r0);
    let n_in = P.n_in;
    if (staged) {
        let cnt = nr * n_in;
        let base = r0 * n_in;
        for (var t = li; t < cnt; t = t + 256u) {
            xs[t] = A[base + t];
        }
    }
    workgroupBarrier();
    if (o >= P.n_out) {
        return;
    }
    var acc = array<f32, 8>(0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0);
    let s = o / 32u;
    let end = B[s + 1u];
    for (var p = B[s] + (o % 32u); p < end; p = p + 32u) {
        let e = C[p];
        if (e == PAD) {
            break;
        }
        let j = e & 0x7fffffffu;
        let neg = (e & 0x80000000u) != 0u;
        for (var q = 0u; q < 8u; q = q + 1u) {
            if (q < nr) {
                var v: f32;
                if (staged) {
                    v = xs[q * n_in + j];
                } else {
                    v = A[(r0 + q) * n_in + j];
                }
                if (neg) {
                    acc[q] = acc[q] - v;
                } else {
                    acc[q] = acc[q] + v;
                }
            }
        }
    }
    for (var q = 0u; q < 8u; q = q + 1u) {
        if (q < nr) {
            O[(r0 + q) * P.n_out + o] = scale() * acc[q];
        }
    }
}
