// Direct conv2d forward (cross-correlation, PyTorch semantics), register-blocked, no shared memory.
// Each invocation computes CB output channels x PX output pixels along W of one output row:
// out[n, g*cog + CB*b + c, oh, ow0 + j*sw], accumulating in registers (the constant-bound loops
// below are unrolled by the compiler, so the arrays live in registers).
// The channel block b comes from workgroup_id.y, so every weight load is uniform across the
// workgroup (lavapipe then loads it once instead of once per lane); pixels (n, oh, ow block) run
// along x (folded into z past 65,535 workgroups).
// Weight packed by conv_pack.wgsl as wt[g][kk][ci][cogPad/4] (vec4 over output channels, cogPad a
// multiple of CB). Defines: HAS_BIAS, HAS_PRELU (y = y > 0 ? y : alpha[co] * y after the bias: the
// PReLU that follows a conv, fused), PX (pixels per invocation), CB (output channels, 4/8/16),
// KW > 0: stride 1 and dilation 1 along W with kernel width KW: the PX + KW - 1 inputs of a row are
// read once per (ky, ci) and used for every kx (PX + KW - 1 reads instead of KW·PX; the sums then run
// ky, ci, kx instead of ky, kx, ci).
// X4 (with KW; W and PX multiples of 4): the row segment is read as X4N aligned vec4s from column
// ow0 − 4·ceil(pw / 4) (whole vec4s lie inside or outside the row, since W % 4 == 0), strip input s
// being element s + X4OFF of them (X4OFF = 4·ceil(pw / 4) − pw): on lavapipe a read costs per lane
// whatever its width, so 6 vec4 reads replace 18 scalar ones for PX 16, KW 3, pw 1. x is bound as vec4s.
struct U {
  total: u32, wBlocks: u32, Hout: u32, cbPerGroup: u32,
  vecs: u32, cig: u32, cog: u32, Cin: u32,
  H: u32, W: u32, Wout: u32, Cout: u32,
  kh: u32, kw: u32, sh: i32, sw: i32,
  ph: i32, pw: i32, dh: i32, dw: i32,
}
#if ${X4}
@group(0) @binding(0) var<storage, read> x: array<vec4<f32>>;
#else
@group(0) @binding(0) var<storage, read> x: array<f32>;
#endif
@group(0) @binding(1) var<storage, read> wt: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> bias: array<f32>;
#if ${HAS_PRELU}
@group(0) @binding(3) var<storage, read> alpha: array<f32>;
#endif
@group(0) @binding(4) var<storage, read_write> out: array<f32>;
@group(0) @binding(5) var<uniform> u: U;

const PX = ${PX}u;
const CB = ${CB}u;
const KW = ${KW}u;
const CV = CB / 4u;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + wid.z * nwg.x * 64u;
  if (i >= u.total) { return; }
  let pb = i % u.wBlocks;
  var t = i / u.wBlocks;
  let oh = t % u.Hout;
  let n = t / u.Hout;
  let g = wid.y / u.cbPerGroup;
  let b = wid.y % u.cbPerGroup;
  let ow0 = pb * PX;
  let K = u.kh * u.kw;
  let HW = u.H * u.W;
  let xn = (n * u.Cin + g * u.cig) * HW;
  var acc: array<vec4<f32>, PX * CV>;
  for (var k = 0u; k < PX * CV; k++) { acc[k] = vec4<f32>(0.0); }
  var idx: array<u32, PX>;
  var msk: array<f32, PX>;
  var xv: array<f32, PX>;
  var wv: array<vec4<f32>, CV>;
  let iwb = i32(ow0) * u.sw - u.pw;
#if ${KW}
  const S = PX + KW - 1u;
#if ${X4}
  const NV = ${X4N}u;
  var sidx: array<u32, NV>;
  var smsk: array<f32, NV>;
  let cb = iwb - i32(${X4OFF}u); // the first vec4's column: ow0 − 4·ceil(pw / 4) (sw = 1 here)
#else
  var sidx: array<u32, S>;
  var smsk: array<f32, S>;
