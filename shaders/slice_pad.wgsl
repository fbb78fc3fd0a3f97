// Backward of slice (gather form, no zero fill, no atomics): out has the shape of the sliced
// tensor x; out[c] = g[c - begin] where begin <= c < begin + size on every dim, else 0.
// Shapes packed to 8 dims (rank <= 8; RANK define = rank, constant loop bounds); each thread writes
// 4 consecutive outputs.
#include "common.wgsl"
struct U { n: u32, rank: u32, shape: array<vec4<u32>, 2>, begin: array<vec4<u32>, 2>, size: array<vec4<u32>, 2> }
@group(0) @binding(0) var<storage, read> g: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<uniform> u: U;

fn value(i: u32) -> f32 {
  var rem = i;
  var gi = 0u;
  var mult = 1u;
  var inside = true;
  for (var d = ${RANK} - 1; d >= 0; d--) {
    let dd = u32(d);
    let n = dim8(u.shape, dd);
    let c = rem % n;
    rem = rem / n;
    let b = dim8(u.begin, dd);
    let s = dim8(u.size, dd);
    inside = inside && c >= b && c - b < s;
    gi += (c - b) * mult;
    mult *= s;
  }
  if (inside) { return g[gi]; }
  return 0.0;
}

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i0 = flat_id(gid, nwg, 64u) * 4u;
  for (var k = 0u; k < 4u; k++) {
    let i = i0 + k;
    if (i >= u.n) { return; }
    out[i] = value(i);
  }
}
