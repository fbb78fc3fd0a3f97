// Backward of layernorm.wgsl for x (same row layout), recomputing the row statistics from x (so the
// backward needs nothing from the forward but its inputs). One invocation per row, one read pass:
//   xhat = (x - mean) * rstd, gh = g * gamma[k]
//   dx = rstd * (gh - mean(gh) - xhat * mean(gh * xhat))
// Also writes stats[row] = (mean, rstd) for layernorm_param.wgsl.
#include "common.wgsl"
struct U { rows: u32, d: u32, inner: u32, eps: f32 }
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
  let st = u.inner;
  let base = o * u.d * st + (r - o * st);
  let k0 = x[base];
  var s = 0.0;
  var s2 = 0.0;
  var sg = 0.0;
  var sgx = 0.0;
  var p = base;
  for (var k = 0u; k < u.d; k++) {
    let v = x[p] - k0;
    let gh = g[p] * gamma[k];
    s += v; s2 += v * v; sg += gh; sgx += gh * v;
    p += st;
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
  for (var k = 0u; k < u.d; k++) {
    let xhat = (x[p] - k0 - ms) * rstd;
    dx[p] = rstd * (g[p] * gamma[k] - mg - xhat * mgx);
    p += st;
  }
}
