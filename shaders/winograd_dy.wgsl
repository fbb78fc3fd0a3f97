// Winograd F(4x4, 3x3) weight gradient, output-gradient transform (src/runtime/ops/conv-winograd.ts):
// for channel c < C and tile t < T of a chunk (global tile t0 + t = (n, ty, tx)), the 4x4 tile d of
// dy [N, C, Ho, Wo] (or its pixelShuffle(r): IN_SHUFFLE, winograd_plane.wgsl) at rows 4·ty + 0..3, columns 4·tx + 0..3 (0 past Ho, Wo) goes to
// D[e, c, t] = (A d Aᵀ)[e / 6, e % 6], D [36, C, T]: with the input transform V [36, Ci, T] of the
// same tiles, dU[e] = D[e] · V[e]ᵀ is the gradient of the transformed kernels. One invocation per
// (c, t), t fastest; the flat index is folded into 2-D past 65,535 workgroups.
// TILE_SUMS: also S[c, t] = the sum of the tile, D[7, c, t] (row 1 of A is all ones), for the bias
// gradient (the sum of S over t: 16x fewer elements than dy, and no pass over dy of its own).
#include "common.wgsl"
#include "winograd_common.wgsl"
#include "winograd_plane.wgsl"
struct U {
  total: u32, T: u32, C: u32, t0: u32,
  tilesW: u32, tilesHW: u32, Ho: u32, Wo: u32,
}
@group(0) @binding(0) var<storage, read> dy: array<f32>;
@group(0) @binding(1) var<storage, read_write> D: array<f32>;
#if ${TILE_SUMS}
@group(0) @binding(2) var<storage, read_write> S: array<f32>;
@group(0) @binding(3) var<uniform> u: U;
#else
@group(0) @binding(2) var<uniform> u: U;
#endif

fn dy_at(plane: Plane, oy: u32, ox: u32) -> f32 {
  let ok = oy < u.Ho && ox < u.Wo;
  return select(0.0, dy[plane.base + min(oy, u.Ho - 1u) * plane.row + min(ox, u.Wo - 1u) * plane.col], ok);
}

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flat_id(gid, nwg, 64u);
  if (i >= u.total) { return; }
  let tl = tile_of(i, u.T, u.t0, u.tilesHW, u.tilesW);
  let c = tl.c;
  let t = tl.t;
  let plane = plane_of(tl.n, c, u.C, u.Ho, u.Wo);
  let oy = tl.ty * 4u;
  let ox = tl.tx * 4u;
  // A along each of the 4 rows (4 -> 6), then A down each of the 6 columns.
  var r: array<array<f32, 6>, 4>;
  for (var a = 0u; a < 4u; a++) {
    r[a] = a6(vec4<f32>(dy_at(plane, oy + a, ox), dy_at(plane, oy + a, ox + 1u), dy_at(plane, oy + a, ox + 2u), dy_at(plane, oy + a, ox + 3u)));
  }
  let stride = u.C * u.T;
  let o = c * u.T + t;
  for (var b = 0; b < 6; b++) {
    let col = a6(vec4<f32>(r[0][b], r[1][b], r[2][b], r[3][b]));
    for (var a = 0; a < 6; a++) {
      D[o + u32(a * 6 + b) * stride] = col[a];
    }
#if ${TILE_SUMS}
    if (b == 1) { S[o] = col[1]; }
#endif
  }
}
