// Peak-FMA probe (bench/lib/peak.ts): each invocation runs independent chains of vec4 FMAs,
//   a_j = fma(a_j, b, c)   for j < NACC accumulators, UNROLL times per loop trip, u.iters trips,
// and writes the sum of its accumulators so the compiler cannot drop the work. 8 FLOPs per vec4
// FMA. The trip count is a uniform (not a define), so the chain cannot be folded at compile time.
// Defines: WG (threads per workgroup), UNROLL (FMAs per accumulator per trip, a constant-bound
// inner loop the compiler unrolls), ACC4 / ACC8 (use 4 / 8 accumulators instead of 2).
#include "common.wgsl"
struct U { iters: u32, n: u32, pad0: u32, pad1: u32, b: vec4<f32>, c: vec4<f32> }
@group(0) @binding(0) var<storage, read_write> out: array<f32>;
@group(0) @binding(1) var<uniform> u: U;

@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flat_id(gid, nwg, ${WG}u);
  // Start values differ per invocation and per accumulator (peak.ts cpuPeakFma mirrors this).
  let x = f32(i % 1024u) * 0.0009765625;
  let b = u.b;
  let c = u.c;
  var a0 = vec4<f32>(x, x + 0.125, x + 0.25, x + 0.375);
  var a1 = a0 + vec4<f32>(0.5);
#if ${ACC4}
  var a2 = a0 + vec4<f32>(1.0);
  var a3 = a0 + vec4<f32>(1.5);
#endif
#if ${ACC8}
  var a4 = a0 + vec4<f32>(2.0);
  var a5 = a0 + vec4<f32>(2.5);
  var a6 = a0 + vec4<f32>(3.0);
  var a7 = a0 + vec4<f32>(3.5);
#endif
  for (var k = 0u; k < u.iters; k++) {
    for (var r = 0u; r < ${UNROLL}u; r++) {
      a0 = fma(a0, b, c);
      a1 = fma(a1, b, c);
#if ${ACC4}
      a2 = fma(a2, b, c);
      a3 = fma(a3, b, c);
#endif
#if ${ACC8}
      a4 = fma(a4, b, c);
      a5 = fma(a5, b, c);
      a6 = fma(a6, b, c);
      a7 = fma(a7, b, c);
#endif
    }
  }
  var s = a0 + a1;
#if ${ACC4}
  s += a2 + a3;
#endif
#if ${ACC8}
  s += (a4 + a5) + (a6 + a7);
#endif
  if (i < u.n) { out[i] = (s.x + s.y) + (s.z + s.w); }
}
