// Depthwise conv2d, stride 1, dilation 1 (groups == C == Cout), weight [C, 1, KH, KW]:
//   out[n,c,oh,ow] = sum_{ky,kx} x[n,c,oh-ph+ky, ow-pw+kx] * w[c,ky,kx] (+ bias[c])
// FLIP: the weight is read rotated by 180 degrees, w[c, KH-1-ky, KW-1-kx]: with ph' = KH-1-ph and
// pw' = KW-1-pw this is conv2d's backward-data (dx = corr(dy, rot180(w))).
// Register-blocked for CPU adapters (lavapipe): each invocation computes S consecutive outputs of
// R output rows of one (n, c) plane. It walks the KH+R-1 input rows once, loading each row
// segment (S+KW-1 values) into registers and sliding the KW taps over it; no shared memory, no
// barriers, no integer division in the inner loops. KH, KW, S, R are defines so the loops unroll.
// Defines: KH, KW, S, R (1..16), FLIP, HAS_BIAS, HAS_PRELU (the following PReLU fused: y > 0 ? y :
// alpha[c] * y after the bias), UNIFORM_C (c = workgroup y,
// lanes over (n, row block, segment): the weight loads are uniform; else lanes over everything),
// X4: x is read as vec4s (a row segment of L values in NV unaligned vec4 loads, its phase s % 4
// picked per lane with selects): on lavapipe a load costs per lane whatever its width, so 4x fewer
// loads beat the selects. x's buffer is 16-byte rounded (buffers.ts), so a vec4 holding a value of
// x is in bounds; vec4 indices below 0 are clamped (those values are padding, masked to 0).
// SPLIT (with R2 .. R16 = R >= 2 .. 16): one explicit accumulator row and tap row per output row,
// every input row applied to all R output rows (zero tap rows past the kernel), so no loop over
// output rows is left for Mesa to keep rolled: R = 3 and 4 compile well (the loop over q does not).
// With SPLIT: TAPSKIP skips the taps of output rows whose kernel window misses the input row,
// ROWSKIP skips input rows in the padding (both conditions uniform when the lanes share the row
// block, e.g. R = Ho), VSTORE (R = Ho, S = Wo, R * S % 4 == 0) writes the whole plane as vec4s.
#include "common.wgsl"
struct U {
  total: u32, segs: u32, rowBlocks: u32, C: u32,
  Hi: u32, Wi: u32, Ho: u32, Wo: u32,
  ph: i32, pw: i32,
}
#if ${X4}
@group(0) @binding(0) var<storage, read> x: array<vec4<f32>>;
#else
@group(0) @binding(0) var<storage, read> x: array<f32>;
#endif
@group(0) @binding(1) var<storage, read> w: array<f32>;
@group(0) @binding(2) var<storage, read> bias: array<f32>;
#if ${HAS_PRELU}
@group(0) @binding(3) var<storage, read> alpha: array<f32>;
#endif
#if ${VSTORE}
@group(0) @binding(4) var<storage, read_write> out: array<vec4<f32>>;
#else
@group(0) @binding(4) var<storage, read_write> out: array<f32>;
#endif
@group(0) @binding(5) var<uniform> u: U;

var<private> av: f32; // HAS_PRELU: the slope of this invocation's channel

// The epilogue: + bias (bv), then the fused PReLU (HAS_PRELU).
fn epi(v: f32, bv: f32) -> f32 {
  let y = v + bv;
#if ${HAS_PRELU}
  return select(av * y, y, y > 0.0);
#else
  return y;
#endif
}

const KH = ${KH}u;
const KW = ${KW}u;
const S = ${S}u;
const R = ${R}u;
const L = S + KW - 1u;
const NV = (L + 6u) / 4u; // vec4s covering L values at any phase: 4 * NV >= L + 3

