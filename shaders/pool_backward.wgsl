// 2-D pooling backward, gathering (no atomics) over the output windows that cover each input element:
// oy in [ceil((iy + ph - kh + 1) / sh), floor((iy + ph) / sh)] clamped to [0, OH), likewise ox.
// One invocation per run of 4 input pixels along a row (index math and the y range shared by the run).
// Defines: MAX (g flows where idx (pool.wgsl ARGMAX) names this element), GLOBAL (one invocation per
//          element: dx = g[plane] / (H*W)), else average (count_include_pad: dx = sum of g / (kh*kw)).
#include "common.wgsl"
struct U { n: u32, h: u32, w: u32, oh: u32, ow: u32, kh: u32, kw: u32, sh: u32, sw: u32, ph: u32, pw: u32, inv: f32, wb: u32 }
@group(0) @binding(0) var<storage, read> g: array<f32>;
@group(0) @binding(1) var<storage, read> idx: array<u32>;
@group(0) @binding(2) var<storage, read_write> dx: array<f32>;
@group(0) @binding(3) var<uniform> u: U;

// Output range [lo, hi) along one dim whose windows cover input position i.
fn cover(i: u32, k: u32, s: u32, p: u32, n: u32) -> vec2<u32> {
  let a = i + p + 1u;
  let lo = select(0u, (a - k + s - 1u) / s, a > k);
  let hi = min((i + p) / s + 1u, n);
  return vec2<u32>(lo, max(hi, lo));
}

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = flat_id(gid, nwg, 64u);
  if (t >= u.n) { return; }
#if ${GLOBAL}
  dx[t] = g[t / (u.h * u.w)] * u.inv;
#else
  // t enumerates (plane, iy, run of 4 along x); u.n = planes * h * wb.
  let row = t / u.wb;
  let xb = t - row * u.wb;
  let plane = row / u.h;
  let iy = row - plane * u.h;
  let obase = plane * u.oh * u.ow;
  let ibase = row * u.w;
  let x0 = xb * 4u;
  let x1 = min(x0 + 4u, u.w);
  let ry = cover(iy, u.kh, u.sh, u.ph, u.oh);
  for (var ix = x0; ix < x1; ix++) {
    let rx = cover(ix, u.kw, u.sw, u.pw, u.ow);
    var s = 0.0;
#if ${MAX}
    let q = iy * u.w + ix;
#endif
    for (var oy = ry.x; oy < ry.y; oy++) {
      for (var ox = rx.x; ox < rx.y; ox++) {
        let o = obase + oy * u.ow + ox;
#if ${MAX}
        s += select(0.0, g[o], idx[o] == q);
#else
        s += g[o];
#endif
      }
    }
#if ${MAX}
    dx[ibase + ix] = s;
#else
    dx[ibase + ix] = s * u.inv;
#endif
  }
#endif
}
