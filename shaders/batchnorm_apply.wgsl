// BatchNorm2d stage 3, elementwise over [N, C, H, W] with per-channel coef[c] = (A, B, m, C):
//   forward (one input a = x, or the eval-mode backward with a = g):  out = A*(a - m) + C
//   TWO_INPUTS (training backward, a = g, b = x):                      out = A*a + B*(b - m) + C
#include "common.wgsl"

struct U { n: u32, c: u32, hw: u32 }
@group(0) @binding(0) var<storage, read> a: array<f32>;
#if ${TWO_INPUTS}
@group(0) @binding(1) var<storage, read> b: array<f32>;
@group(0) @binding(2) var<storage, read> coef: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@group(0) @binding(4) var<uniform> u: U;
#else
@group(0) @binding(1) var<storage, read> coef: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<uniform> u: U;
#endif

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flat_id(gid, nwg, 64u);
  if (i >= u.n) { return; }
  let k = coef[(i / u.hw) % u.c];
#if ${TWO_INPUTS}
  out[i] = k.x * a[i] + k.y * (b[i] - k.z) + k.w;
#else
  out[i] = k.x * (a[i] - k.z) + k.w;
#endif
}
