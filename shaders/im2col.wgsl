// im2col for the GEMM convolution path (src/runtime/ops/conv-gemm.ts). For images nl < nb of a chunk
// starting at element xOff of x [N, C, H, W] (groups = 1), with k = (ci * kh + ky) * kw + kx < K
// (K = C * kh * kw) and p = oh * Wo + ow < P:
//   value(nl, k, p) = x[nl, ci, oh*sh - ph + ky*dh, ow*sw - pw + kx*dw]   (0 outside the image)
// Layouts: cols[nl, k, p] ([nb, K, P], the B operand of W[Co, K] · cols[nl]) or, TRANSPOSED,
// cols[nl, p, k] ([nb * P, K], the B operand of the weight gradient dy[Co, nb*P] · cols).
// Each invocation writes 4 consecutive elements of a row (4 pixels p; TRANSPOSED: 4 taps k), so the
// index decomposition is done once per 4 elements, with float divisions (divmod: the op keeps every
// index below 2^24). The flat index is folded into 2-D past 65,535 workgroups (grid1d).
// Defines: TRANSPOSED.
#include "common.wgsl"
struct U {
  total: u32, P: u32, K: u32, Wo: u32,
  kh: u32, kw: u32, H: u32, W: u32,
  sh: i32, sw: i32, ph: i32, pw: i32,
  dh: i32, dw: i32, xOff: u32, blocks: u32,
  C: u32,
}
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> cols: array<f32>;
@group(0) @binding(2) var<uniform> u: U;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flat_id(gid, nwg, 64u);
  if (i >= u.total) { return; }
  // A row of `blocks` 4-element blocks per (nl, k) (TRANSPOSED: per (nl, p)).
  let rb = fdivmod(i, u.blocks);
  let row = rb.x;
  let H = i32(u.H);
  let W = i32(u.W);
#if ${TRANSPOSED}
  let np = fdivmod(row, u.P);
  let nl = np.x;
  let hw = fdivmod(np.y, u.Wo);
  let ih0 = i32(hw.x) * u.sh - u.ph;
  let iw0 = i32(hw.y) * u.sw - u.pw;
  var k = rb.y * 4u;
  let tx = fdivmod(k, u.kw);
  var kx = tx.y;
  let cy = fdivmod(tx.x, u.kh);
  var ky = cy.y;
  var ci = cy.x;
  let o = row * u.K;
  for (var j = 0u; j < 4u; j++) {
    if (k < u.K) {
      let ih = ih0 + i32(ky) * u.dh;
      let iw = iw0 + i32(kx) * u.dw;
      var v = 0.0;
      if (ih >= 0 && iw >= 0 && ih < H && iw < W) {
        v = x[u.xOff + ((nl * u.C + ci) * u.H + u32(ih)) * u.W + u32(iw)];
      }
      cols[o + k] = v;
    }
    k++;
    kx++;
    if (kx == u.kw) {
      kx = 0u;
      ky++;
      if (ky == u.kh) { ky = 0u; ci++; }
    }
  }
#else
  let nk = fdivmod(row, u.K);
  let nl = nk.x;
  let tx = fdivmod(nk.y, u.kw);
  let cy = fdivmod(tx.x, u.kh);
  let xb = u.xOff + (nl * u.C + cy.x) * u.H * u.W;
  let dy = i32(cy.y) * u.dh - u.ph;
  let dx = i32(tx.y) * u.dw - u.pw;
  var p = rb.y * 4u;
  let hw = fdivmod(p, u.Wo);
  var oh = hw.x;
  var ow = hw.y;
  let o = row * u.P;
  for (var j = 0u; j < 4u; j++) {
    if (p < u.P) {
      let ih = i32(oh) * u.sh + dy;
      let iw = i32(ow) * u.sw + dx;
      var v = 0.0;
      if (ih >= 0 && iw >= 0 && ih < H && iw < W) { v = x[xb + u32(ih) * u.W + u32(iw)]; }
      cols[o + p] = v;
    }
    p++;
    ow++;
    if (ow == u.Wo) { ow = 0u; oh++; }
  }
#endif
}
