// Column sums of two matrices in one pass (the partial sums a backward kernel leaves for two
// parameters: LayerNorm's gamma and beta, a depthwise conv's weight and bias):
//   oa[k] = Σ_p a[p, k] (k < da),  ob[k] = Σ_p b[p, k] (k < db),  p < rows
// One thread per output column, lanes on consecutive columns (consecutive addresses per step).
#include "common.wgsl"
struct U { rows: u32, da: u32, db: u32 }
@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read> b: array<f32>;
@group(0) @binding(2) var<storage, read_write> oa: array<f32>;
@group(0) @binding(3) var<storage, read_write> ob: array<f32>;
@group(0) @binding(4) var<uniform> u: U;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = flat_id(gid, nwg, 64u);
  if (t < u.da) {
    var s = 0.0;
    for (var p = 0u; p < u.rows; p++) { s += a[p * u.da + t]; }
    oa[t] = s;
  } else if (t < u.da + u.db) {
    let k = t - u.da;
    var s = 0.0;
    for (var p = 0u; p < u.rows; p++) { s += b[p * u.db + k]; }
    ob[k] = s;
  }
}
