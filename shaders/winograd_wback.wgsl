// Winograd F(4x4, 3x3) weight gradient, back to the 3x3 kernels (src/runtime/ops/conv-winograd.ts):
// dw[a, b, ky, kx] = (Gᵀ dU[·, a, b] G)[ky, kx] for the transform-domain gradient dU [36, Co, Ci]
// (dU[r·6 + s, a, b] is row r, column s), dw [Co, Ci, 3, 3]. One invocation per (a, b).
#include "common.wgsl"
#include "winograd_common.wgsl"
struct U { total: u32, p0: u32, p1: u32, p2: u32 }
@group(0) @binding(0) var<storage, read> dU: array<f32>;
@group(0) @binding(1) var<storage, read_write> dw: array<f32>;
@group(0) @binding(2) var<uniform> u: U;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flat_id(gid, nwg, 64u);
  if (i >= u.total) { return; }
  // Gᵀ down each of the 6 columns (6 -> 3), then Gᵀ along each of the 3 rows.
  var c: array<vec3<f32>, 6>;
  for (var s = 0u; s < 6u; s++) {
    c[s] = gt3(array<f32, 6>(dU[i + s * u.total], dU[i + (6u + s) * u.total], dU[i + (12u + s) * u.total],
                             dU[i + (18u + s) * u.total], dU[i + (24u + s) * u.total], dU[i + (30u + s) * u.total]));
  }
  for (var ky = 0u; ky < 3u; ky++) {
    let k = gt3(array<f32, 6>(c[0][ky], c[1][ky], c[2][ky], c[3][ky], c[4][ky], c[5][ky]));
    dw[i * 9u + ky * 3u] = k.x;
    dw[i * 9u + ky * 3u + 1u] = k.y;
    dw[i * 9u + ky * 3u + 2u] = k.z;
  }
}
