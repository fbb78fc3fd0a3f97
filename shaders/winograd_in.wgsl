// Winograd F(4x4, 3x3) input transform (src/runtime/ops/conv-winograd.ts): for channel c < C and tile
// t < T of a chunk (global tile t0 + t = (n, ty, tx), tilesW tiles across, tilesHW per image), the 6x6
// patch d of x [N, C, H, W] (or its pixelShuffle(r): IN_SHUFFLE, winograd_plane.wgsl) at rows 4·ty - ph + 0..5, columns 4·tx - pw + 0..5 (0 outside the image)
// goes to V[e, c, t] = (Bᵀ d B)[e / 6, e % 6], V [36, C, T]: the B operand of the 36 products
// U[e] [Co, C] · V[e] [C, T]. One invocation per (c, t), t fastest (consecutive lanes write
// consecutive addresses); the flat index is folded into 2-D past 65,535 workgroups.
// DY_TOO (the backward of a 3x3 conv at padding 1, x = dy, ph = pw = 1): also the weight gradient's
// transform of the same tile of dy, the patch's inner 4x4 (rows and columns 1..4 = dy at 4·ty, 4·tx),
// D[e, c, t] = (A d Aᵀ)[e / 6, e % 6] with TILE_SUMS' S[c, t] as shaders/winograd_dy.wgsl writes them
// (the same values, the same order): one read of dy for both gradients.
#include "common.wgsl"
#include "winograd_common.wgsl"
#include "winograd_plane.wgsl"
struct U {
  total: u32, T: u32, C: u32, t0: u32,
  tilesW: u32, tilesHW: u32, H: u32, W: u32,
  ph: i32, pw: i32, p0: u32, p1: u32,
}
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> V: array<f32>;
#if ${DY_TOO}
@group(0) @binding(2) var<storage, read_write> D: array<f32>;
#if ${TILE_SUMS}
@group(0) @binding(3) var<storage, read_write> S: array<f32>;
@group(0) @binding(4) var<uniform> u: U;
#else
@group(0) @binding(3) var<uniform> u: U;
#endif
#else
@group(0) @binding(2) var<uniform> u: U;
#endif

fn x_at(plane: Plane, iy: i32, ix: i32) -> f32 {
  let ok = iy >= 0 && iy < i32(u.H) && ix >= 0 && ix < i32(u.W);
  let i = plane.base + u32(clamp(iy, 0, i32(u.H) - 1)) * plane.row + u32(clamp(ix, 0, i32(u.W) - 1)) * plane.col;
  return select(0.0, x[i], ok);
}

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flat_id(gid, nwg, 64u);
  if (i >= u.total) { return; }
  let tl = tile_of(i, u.T, u.t0, u.tilesHW, u.tilesW);
  let c = tl.c;
  let t = tl.t;
  let plane = plane_of(tl.n, c, u.C, u.H, u.W);
  let iy = i32(tl.ty) * 4 - u.ph;
  let ix = i32(tl.tx) * 4 - u.pw;
  // Bᵀ along each row of the patch, then Bᵀ down each column of the result.
  var r: array<array<f32, 6>, 6>;
#if ${DY_TOO}
  // and A along rows 1..4 of the inner 4x4 (4 -> 6)
  var q: array<array<f32, 6>, 4>;
#endif
  for (var a = 0; a < 6; a++) {
    let d = array<f32, 6>(x_at(plane, iy + a, ix), x_at(plane, iy + a, ix + 1), x_at(plane, iy + a, ix + 2),
                          x_at(plane, iy + a, ix + 3), x_at(plane, iy + a, ix + 4), x_at(plane, iy + a, ix + 5));
    r[a] = bt6(d);
#if ${DY_TOO}
    if (a >= 1 && a <= 4) { q[a - 1] = a6(vec4<f32>(d[1], d[2], d[3], d[4])); }
#endif
  }
  let stride = u.C * u.T;
  let o = c * u.T + t;
  for (var b = 0; b < 6; b++) {
    let col = bt6(array<f32, 6>(r[0][b], r[1][b], r[2][b], r[3][b], r[4][b], r[5][b]));
    for (var a = 0; a < 6; a++) {
      V[o + u32(a * 6 + b) * stride] = col[a];
    }
  }
#if ${DY_TOO}
  // A down each of the 6 columns of q
  for (var b = 0; b < 6; b++) {
    let col = a6(vec4<f32>(q[0][b], q[1][b], q[2][b], q[3][b]));
    for (var a = 0; a < 6; a++) {
      D[o + u32(a * 6 + b) * stride] = col[a];
    }
#if ${TILE_SUMS}
    if (b == 1) { S[o] = col[1]; }
#endif
  }
#endif
}