#if ${X4}
// xv[j] = x[s0 + j] (x viewed as floats) for the L inputs of one row segment, read as NV vec4s at any
// alignment and shifted into place by the phase of s0; 0 where iw0 + j is outside [0, Wi) or !ok.
fn load_row_x4(xv: ptr<function, array<f32, L>>, s0: i32, iw0: i32, Wi: i32, ok: bool) {
  let b4 = s0 >> 2u;
  let p1 = (s0 & 1) != 0;
  let p2 = (s0 & 2) != 0;
  var f: array<f32, 4u * NV>;
  for (var k = 0u; k < NV; k++) {
    let v = x[u32(max(b4 + i32(k), 0))];
    f[4u * k] = v.x; f[4u * k + 1u] = v.y; f[4u * k + 2u] = v.z; f[4u * k + 3u] = v.w;
  }
  // g[j] = f[j + (phase & 1)], then xv[j] = g[j + (phase & 2)].
  var g: array<f32, L + 2u>;
  for (var j = 0u; j < L + 2u; j++) { g[j] = select(f[j], f[j + 1u], p1); }
  for (var j = 0u; j < L; j++) {
    let iw = iw0 + i32(j);
    (*xv)[j] = select(0.0, select(g[j], g[j + 2u], p2), ok && iw >= 0 && iw < Wi);
  }
}
#endif

fn widx(ky: u32, kx: u32) -> u32 {
#if ${FLIP}
  return (KH - 1u - ky) * KW + (KW - 1u - kx);
#else
  return ky * KW + kx;
#endif
}

// a[j] += sum_kx xv[j + kx] * wv[kx]: one tap row applied to one output row (SPLIT).
fn taps(a: ptr<function, array<f32, S>>, xv: ptr<function, array<f32, L>>, wv: ptr<function, array<f32, KW>>) {
  for (var kx = 0u; kx < KW; kx++) {
    let t = (*wv)[kx];
    for (var j = 0u; j < S; j++) { (*a)[j] = fma((*xv)[j + kx], t, (*a)[j]); }
  }
}

#if ${VSTORE}
// VSTORE (SPLIT, R = Ho, S = Wo, R * S % 4 == 0): the invocation owns a whole output plane, a
// 16-byte-aligned run of R * S values: gathered here, written as vec4s (4x fewer stores).
fn put_row(pl: ptr<function, array<f32, R * S>>, q: u32, a: ptr<function, array<f32, S>>) {
  for (var j = 0u; j < S; j++) { (*pl)[q * S + j] = (*a)[j]; }
}
#else
fn store_row(a: ptr<function, array<f32, S>>, nc: u32, oh: u32, ow0: u32, bv: f32) {
  if (oh < u.Ho) {
    let o = (nc * u.Ho + oh) * u.Wo + ow0;
    for (var j = 0u; j < S; j++) {
      if (ow0 + j < u.Wo) { out[o + j] = epi((*a)[j], bv); }
    }
  }
}
#endif

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
#if ${UNIFORM_C}
  let i = gid.x;
  if (i >= u.total) { return; }
  let c = wid.y;
  let a = fdivmod(i, u.segs);
  let b = fdivmod(a.x, u.rowBlocks);
  let seg = a.y;
  let rb = b.y;
  let nc = b.x * u.C + c;
#else
  let i = flat_id(gid, nwg, 64u);
  if (i >= u.total) { return; }
  let a = fdivmod(i, u.segs);
  let b = fdivmod(a.x, u.rowBlocks);
  let seg = a.y;
  let rb = b.y;
  let nc = b.x;
  let c = fdivmod(nc, u.C).y;
#endif
  let oh0 = rb * R;
  let ow0 = seg * S;
  let xb = nc * u.Hi * u.Wi;
  let wb = c * KH * KW;
  let iw0 = i32(ow0) - u.pw;
  let Wi = i32(u.Wi);
#if ${HAS_BIAS}
  let bv = bias[c];
#else
  let bv = 0.0;
#endif
#if ${HAS_PRELU}
  av = alpha[c];
