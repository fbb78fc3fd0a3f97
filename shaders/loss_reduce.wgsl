// Stage 1 of a sum over all elements: partials[off + t] = Σ_{j ≡ t (mod T)} f(a[j], b[j]) for the
// T = u.threads invocations of the dispatch (strided, so neighbouring invocations read neighbouring
// words; no barriers). Stage 2 is loss_finish.wgsl.
// Defines: L1 (|a - b|), MSE ((a - b)²), else SUMSQ (a², b unused: bind a twice); VEC4 (n % 4 == 0).
#include "common.wgsl"
struct U { n: u32, m: u32, threads: u32, off: u32 }
#if ${VEC4}
@group(0) @binding(0) var<storage, read> a: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> b: array<vec4<f32>>;
#else
@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read> b: array<f32>;
#endif
@group(0) @binding(2) var<storage, read_write> partials: array<f32>;
@group(0) @binding(3) var<uniform> u: U;

fn f(x: vec4<f32>, y: vec4<f32>) -> vec4<f32> {
#if ${L1}
  return abs(x - y);
#elif ${MSE}
  let d = x - y;
  return d * d;
#else
  return x * x;
#endif
}

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = flat_id(gid, nwg, 64u);
  if (t >= u.threads) { return; }
  var acc = vec4<f32>(0.0);
#if ${VEC4}
  for (var j = t; j < u.m; j += u.threads) {
#if ${L1}
    acc += f(a[j], b[j]);
#elif ${MSE}
    acc += f(a[j], b[j]);
#else
    acc += f(a[j], a[j]);
#endif
  }
#else
  for (var j = t; j < u.n; j += u.threads) {
#if ${L1}
    acc.x += f(vec4<f32>(a[j]), vec4<f32>(b[j])).x;
#elif ${MSE}
    acc.x += f(vec4<f32>(a[j]), vec4<f32>(b[j])).x;
#else
    acc.x += f(vec4<f32>(a[j]), vec4<f32>(a[j])).x;
#endif
  }
#endif
  partials[u.off + t] = (acc.x + acc.y) + (acc.z + acc.w);
}
