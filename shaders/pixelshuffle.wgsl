// Pixel shuffle (PyTorch semantics) and its inverse.
//   small: [N, C*r*r, H, W]   big: [N, C, H*r, W*r]
//   big[n, c, h*r + i, w*r + j] = small[n, c*r*r + i*r + j, h, w]
// SHUFFLE: x is small, out is big; else (unshuffle) x is big, out is small.
// The big side is [N, C, bh, bw] with bh in [H*r, H*r + r), bw in [W*r, W*r + r): a shuffle writes
// zeros to the rows and columns past H*r and W*r (a patchify conv's backward-data where the patches
// leave the input's last rows or columns unused); VEC needs bh = H*r and bw = W*r.
// One thread per coarse pixel (n*C + c, h, w) moves its r x r block (adjacent threads: adjacent w);
// FDIV (fewer than 2^24 coarse pixels): the index is split with float divisions (fdivmod: a CPU
// adapter runs integer divisions one lane at a time).
// VEC (r == 2 or 4, VEC4 when 4): the big side's r j's of a row are one vec2 / vec4.
#include "common.wgsl"
struct U { n: u32, r: u32, h: u32, w: u32, bh: u32, bw: u32 }
#if ${VEC4}
alias V = vec4<f32>;
#else
alias V = vec2<f32>;
#endif
#if ${VEC}
#if ${SHUFFLE}
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<V>;
#else
@group(0) @binding(0) var<storage, read> x: array<V>;
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
#if ${FDIV}
  let qw = fdivmod(t, u.w);
  let qh = fdivmod(qw.x, u.h);
#else
  let qw = vec2<u32>(t / u.w, t % u.w);
  let qh = vec2<u32>(qw.x / u.h, qw.x % u.h);
#endif
  let w = qw.y;
  let h = qh.y;
  let nc = qh.x;
  let hw = u.h * u.w;
  let r = u.r;
  let bigW = u.bw;
  let small0 = nc * r * r * hw + h * u.w + w;
  let big0 = (nc * u.bh + h * r) * bigW + w * r;
#if ${VEC}
  for (var i = 0u; i < ${VEC}u; i++) {
    let s = small0 + i * ${VEC}u * hw;
    let b = (big0 + i * bigW) / ${VEC}u;
#if ${SHUFFLE}
    var v: V;
    for (var j = 0u; j < ${VEC}u; j++) { v[j] = x[s + j * hw]; }
    out[b] = v;
#else
    let v = x[b];
    for (var j = 0u; j < ${VEC}u; j++) { out[s + j * hw] = v[j]; }
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
#if ${SHUFFLE}
  // The columns past W*r of this block's rows (last coarse column), the rows past H*r under this
  // block's columns (last coarse row; the last coarse pixel also takes the corner).
  let colsEnd = select(w * r + r, bigW, w + 1u == u.w);
  if (w + 1u == u.w) {
    for (var i = 0u; i < r; i++) {
      for (var j = u.w * r; j < bigW; j++) { out[big0 + i * bigW + j - w * r] = 0.0; }
    }
  }
  if (h + 1u == u.h) {
    for (var i = u.h * r; i < u.bh; i++) {
      for (var j = w * r; j < colsEnd; j++) { out[(nc * u.bh + i) * bigW + j] = 0.0; }
    }
  }
#endif
#endif
}