#endif
#if ${SPLIT}
  // One accumulator row and one tap row per output row q (explicit, no loop over q: Mesa keeps
  // the loop over input rows rolled, and a rolled loop over q would index the arrays dynamically).
  // Input row r applies tap row r - q to output row q; the tap rows shift down one per input row,
  // zeros entering past the kernel, so no row needs a condition.
  var a0: array<f32, S>; var w0: array<f32, KW>;
  for (var j = 0u; j < S; j++) { a0[j] = 0.0; }
  for (var k = 0u; k < KW; k++) { w0[k] = 0.0; }
#if ${R2}
  var a1 = a0; var w1 = w0;
#endif
#if ${R3}
  var a2 = a0; var w2 = w0;
#endif
#if ${R4}
  var a3 = a0; var w3 = w0;
#endif
#if ${R5}
  var a4 = a0; var w4 = w0;
#endif
#if ${R6}
  var a5 = a0; var w5 = w0;
#endif
#if ${R7}
  var a6 = a0; var w6 = w0;
#endif
#if ${R8}
  var a7 = a0; var w7 = w0;
#endif
#if ${R9}
  var a8 = a0; var w8 = w0;
#endif
#if ${R10}
  var a9 = a0; var w9 = w0;
#endif
#if ${R11}
  var a10 = a0; var w10 = w0;
#endif
#if ${R12}
  var a11 = a0; var w11 = w0;
#endif
#if ${R13}
  var a12 = a0; var w12 = w0;
#endif
#if ${R14}
  var a13 = a0; var w13 = w0;
#endif
#if ${R15}
  var a14 = a0; var w14 = w0;
#endif
#if ${R16}
  var a15 = a0; var w15 = w0;
