// Weight normalisation w = g * v / ||v||, the norm taken over every dim of v except `dim`.
// v is viewed as [P, D, Q] (P = dims before `dim`, Q = dims after); one 64-thread workgroup per d
// reduces the R = P*Q elements of slice d (strided loop, then a shared-memory tree), then writes
// that slice's outputs.
//   forward:  w = (g_d / n_d) v,  n_d = sqrt(sum v^2)
//   BACKWARD: dot_d = sum gw*v;  dg_d = dot_d / n_d;  dv = (g_d / n_d) (gw - (dot_d / n_d^2) v)
#include "common.wgsl"
struct U { d: u32, q: u32, r: u32 }
@group(0) @binding(0) var<storage, read> v: array<f32>;
@group(0) @binding(1) var<storage, read> g: array<f32>;
#if ${BACKWARD}
@group(0) @binding(2) var<storage, read> gw: array<f32>;
@group(0) @binding(3) var<storage, read_write> dv: array<f32>;
@group(0) @binding(4) var<storage, read_write> dg: array<f32>;
@group(0) @binding(5) var<uniform> u: U;
#else
@group(0) @binding(2) var<storage, read_write> w: array<f32>;
@group(0) @binding(3) var<uniform> u: U;
#endif

var<workgroup> part: array<vec2<f32>, 64>;

fn index_of(d: u32, r: u32) -> u32 {
  let p = r / u.q;
  return (p * u.d + d) * u.q + (r - p * u.q);
}

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32, @builtin(num_workgroups) nwg: vec3<u32>) {
  let d = flat_group(wid, nwg);
  // d is uniform across the workgroup, so every thread reaches the barriers.
  let live = d < u.d;
  var acc = vec2<f32>(0.0);
  if (live) {
    for (var r = lid; r < u.r; r += 64u) {
      let i = index_of(d, r);
      let x = v[i];
#if ${BACKWARD}
      acc += vec2<f32>(x * x, gw[i] * x);
#else
      acc.x += x * x;
#endif
    }
  }
  part[lid] = acc;
  workgroupBarrier();
  for (var s = 32u; s > 0u; s = s >> 1u) {
    if (lid < s) { part[lid] = part[lid] + part[lid + s]; }
    workgroupBarrier();
  }
  if (!live) { return; }
  let tot = part[0];
  let n = sqrt(tot.x);
  let scale = g[d] / n;
#if ${BACKWARD}
  let k = tot.y / tot.x;
  if (lid == 0u) { dg[d] = tot.y / n; }
  for (var r = lid; r < u.r; r += 64u) {
    let i = index_of(d, r);
    dv[i] = scale * (gw[i] - k * v[i]);
  }
#else
  for (var r = lid; r < u.r; r += 64u) {
    let i = index_of(d, r);
    w[i] = scale * v[i];
  }
#endif
}
