// Winograd F(4x4, 3x3) input transform (src/runtime/ops/conv-winograd.ts): for channel c < C and tile
// t < T of a chunk (global tile t0 + t = (n, ty, tx), tilesW tiles across, tilesHW per image), the 6x6
// patch d of x [N, C, H, W] (or its pixelShuffle(r): IN_SHUFFLE, winograd_plane.wgsl) at rows 4·ty - ph + 0..5, columns 4·tx - pw + 0..5 (0 outside the image)
// goes to V[e, c, t] = (Bᵀ d B)[e / 6, e % 6], V [36, C, T]: the B operand of the 36 products
// U[e] [Co, C] · V[e] [C, T]. One invocation per (c, t), t fastest (consecutive lanes write
// consecutive addresses); the flat index is folded into 2-D past 65,535 workgroups.
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
@group(0) @binding(2) var<uniform> u: U;

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
  for (var a = 0; a < 6; a++) {
    r[a] = bt6(array<f32, 6>(x_at(plane, iy + a, ix), x_at(plane, iy + a, ix + 1), x_at(plane, iy + a, ix + 2),
                             x_at(plane, iy + a, ix + 3), x_at(plane, iy + a, ix + 4), x_at(plane, iy + a, ix + 5)));
  }
  let stride = u.C * u.T;
  let o = c * u.T + t;
  for (var b = 0; b < 6; b++) {
    let col = bt6(array<f32, 6>(r[0][b], r[1][b], r[2][b], r[3][b], r[4][b], r[5][b]));
    for (var a = 0; a < 6; a++) {
      V[o + u32(a * 6 + b) * stride] = col[a];
    }
  }
}
