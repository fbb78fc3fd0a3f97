// concatChannelsLast: up to 4 NCHW pieces joined along C and written channels-last, and its backward
// (src/runtime/ops/layout.ts). Piece k holds channels [s_k, e_k) with e = u.ends (e_3 = C); p = h·W + w.
//   forward:   out[b, p, c] = x_k[b, c - s_k, p]     one thread per output element (NHWC order)
//   BACKWARD:  g_k[b, c - s_k, p] = g[b, p, c]       one thread per piece element (NCHW order)
// P2, P3, P4: at least 2, 3, 4 pieces (the bindings that exist); NP pieces, NP1 = NP + 1 (bindings). FDIV (fewer than 2^24 elements): the
// index is split with float divisions (fdivmod: a CPU adapter divides integers one lane at a time).
#include "common.wgsl"
struct U { n: u32, hw: u32, c: u32, pad: u32, ends: vec4<u32> }
#if ${BACKWARD}
@group(0) @binding(0) var<storage, read> g: array<f32>;
@group(0) @binding(1) var<storage, read_write> g0: array<f32>;
#if ${P2}
@group(0) @binding(2) var<storage, read_write> g1: array<f32>;
#endif
#if ${P3}
@group(0) @binding(3) var<storage, read_write> g2: array<f32>;
#endif
#if ${P4}
@group(0) @binding(4) var<storage, read_write> g3: array<f32>;
#endif
#else
@group(0) @binding(0) var<storage, read> x0: array<f32>;
#if ${P2}
@group(0) @binding(1) var<storage, read> x1: array<f32>;
#endif
#if ${P3}
@group(0) @binding(2) var<storage, read> x2: array<f32>;
#endif
#if ${P4}
@group(0) @binding(3) var<storage, read> x3: array<f32>;
#endif
@group(0) @binding(${NP}) var<storage, read_write> out: array<f32>;
#endif
@group(0) @binding(${NP1}) var<uniform> u: U;

fn split2(i: u32, d: u32) -> vec2<u32> {
#if ${FDIV}
  return fdivmod(i, d);
#else
  return vec2<u32>(i / d, i % d);
#endif
}

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flat_id(gid, nwg, 64u);
  if (i >= u.n) { return; }
#if ${BACKWARD}
  let qp = split2(i, u.hw);
  let qc = split2(qp.x, u.c);
  let p = qp.y;
  let c = qc.y;
  let b = qc.x;
#else
  let qc = split2(i, u.c);
  let qp = split2(qc.x, u.hw);
  let c = qc.y;
  let p = qp.y;
  let b = qp.x;
#endif
  // The piece of channel c, its first channel s and its width.
  let k = u32(c >= u.ends.x) + u32(c >= u.ends.y) + u32(c >= u.ends.z);
  let s = select(0u, u.ends[max(k, 1u) - 1u], k > 0u);
  let w = u.ends[k] - s;
  let j = (b * w + c - s) * u.hw + p;
#if ${BACKWARD}
  let v = g[(b * u.hw + p) * u.c + c];
  switch (k) {
    case 0u: { g0[j] = v; }
#if ${P2}
    case 1u: { g1[j] = v; }
#endif
#if ${P3}
    case 2u: { g2[j] = v; }
#endif
#if ${P4}
    case 3u: { g3[j] = v; }
#endif
    default: {}
  }
#else
  var v = 0.0;
  switch (k) {
    case 0u: { v = x0[j]; }
#if ${P2}
    case 1u: { v = x1[j]; }
#endif
#if ${P3}
    case 2u: { v = x2[j]; }
#endif
#if ${P4}
    case 3u: { v = x3[j]; }
#endif
    default: {}
  }
  out[i] = v;
#endif
}
