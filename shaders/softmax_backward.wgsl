// Backward of softmax.wgsl, same row layout. a = saved tensor, g = upstream gradient.
//   softmax     (a = y):  dx = y * (g - sum(g * y))
//   LOG         (a = y):  dx = g - exp(y) * sum(g)
//   L2          (a = x):  n = ||x||; n > eps: dx = g / n - x * sum(g * x) / n^3; else dx = g / eps
#include "common.wgsl"
struct U { rows: u32, d: u32, inner: u32, eps: f32 }
@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read> g: array<f32>;
@group(0) @binding(2) var<storage, read_write> dx: array<f32>;
@group(0) @binding(3) var<uniform> u: U;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let r = flat_id(gid, nwg, 64u);
  if (r >= u.rows) { return; }
  let o = r / u.inner;
  let base = o * u.d * u.inner + (r - o * u.inner);
  let st = u.inner;
  let end = base + u.d * st;
#if ${L2}
  var ss = 0.0;
  var gx = 0.0;
  for (var p = base; p < end; p += st) { let v = a[p]; ss += v * v; gx += g[p] * v; }
  let n = sqrt(ss);
  if (n > u.eps) {
    let inv = 1.0 / n;
    let c = gx * inv * inv * inv;
    for (var p = base; p < end; p += st) { dx[p] = g[p] * inv - a[p] * c; }
  } else {
    let inv = 1.0 / u.eps;
    for (var p = base; p < end; p += st) { dx[p] = g[p] * inv; }
  }
#elif ${LOG}
  var sg = 0.0;
  for (var p = base; p < end; p += st) { sg += g[p]; }
  for (var p = base; p < end; p += st) { dx[p] = g[p] - exp(a[p]) * sg; }
#else
  var gy = 0.0;
  for (var p = base; p < end; p += st) { gy += g[p] * a[p]; }
  for (var p = base; p < end; p += st) { dx[p] = a[p] * (g[p] - gy); }
#endif
}
