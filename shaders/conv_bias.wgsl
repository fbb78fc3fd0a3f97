// In-place channel epilogue for the GEMM convolution path (src/runtime/ops/conv-gemm.ts):
// out[n, c, p] += bias[c] (HAS_BIAS), then out = out > 0 ? out : alpha[c] * out (HAS_PRELU: the
// PReLU that follows the conv, fused), for out [N, C, P]. VEC (P % 4 == 0): out bound as vec4 (4
// pixels of one channel per invocation); else one element per invocation. Flat index folded past
// 65,535 workgroups.
#include "common.wgsl"
struct U { total: u32, C: u32, P: u32 }
#if ${HAS_BIAS}
@group(0) @binding(0) var<storage, read> bias: array<f32>;
#endif
#if ${HAS_PRELU}
@group(0) @binding(1) var<storage, read> alpha: array<f32>;
#endif
#if ${VEC}
@group(0) @binding(2) var<storage, read_write> out: array<vec4<f32>>;
#else
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
#endif
@group(0) @binding(3) var<uniform> u: U;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flat_id(gid, nwg, 64u);
  if (i >= u.total) { return; }
  // total counts vec4s (VEC) or elements; P is counted in the same unit.
  let c = (i / u.P) % u.C;
  var y = out[i];
#if ${HAS_BIAS}
  y += bias[c];
#endif
#if ${HAS_PRELU}
#if ${VEC}
  y = select(alpha[c] * y, y, y > vec4<f32>(0.0));
#else
  y = select(alpha[c] * y, y, y > 0.0);
#endif
#endif
  out[i] = y;
}
