// Depthwise conv2d (groups == C == Cout), weight [C, 1, kh, kw]: the hot path of EdgeFace.
// Forward: out[n,c,oh,ow] = sum_{ky,kx} x[n,c,oh*sh-ph+ky*dh, ow*sw-pw+kx*dw] * w[c,ky,kx] (+ bias[c]).
// TRANSPOSED (backward-data, a gather): out[n,c,oh,ow] = sum y[n,c,(oh+ph-ky*dh)/sh,(ow+pw-kx*dw)/sw] * w[c,ky,kx]
// over exact divisions; each invocation's pixels ow = r + (4q+j)*sw share the residue r.
// Each invocation computes 4 pixels along W of one output row (ROWS2: and of the next row too),
// no shared memory. Defines: HAS_BIAS, HAS_PRELU (forward: y > 0 ? y : alpha[c] * y after the bias,
// the following PReLU fused), TRANSPOSED, ROWS2, UNIFORM_C (x: the pixel blocks of one
// (n, c) plane, total = their count; else x: everything, flattened).
#include "common.wgsl"
struct U {
  total: u32, pxBlocks: u32, Ho: u32, C: u32,
  Hi: u32, Wi: u32, Wo: u32, kh: u32,
  kw: u32, sh: i32, sw: i32, ph: i32,
  pw: i32, dh: i32, dw: i32, qBlocks: u32,
  rowBlocks: u32,
}
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> w: array<f32>;
@group(0) @binding(2) var<storage, read> bias: array<f32>;
#if ${HAS_PRELU}
@group(0) @binding(3) var<storage, read> alpha: array<f32>;
#endif
@group(0) @binding(4) var<storage, read_write> out: array<f32>;
@group(0) @binding(5) var<uniform> u: U;

var<private> av: f32; // HAS_PRELU: the slope of this invocation's channel

fn ld(row: u32, iw: i32) -> f32 {
  let ok = iw >= 0 && iw < i32(u.Wi);
  return select(0.0, x[row + u32(select(0, iw, ok))], ok);
}

fn store(o: u32, ow: u32, v: f32) {
#if ${HAS_PRELU}
  if (ow < u.Wo) { out[o + ow] = select(av * v, v, v > 0.0); }
#else
  if (ow < u.Wo) { out[o + ow] = v; }
#endif
}

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
#if ${UNIFORM_C}
  // One (n, c) plane per workgroup row (y, folded into z): the weight loads are uniform.
  let i = gid.x;
  if (i >= u.total) { return; }
  let pb = i % u.pxBlocks;
  var t = i / u.pxBlocks + (wid.y + wid.z * nwg.y) * u.rowBlocks;
#else
  let i = flat_id(gid, nwg, 64u);
  if (i >= u.total) { return; }
  let pb = i % u.pxBlocks;
  var t = i / u.pxBlocks;
#endif
#if ${ROWS2}
  let oh = (t % u.rowBlocks) * 2u;
#else
  let oh = t % u.rowBlocks;
#endif
  let nc = t / u.rowBlocks;
  let c = nc % u.C;
  let xb = nc * u.Hi * u.Wi;
  let wb = c * u.kh * u.kw;
  var a0 = 0.0; var a1 = 0.0; var a2 = 0.0; var a3 = 0.0;
  var b0 = 0.0; var b1 = 0.0; var b2 = 0.0; var b3 = 0.0;
