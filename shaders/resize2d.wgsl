// Non-antialiased bilinear / bicubic resize in one 2-D pass (forward only): the 2x2 or 4x4 taps of
// each output are few, so one pass over [NC, H, W] -> [NC, outH, outW] beats two separable passes.
// Same definitions as resize.wgsl (PyTorch F.interpolate): per axis s = scale*j + bias;
//   bilinear: s = max(s, 0) (CLAMP_SRC); i0 = min(floor(s), L-1); taps i0, min(i0+1, L-1); weights 1-l, l.
//   bicubic:  i = floor(s), l = s - i; taps clamp(i-1+k, 0, L-1); Keys weights (a = -0.75).
// Each thread computes 4 consecutive outputs of one row (the H taps are shared).
#include "common.wgsl"
struct U {
  n: u32, hin: u32, win: u32, hout: u32, wout: u32, jq: u32,
  scaleH: f32, biasH: f32, scaleW: f32, biasW: f32, cubicA: f32,
}
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<uniform> u: U;

fn cubic(xx: f32) -> f32 {
  let a = u.cubicA;
  let x = abs(xx);
  if (x < 1.0) { return ((a + 2.0) * x - (a + 3.0)) * x * x + 1.0; }
  if (x < 2.0) { return (((x - 5.0) * x + 8.0) * x - 4.0) * a; }
  return 0.0;
}

#if ${CUBIC}
const K = 4;
#else
const K = 2;
#endif

struct Axis { idx: array<u32, K>, w: array<f32, K> }

fn axis_taps(j: u32, scale: f32, bias: f32, len: u32) -> Axis {
  var r: Axis;
  var s = scale * f32(j) + bias;
#if ${CUBIC}
  let i = floor(s);
  let l = s - i;
  let lo = i32(i) - 1;
  r.w[0] = cubic(l + 1.0);
  r.w[1] = cubic(l);
  r.w[2] = cubic(1.0 - l);
  r.w[3] = cubic(2.0 - l);
  for (var k = 0; k < 4; k++) { r.idx[k] = u32(clamp(lo + k, 0, i32(len) - 1)); }
#else
#if ${CLAMP_SRC}
  s = max(s, 0.0);
#endif
  let i0 = min(i32(floor(s)), i32(len) - 1);
  let l = clamp(s - f32(i0), 0.0, 1.0);
  r.idx[0] = u32(i0);
  r.idx[1] = u32(min(i0 + 1, i32(len) - 1));
  r.w[0] = 1.0 - l;
  r.w[1] = l;
#endif
  return r;
}

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = flat_id(gid, nwg, 64u);
  if (t >= u.n) { return; }
  let q = t % u.jq;
  let rest = t / u.jq;
  let i = rest % u.hout;
  let o = rest / u.hout;
  let th = axis_taps(i, u.scaleH, u.biasH, u.hin);
  let base = o * u.hin * u.win;
  let j0 = q * 4u;
  let nj = min(4u, u.wout - j0);
  let ob = (o * u.hout + i) * u.wout + j0;
  for (var r = 0u; r < nj; r++) {
    let tw = axis_taps(j0 + r, u.scaleW, u.biasW, u.win);
    var acc = 0.0;
    for (var a = 0; a < K; a++) {
      let row = base + th.idx[a] * u.win;
      var sr = 0.0;
      for (var b = 0; b < K; b++) { sr += tw.w[b] * x[row + tw.idx[b]]; }
      acc += th.w[a] * sr;
    }
    out[ob + r] = acc;
  }
}
