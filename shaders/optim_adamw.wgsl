// AdamW step in place (PyTorch semantics): p *= 1 - lr·wd; m = b1·m + (1-b1)·g;
// v = b2·v + (1-b2)·g²; p -= (lr / bc1) · m / (sqrt(v) / sqrt(bc2) + eps), bc_i = 1 - b_i^t.
// The step t and everything else are uniforms (bias corrections computed from t in float64 on the
// CPU and passed as bc1, sbc2 = sqrt(bc2)). VEC4 when n % 4 == 0.
#include "common.wgsl"
struct U { n: u32, t: u32, lr: f32, b1: f32, b2: f32, eps: f32, wd: f32, bc1: f32, sbc2: f32, nt: u32 }
#if ${VEC4}
alias V = vec4<f32>;
#else
alias V = f32;
#endif
@group(0) @binding(0) var<storage, read> g: array<V>;
@group(0) @binding(1) var<storage, read_write> p: array<V>;
@group(0) @binding(2) var<storage, read_write> m: array<V>;
@group(0) @binding(3) var<storage, read_write> v: array<V>;
@group(0) @binding(4) var<uniform> u: U;

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
    let gv = g[j];
    let pv = p[j] * (1.0 - u.lr * u.wd);
    let mv = m[j] + (1.0 - u.b1) * (gv - m[j]);
    let vv = u.b2 * v[j] + (1.0 - u.b2) * gv * gv;
    m[j] = mv;
    v[j] = vv;
    p[j] = pv - (u.lr / u.bc1) * mv / (sqrt(vv) / u.sbc2 + u.eps);
  }
}