#if ${TRANSPOSED}
  let r = pb / u.qBlocks;
  let q = pb % u.qBlocks;
  let sw = u32(u.sw);
  let ow0 = r + q * 4u * sw;
  let ows = sw;
  for (var ky = 0u; ky < u.kh; ky++) {
    let th = i32(oh) + u.ph - i32(ky) * u.dh;
    if (th < 0) { break; }
    // (integer division is slow on a CPU adapter: skip it for stride 1)
    var ih = th;
    if (u.sh != 1) {
      if (th % u.sh != 0) { continue; }
      ih = th / u.sh;
    }
    if (ih >= i32(u.Hi)) { continue; }
    let row = xb + u32(ih) * u.Wi;
    for (var kx = 0u; kx < u.kw; kx++) {
      let tw = i32(r) + u.pw - i32(kx) * u.dw;
      var iw = tw + i32(q) * 4;
      if (u.sw != 1) {
        if (((tw % u.sw) + u.sw) % u.sw != 0) { continue; }
        iw = tw / u.sw + i32(q) * 4;
      }
      let wv = w[wb + ky * u.kw + kx];
      a0 += ld(row, iw) * wv; a1 += ld(row, iw + 1) * wv; a2 += ld(row, iw + 2) * wv; a3 += ld(row, iw + 3) * wv;
    }
  }
#else
  let ow0 = pb * 4u;
  let ows = 1u;
  let iwb = i32(ow0) * u.sw - u.pw;
  let sw = u.sw;
#if ${ROWS2}
  // Rows oh and oh+1 read input rows ih and ih + sh: walk input rows once, adding each to both.
  for (var ky = 0u; ky < u.kh; ky++) {
    let ih = i32(oh) * u.sh - u.ph + i32(ky) * u.dh;
    let ok0 = ih >= 0 && ih < i32(u.Hi);
    let ih1 = ih + u.sh;
    let ok1 = ih1 >= 0 && ih1 < i32(u.Hi);
    let row0 = xb + u32(select(0, ih, ok0)) * u.Wi;
    let row1 = xb + u32(select(0, ih1, ok1)) * u.Wi;
    let m0 = select(0.0, 1.0, ok0);
    let m1 = select(0.0, 1.0, ok1);
    for (var kx = 0u; kx < u.kw; kx++) {
      let wv = w[wb + ky * u.kw + kx];
      let iw = iwb + i32(kx) * u.dw;
      let w0 = wv * m0; let w1 = wv * m1;
      a0 += ld(row0, iw) * w0; a1 += ld(row0, iw + sw) * w0; a2 += ld(row0, iw + 2 * sw) * w0; a3 += ld(row0, iw + 3 * sw) * w0;
      b0 += ld(row1, iw) * w1; b1 += ld(row1, iw + sw) * w1; b2 += ld(row1, iw + 2 * sw) * w1; b3 += ld(row1, iw + 3 * sw) * w1;
    }
  }
#else
  for (var ky = 0u; ky < u.kh; ky++) {
    let ih = i32(oh) * u.sh - u.ph + i32(ky) * u.dh;
    if (ih < 0 || ih >= i32(u.Hi)) { continue; }
    let row = xb + u32(ih) * u.Wi;
    for (var kx = 0u; kx < u.kw; kx++) {
      let wv = w[wb + ky * u.kw + kx];
      let iw = iwb + i32(kx) * u.dw;
      a0 += ld(row, iw) * wv; a1 += ld(row, iw + sw) * wv; a2 += ld(row, iw + 2 * sw) * wv; a3 += ld(row, iw + 3 * sw) * wv;
    }
  }
#endif
#endif
#if ${HAS_BIAS}
  let bv = bias[c];
#else
  let bv = 0.0;
#endif
#if ${HAS_PRELU}
  av = alpha[c];
#endif
  let o = (nc * u.Ho + oh) * u.Wo;
  store(o, ow0, a0 + bv); store(o, ow0 + ows, a1 + bv); store(o, ow0 + 2u * ows, a2 + bv); store(o, ow0 + 3u * ows, a3 + bv);
#if ${ROWS2}
  if (oh + 1u < u.Ho) {
    let o1 = o + u.Wo;
    store(o1, ow0, b0 + bv); store(o1, ow0 + ows, b1 + bv); store(o1, ow0 + 2u * ows, b2 + bv); store(o1, ow0 + 3u * ows, b3 + bv);
  }
#endif
}
