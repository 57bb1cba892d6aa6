// Walsh-Hadamard transform of rows, levels in ascending order of distance (the
// CPU's order; each butterfly is (a, b) -> (a + b, a - b)), so the bits are the CPU's.
//   local:  one workgroup per block of P.h <= 4096 elements, every level below P.h in
//           workgroup memory;
//   global: levels P.h, 2 P.h, ... (P.levels <= 4 of them) in registers, one
//           invocation per group of 2^levels elements;
//   scale:  O *= scale (the orthonormal transform's 1/sqrt(n), after all levels).
@group(0) @binding(4) var<storage, read_write> O: array<f32>;

var<workgroup> buf: array<f32, 4096>;

@compute @workgroup_size(256)
fn local_levels(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                @builtin(local_invocation_index) li: u32) {
    let g = wid.y * nwg.x + wid.x;
    if (g >= P.total) {
        return;
    }
    let len = P.h;
    let base = g * len;
    for (var i = li; i < len; i = i + 256u) {
        buf[i] = O[base + i];
    }
    workgroupBarrier();
    for (var h = 1u; h < len; h = h << 1u) {
        for (var t = li; t < len / 2u; t = t + 256u) {
            let i = (t / h) * 2u * h + (t % h);
            let a = buf[i];
            let b = buf[i + h];
            buf[i] = a + b;
            buf[i + h] = a - b;
        }
        workgroupBarrier();
    }
    for (var i = li; i < len; i = i + 256u) {
        O[base + i] = buf[i];
    }
}

@compute @workgroup_size(256)
fn global_levels(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                 @builtin(local_invocation_index) li: u32) {
    let t = flat_id(wid, nwg, li);
    if (t >= P.total) {
        return;
    }
    let n = P.n_in;
    let c = P.levels;
    let width = 1u << c;
    let per_row = n >> c;
    let row = t / per_row;
    let u = t % per_row;
    let h = P.h;
    let base = row * n + (u / h) * (h << c) + (u % h);
    var v: array<f32, 16>;
    for (var s = 0u; s < width; s = s + 1u) {
        v[s] = O[base + s * h];
    }
    for (var l = 0u; l < c; l = l + 1u) {
        let st = 1u << l;
        for (var s = 0u; s < width; s = s + 1u) {
            if ((s & st) == 0u) {
                let a = v[s];
                let b = v[s + st];
                v[s] = a + b;
                v[s + st] = a - b;
            }
        }
    }
    for (var s = 0u; s < width; s = s + 1u) {
        O[base + s * h] = v[s];
    }
}

@compute @workgroup_size(256)
fn scale_all(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
             @builtin(local_invocation_index) li: u32) {
    let t = flat_id(wid, nwg, li);
    if (t >= P.total) {
        return;
    }
    O[t] = O[t] * scale();
}
