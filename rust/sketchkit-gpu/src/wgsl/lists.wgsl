// Sparse families, owner computes: output element (r, o) sums its own list,
//   O[r, o] = scale * sum over entries e of list o (ascending) of ±A[r, index(e)],
// from zero, with one add or subtract per entry: the CPU kernels' order and
// operations, so the bits are the CPU's. No atomics.
// B: list offsets (n_out + 1), C: entries (index | sign << 31).
@group(0) @binding(1) var<storage, read> A: array<f32>;
@group(0) @binding(2) var<storage, read> B: array<u32>;
@group(0) @binding(3) var<storage, read> C: array<u32>;
@group(0) @binding(4) var<storage, read_write> O: array<f32>;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) g: vec3<u32>) {
    let o = g.x;
    let r = g.y;
    if (o >= P.n_out || r >= P.rows) {
        return;
    }
    let base = r * P.n_in;
    var acc = 0.0;
    let end = B[o + 1u];
    for (var e = B[o]; e < end; e = e + 1u) {
        let t = C[e];
        let v = A[base + (t & 0x7fffffffu)];
        if ((t & 0x80000000u) != 0u) {
            acc = acc - v;
        } else {
            acc = acc + v;
        }
    }
    O[r * P.n_out + o] = scale() * acc;
}
