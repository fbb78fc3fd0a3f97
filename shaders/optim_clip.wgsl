// Gradient clipping in place: g *= min(1, maxNorm / (norm[0] + 1e-6)), norm computed on the GPU
// (loss_reduce.wgsl SUMSQ partials + loss_finish.wgsl SQRT); no readback. VEC4 when n % 4 == 0.
#include "common.wgsl"
struct U { n: u32, maxNorm: f32, nt: u32 }
#if ${VEC4}
alias V = vec4<f32>;
#else
alias V = f32;
#endif
@group(0) @binding(0) var<storage, read> norm: array<f32>;
@group(0) @binding(1) var<storage, read_write> g: array<V>;
@group(0) @binding(2) var<uniform> u: U;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flat_id(gid, nwg, 64u);
  // grid-stride over the elements (vec4s) with u.nt invocations
  if (i >= u.nt) { return; }
#if ${VEC4}
  let cnt = u.n / 4u;
#else
  let cnt = u.n;
#endif
  for (var j = i; j < cnt; j += u.nt) {
    let c = min(1.0, u.maxNorm / (norm[0] + 1e-6));
    g[j] = g[j] * c;
  }
}
