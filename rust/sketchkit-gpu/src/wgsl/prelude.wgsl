// Shared by every kernel: the parameter block, the bindings and Philox4x32-10.
//
// Bindings (one layout for all kernels; a kernel declares the ones it uses):
//   0: parameters (uniform)   1..3: read-only storage   4: read-write storage.

struct Params {
    rows: u32,      // rows of this chunk
    n_in: u32,      // input row length
    n_out: u32,     // output row length
    kind: u32,      // kernel variant
    seed_lo: u32,
    seed_hi: u32,
    tag: u32,
    scale_bits: u32, // f32 bits
    h: u32,         // FWHT: first level's half-distance, or block length
    levels: u32,    // FWHT: levels in this pass
    total: u32,     // work items of a flat dispatch
    k: u32,         // operator rows
    d: u32,         // operator columns
    pad0: u32,
    pad1: u32,
    pad2: u32,
}

@group(0) @binding(0) var<uniform> P: Params;

// 32 x 32 -> 64-bit product as (high word, low word): WGSL has no 64-bit integers,
// so the high word is assembled from four 16 x 16 -> 32-bit partial products.
fn mulhilo(a: u32, b: u32) -> vec2<u32> {
    let al = a & 0xffffu;
    let ah = a >> 16u;
    let bl = b & 0xffffu;
    let bh = b >> 16u;
    let ll = al * bl;
    let lh = al * bh;
    let hl = ah * bl;
    let hh = ah * bh;
    let mid = (ll >> 16u) + (lh & 0xffffu) + (hl & 0xffffu);
    let hi = hh + (lh >> 16u) + (hl >> 16u) + (mid >> 16u);
    return vec2<u32>(hi, a * b);
}

// Philox4x32-10 (Random123), the same function as rng::philox4x32_10.
fn philox(ctr: vec4<u32>, key: vec2<u32>) -> vec4<u32> {
    var c = ctr;
    var k = key;
    for (var r = 0u; r < 10u; r = r + 1u) {
        if (r > 0u) {
            k = k + vec2<u32>(0x9E3779B9u, 0xBB67AE85u);
        }
        let p0 = mulhilo(0xD2511F53u, c.x);
        let p1 = mulhilo(0xCD9E8D57u, c.z);
        c = vec4<u32>(p1.x ^ c.y ^ k.x, p1.y, p0.x ^ c.w ^ k.y, p0.y);
    }
    return c;
}

// Block `block` of stream (seed, tag, index) for a 32-bit index.
fn stream_block(block: u32, index: u32) -> vec4<u32> {
    return philox(vec4<u32>(block, index, 0u, P.tag), vec2<u32>(P.seed_lo, P.seed_hi));
}

fn scale() -> f32 {
    return bitcast<f32>(P.scale_bits);
}

// Index of this invocation in a flat dispatch of 256-wide workgroups laid out on a
// 2-D grid (the grid's x extent is capped at 65535 groups).
fn flat_id(wid: vec3<u32>, nwg: vec3<u32>, li: u32) -> u32 {
    return (wid.y * nwg.x + wid.x) * 256u + li;
}
