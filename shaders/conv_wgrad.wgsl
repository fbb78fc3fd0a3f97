// conv2d weight gradient (also convTranspose2d's, with the roles of its tensors swapped):
//   dw[co, ci_g, ky, kx] = sum_{n, oh, ow} dy[n, co, oh, ow] * x[n, g*cig + ci_g, oh*sh-ph+ky*dh, ow*sw-pw+kx*dw]
// Each invocation owns CB output channels x J weights along ci (default) or along kx (KX_BLOCK,
// for cig < 4 as in depthwise) and reduces over the rows (n, oh) of one split of N*Ho.
// The channel block (workgroup_id.y) and the split (workgroup_id.z) are uniform across the
// workgroup, so the dy loads are too (lavapipe loads them once, not per lane); only x is gathered.
// part[split] holds one partial dw per split (summed afterwards when there are several).
// KW > 0 (stride 1 and dilation 1 along W, kernel width KW): an invocation owns CB output channels x
// J input channels x all KW kx of one ky, and takes the output pixels of a row PX at a time: the PX + KW - 1
// inputs of each channel's row segment read once serve every kx (PX + KW - 1 reads for PX·KW products,
// where the default reads one input per product). The sums run over (n, oh, ow) in the same order.
// X4 (with KW; W, Wo and PX multiples of 4): dy and x bound as vec4s; each channel's PX pixels of dy
// are PX / 4 vec4 reads and each x row segment X4N aligned vec4s from column ow0 − 4·ceil(pw / 4),
// strip input s being element s + X4OFF of them (as in conv_fwd.wgsl): on lavapipe a read costs per
// lane whatever its width. The sums are the same products in the same order.
// Defines: KX_BLOCK, CB (multiple of 4), J, KW, PX, X4, X4OFF, X4N.
struct U {
  items: u32, rowsPerSplit: u32, rows: u32, Ho: u32,
  Wo: u32, Co: u32, Ci: u32, H: u32,
  W: u32, cig: u32, cog: u32, cbPerGroup: u32,
  jBlocks: u32, kh: u32, kw: u32, sh: i32,
  sw: i32, ph: i32, pw: i32, dh: i32,
  dw: i32, wsize: u32,
}
#if ${X4}
@group(0) @binding(0) var<storage, read> dy: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> x: array<vec4<f32>>;
#else
@group(0) @binding(0) var<storage, read> dy: array<f32>;
@group(0) @binding(1) var<storage, read> x: array<f32>;
#endif
@group(0) @binding(2) var<storage, read_write> part: array<f32>;
@group(0) @binding(3) var<uniform> u: U;

const CB = ${CB}u;
const CV = CB / 4u;
const J = ${J}u;
const KW = ${KW}u;
const PX = ${PX}u;

// kx per invocation: all KW of them in the row-strip form, else one (or J along kx with KX_BLOCK).
const NKX = select(1u, KW, KW > 0u);

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
  let it0 = gid.x;
  if (it0 >= u.items) { return; }
  let split = wid.z;
  let g = wid.y / u.cbPerGroup;
  let b = wid.y % u.cbPerGroup;
  var t = it0;
#if ${KW}
  // items (jb, ky), ky fastest: channels ci0 .. ci0 + J - 1, every kx
  let ky = t % u.kh;
  let ci0 = (t / u.kh) * J;
  let kx0 = 0u;
  let jcount = min(J, u.cig - ci0);
  let xjs = u.H * u.W;
  let iwjs = 0;
#elif ${KX_BLOCK}
  let jb = t % u.jBlocks; t = t / u.jBlocks;
  let ky = t % u.kh;
  let ci0 = t / u.kh;
  let kx0 = jb * J;
  let jcount = min(J, u.kw - kx0);
  let xjs = 0u;            // channel offset step of x between j
  let iwjs = u.dw;         // column offset step between j
#else
  let kx0 = t % u.kw; t = t / u.kw;
  let ky = t % u.kh;
  let jb = t / u.kh;
  let ci0 = jb * J;
  let jcount = min(J, u.cig - ci0);
  let xjs = u.H * u.W;
  let iwjs = 0;
#endif
  let cb0 = b * CB;
  let ccount = min(CB, u.cog - cb0);
  let co0 = g * u.cog + cb0;
  let HWo = u.Ho * u.Wo;
  let HW = u.H * u.W;
  // Unused j / channels are clamped onto valid ones; their sums are discarded.
  var xoff: array<u32, J>;
  var woff: array<i32, J>;
  for (var j = 0u; j < J; j++) {
    let jj = min(j, jcount - 1u);
    xoff[j] = jj * xjs;
    woff[j] = i32(jj) * iwjs;
  }
  var doff: array<u32, CB>;
  for (var c = 0u; c < CB; c++) { doff[c] = min(c, ccount - 1u) * HWo; }
  var acc: array<vec4<f32>, J * NKX * CV>;
  for (var k = 0u; k < J * NKX * CV; k++) { acc[k] = vec4<f32>(0.0); }
#if ${KW}
  var dv: array<vec4<f32>, PX * CV>;
  var xs: array<f32, PX + KW - 1u>;
#else
  var dv: array<vec4<f32>, CV>;
  var xv: array<f32, J>;
