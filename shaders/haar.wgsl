// Orthonormal 2-D Haar transform of [NC, H, W] (H, W even) <-> four bands [NC, H/2, W/2].
// For the 2x2 block  a b / c d  (a = x[2i, 2j], b = x[2i, 2j+1], c = x[2i+1, 2j], d = x[2i+1, 2j+1]):
//   ll = (a + b + c + d) / 2    lh = (a + b - c - d) / 2   (top minus bottom)
//   hl = (a - b + c - d) / 2    hh = (a - b - c + d) / 2   (left minus right; diagonal)
// The matrix is symmetric and orthogonal, so the inverse uses the same signs.
// Variants: FWD (x -> ll, lh, hl, hh; LL_ONLY: x -> ll), INV (ll, lh, hl, hh -> x), ADJ (one band's
// gradient g -> dx = g/2 * (1, sb, sc, sb*sc) on the block; the backward of a single band).
// VEC: W % 4 == 0; each thread does two horizontally adjacent blocks (vec4 row loads, vec2 bands).
#include "common.wgsl"
struct U { n: u32, rowQ: u32, sb: f32, sc: f32 }   // n = threads, rowQ = threads per coarse row
#if ${VEC}
alias V = vec2<f32>;
alias R = vec4<f32>;
#else
alias V = f32;
alias R = vec2<f32>;
#endif
#if ${FWD}
@group(0) @binding(0) var<storage, read> x: array<R>;
@group(0) @binding(1) var<storage, read_write> ll: array<V>;
#if ${LL_ONLY}
@group(0) @binding(2) var<uniform> u: U;
#else
@group(0) @binding(2) var<storage, read_write> lh: array<V>;
@group(0) @binding(3) var<storage, read_write> hl: array<V>;
@group(0) @binding(4) var<storage, read_write> hh: array<V>;
@group(0) @binding(5) var<uniform> u: U;
#endif
#elif ${INV}
@group(0) @binding(0) var<storage, read> ll: array<V>;
@group(0) @binding(1) var<storage, read> lh: array<V>;
@group(0) @binding(2) var<storage, read> hl: array<V>;
@group(0) @binding(3) var<storage, read> hh: array<V>;
@group(0) @binding(4) var<storage, read_write> x: array<R>;
@group(0) @binding(5) var<uniform> u: U;
#else
@group(0) @binding(0) var<storage, read> g: array<V>;
@group(0) @binding(1) var<storage, read_write> x: array<R>;
@group(0) @binding(2) var<uniform> u: U;
#endif

// x is addressed in units of R: one row of the thread's block(s), a b (VEC: a b a' b').
#if ${VEC}
fn left(v: R) -> V { return v.xz; }
fn right(v: R) -> V { return v.yw; }
fn join(l: V, r: V) -> R { return vec4<f32>(l.x, r.x, l.y, r.y); }
#else
fn left(v: R) -> V { return v.x; }
fn right(v: R) -> V { return v.y; }
fn join(l: V, r: V) -> R { return vec2<f32>(l, r); }
#endif

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = flat_id(gid, nwg, 64u);
  if (t >= u.n) { return; }
  let q = t % u.rowQ;
  let row = t / u.rowQ;              // coarse row index over NC * H/2
  let top = row * 2u * u.rowQ + q;   // top row of the block(s), in R units (a fine row is rowQ R's)
  let bot = top + u.rowQ;
#if ${FWD}
  let tr = x[top];
  let br = x[bot];
  let a = left(tr);
  let b = right(tr);
  let c = left(br);
  let d = right(br);
  ll[t] = 0.5 * (a + b + c + d);
#if ${LL_ONLY}
#else
  lh[t] = 0.5 * (a + b - c - d);
  hl[t] = 0.5 * (a - b + c - d);
  hh[t] = 0.5 * (a - b - c + d);
#endif
#elif ${INV}
  let s = ll[t];
  let v = lh[t];
  let h = hl[t];
  let e = hh[t];
  x[top] = join(0.5 * (s + v + h + e), 0.5 * (s + v - h - e));
  x[bot] = join(0.5 * (s - v + h - e), 0.5 * (s - v - h + e));
#else
  let k = 0.5 * g[t];
  x[top] = join(k, u.sb * k);
  x[bot] = join(u.sc * k, u.sb * u.sc * k);
#endif
}