#endif
  var xv: array<f32, L>;
  for (var r = 0u; r < KH + R - 1u; r++) {
#if ${R16}
    w15 = w14;
#endif
#if ${R15}
    w14 = w13;
#endif
#if ${R14}
    w13 = w12;
#endif
#if ${R13}
    w12 = w11;
#endif
#if ${R12}
    w11 = w10;
#endif
#if ${R11}
    w10 = w9;
#endif
#if ${R10}
    w9 = w8;
#endif
#if ${R9}
    w8 = w7;
#endif
#if ${R8}
    w7 = w6;
#endif
#if ${R7}
    w6 = w5;
#endif
#if ${R6}
    w5 = w4;
#endif
#if ${R5}
    w4 = w3;
#endif
#if ${R4}
    w3 = w2;
#endif
#if ${R3}
    w2 = w1;
#endif
#if ${R2}
    w1 = w0;
#endif
    let rr = min(r, KH - 1u);
    let live_w = r < KH;
    for (var kx = 0u; kx < KW; kx++) { w0[kx] = select(0.0, w[wb + widx(rr, kx)], live_w); }
    let ih = i32(oh0 + r) - u.ph;
    let row_ok = ih >= 0 && ih < i32(u.Hi);
    let row = i32(xb) + ih * Wi;
#if ${ROWSKIP}
    // Rows above / below the input hold only padding: no loads, no taps (uniform over the lanes
    // of a workgroup when they share the row block, e.g. R = Ho).
    if (!row_ok) { continue; }
#endif
#if ${X4}
    load_row_x4(&xv, row + iw0, iw0, Wi, row_ok);
#else
    for (var j = 0u; j < L; j++) {
      let iw = iw0 + i32(j);
      let ok = row_ok && iw >= 0 && iw < Wi;
      xv[j] = select(0.0, x[u32(select(0, row + iw, ok))], ok);
    }
#endif
#if ${TAPSKIP}
    if (r < KH) { taps(&a0, &xv, &w0); }
#else
    taps(&a0, &xv, &w0);
#endif
#if ${R2}
#if ${TAPSKIP}
    if (r >= 1u && r < 1u + KH) { taps(&a1, &xv, &w1); }
#else
    taps(&a1, &xv, &w1);
#endif
#endif
#if ${R3}
#if ${TAPSKIP}
    if (r >= 2u && r < 2u + KH) { taps(&a2, &xv, &w2); }
#else
    taps(&a2, &xv, &w2);
#endif
#endif
#if ${R4}
#if ${TAPSKIP}
    if (r >= 3u && r < 3u + KH) { taps(&a3, &xv, &w3); }
#else
    taps(&a3, &xv, &w3);
#endif
#endif
#if ${R5}
#if ${TAPSKIP}
    if (r >= 4u && r < 4u + KH) { taps(&a4, &xv, &w4); }
#else
    taps(&a4, &xv, &w4);
#endif
#endif
#if ${R6}
#if ${TAPSKIP}
    if (r >= 5u && r < 5u + KH) { taps(&a5, &xv, &w5); }
#else
    taps(&a5, &xv, &w5);
#endif
#endif
#if ${R7}
#if ${TAPSKIP}
    if (r >= 6u && r < 6u + KH) { taps(&a6, &xv, &w6); }
#else
    taps(&a6, &xv, &w6);
#endif
#endif
#if ${R8}
#if ${TAPSKIP}
    if (r >= 7u && r < 7u + KH) { taps(&a7, &xv, &w7); }
#else
    taps(&a7, &xv, &w7);
#endif
#endif
#if ${R9}
#if ${TAPSKIP}
    if (r >= 8u && r < 8u + KH) { taps(&a8, &xv, &w8); }
#else
    taps(&a8, &xv, &w8);
#endif
#endif
#if ${R10}
#if ${TAPSKIP}
    if (r >= 9u && r < 9u + KH) { taps(&a9, &xv, &w9); }
#else
    taps(&a9, &xv, &w9);
#endif
#endif
#if ${R11}
#if ${TAPSKIP}
    if (r >= 10u && r < 10u + KH) { taps(&a10, &xv, &w10); }
#else
    taps(&a10, &xv, &w10);
#endif
#endif
#if ${R12}
#if ${TAPSKIP}
    if (r >= 11u && r < 11u + KH) { taps(&a11, &xv, &w11); }
#else
    taps(&a11, &xv, &w11);
#endif
#endif
#if ${R13}
#if ${TAPSKIP}
    if (r >= 12u && r < 12u + KH) { taps(&a12, &xv, &w12); }
#else
    taps(&a12, &xv, &w12);
#endif
#endif
#if ${R14}
#if ${TAPSKIP}
    if (r >= 13u && r < 13u + KH) { taps(&a13, &xv, &w13); }
#else
    taps(&a13, &xv, &w13);
#endif
#endif
#if ${R15}
#if ${TAPSKIP}
    if (r >= 14u && r < 14u + KH) { taps(&a14, &xv, &w14); }
#else
    taps(&a14, &xv, &w14);
#endif
#endif
#if ${R16}
#if ${TAPSKIP}
    if (r >= 15u && r < 15u + KH) { taps(&a15, &xv, &w15); }
#else
    taps(&a15, &xv, &w15);
#endif
#endif
  }
#if ${VSTORE}
  var pl: array<f32, R * S>;
  put_row(&pl, 0u, &a0);
#if ${R2}
  put_row(&pl, 1u, &a1);
#endif
#if ${R3}
  put_row(&pl, 2u, &a2);
#endif
#if ${R4}
  put_row(&pl, 3u, &a3);
#endif
#if ${R5}
  put_row(&pl, 4u, &a4);
#endif
#if ${R6}
  put_row(&pl, 5u, &a5);
#endif
#if ${R7}
  put_row(&pl, 6u, &a6);
#endif
#if ${R8}
  put_row(&pl, 7u, &a7);
#endif
#if ${R9}
  put_row(&pl, 8u, &a8);
#endif
#if ${R10}
  put_row(&pl, 9u, &a9);
#endif
#if ${R11}
  put_row(&pl, 10u, &a10);
#endif
#if ${R12}
  put_row(&pl, 11u, &a11);
#endif
#if ${R13}
  put_row(&pl, 12u, &a12);
#endif
#if ${R14}
  put_row(&pl, 13u, &a13);
#endif
#if ${R15}
  put_row(&pl, 14u, &a14);
#endif
#if ${R16}
  put_row(&pl, 15u, &a15);
