// out = a (op) b with numpy broadcasting over up to 8 dims.
// Defines: ADD, SUB, MUL, EQ (1 where a == b, else 0), else div, SAME (a, b and out have one shape), SCALAR_B (b has one element).
// Uniform shapes: out shape and the element strides of a and b (0 on broadcast dims), padded to 8.
#include "common.wgsl"
struct U { n: u32, rank: u32, shape: array<vec4<u32>, 2>, sa: array<vec4<u32>, 2>, sb: array<vec4<u32>, 2> }
@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read> b: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<uniform> u: U;

fn op(x: f32, y: f32) -> f32 {
#if ${ADD}
  return x + y;
#elif ${SUB}
  return x - y;
#elif ${MUL}
  return x * y;
#elif ${EQ}
  return select(0.0, 1.0, x == y);
#else
  return x / y;
#endif
}

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flat_id(gid, nwg, 64u);
  if (i >= u.n) { return; }
#if ${SAME}
  out[i] = op(a[i], b[i]);
#elif ${SCALAR_B}
  out[i] = op(a[i], b[0]);
#else
  var rem = i;
  var ia = 0u;
  var ib = 0u;
  for (var d = i32(u.rank) - 1; d >= 0; d--) {
    let dd = u32(d);
    let n = dim8(u.shape, dd);
    let c = rem % n;
    rem = rem / n;
    ia += c * dim8(u.sa, dd);
    ib += c * dim8(u.sb, dd);
  }
  out[i] = op(a[ia], b[ib]);
#endif
}
