// Weight gradient of a groups-1 conv2d as a split-K GEMM on the subgroup-broadcast block of
// shaders/matmul_subgroup.wgsl (adapters with fixed 8-lane subgroups: lavapipe):
//   dw[m, ci, ky, kx] = Σ_{b, oy, ox} dy[b, m, oy, ox] · x[b, ci, oy·sh − ph + ky·dh, ox·sw − pw + kx·dw]
// rows m = output channels (M = Co), columns n = (ci, ky, kx) (N = Ci·kh·kw: the weight's layout), the
// reduction over the output pixels, split by output rows (b, oy): workgroup (s, tile) sums the rows
// [s·rowsPerSplit, (s + 1)·rowsPerSplit) and writes its block to part[s, m, n] (the op sums over s).
// A column's (ci, ky, kx) is decomposed once per tile; a loop step takes SG_KU pixels ox .. ox + SG_KU − 1
// of a row (dy read as 0 past Wo) and writes each accumulator once (lavapipe blends and spills every
// write of a loop variable).
// Defines: TILE_M, TILE_N, SG_KU, SG_DECL / SG_STEP / SG_STORE from src/runtime/ops/matmul-subgroup.ts
// (subgroupWgradDefines).
enable subgroups;
// One subgroup per workgroup: t, and so every branch before the broadcasts, is uniform in it.
diagnostic(off, subgroup_uniformity);
#include "common.wgsl"

struct U {
  M: u32, N: u32, tilesN: u32, tiles: u32,
  rows: u32, rowsPerSplit: u32, Ho: u32, Wo: u32,
  Ci: u32, H: u32, W: u32, khw: u32,
  kw: u32, sh: i32, sw: i32, ph: i32,
  pw: i32, dh: i32, dw: i32, splits: u32,
}
@group(0) @binding(0) var<storage, read> dy: array<f32>;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> part: array<f32>;
@group(0) @binding(3) var<uniform> u: U;

// dy at column ox of the row starting at base, 0 past the row's end (the read itself is clamped).
fn dy_at(base: u32, ox: u32) -> f32 {
  return select(0.0, dy[base + min(ox, u.Wo - 1u)], ox < u.Wo);
}

#include "conv_x_at.wgsl"

@compute @workgroup_size(8)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(subgroup_invocation_id) lane: u32) {
  let t = flat_group(wid, nwg);
  if (t >= u.tiles * u.splits) { return; }
  let s = t / u.tiles;
  let tile = t - s * u.tiles;
  let tn = tile % u.tilesN;
  let tm = tile / u.tilesN;
  let m0 = tm * ${TILE_M}u + lane; // this lane's output channels: m0 + 8i
  let n0 = tn * ${TILE_N}u;        // the tile's columns: n0 + j; this lane reads n0 + 8j + lane
  let HWo = u.Ho * u.Wo;
${SG_DECL}
  let rowBegin = s * u.rowsPerSplit;
  let rowEnd = min(rowBegin + u.rowsPerSplit, u.rows);
  for (var row = rowBegin; row < rowEnd; row++) {
    let b = row / u.Ho;
    let oy = row - b * u.Ho;
    let dyb = b * u.M * HWo + oy * u.Wo; // + m·HoWo + ox
    let xb = b * u.Ci * u.H * u.W;       // + ci·H·W
    let iy = i32(oy) * u.sh;
    for (var ox = 0u; ox < u.Wo; ox += ${SG_KU}u) {
${SG_STEP}
    }
  }
${SG_STORE}
}
