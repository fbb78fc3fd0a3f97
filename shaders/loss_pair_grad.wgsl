// Backward of l1Loss / mseLoss: dp = g[0] · scale · f'(p - t) (L1: sign, MSE: 2(p - t)); the
// target's gradient is -dp. VEC4 when n % 4 == 0, else one element per invocation.
#include "common.wgsl"
struct U { n: u32, scale: f32 }
#if ${VEC4}
alias V = vec4<f32>;
#else
alias V = f32;
#endif
@group(0) @binding(0) var<storage, read> p: array<V>;
@group(0) @binding(1) var<storage, read> t: array<V>;
@group(0) @binding(2) var<storage, read> g: array<f32>;
@group(0) @binding(3) var<storage, read_write> dp: array<V>;
@group(0) @binding(4) var<uniform> u: U;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flat_id(gid, nwg, 64u);
#if ${VEC4}
  if (i >= u.n / 4u) { return; }
#else
  if (i >= u.n) { return; }
#endif
  let d = p[i] - t[i];
  let gs = g[0] * u.scale;
#if ${L1}
  dp[i] = gs * sign(d);
#else
  dp[i] = (2.0 * gs) * d;
#endif
}
