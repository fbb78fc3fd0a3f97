// dx = d(g, s) elementwise: the backward of unary.wgsl. OP names a d_<op> function from
// unary_fns.wgsl; s is the op's input x or its output y (activation.ts says which). Same
// 4-per-invocation layout as unary.wgsl.
#include "common.wgsl"
struct U { n: u32, m: u32, a: f32, b: f32, t: u32 }
#if ${VEC4}
@group(0) @binding(0) var<storage, read> g: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> s: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> dx: array<vec4<f32>>;
#else
@group(0) @binding(0) var<storage, read> g: array<f32>;
@group(0) @binding(1) var<storage, read> s: array<f32>;
@group(0) @binding(2) var<storage, read_write> dx: array<f32>;
#endif
@group(0) @binding(3) var<uniform> u: U;
#include "unary_fns.wgsl"

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flat_id(gid, nwg, 64u);
#if ${VEC4}
  if (i >= u.t) { return; }
  for (var j = i; j < u.m; j += u.t) { dx[j] = ${OP}(g[j], s[j]); }
#else
  if (i >= u.m) { return; }
  var gv = vec4<f32>(0.0);
  var sv = vec4<f32>(1.0);
  for (var k = 0u; k < 4u; k++) {
    let j = i + k * u.m;
    if (j < u.n) { gv[k] = g[j]; sv[k] = s[j]; }
  }
  let r = ${OP}(gv, sv);
  for (var k = 0u; k < 4u; k++) {
    let j = i + k * u.m;
    if (j < u.n) { dx[j] = r[k]; }
  }
#endif
}
