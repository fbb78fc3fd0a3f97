// BatchNorm2d statistics, stage 1 (no barriers): partial sums per (channel c, image n, segment s of H*W),
// shifted by k0 = x[0, c, 0, 0] (no cancellation when |mean| >> std; all partials of a channel share k0):
//   part[(c*P + q)*NV + ...] = sum(v), sum(v*v) [, sum(g), sum(g*v)],  v = x - k0, q = n*S + s, P = N*S.
// Defines: WITH_G (backward: also the sums with the upstream gradient g; NV = 4, else 2).
#include "common.wgsl"
struct U { c: u32, hw: u32, s: u32, seg: u32, p: u32, n: u32 }
@group(0) @binding(0) var<storage, read> x: array<f32>;
#if ${WITH_G}
@group(0) @binding(1) var<storage, read> g: array<f32>;
@group(0) @binding(2) var<storage, read_write> part: array<f32>;
@group(0) @binding(3) var<uniform> u: U;
#else
@group(0) @binding(1) var<storage, read_write> part: array<f32>;
@group(0) @binding(2) var<uniform> u: U;
#endif

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = flat_id(gid, nwg, 64u);
  if (t >= u.n) { return; }
  let c = t / u.p;
  let q = t - c * u.p;
  let n = q / u.s;
  let sidx = q - n * u.s;
  let k0 = x[c * u.hw];
  let base = (n * u.c + c) * u.hw;
  let j0 = sidx * u.seg;
  let j1 = min(j0 + u.seg, u.hw);
  var s = 0.0;
  var s2 = 0.0;
#if ${WITH_G}
  var sg = 0.0;
  var sgv = 0.0;
  for (var j = base + j0; j < base + j1; j++) { let v = x[j] - k0; let gv = g[j]; s += v; s2 += v * v; sg += gv; sgv += gv * v; }
  part[4u * t] = s;
  part[4u * t + 1u] = s2;
  part[4u * t + 2u] = sg;
  part[4u * t + 3u] = sgv;
#else
  for (var j = base + j0; j < base + j1; j++) { let v = x[j] - k0; s += v; s2 += v * v; }
  part[2u * t] = s;
  part[2u * t + 1u] = s2;
#endif
}
