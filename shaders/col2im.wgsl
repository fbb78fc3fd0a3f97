// col2im for the GEMM transposed convolution (src/runtime/ops/conv-gemm.ts), as a gather (no atomics):
// each output pixel sums its taps. In conv terms (input [N, C, H, W], output [Ho, Wo], groups = 1),
// for the images nl < nb of a chunk written at element outOff of out [N, C, H, W]:
//   out[nl, c, ih, iw] = bias[c] + sum_{ky, kx} cols[nl, (c*kh + ky)*kw + kx, oh*Wo + ow]
// over the taps with oh = (ih + ph - ky*dh) / sh and ow = (iw + pw - kx*dw) / sw exact and in range.
// cols is [nb, C*kh*kw, Ho*Wo] (Wᵀ · dy[nl]). The valid taps along one axis are an arithmetic
// progression: ky = k0 + j * kStep, oh = o0 - j * oStep (kStep = s / gcd(s, d), oStep = d / gcd(s, d),
// from the host), so only its first term needs a division. Integer division is scalarised on a CPU
// adapter: divisions are float ones (divmod; the op keeps indices below 2^24).
// One invocation per output element (flat index folded into 2-D past 65,535 workgroups).
// Defines: HAS_BIAS (bias [C]).
#include "common.wgsl"
struct U {
  total: u32, C: u32, H: u32, W: u32,
  Ho: u32, Wo: u32, kh: u32, kw: u32,
  sh: u32, sw: u32, ph: u32, pw: u32,
  dh: u32, dw: u32, outOff: u32, kStepH: u32,
  kStepW: u32, oStepH: u32, oStepW: u32,
}
@group(0) @binding(0) var<storage, read> cols: array<f32>;
@group(0) @binding(1) var<storage, read> bias: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<uniform> u: U;

// First valid tap along one axis for t0 = i + p (>= 0): (k0, o0) with t0 - k0*d = o0*s, k0 < kStep;
// k0 = 2^30 (past any kernel) when there is no such tap.
fn first_tap(t0: u32, s: u32, d: u32, kStep: u32) -> vec2<u32> {
  if (s == 1u) { return vec2<u32>(0u, t0); }
  if (d == 1u) {
    let qr = fdivmod(t0, s);
    return vec2<u32>(qr.y, qr.x);
  }
  for (var k = 0u; k < kStep; k++) {
    if (k * d > t0) { break; }
    let qr = fdivmod(t0 - k * d, s);
    if (qr.y == 0u) { return vec2<u32>(k, qr.x); }
  }
  return vec2<u32>(0x40000000u, 0u);
}

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flat_id(gid, nwg, 64u);
  if (i >= u.total) { return; }
  let a = fdivmod(i, u.W);
  let b = fdivmod(a.x, u.H);
  let c2 = fdivmod(b.x, u.C);
  let iw = a.y;
  let ih = b.y;
  let c = c2.y;
  let nl = c2.x;
  let P = u.Ho * u.Wo;
  let base = (nl * u.C + c) * u.kh * u.kw * P;
#if ${HAS_BIAS}
  var acc = bias[c];
#else
  var acc = 0.0;
#endif
  let fh = first_tap(ih + u.ph, u.sh, u.dh, u.kStepH);
  let fw = first_tap(iw + u.pw, u.sw, u.dw, u.kStepW);
  var ky = fh.x;
  var oh = i32(fh.y);
  loop {
    if (ky >= u.kh || oh < 0) { break; }
    if (oh < i32(u.Ho)) {
      let rowBase = base + ky * u.kw * P + u32(oh) * u.Wo;
      var kx = fw.x;
      var ow = i32(fw.y);
      loop {
        if (kx >= u.kw || ow < 0) { break; }
        if (ow < i32(u.Wo)) { acc += cols[rowBase + kx * P + u32(ow)]; }
        kx += u.kStepW;
        ow -= i32(u.oStepW);
      }
    }
    ky += u.kStepH;
    oh -= i32(u.oStepH);
  }
  out[u.outOff + i] = acc;
}
