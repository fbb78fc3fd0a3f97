// LayerNorm over one axis of x viewed as [outer, D, inner] (element (o, k, i) at o*D*inner + k*inner + i):
// inner = 1 is the usual last-dim LayerNorm, outer = N, D = C, inner = H*W the channels-first one.
// out = (x - mean) * rstd * gamma[k] + beta[k]. One invocation per row (o, i), no barriers: one pass
// of shifted sums (shift = the row's first element, so no cancellation when |mean| >> std), one write pass.
#include "common.wgsl"
struct U { rows: u32, d: u32, inner: u32, eps: f32 }
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> gamma: array<f32>;
@group(0) @binding(2) var<storage, read> beta: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@group(0) @binding(4) var<uniform> u: U;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let r = flat_id(gid, nwg, 64u);
  if (r >= u.rows) { return; }
  let o = r / u.inner;
  let st = u.inner;
  let base = o * u.d * st + (r - o * st);
  let k0 = x[base];
  var s = 0.0;
  var s2 = 0.0;
  var p = base;
  for (var k = 0u; k < u.d; k++) { let v = x[p] - k0; s += v; s2 += v * v; p += st; }
  let invd = 1.0 / f32(u.d);
  let ms = s * invd;
  let var_ = max(s2 * invd - ms * ms, 0.0);
  let rstd = inverseSqrt(var_ + u.eps);
  let mean = k0 + ms;
  p = base;
  for (var k = 0u; k < u.d; k++) { out[p] = (x[p] - mean) * rstd * gamma[k] + beta[k]; p += st; }
}
