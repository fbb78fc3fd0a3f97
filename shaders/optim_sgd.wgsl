// SGD step in place (PyTorch semantics, dampening 0): d = g + wd·p; with MOMENTUM
// buf = first ? d : momentum·buf + d, d = nesterov ? d + momentum·buf : buf; then p -= lr·d.
// lr, momentum, wd and the flags are uniforms (changing lr recompiles nothing). VEC4 when n % 4 == 0.
#include "common.wgsl"
struct U { n: u32, first: u32, nesterov: u32, lr: f32, momentum: f32, wd: f32, nt: u32 }
#if ${VEC4}
alias V = vec4<f32>;
#else
alias V = f32;
#endif
@group(0) @binding(0) var<storage, read> g: array<V>;
@group(0) @binding(1) var<storage, read_write> p: array<V>;
#if ${MOMENTUM}
@group(0) @binding(2) var<storage, read_write> buf: array<V>;
@group(0) @binding(3) var<uniform> u: U;
#else
@group(0) @binding(2) var<uniform> u: U;
#endif

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
    let pv = p[j];
    var d = g[j] + u.wd * pv;
  #if ${MOMENTUM}
    var b = d;
    if (u.first == 0u) { b = u.momentum * buf[j] + d; }
    buf[j] = b;
    if (u.nesterov != 0u) { d = d + u.momentum * b; } else { d = b; }
  #endif
    p[j] = pv - u.lr * d;
  }
}
