// Row L2 normalisation for arcfaceHead, one invocation per row of x [N, D]:
// y = x / max(|x|, eps). GRAD: dx = (g - y (y·g)) / |x| when |x| > eps, else g / eps.
#include "common.wgsl"
struct U { n: u32, d: u32, eps: f32 }
@group(0) @binding(0) var<storage, read> x: array<f32>;
#if ${GRAD}
@group(0) @binding(1) var<storage, read> g: array<f32>;
@group(0) @binding(2) var<storage, read_write> dx: array<f32>;
@group(0) @binding(3) var<uniform> u: U;
#else
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
@group(0) @binding(2) var<uniform> u: U;
#endif

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let r = flat_id(gid, nwg, 64u);
  if (r >= u.n) { return; }
  let base = r * u.d;
  var ss = 0.0;
  for (var j = 0u; j < u.d; j++) { let v = x[base + j]; ss += v * v; }
  let nrm = sqrt(ss);
  let inv = 1.0 / max(nrm, u.eps);
#if ${GRAD}
  if (nrm > u.eps) {
    var yg = 0.0;
    for (var j = 0u; j < u.d; j++) { yg += x[base + j] * g[base + j]; }
    yg *= inv;
    for (var j = 0u; j < u.d; j++) { dx[base + j] = (g[base + j] - x[base + j] * inv * yg) * inv; }
  } else {
    for (var j = 0u; j < u.d; j++) { dx[base + j] = g[base + j] * inv; }
  }
#else
  for (var j = 0u; j < u.d; j++) { y[base + j] = x[base + j] * inv; }
#endif
}
