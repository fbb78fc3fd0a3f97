// PReLU: y = x > 0 ? x : w[c] * x, c = (i / inner) % C (channel dim 1 of NCHW; C = 1 for a single
// shared weight). VEC4 (inner % 4 == 0): one vec4 of one channel per invocation; else one element.
// GRAD: inputs g, x, w; outputs dx = g * (x > 0 ? 1 : w[c]) and gwe = g * x * (x <= 0), the
// per-element terms of dw (summed per channel by the op).
#include "common.wgsl"
struct U { n: u32, inner: u32, c: u32 }
#if ${VEC4}
alias V = vec4<f32>;
#else
alias V = f32;
#endif
#if ${GRAD}
@group(0) @binding(0) var<storage, read> g: array<V>;
@group(0) @binding(1) var<storage, read> x: array<V>;
@group(0) @binding(2) var<storage, read> w: array<f32>;
@group(0) @binding(3) var<storage, read_write> dx: array<V>;
@group(0) @binding(4) var<storage, read_write> gwe: array<V>;
@group(0) @binding(5) var<uniform> u: U;
#else
@group(0) @binding(0) var<storage, read> x: array<V>;
@group(0) @binding(1) var<storage, read> w: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<V>;
@group(0) @binding(3) var<uniform> u: U;
#endif

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flat_id(gid, nwg, 64u);
#if ${VEC4}
  if (i >= u.n / 4u) { return; }
  let c = ((i * 4u) / u.inner) % u.c;
#else
  if (i >= u.n) { return; }
  let c = (i / u.inner) % u.c;
#endif
  let wc = w[c];
  let xv = x[i];
  let pos = xv > V(0.0);
#if ${GRAD}
  let gv = g[i];
  dx[i] = select(gv * wc, gv, pos);
  gwe[i] = select(gv * xv, V(0.0), pos);
#else
  out[i] = select(xv * wc, xv, pos);
#endif
}