#endif
  let r0 = split * u.rowsPerSplit;
  let r1 = min(u.rows, r0 + u.rowsPerSplit);
  let kxo = i32(kx0) * u.dw - u.pw;
  let Wi = i32(u.W);
  for (var r = r0; r < r1; r++) {
    let n = r / u.Ho;
    let oh = r % u.Ho;
    let ih = i32(oh) * u.sh - u.ph + i32(ky) * u.dh;
    if (ih < 0 || ih >= i32(u.H)) { continue; }
    let xrow = (n * u.Ci + g * u.cig + ci0) * HW + u32(ih) * u.W;
    let d0 = (n * u.Co + co0) * HWo + oh * u.Wo;
#if ${KW}
    for (var ow0 = 0u; ow0 < u.Wo; ow0 += PX) {
#if ${X4}
      // dy of the PX pixels, 4 at a time per channel (a whole vec4 past the row's end reads 0)
      for (var q = 0u; q < PX / 4u; q++) {
        let live = select(0.0, 1.0, ow0 + 4u * q < u.Wo);
        let ow = min(ow0 + 4u * q, u.Wo - 4u);
        for (var v = 0u; v < CV; v++) {
          let d0v = live * dy[(d0 + doff[4u * v] + ow) >> 2u];
          let d1v = live * dy[(d0 + doff[4u * v + 1u] + ow) >> 2u];
          let d2v = live * dy[(d0 + doff[4u * v + 2u] + ow) >> 2u];
          let d3v = live * dy[(d0 + doff[4u * v + 3u] + ow) >> 2u];
          for (var i = 0u; i < 4u; i++) { dv[(4u * q + i) * CV + v] = vec4<f32>(d0v[i], d1v[i], d2v[i], d3v[i]); }
        }
      }
      let cb = i32(ow0) - i32(${X4OFF}u) - u.pw; // the first vec4's column: ow0 − 4·ceil(pw / 4)
      for (var j = 0u; j < J; j++) {
        var xv4: array<vec4<f32>, ${X4N}u>;
        for (var w = 0u; w < ${X4N}u; w++) {
          let c = cb + i32(4u * w);
          let ok = c >= 0 && c < Wi;
          xv4[w] = select(vec4<f32>(0.0), x[(xrow + xoff[j] + u32(select(0, c, ok))) >> 2u], ok);
        }
        for (var s = 0u; s < PX + KW - 1u; s++) { xs[s] = xv4[(s + ${X4OFF}u) >> 2u][(s + ${X4OFF}u) & 3u]; }
        for (var kx = 0u; kx < KW; kx++) {
          for (var p = 0u; p < PX; p++) {
            for (var v = 0u; v < CV; v++) { acc[(j * KW + kx) * CV + v] += xs[p + kx] * dv[p * CV + v]; }
          }
        }
      }
#else
      // dy of the PX pixels (0 past the row's end: those products add nothing)
      for (var p = 0u; p < PX; p++) {
        let ow = min(ow0 + p, u.Wo - 1u);
        let live = select(0.0, 1.0, ow0 + p < u.Wo);
        for (var v = 0u; v < CV; v++) {
          dv[p * CV + v] = live * vec4<f32>(dy[d0 + doff[4u * v] + ow], dy[d0 + doff[4u * v + 1u] + ow], dy[d0 + doff[4u * v + 2u] + ow], dy[d0 + doff[4u * v + 3u] + ow]);
        }
      }
      let iw0 = i32(ow0) + kxo;
      for (var j = 0u; j < J; j++) {
        for (var s = 0u; s < PX + KW - 1u; s++) {
          let c = iw0 + i32(s);
          let ok = c >= 0 && c < Wi;
          xs[s] = select(0.0, x[xrow + xoff[j] + u32(select(0, c, ok))], ok);
        }
        for (var kx = 0u; kx < KW; kx++) {
          for (var p = 0u; p < PX; p++) {
            for (var v = 0u; v < CV; v++) { acc[(j * KW + kx) * CV + v] += xs[p + kx] * dv[p * CV + v]; }
          }
        }
      }
#endif
    }
#else
    for (var ow = 0u; ow < u.Wo; ow++) {
      let iw = i32(ow) * u.sw + kxo;
      for (var v = 0u; v < CV; v++) {
        dv[v] = vec4<f32>(dy[d0 + doff[4u * v] + ow], dy[d0 + doff[4u * v + 1u] + ow], dy[d0 + doff[4u * v + 2u] + ow], dy[d0 + doff[4u * v + 3u] + ow]);
      }
      for (var j = 0u; j < J; j++) {
        let c = iw + woff[j];
        let ok = c >= 0 && c < Wi;
        xv[j] = select(0.0, x[xrow + xoff[j] + u32(select(0, c, ok))], ok);
      }
      for (var j = 0u; j < J; j++) {
        for (var v = 0u; v < CV; v++) { acc[j * CV + v] += xv[j] * dv[v]; }
      }
    }
#endif
  }
  let K = u.kh * u.kw;
  let base = split * u.wsize;
#if ${KX_BLOCK}
  let js = 1u;
#else
  let js = K;
#endif
  for (var v = 0u; v < CV; v++) {
    for (var c = 0u; c < 4u; c++) {
      if (v * 4u + c < ccount) {
        let wrow = base + ((co0 + v * 4u + c) * u.cig + ci0) * K + ky * u.kw + kx0;
        for (var j = 0u; j < J; j++) {
          if (j < jcount) {
            for (var kx = 0u; kx < NKX; kx++) { part[wrow + j * js + kx] = acc[(j * NKX + kx) * CV + v][c]; }
          }
        }
      }
    }
  }
}
