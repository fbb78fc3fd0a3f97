// One separable pass of bilinear / bicubic resampling (PyTorch F.interpolate semantics) along one
// axis of a tensor viewed as [outer, L, inner], and its transpose (the backward, gather form).
//   forward:  dst[o, j, k] = sum_t W[j, t] src[o, t, k]      (j < lout, t < lin)
//   BACKWARD: dst[o, t, k] = sum_j W[j, t] src[o, j, k]      (src = gradient of the forward output)
// W[j, .] comes from the taps of output j (computed on the fly, no tables):
//   non-AA linear: s = scale*j + bias (CLAMP_SRC: s = max(s, 0)); i0 = min(floor(s), lin-1),
//                  taps i0, min(i0+1, lin-1) with weights 1-l, l (l = clamp(s - i0, 0, 1)).
//   non-AA cubic:  s = scale*j + bias; i = floor(s), l = s - i; taps clamp(i-1+k, 0, lin-1), k < 4,
//                  with Keys cubic-convolution weights (a = cubicA = -0.75).
//   AA (PyTorch antialias=True / PIL): center = scale*(j + 0.5); taps xmin..xmax-1 with
//                  xmin = max(floor(center - support + 0.5), 0), xmax = min(floor(center + support + 0.5), lin),
//                  weight filter((t - center + 0.5) * invscale) / sum of those weights; filter is the
//                  triangle (linear) or Keys cubic with a = cubicA = -0.5.
// Backward: thread at input position t visits the outputs j whose source position scale*j + bias
// is within `radius` of t (a conservative bound) and sums W[j, t] over their taps. With AA the
// per-output normalisers come from a table (NORMS variant: one thread per j writes 1/sum w;
// NORM_TABLE: the backward reads it) instead of re-summing every output's taps per input.
// Lanes: each thread does 4 lanes at one axis position: LANES_O (inner == 1): 4 consecutive rows o;
// else 4 consecutive k (VEC4: inner % 4 == 0, one vec4 load per tap).
#include "common.wgsl"
struct U {
  n: u32, outer: u32, lin: u32, lout: u32, inner: u32, nq: u32,
  scale: f32, bias: f32, support: f32, invscale: f32, cubicA: f32, radius: f32,
}
#if ${VEC4}
alias T = vec4<f32>;
#else
alias T = f32;
#endif
@group(0) @binding(0) var<storage, read> src: array<T>;
#if ${NORM_TABLE}
// AA backward: 1 / (sum of the unnormalised weights) of each output j, from the NORMS variant.
@group(0) @binding(1) var<storage, read> norms: array<f32>;
@group(0) @binding(2) var<storage, read_write> dst: array<T>;
@group(0) @binding(3) var<uniform> u: U;
#elif ${NORMS}
@group(0) @binding(1) var<storage, read_write> dst: array<f32>;
@group(0) @binding(2) var<uniform> u: U;
#else
@group(0) @binding(1) var<storage, read_write> dst: array<T>;
@group(0) @binding(2) var<uniform> u: U;
#endif

fn cubic(xx: f32) -> f32 {
  let a = u.cubicA;
  let x = abs(xx);
  if (x < 1.0) { return ((a + 2.0) * x - (a + 3.0)) * x * x + 1.0; }
  if (x < 2.0) { return (((x - 5.0) * x + 8.0) * x - 4.0) * a; }
  return 0.0;
}

fn filt(x: f32) -> f32 {
#if ${CUBIC}
  return cubic(x);
#else
  return max(0.0, 1.0 - abs(x));
#endif
}

// Taps of output j: first (unclamped) index, count, the fractional part / centre, the normaliser.
struct Taps { lo: i32, cnt: i32, c: f32, norm: f32 }

fn taps(j: u32) -> Taps {
  var tp: Taps;
#if ${AA}
  let center = u.scale * (f32(j) + 0.5);
  let xmin = max(i32(floor(center - u.support + 0.5)), 0);
  let xmax = min(i32(floor(center + u.support + 0.5)), i32(u.lin));
  tp.lo = xmin;
  tp.cnt = xmax - xmin;
  tp.c = center;
#if ${NORM_TABLE}
  tp.norm = norms[j];
#else
  var tot = 0.0;
  for (var k = 0; k < tp.cnt; k++) { tot += filt((f32(xmin + k) - center + 0.5) * u.invscale); }
  tp.norm = select(1.0, 1.0 / tot, tot != 0.0);
#endif
#elif ${CUBIC}
  let s = u.scale * f32(j) + u.bias;
  let i = floor(s);
  tp.lo = i32(i) - 1;
  tp.cnt = 4;
  tp.c = s - i;
  tp.norm = 1.0;
#else
  var s = u.scale * f32(j) + u.bias;
#if ${CLAMP_SRC}
  s = max(s, 0.0);
#endif
  let i0 = min(i32(floor(s)), i32(u.lin) - 1);
  tp.lo = i0;
  tp.cnt = 2;
  tp.c = clamp(s - f32(i0), 0.0, 1.0);
  tp.norm = 1.0;
#endif
  return tp;
}

