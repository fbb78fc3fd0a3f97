// Winograd F(4x4, 3x3) output transform (src/runtime/ops/conv-winograd.ts): for output channel c < C
// and tile t < T of a chunk (global tile t0 + t = (n, ty, tx)), the 4x4 block y = Aᵀ m A of the
// products' values m[a, b] = M[a·6 + b, c, t] (M [36, C, T]) goes to out [N, C, Ho, Wo] at rows
// 4·ty + 0..3, columns 4·tx + 0..3 (what lies past Ho, Wo is dropped); + bias[c], then PReLU with
// slopes alpha[c] (HAS_BIAS, HAS_PRELU). One invocation per (c, t), t fastest; the flat index is
// folded into 2-D past 65,535 workgroups.
// SHUFFLE = r > 0: pixelShuffle(r) folded into the stores (conv2dPixelShuffle): channel c = c'·r² + i·r + j
// of output pixel (oy, ox) goes to [n, c', oy·r + i, ox·r + j] of out [N, C / r², Ho·r, Wo·r] (r a
// constant: the channel split is shifts for r = 2, once per invocation).
// RELU: max(y, 0) after the bias (a conv followed by ReLU, inference only: src/runtime/ops/conv.ts
// conv2dFused). RESIDUAL: out = res + u.rscale · y, res [N, C, Ho, Wo] (a residual block's last conv:
// x + s · conv(h), and DSR's body end; inference only, not with SHUFFLE).
// Defines: HAS_BIAS, HAS_PRELU, RELU, RESIDUAL, SHUFFLE.
#include "common.wgsl"
#include "winograd_common.wgsl"
struct U {
  total: u32, T: u32, C: u32, t0: u32,
  tilesW: u32, tilesHW: u32, Ho: u32, Wo: u32,
  rscale: f32, p0: u32, p1: u32, p2: u32,
}
@group(0) @binding(0) var<storage, read> M: array<f32>;
#if ${HAS_BIAS}
@group(0) @binding(1) var<storage, read> bias: array<f32>;
#endif
#if ${HAS_PRELU}
@group(0) @binding(2) var<storage, read> alpha: array<f32>;
#endif
#if ${RESIDUAL}
@group(0) @binding(3) var<storage, read> res: array<f32>;
#endif
@group(0) @binding(4) var<storage, read_write> out: array<f32>;
@group(0) @binding(5) var<uniform> u: U;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flat_id(gid, nwg, 64u);
  if (i >= u.total) { return; }
  let tl = tile_of(i, u.T, u.t0, u.tilesHW, u.tilesW);
  let c = tl.c;
  let t = tl.t;
  let stride = u.C * u.T;
  let o = c * u.T + t;
  // Aᵀ down each column of m, then Aᵀ along each of the 4 rows.
  var cols: array<vec4<f32>, 6>;
  for (var b = 0; b < 6; b++) {
    cols[b] = at4(array<f32, 6>(M[o + u32(b) * stride], M[o + u32(6 + b) * stride], M[o + u32(12 + b) * stride],
                                M[o + u32(18 + b) * stride], M[o + u32(24 + b) * stride], M[o + u32(30 + b) * stride]));
  }
  var add = 0.0;
#if ${HAS_BIAS}
  add = bias[c];
#endif
  let oy0 = tl.ty * 4u;
  let ox0 = tl.tx * 4u;
#if ${SHUFFLE}
  // out[n, c', oy·r + i, ox·r + j] (r = sr): rows of Wo·r, r of them per output row, channel c' planes.
  let sr = ${SHUFFLE}u;
  let wr = u.Wo * sr;
  let first = (tl.n * (u.C / (sr * sr)) + c / (sr * sr)) * u.Ho * sr * wr + ((c / sr) % sr) * wr + c % sr;
#else
  let wr = u.Wo;
  let sr = 1u;
  let first = (tl.n * u.C + c) * u.Ho * u.Wo;
#endif
  for (var r = 0u; r < 4u; r++) {
    let y = at4(array<f32, 6>(cols[0][r], cols[1][r], cols[2][r], cols[3][r], cols[4][r], cols[5][r])) + vec4<f32>(add);
    let oy = oy0 + r;
    if (oy >= u.Ho) { break; }
    for (var s = 0u; s < 4u; s++) {
      var v = y[s];
#if ${HAS_PRELU}
      v = select(alpha[c] * v, v, v > 0.0);
#endif
#if ${RELU}
      v = max(v, 0.0);
#endif
      let at = first + oy * sr * wr + (ox0 + s) * sr;
#if ${RESIDUAL}
      if (ox0 + s < u.Wo) { out[at] = res[at] + u.rscale * v; }
#else
      if (ox0 + s < u.Wo) { out[at] = v; }
#endif
    }
  }
}
