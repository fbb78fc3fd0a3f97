// Elementwise affine map: out = alpha * x + beta. IN_PLACE: x is updated in place.
// ACCUMULATE: out += alpha * x + beta (in-place gradient accumulation).
// T: f32, or vec4<f32> when the element count is a multiple of 4 (n then counts vec4s: a quarter of
// the invocations and a quarter of the bounds-checked accesses on a CPU adapter).
#include "common.wgsl"
struct U { n: u32, alpha: f32, beta: f32 }
#if ${IN_PLACE}
@group(0) @binding(0) var<storage, read_write> out: array<${T}>;
@group(0) @binding(1) var<uniform> u: U;
#else
@group(0) @binding(0) var<storage, read> x: array<${T}>;
@group(0) @binding(1) var<storage, read_write> out: array<${T}>;
@group(0) @binding(2) var<uniform> u: U;
#endif

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flat_id(gid, nwg, 64u);
  if (i >= u.n) { return; }
#if ${IN_PLACE}
  out[i] = u.alpha * out[i] + u.beta;
#elif ${ACCUMULATE}
  out[i] = out[i] + u.alpha * x[i] + u.beta;
#else
  out[i] = u.alpha * x[i] + u.beta;
#endif
}