#endif
  var xs: array<f32, S>;
  for (var ky = 0u; ky < u.kh; ky++) {
    let ih = i32(oh) * u.sh - u.ph + i32(ky) * u.dh;
    if (ih < 0 || ih >= i32(u.H)) { continue; }
    let xrow = xn + u32(ih) * u.W;
#if ${X4}
    for (var v = 0u; v < NV; v++) {
      let c = cb + i32(4u * v);
      let ok = c >= 0 && c < i32(u.W);
      sidx[v] = (xrow + u32(select(0, c, ok))) >> 2u;
      smsk[v] = select(0.0, 1.0, ok);
    }
#else
    for (var s = 0u; s < S; s++) {
      let c = iwb + i32(s);
      let ok = c >= 0 && c < i32(u.W);
      sidx[s] = xrow + u32(select(0, c, ok));
      smsk[s] = select(0.0, 1.0, ok);
    }
#endif
    // wt[g][ky·KW + kx][ci][·]: kx steps cig·vecs vec4s
    var wi = ((g * K + ky * KW) * u.cig) * u.vecs + b * CV;
    let kxs = u.cig * u.vecs;
    var xo = 0u;
    for (var ci = 0u; ci < u.cig; ci++) {
#if ${X4}
      var xv4: array<vec4<f32>, NV>;
      for (var v = 0u; v < NV; v++) { xv4[v] = x[sidx[v] + (xo >> 2u)] * smsk[v]; }
      for (var s = 0u; s < S; s++) { xs[s] = xv4[(s + ${X4OFF}u) >> 2u][(s + ${X4OFF}u) & 3u]; }
#else
      for (var s = 0u; s < S; s++) { xs[s] = x[sidx[s] + xo] * smsk[s]; }
#endif
      for (var kx = 0u; kx < KW; kx++) {
        for (var v = 0u; v < CV; v++) { wv[v] = wt[wi + kx * kxs + v]; }
        for (var j = 0u; j < PX; j++) {
          for (var v = 0u; v < CV; v++) { acc[j * CV + v] += xs[j + kx] * wv[v]; }
        }
      }
      wi += u.vecs;
      xo += HW;
    }
  }
#else
  for (var ky = 0u; ky < u.kh; ky++) {
    let ih = i32(oh) * u.sh - u.ph + i32(ky) * u.dh;
    if (ih < 0 || ih >= i32(u.H)) { continue; }
    let xrow = xn + u32(ih) * u.W;
    for (var kx = 0u; kx < u.kw; kx++) {
      let iw = iwb + i32(kx) * u.dw;
      for (var j = 0u; j < PX; j++) {
        let c = iw + i32(j) * u.sw;
        let ok = c >= 0 && c < i32(u.W);
        idx[j] = xrow + u32(select(0, c, ok));
        msk[j] = select(0.0, 1.0, ok);
      }
      var wi = ((g * K + ky * u.kw + kx) * u.cig) * u.vecs + b * CV;
      var xo = 0u;
      for (var ci = 0u; ci < u.cig; ci++) {
        for (var v = 0u; v < CV; v++) { wv[v] = wt[wi + v]; }
        for (var j = 0u; j < PX; j++) { xv[j] = x[idx[j] + xo] * msk[j]; }
        for (var j = 0u; j < PX; j++) {
          for (var v = 0u; v < CV; v++) { acc[j * CV + v] += xv[j] * wv[v]; }
        }
        wi += u.vecs;
        xo += HW;
      }
    }
  }
#endif
  let HWo = u.Hout * u.Wout;
  let rem = u.Wout - ow0;
  for (var v = 0u; v < CV; v++) {
    for (var c = 0u; c < 4u; c++) {
      let cg = b * CB + v * 4u + c;
      if (cg < u.cog) {
        let co = g * u.cog + cg;
#if ${HAS_BIAS}
        let bv = bias[co];
#else
        let bv = 0.0;
#endif
        let o = (n * u.Cout + co) * HWo + oh * u.Wout + ow0;
#if ${HAS_PRELU}
        let av = alpha[co];
#endif
        for (var j = 0u; j < PX; j++) {
          let y = acc[j * CV + v][c] + bv;
#if ${HAS_PRELU}
          if (j < rem) { out[o + j] = select(av * y, y, y > 0.0); }
#else
          if (j < rem) { out[o + j] = y; }
#endif
        }
      }
    }
  }
}
