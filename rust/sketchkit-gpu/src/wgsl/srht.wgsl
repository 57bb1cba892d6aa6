// The SRHT's data movement around the FWHT (rows of length dpad in the work buffer):
//   load:    W[r, j] = A[r, j] * (±1 from D) for j < d, 0 up to dpad;
//   gather:  O[r, i] = scale * W[r, rows[i]];
//   scatter: W[r, rows[i]] = A[r, i] (W cleared before);
//   unload:  O[r, j] = scale * (±W[r, j]).
// The sign bits of D are in B (bit j % 32 of word j / 32), the sampled rows in C.
// Multiplying by ±1 and negating are exact: the bits are the CPU's.
@group(0) @binding(1) var<storage, read> A: array<f32>;
@group(0) @binding(2) var<storage, read> B: array<u32>;
@group(0) @binding(3) var<storage, read> C: array<u32>;
@group(0) @binding(4) var<storage, read_write> O: array<f32>;

fn sign_of(j: u32) -> f32 {
    return select(1.0, -1.0, ((B[j / 32u] >> (j % 32u)) & 1u) == 1u);
}

@compute @workgroup_size(256)
fn load(@builtin(global_invocation_id) g: vec3<u32>) {
    let j = g.x;
    let r = g.y;
    let dpad = P.n_out;
    if (j >= dpad || r >= P.rows) {
        return;
    }
    var v = 0.0;
    if (j < P.d) {
        v = A[r * P.d + j] * sign_of(j);
    }
    O[r * dpad + j] = v;
}

@compute @workgroup_size(256)
fn gather(@builtin(global_invocation_id) g: vec3<u32>) {
    let i = g.x;
    let r = g.y;
    if (i >= P.k || r >= P.rows) {
        return;
    }
    O[r * P.k + i] = scale() * A[r * P.n_in + C[i]];
}

@compute @workgroup_size(256)
fn scatter(@builtin(global_invocation_id) g: vec3<u32>) {
    let i = g.x;
    let r = g.y;
    if (i >= P.k || r >= P.rows) {
        return;
    }
    O[r * P.n_out + C[i]] = A[r * P.k + i];
}

@compute @workgroup_size(256)
fn unload(@builtin(global_invocation_id) g: vec3<u32>) {
    let j = g.x;
    let r = g.y;
    if (j >= P.d || r >= P.rows) {
        return;
    }
    O[r * P.d + j] = scale() * (A[r * P.n_in + j] * sign_of(j));
}
