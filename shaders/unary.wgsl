// out = f(x) elementwise, f selected by the define OP (a function name from unary_fns.wgsl).
// VEC4 (n % 4 == 0): grid-stride over the m = n / 4 vec4s with T = u.t invocations (several vec4s
// per invocation: fewer workgroups, which lavapipe schedules at a cost). Otherwise each invocation
// computes elements i, i + m, i + 2m, i + 3m (m = ceil(n / 4)), so neighbouring invocations touch
// neighbouring words.
#include "common.wgsl"
struct U { n: u32, m: u32, a: f32, b: f32, t: u32 }
#if ${VEC4}
@group(0) @binding(0) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read_write> out: array<vec4<f32>>;
#else
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
#endif
@group(0) @binding(2) var<uniform> u: U;
#include "unary_fns.wgsl"

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flat_id(gid, nwg, 64u);
#if ${VEC4}
  // grid-stride: invocation i handles vec4s i, i + T, ... (T = u.t invocations in the grid)
  if (i >= u.t) { return; }
  for (var j = i; j < u.m; j += u.t) { out[j] = ${OP}(x[j]); }
#else
  if (i >= u.m) { return; }
  var v = vec4<f32>(0.0);
  for (var k = 0u; k < 4u; k++) {
    let j = i + k * u.m;
    if (j < u.n) { v[k] = x[j]; }
  }
  let r = ${OP}(v);
  for (var k = 0u; k < 4u; k++) {
    let j = i + k * u.m;
    if (j < u.n) { out[j] = r[k]; }
  }
#endif
}
