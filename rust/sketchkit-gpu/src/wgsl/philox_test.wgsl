// Raw Philox blocks for the known-answer and cross-backend tests:
// counters in A (4 words each), key in P.seed_lo/hi, output blocks in O.
@group(0) @binding(1) var<storage, read> A: array<u32>;
@group(0) @binding(4) var<storage, read_write> O: array<u32>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
    let t = flat_id(wid, nwg, li);
    if (t >= P.total) {
        return;
    }
    let c = vec4<u32>(A[4u * t], A[4u * t + 1u], A[4u * t + 2u], A[4u * t + 3u]);
    let w = philox(c, vec2<u32>(P.seed_lo, P.seed_hi));
    O[4u * t] = w.x;
    O[4u * t + 1u] = w.y;
    O[4u * t + 2u] = w.z;
    O[4u * t + 3u] = w.w;
}
