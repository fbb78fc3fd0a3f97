// 2-D pooling forward on NCHW planes, one invocation per output (n, c, oy, ox), window rows scanned
// top to bottom, left to right, zero/-inf padding outside the input.
// Defines: MAX (max pool), ARGMAX (max pool writing the flat in-plane index iy*W + ix of the first
//          maximum instead of the value; the backward uses it), GLOBAL (whole-plane mean: out[t] =
//          mean of plane t, contiguous loop), else average pool (count_include_pad: divide by kh*kw).
#include "common.wgsl"

struct U { n: u32, h: u32, w: u32, oh: u32, ow: u32, kh: u32, kw: u32, sh: u32, sw: u32, ph: u32, pw: u32, inv: f32, wb: u32 }
@group(0) @binding(0) var<storage, read> x: array<f32>;
#if ${ARGMAX}
@group(0) @binding(1) var<storage, read_write> out: array<u32>;
#else
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
#endif
@group(0) @binding(2) var<uniform> u: U;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = flat_id(gid, nwg, 64u);
  if (t >= u.n) { return; }
#if ${GLOBAL}
  let hw = u.h * u.w;
  var s = 0.0;
  for (var p = t * hw; p < (t + 1u) * hw; p++) { s += x[p]; }
  out[t] = s * u.inv;
#else
  let ohw = u.oh * u.ow;
  let plane = t / ohw;
  let r = t - plane * ohw;
  let oy = r / u.ow;
  let ox = r - oy * u.ow;
  let y0 = i32(oy * u.sh) - i32(u.ph);
  let x0 = i32(ox * u.sw) - i32(u.pw);
  let ya = u32(max(y0, 0));
  let yb = u32(min(y0 + i32(u.kh), i32(u.h)));
  let xa = u32(max(x0, 0));
  let xb = u32(min(x0 + i32(u.kw), i32(u.w)));
  let pbase = plane * u.h * u.w;
#if ${MAX}
  // Every window holds at least one input element (padding <= kernel / 2): start from the first.
  var bi = ya * u.w + xa;
  var m = x[pbase + bi];
  for (var iy = ya; iy < yb; iy++) {
    for (var ix = xa; ix < xb; ix++) {
      let q = iy * u.w + ix;
      let v = x[pbase + q];
      let gt = v > m;
      m = select(m, v, gt);
      bi = select(bi, q, gt);
    }
  }
#if ${ARGMAX}
  out[t] = bi;
#else
  out[t] = m;
#endif
#else
  var s = 0.0;
  for (var iy = ya; iy < yb; iy++) {
    for (var ix = xa; ix < xb; ix++) { s += x[pbase + iy * u.w + ix]; }
  }
  out[t] = s * u.inv;
#endif
#endif
}