fn tap_w(tp: Taps, k: i32) -> f32 {
#if ${AA}
  return filt((f32(tp.lo + k) - tp.c + 0.5) * u.invscale) * tp.norm;
#elif ${CUBIC}
  let l = tp.c;
  switch (k) {
    case 0: { return cubic(l + 1.0); }
    case 1: { return cubic(l); }
    case 2: { return cubic(1.0 - l); }
    default: { return cubic(2.0 - l); }
  }
#else
  return select(tp.c, 1.0 - tp.c, k == 0);
#endif
}

fn tap_idx(tp: Taps, k: i32) -> u32 {
  return u32(clamp(tp.lo + k, 0, i32(u.lin) - 1));
}

// 4 lanes of src at axis position p (element bases sb, axis stride st).
fn ld4(sb: vec4<u32>, p: u32, st: u32) -> vec4<f32> {
#if ${VEC4}
  return src[(sb.x + p * st) / 4u];
#else
  let o = p * st;
  return vec4<f32>(src[sb.x + o], src[sb.y + o], src[sb.z + o], src[sb.w + o]);
#endif
}

#if ${NORMS}
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let j = flat_id(gid, nwg, 64u);
  if (j >= u.lout) { return; }
  dst[j] = taps(j).norm;
}
#else
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = flat_id(gid, nwg, 64u);
  if (t >= u.n) { return; }
#if ${BACKWARD}
  let dlen = u.lin;
  let slen = u.lout;
#else
  let dlen = u.lout;
  let slen = u.lin;
#endif
  var sb: vec4<u32>;
  var db: vec4<u32>;
  var nvalid: u32;
  var pos: u32;
  var st: u32;
#if ${LANES_O}
  pos = t % dlen;
  let o0 = (t / dlen) * 4u;
  nvalid = min(4u, u.outer - o0);
  let last = o0 + nvalid - 1u;
  let o = vec4<u32>(o0, min(o0 + 1u, last), min(o0 + 2u, last), min(o0 + 3u, last));
  sb = o * slen;
  db = o * dlen + pos;
  st = 1u;
#else
  let kq = t % u.nq;
  let rest = t / u.nq;
  pos = rest % dlen;
  let ob = rest / dlen;
  let k0 = kq * 4u;
  nvalid = min(4u, u.inner - k0);
  let last = k0 + nvalid - 1u;
  let k = vec4<u32>(k0, min(k0 + 1u, last), min(k0 + 2u, last), min(k0 + 3u, last));
  sb = ob * slen * u.inner + k;
  db = (ob * dlen + pos) * u.inner + k;
  st = u.inner;
#endif
  var acc = vec4<f32>(0.0);
#if ${BACKWARD}
  // outputs j whose source position lies within radius of pos
  var jlo = 0u;
  var jhi = u.lout - 1u;
  if (u.scale > 0.0) {
    let lo = ceil((f32(pos) - u.radius - u.bias) / u.scale);
    let hi = floor((f32(pos) + u.radius - u.bias) / u.scale);
    jlo = u32(clamp(lo, 0.0, f32(u.lout - 1u)));
    jhi = u32(clamp(hi, 0.0, f32(u.lout - 1u)));
    if (hi < 0.0 || lo > f32(u.lout - 1u)) { jhi = 0u; jlo = 1u; }
  }
  for (var j = jlo; j <= jhi; j++) {
    let tp = taps(j);
#if ${AA}
    // AA taps are never clamped: pos is tap pos - lo when in range
    let q = i32(pos) - tp.lo;
    let w = select(0.0, tap_w(tp, q), q >= 0 && q < tp.cnt);
#else
    var w = 0.0;
    for (var q = 0; q < tp.cnt; q++) {
      if (tap_idx(tp, q) == pos) { w += tap_w(tp, q); }
    }
#endif
    if (w != 0.0) { acc += w * ld4(sb, j, st); }
  }
#elif ${AA}
  // one loop: unnormalised weights and their sum, normalised at the end
  let center = u.scale * (f32(pos) + 0.5);
  let xmin = max(i32(floor(center - u.support + 0.5)), 0);
  let xmax = min(i32(floor(center + u.support + 0.5)), i32(u.lin));
  var tot = 0.0;
  for (var q = xmin; q < xmax; q++) {
    let w = filt((f32(q) - center + 0.5) * u.invscale);
    tot += w;
    acc += w * ld4(sb, u32(q), st);
  }
  acc *= select(1.0, 1.0 / tot, tot != 0.0);
#else
  let tp = taps(pos);
  for (var q = 0; q < tp.cnt; q++) {
    acc += tap_w(tp, q) * ld4(sb, tap_idx(tp, q), st);
  }
#endif
#if ${VEC4}
  dst[db.x / 4u] = acc;
#else
  dst[db.x] = acc.x;
  if (nvalid > 1u) { dst[db.y] = acc.y; }
  if (nvalid > 2u) { dst[db.z] = acc.z; }
  if (nvalid > 3u) { dst[db.w] = acc.w; }
#endif
}
#endif
