// Row-wise normalisations along one axis of x viewed as [outer, D, inner] (element (o, k, i) at
// o*D*inner + k*inner + i). One invocation per row (o, i): no barriers, strided reads when inner > 1.
// Defines: LOG (log-softmax), L2 (x / max(||x||, eps)), else softmax. Numerically stable (max first).
#include "common.wgsl"
struct U { rows: u32, d: u32, inner: u32, eps: f32 }
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<uniform> u: U;

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
  for (var p = base; p < end; p += st) { let v = x[p]; ss += v * v; }
  let inv = 1.0 / max(sqrt(ss), u.eps);
  for (var p = base; p < end; p += st) { out[p] = x[p] * inv; }
#else
  var m = -3.4028234663852886e38;
  for (var p = base; p < end; p += st) { m = max(m, x[p]); }
  var s = 0.0;
  for (var p = base; p < end; p += st) { s += exp(x[p] - m); }
#if ${LOG}
  let sh = m + log(s);
  for (var p = base; p < end; p += st) { out[p] = x[p] - sh; }
#else
  let inv = 1.0 / s;
  for (var p = base; p < end; p += st) { out[p] = exp(x[p] - m) * inv; }
#endif
#endif
}
