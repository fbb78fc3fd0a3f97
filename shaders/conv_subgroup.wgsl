// Direct conv2d forward (groups 1) as an implicit GEMM on the subgroup-broadcast matmul block of
// shaders/matmul_subgroup.wgsl (adapters with fixed 8-lane subgroups: lavapipe):
//   out[b, m, oy, ox] = Σ_{ci, ky, kx} w[m, ci, ky, kx] · x[b, ci, oy·sh − ph + ky·dh, ox·sw − pw + kx·dw]
// rows m = output channels (M = Co), columns n = (b, oy, ox) (N = batch·Ho·Wo), k = (ci, ky, kx)
// (K = Ci·kh·kw; w [Co, Ci, kh, kw] is op(A) = [M, K] as stored). No im2col is written: a column's
// input position is computed once per tile and each k reads x directly (0 outside the image).
// One workgroup = one subgroup computing 8·TM channels x 8·TB pixels.
// TRANSPOSED: the backward-data (conv^T) of a stride-1 conv, the same sum with x = dy, the weight read
// transposed (a_at) and the uniforms flipped by the op (sh = sw = 1, ph = −ph, dh = −dh, ...):
//   dx[b, m, y, x] = Σ_{c, ky, kx} w[c, m, ky, kx] · dy[b, c, y + ph − ky·dh, x + pw − kx·dw].
// SG_KW > 0 (= kw): one loop step per kernel row, its kw k's unrolled (each accumulator written once
// per row; lavapipe blends and spills every write of a loop variable); 0: one k per step.
// Defines: TRANSPOSED, HAS_BIAS, HAS_PRELU (y = y > 0 ? y : alpha[m] · y after the bias), SHUFFLE (store_px),
// TILE_M, TILE_N, and
// SG_DECL / SG_STEP / SG_STORE from src/runtime/ops/matmul-subgroup.ts (subgroupConvDefines).
enable subgroups;
// One subgroup per workgroup: t, and so every branch before the broadcasts, is uniform in it.
diagnostic(off, subgroup_uniformity);
#include "common.wgsl"

struct U {
  M: u32, N: u32, K: u32, tilesN: u32,
  tiles: u32, HWo: u32, Wo: u32, Ci: u32,
  H: u32, W: u32, kh: u32, kw: u32,
  sh: i32, sw: i32, ph: i32, pw: i32,
  dh: i32, dw: i32, p0: u32, p1: u32,
}
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> wt: array<f32>;
@group(0) @binding(2) var<storage, read> bias: array<f32>;
#if ${HAS_PRELU}
@group(0) @binding(3) var<storage, read> alpha: array<f32>;
#endif
@group(0) @binding(4) var<storage, read_write> out: array<f32>;
@group(0) @binding(5) var<uniform> u: U;

#if ${TRANSPOSED}
// w [Ci', M, kh, kw] (the conv's weight, read for its transpose): off = ci·M·kh·kw + ky·kw + kx per k.
fn a_at(off: u32, m: u32, k: u32) -> f32 { return wt[off + m * u.kh * u.kw]; }
// The weight of kernel column kx of the row whose first k is k (offset off) (SG_KW).
fn a_kx(off: u32, m: u32, k: u32, kx: u32) -> f32 { return wt[off + kx + m * u.kh * u.kw]; }
#else
fn a_at(off: u32, m: u32, k: u32) -> f32 { return wt[off + m * u.K + k]; }
fn a_kx(off: u32, m: u32, k: u32, kx: u32) -> f32 { return wt[off + m * u.K + k + kx]; }
#endif

#include "conv_x_at.wgsl"

// Row m's bias and PReLU slope, read once per row of a tile (SG_STORE) and passed to its stores.
fn bias_of(m: u32) -> f32 {
#if ${HAS_BIAS}
  return bias[m];
#else
  return 0.0;
#endif
}
fn slope_of(m: u32) -> f32 {
#if ${HAS_PRELU}
  return alpha[m];
#else
  return 1.0;
#endif
}

// out at (m, n) = v + bm, then PReLU with slope am (bm = bias_of(m), am = slope_of(m)).
fn store_px(m: u32, n: u32, v: f32, bm: f32, am: f32) {
  var y = v;
#if ${HAS_BIAS}
  y += bm;
#endif
#if ${HAS_PRELU}
  y = select(am * y, y, y > 0.0);
#endif
  let b = n / u.HWo;
#if ${SHUFFLE}
  // pixelShuffle(r = SHUFFLE) folded in (conv2dPixelShuffle): channel m = c·r² + i·r + j of pixel
  // (oy, ox) goes to [b, c, oy·r + i, ox·r + j] of out [N, M / r², Ho·r, Wo·r].
  let r = ${SHUFFLE}u;
  let p = n - b * u.HWo;
  let oy = p / u.Wo;
  out[(b * (u.M / (r * r)) + m / (r * r)) * u.HWo * r * r + (oy * r + (m / r) % r) * u.Wo * r + (p - oy * u.Wo) * r + m % r] = y;
#else
  out[(b * u.M + m) * u.HWo + n - b * u.HWo] = y;
#endif
}

@compute @workgroup_size(8)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(subgroup_invocation_id) lane: u32) {
  let t = flat_group(wid, nwg);
  if (t >= u.tiles) { return; }
  let tn = t % u.tilesN;
  let tm = t / u.tilesN;
  let m0 = tm * ${TILE_M}u + lane; // this lane's output channels: m0 + 8i
  let n0 = tn * ${TILE_N}u;        // the tile's pixels: n0 + j; this lane reads n0 + 8j + lane
  let offA = 0u;
${SG_DECL}
  for (var ci = 0u; ci < u.Ci; ci++) {
    let cio = ci * u.H * u.W;
    for (var ky = 0u; ky < u.kh; ky++) {
      let kyd = i32(ky) * u.dh;
#if ${SG_KW}
      // One step per kernel row: kx = 0 .. SG_KW - 1 (= u.kw) unrolled in SG_STEP.
      let k = (ci * u.kh + ky) * u.kw;
#if ${TRANSPOSED}
      let offA = (ci * u.M * u.kh + ky) * u.kw;
#endif
${SG_STEP}
#else
      for (var kx = 0u; kx < u.kw; kx++) {
        let kxd = i32(kx) * u.dw;
        let k = (ci * u.kh + ky) * u.kw + kx;
#if ${TRANSPOSED}
        let offA = (ci * u.M * u.kh + ky) * u.kw + kx;
#endif
${SG_STEP}
      }
#endif
    }
  }
${SG_STORE}
}
