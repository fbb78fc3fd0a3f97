// LayerNorm over one axis: row r = (o, i) of `rows` rows (o = r / inner), element k of D at
//   x:   o * xs.x + k * xs.y + i * xs.z        out: o * os.x + k * os.y + i * os.z
// (strides in uniforms). One layout for both, [outer, D, inner] = (D * inner, inner, 1): inner = 1 is the
// usual last-dim LayerNorm, outer = N, D = C, inner = H*W the channels-first one; out (inner * D, 1, D)
// from channels-first x writes the normalised map channels-last ([N, H, W, C]: no permute pass).
// out = (x - mean) * rstd * gamma[k] + beta[k]. One invocation per row, no barriers: one pass of shifted
// sums (shift = the row's first element, so no cancellation when |mean| >> std), one write pass.
#include "common.wgsl"
struct U { rows: u32, d: u32, inner: u32, eps: f32, xs: vec4<u32>, os: vec4<u32> }
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
  let i = r - o * u.inner;
  let base = o * u.xs.x + i * u.xs.z;
  let st = u.xs.y;
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
  var q = o * u.os.x + i * u.os.z;
  for (var k = 0u; k < u.d; k++) { out[q] = (x[p] - mean) * rstd * gamma[k] + beta[k]; p += st; q += u.os.y; }
}
