// Winograd F(4x4, 3x3) weight transform (src/runtime/ops/conv-winograd.ts): U[e, a, b] = (G g Gᵀ)[e / 6, e % 6],
// U [36, Cout, Cin], for the 3x3 kernel g of output channel a < Cout and input channel b < Cin:
//   g[ky, kx] = w[a, b, ky, kx]                   (w [Cout, Cin, 3, 3]: the forward)
//   g[ky, kx] = w[b, a, 2 - ky, 2 - kx]           (FLIP: w [Cin, Cout, 3, 3], the backward-data at
//                                                  stride 1: the forward of dy with the rotated kernel)
// One invocation per (a, b).
// Defines: FLIP.
#include "common.wgsl"
#include "winograd_common.wgsl"
struct U { total: u32, Cin: u32, Cout: u32, p0: u32 }
@group(0) @binding(0) var<storage, read> w: array<f32>;
@group(0) @binding(1) var<storage, read_write> Uw: array<f32>;
@group(0) @binding(2) var<uniform> u: U;

fn g_at(a: u32, b: u32, ky: u32, kx: u32) -> f32 {
#if ${FLIP}
  return w[(b * u.Cout + a) * 9u + (2u - ky) * 3u + (2u - kx)];
#else
  return w[(a * u.Cin + b) * 9u + ky * 3u + kx];
#endif
}

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flat_id(gid, nwg, 64u);
  if (i >= u.total) { return; }
  let a = i / u.Cin;
  let b = i % u.Cin;
  // G down each kernel column, then G along each row of the result.
  var c: array<array<f32, 6>, 3>;
  for (var kx = 0u; kx < 3u; kx++) { c[kx] = g6(g_at(a, b, 0u, kx), g_at(a, b, 1u, kx), g_at(a, b, 2u, kx)); }
  let stride = u.Cout * u.Cin;
  for (var r = 0; r < 6; r++) {
    let row = g6(c[0][r], c[1][r], c[2][r]);
    for (var s = 0; s < 6; s++) { Uw[i + u32(r * 6 + s) * stride] = row[s]; }
  }
}