#endif
  let o4 = nc * (R * S / 4u);
  for (var k = 0u; k < R * S / 4u; k++) {
    out[o4 + k] = vec4<f32>(epi(pl[4u * k], bv), epi(pl[4u * k + 1u], bv), epi(pl[4u * k + 2u], bv), epi(pl[4u * k + 3u], bv));
  }
#else
  store_row(&a0, nc, oh0, ow0, bv);
#if ${R2}
  store_row(&a1, nc, oh0 + 1u, ow0, bv);
#endif
#if ${R3}
  store_row(&a2, nc, oh0 + 2u, ow0, bv);
#endif
#if ${R4}
  store_row(&a3, nc, oh0 + 3u, ow0, bv);
#endif
#if ${R5}
  store_row(&a4, nc, oh0 + 4u, ow0, bv);
#endif
#if ${R6}
  store_row(&a5, nc, oh0 + 5u, ow0, bv);
#endif
#if ${R7}
  store_row(&a6, nc, oh0 + 6u, ow0, bv);
#endif
#if ${R8}
  store_row(&a7, nc, oh0 + 7u, ow0, bv);
#endif
#if ${R9}
  store_row(&a8, nc, oh0 + 8u, ow0, bv);
#endif
#if ${R10}
  store_row(&a9, nc, oh0 + 9u, ow0, bv);
#endif
#if ${R11}
  store_row(&a10, nc, oh0 + 10u, ow0, bv);
#endif
#if ${R12}
  store_row(&a11, nc, oh0 + 11u, ow0, bv);
#endif
#if ${R13}
  store_row(&a12, nc, oh0 + 12u, ow0, bv);
#endif
#if ${R14}
  store_row(&a13, nc, oh0 + 13u, ow0, bv);
#endif
#if ${R15}
  store_row(&a14, nc, oh0 + 14u, ow0, bv);
#endif
#if ${R16}
  store_row(&a15, nc, oh0 + 15u, ow0, bv);
#endif
#endif
#else
  var acc: array<f32, R * S>;
  for (var j = 0u; j < R * S; j++) { acc[j] = 0.0; }
  var xv: array<f32, L>;
  // wr[q * KW + kx]: tap row r - q, the one that input row r applies to output row oh0 + q.
  var wr: array<f32, R * KW>;
  for (var k = 0u; k < R * KW; k++) { wr[k] = 0.0; }
  // Input row r (0 .. KH+R-2) feeds output row oh0 + q with tap row ky = r - q.
  for (var r = 0u; r < KH + R - 1u; r++) {
    for (var q = R - 1u; q > 0u; q--) {
      for (var kx = 0u; kx < KW; kx++) { wr[q * KW + kx] = wr[(q - 1u) * KW + kx]; }
    }
    if (r < KH) {
      for (var kx = 0u; kx < KW; kx++) { wr[kx] = w[wb + widx(r, kx)]; }
    }
    let ih = i32(oh0 + r) - u.ph;
    if (ih >= 0 && ih < i32(u.Hi)) {
      let row = xb + u32(ih) * u.Wi;
#if ${X4}
      load_row_x4(&xv, i32(row) + iw0, iw0, Wi, true);
#else
      for (var j = 0u; j < L; j++) {
        let iw = iw0 + i32(j);
        let ok = iw >= 0 && iw < Wi;
        xv[j] = select(0.0, x[row + u32(select(0, iw, ok))], ok);
      }
#endif
      for (var q = 0u; q < R; q++) {
        if (r >= q && r - q < KH) {
          for (var kx = 0u; kx < KW; kx++) {
            let wv = wr[q * KW + kx];
            for (var j = 0u; j < S; j++) { acc[q * S + j] = fma(xv[j + kx], wv, acc[q * S + j]); }
          }
        }
      }
    }
  }
  for (var q = 0u; q < R; q++) {
    let oh = oh0 + q;
    if (oh < u.Ho) {
      let o = (nc * u.Ho + oh) * u.Wo + ow0;
      for (var j = 0u; j < S; j++) {
        if (ow0 + j < u.Wo) { out[o + j] = epi(acc[q * S + j], bv); }
      }
    }
  }
#endif
}
