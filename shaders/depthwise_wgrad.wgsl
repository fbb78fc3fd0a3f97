// Depthwise conv2d weight gradient, stride 1, dilation 1 (groups == C == Cout):
//   dw[c, 0, ky, kx] = sum_{n, oh, ow} dy[n, c, oh, ow] * x[n, c, oh-ph+ky, ow-pw+kx]
// Each invocation owns KB weight rows (c, ky0 .. ky0+KB-1): KB*KW accumulators, reduced over the
// rows (n, oh) of one split of N*Ho (workgroup y). Per output row segment it loads S values of dy
// once and, per tap row, S+KW-1 values of x into registers and slides the KW taps over them (no
// shared memory, no barriers).
// part[split] holds one partial dw per split (summed afterwards when there are several).
// BIAS: also the bias gradient's partials, pbias[split * C + c] = sum of the split's dy of channel c
// (the invocations of the first tap-row block write it; every invocation reads those dy anyway).
// Defines: KW, KB (tap rows per invocation), S, BIAS.
struct U {
  items: u32, rowsPerSplit: u32, rows: u32, Ho: u32,
  Wo: u32, C: u32, H: u32, W: u32,
  kh: u32, segs: u32, wsize: u32, ph: i32,
  pw: i32, kyBlocks: u32,
}
@group(0) @binding(0) var<storage, read> dy: array<f32>;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> part: array<f32>;
#if ${BIAS}
@group(0) @binding(3) var<storage, read_write> pbias: array<f32>;
@group(0) @binding(4) var<uniform> u: U;
#else
@group(0) @binding(3) var<uniform> u: U;
#endif

const KW = ${KW}u;
const KB = ${KB}u;
const S = ${S}u;
const L = S + KW - 1u;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
  let it = gid.x;
  if (it >= u.items) { return; }
  let split = wid.y;
  let kb = it % u.kyBlocks;
  let c = it / u.kyBlocks;
  let ky0 = kb * KB;
  var acc: array<f32, KB * KW>;
  for (var k = 0u; k < KB * KW; k++) { acc[k] = 0.0; }
  var dv: array<f32, S>;
  var bsum = 0.0;
  var xv: array<f32, L>;
  let r0 = split * u.rowsPerSplit;
  let r1 = min(u.rows, r0 + u.rowsPerSplit);
  var n = r0 / u.Ho;
  var oh = r0 % u.Ho;
  let Wi = i32(u.W);
  let HW = u.H * u.W;
  let HWo = u.Ho * u.Wo;
  for (var r = r0; r < r1; r++) {
    let ih0 = i32(oh) - u.ph + i32(ky0);
    let xplane = (n * u.C + c) * HW;
    let drow = (n * u.C + c) * HWo + oh * u.Wo;
    for (var s = 0u; s < u.segs; s++) {
      let ow0 = s * S;
      for (var j = 0u; j < S; j++) {
        let ok = ow0 + j < u.Wo;
        dv[j] = select(0.0, dy[drow + select(0u, ow0 + j, ok)], ok);
#if ${BIAS}
        bsum += dv[j];
#endif
      }
      let iw0 = i32(ow0) - u.pw;
      for (var b = 0u; b < KB; b++) {
        // Tap row ky0 + b reads input row ih0 + b (rows past the kernel or the image add nothing).
        let ih = ih0 + i32(b);
        if (ky0 + b < u.kh && ih >= 0 && ih < i32(u.H)) {
          let xrow = xplane + u32(ih) * u.W;
          for (var j = 0u; j < L; j++) {
            let iw = iw0 + i32(j);
            let ok = iw >= 0 && iw < Wi;
            xv[j] = select(0.0, x[xrow + u32(select(0, iw, ok))], ok);
          }
          for (var kx = 0u; kx < KW; kx++) {
            for (var j = 0u; j < S; j++) { acc[b * KW + kx] = fma(dv[j], xv[j + kx], acc[b * KW + kx]); }
          }
        }
      }
    }
    oh++;
    if (oh == u.Ho) { oh = 0u; n++; }
  }
#if ${BIAS}
  if (kb == 0u) { pbias[split * u.C + c] = bsum; }
#endif
  let o = split * u.wsize + (c * u.kh + ky0) * KW;
  for (var b = 0u; b < KB; b++) {
    if (ky0 + b < u.kh) {
      for (var k = 0u; k < KW; k++) { part[o + b * KW + k] = acc[b * KW + k]; }
    }
  }
}
