// Pixel shuffle (PyTorch semantics) and its inverse.
//   small: [N, C*r*r, H, W]   big: [N, C, H*r, W*r]
//   big[n, c, h*r + i, w*r + j] = small[n, c*r*r + i*r + j, h, w]
// SHUFFLE: x is small, out is big; else (unshuffle) x is big, out is small.
// One thread per coarse pixel (n*C + c, h, w) moves its r x r block (adjacent threads: adjacent w).
// VEC4 (r == 4): the big side's four j's of a row are one vec4.
#include "common.wgsl"
struct U { n: u32, r: u32, h: u32, w: u32 }
#if ${VEC4}
#if ${SHUFFLE}
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<vec4<f32>>;
#else
@group(0) @binding(0) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
#endif
#else
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
#endif
@group(0) @binding(2) var<uniform> u: U;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = flat_id(gid, nwg, 64u);
  if (t >= u.n) { return; }
  let w = t % u.w;
  let rest = t / u.w;
  let h = rest % u.h;
  let nc = rest / u.h;
  let hw = u.h * u.w;
  let r = u.r;
  let bigW = u.w * r;
  let small0 = nc * r * r * hw + h * u.w + w;
  let big0 = (nc * u.h * r + h * r) * bigW + w * r;
#if ${VEC4}
  for (var i = 0u; i < 4u; i++) {
    let s = small0 + i * 4u * hw;
    let b = (big0 + i * bigW) / 4u;
#if ${SHUFFLE}
    out[b] = vec4<f32>(x[s], x[s + hw], x[s + 2u * hw], x[s + 3u * hw]);
#else
    let v = x[b];
    out[s] = v.x;
    out[s + hw] = v.y;
    out[s + 2u * hw] = v.z;
    out[s + 3u * hw] = v.w;
#endif
  }
#else
  for (var i = 0u; i < r; i++) {
    for (var j = 0u; j < r; j++) {
      let s = small0 + (i * r + j) * hw;
      let b = big0 + i * bigW + j;
#if ${SHUFFLE}
      out[b] = x[s];
#else
      out[s] = x[b];
#endif
    }
  }
#endif
}
