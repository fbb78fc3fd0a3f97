// Gradients of LayerNorm's gamma and beta, in chunks of the outer index (rows and strides of
// layernorm.wgsl: x at xs, g at os): invocation (p, k) sums over o in chunk p and all i:
// dgamma += g * xhat, dbeta += g, with xhat = (x - stats[row].mean) * stats[row].rstd. Writes
// partials [P, D]; the op sums them over P.
#include "common.wgsl"
struct U { d: u32, inner: u32, outer: u32, chunk: u32, n: u32, _p0: u32, _p1: u32, _p2: u32, xs: vec4<u32>, os: vec4<u32> }
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> g: array<f32>;
@group(0) @binding(2) var<storage, read> stats: array<f32>;
@group(0) @binding(3) var<storage, read_write> pgamma: array<f32>;
@group(0) @binding(4) var<storage, read_write> pbeta: array<f32>;
@group(0) @binding(5) var<uniform> u: U;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = flat_id(gid, nwg, 64u);
  if (t >= u.n) { return; }
  let pc = t / u.d;
  let k = t - pc * u.d;
  let o0 = pc * u.chunk;
  let o1 = min(o0 + u.chunk, u.outer);
  var sgx = 0.0;
  var sg = 0.0;
  for (var o = o0; o < o1; o++) {
    let row0 = o * u.inner;
    let xb = o * u.xs.x + k * u.xs.y;
    let gb = o * u.os.x + k * u.os.y;
    for (var i = 0u; i < u.inner; i++) {
      let gv = g[gb + i * u.os.z];
      let r = row0 + i;
      sgx += gv * (x[xb + i * u.xs.z] - stats[2u * r]) * stats[2u * r + 1u];
      sg += gv;
    }
  }
  pgamma[t] = sgx;
  pbeta[t] = sg;
}
