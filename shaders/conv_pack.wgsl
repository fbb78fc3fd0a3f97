// Repacks a conv weight for vec4 loads over one of its channel axes (zero-filled to a multiple of 4):
//   out[((g*K + kk)*Q + q)*Ppad + p] = p < P ? w[g*sG + q*sQ + p*sP + kk] : 0
// conv forward: p = output channel, q = input channel; transposed gather: p = input, q = output.
#include "common.wgsl"
struct U { n: u32, K: u32, Q: u32, P: u32, Ppad: u32, sG: u32, sQ: u32, sP: u32 }
@group(0) @binding(0) var<storage, read> w: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<uniform> u: U;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flat_id(gid, nwg, 64u);
  if (i >= u.n) { return; }
  let p = i % u.Ppad;
  var t = i / u.Ppad;
  let q = t % u.Q;
  t = t / u.Q;
  let kk = t % u.K;
  let g = t / u.K;
  var v = 0.0;
  if (p < u.P) { v = w[g * u.sG + q * u.sQ + p * u.sP + kk]; }
  out[i] = v;
}
