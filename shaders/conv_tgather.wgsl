// Transposed conv as a gather (no atomics): conv2d backward-data and convTranspose2d forward.
// In conv terms (input [N,Ci,H,W], output [N,Co,Ho,Wo], weight [Co, Ci/G, kh, kw]), this computes
//   out[n, ci, oh, ow] = sum_{k, ky, kx} y[n, g*cog + k, (oh+ph-ky*dh)/sh, (ow+pw-kx*dw)/sw] * w[g*cog+k, ci_g, ky, kx]
// over exact divisions only. Each invocation computes CB channels x PX output pixels
// ow = r + (PX*q + j)*sw, j < PX, all with the same residue r mod sw, so one kernel tap (kx) is
// valid for all of them at once and they read PX consecutive inputs. The channel block comes from
// workgroup_id.y (uniform weight loads); pixels run along x (folded into z past the limit).
// Weight packed by conv_pack.wgsl as wt[g][kk][k][cigPad/4]. Defines: HAS_BIAS (bias[Ci]), PX, CB.
struct U {
  total: u32, pxBlocks: u32, H: u32, cbPerGroup: u32,
  vecs: u32, cog: u32, cig: u32, Co: u32,
  Ho: u32, Wo: u32, W: u32, Ci: u32,
  kh: u32, kw: u32, sh: i32, sw: i32,
  ph: i32, pw: i32, dh: i32, dw: i32,
  qBlocks: u32,
}
@group(0) @binding(0) var<storage, read> y: array<f32>;
@group(0) @binding(1) var<storage, read> wt: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> bias: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@group(0) @binding(4) var<uniform> u: U;

const PX = ${PX}u;
const CB = ${CB}u;
const CV = CB / 4u;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + wid.z * nwg.x * 64u;
  if (i >= u.total) { return; }
  let pb = i % u.pxBlocks;
  var t = i / u.pxBlocks;
  let oh = t % u.H;
  let n = t / u.H;
  let g = wid.y / u.cbPerGroup;
  let b = wid.y % u.cbPerGroup;
  let r = pb / u.qBlocks;
  let q = pb % u.qBlocks;
  let K = u.kh * u.kw;
  let HWo = u.Ho * u.Wo;
  let yn = (n * u.Co + g * u.cog) * HWo;
  var acc: array<vec4<f32>, PX * CV>;
  for (var k = 0u; k < PX * CV; k++) { acc[k] = vec4<f32>(0.0); }
  var idx: array<u32, PX>;
  var msk: array<f32, PX>;
  var yv: array<f32, PX>;
  var wv: array<vec4<f32>, CV>;
  for (var ky = 0u; ky < u.kh; ky++) {
    let th = i32(oh) + u.ph - i32(ky) * u.dh;
    if (th < 0) { break; }
    // (integer division is slow on a CPU adapter: skip it for stride 1)
    var ih = th;
    if (u.sh != 1) {
      if (th % u.sh != 0) { continue; }
      ih = th / u.sh;
    }
    if (ih >= i32(u.Ho)) { continue; }
    let yrow = yn + u32(ih) * u.Wo;
    for (var kx = 0u; kx < u.kw; kx++) {
      let tw = i32(r) + u.pw - i32(kx) * u.dw;
      var iw = tw + i32(q * PX);
      if (u.sw != 1) {
        if (((tw % u.sw) + u.sw) % u.sw != 0) { continue; }
        iw = tw / u.sw + i32(q * PX);
      }
      if (iw + i32(PX) <= 0 || iw >= i32(u.Wo)) { continue; }
      for (var j = 0u; j < PX; j++) {
        let c = iw + i32(j);
        let ok = c >= 0 && c < i32(u.Wo);
        idx[j] = yrow + u32(select(0, c, ok));
        msk[j] = select(0.0, 1.0, ok);
      }
      var wi = ((g * K + ky * u.kw + kx) * u.cog) * u.vecs + b * CV;
      var yo = 0u;
      for (var k = 0u; k < u.cog; k++) {
        for (var v = 0u; v < CV; v++) { wv[v] = wt[wi + v]; }
        for (var j = 0u; j < PX; j++) { yv[j] = y[idx[j] + yo] * msk[j]; }
        for (var j = 0u; j < PX; j++) {
          for (var v = 0u; v < CV; v++) { acc[j * CV + v] += yv[j] * wv[v]; }
        }
        wi += u.vecs;
        yo += HWo;
      }
    }
  }
  let HW = u.H * u.W;
  let sw = u32(u.sw);
  let ow0 = r + q * PX * sw;
  for (var v = 0u; v < CV; v++) {
    for (var c = 0u; c < 4u; c++) {
      let cg = b * CB + v * 4u + c;
      if (cg < u.cig) {
        let ci = g * u.cig + cg;
#if ${HAS_BIAS}
        let bv = bias[ci];
#else
        let bv = 0.0;
#endif
        let o = (n * u.Ci + ci) * HW + oh * u.W;
        for (var j = 0u; j < PX; j++) {
          let ow = ow0 + j * sw;
          if (ow < u.W) { out[o + ow] = acc[j * CV + v][c] + bv; }
        }
      }
    }
  }
}
