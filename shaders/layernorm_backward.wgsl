// Backward of layernorm.wgsl for x (same rows and strides: x and dx at xs, g at os), recomputing the
// row statistics from x (so the backward needs nothing from the forward but its inputs). One
// invocation per row, one read pass:
//   xhat = (x - mean) * rstd, gh = g * gamma[k]
//   dx = rstd * (gh - mean(gh) - xhat * mean(gh * xhat))
// Also writes stats[row] = (mean, rstd) for layernorm_param.wgsl.
#include "common.wgsl"
struct U { rows: u32, d: u32, inner: u32, eps: f32, xs: vec4<u32>, os: vec4<u32> }
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> gamma: array<f32>;
@group(0) @binding(2) var<storage, read> g: array<f32>;
@group(0) @binding(3) var<storage, read_write> dx: array<f32>;
@group(0) @binding(4) var<storage, read_write> stats: array<f32>;
@group(0) @binding(5) var<uniform> u: U;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let r = flat_id(gid, nwg, 64u);
  if (r >= u.rows) { return; }
  let o = r / u.inner;
  let i = r - o * u.inner;
  let base = o * u.xs.x + i * u.xs.z;
  let st = u.xs.y;
  let gbase = o * u.os.x + i * u.os.z;
  let k0 = x[base];
  var s = 0.0;
  var s2 = 0.0;
  var sg = 0.0;
  var sgx = 0.0;
  var p = base;
  var q = gbase;
  for (var k = 0u; k < u.d; k++) {
    let v = x[p] - k0;
    let gh = g[q] * gamma[k];
    s += v; s2 += v * v; sg += gh; sgx += gh * v;
    p += st;
    q += u.os.y;
  }
  let invd = 1.0 / f32(u.d);
  let ms = s * invd;
  let var_ = max(s2 * invd - ms * ms, 0.0);
  let rstd = inverseSqrt(var_ + u.eps);
  let mg = sg * invd;
  // mean(gh * xhat) = rstd * (mean(gh * v) - ms * mean(gh)), v = x - k0
  let mgx = rstd * (sgx * invd - ms * mg);
  stats[2u * r] = k0 + ms;
  stats[2u * r + 1u] = rstd;
  p = base;
  q = gbase;
  for (var k = 0u; k < u.d; k++) {
    let xhat = (x[p] - k0 - ms) * rstd;
    dx[p] = rstd * (g[q] * gamma[k] - mg - xhat * mgx);
    p += st;
    q += u.os.y;
  }
}
