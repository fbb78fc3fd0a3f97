// AdamW step in place (PyTorch semantics) for up to SLOTS tensors per dispatch (src/train/multi-tensor.ts):
// p *= 1 - lr·wd; m = b1·m + (1-b1)·g; v = b2·v + (1-b2)·g²; p -= (lr / bc1) · m / (sqrt(v) / sqrt(bc2) + eps),
// bc_i = 1 - b_i^t. With CLIP, g is first scaled by min(1, maxNorm / (norm + 1e-6)) (clipGradNorm's
// factor, the gradients themselves left as they are). The step t and everything else are uniforms
// (bias corrections computed from each tensor's t in float64 on the CPU: slot.f = (bc1, sqrt(bc2))).
// VEC4: every tensor of the dispatch has n % 4 == 0.
#include "common.wgsl"
#include "multi_tensor.wgsl"
// h = (lr, b1, b2, eps), h2 = (weight decay, maxNorm, -, -), total invocations
struct U { h: vec4<f32>, h2: vec4<f32>, total: vec4<u32>, slots: array<Slot, ${SLOTS}> }
${BINDINGS}

struct R { p: V, m: V, v: V }

fn adamw(p: V, m: V, v: V, g: V, f: vec4<f32>) -> R {
  let pv = p * (1.0 - u.h.x * u.h2.x);
  let mv = m + (1.0 - u.h.y) * (g - m);
  let vv = u.h.z * v + (1.0 - u.h.z) * g * g;
  return R(pv - (u.h.x / f.x) * mv / (sqrt(vv) / f.y + u.h.w), mv, vv);
}

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flat_id(gid, nwg, 64u);
  if (i >= u.total.x) { return; }
#if ${CLIP}
  let c = min(1.0, u.h2.y / (norm[0] + 1e-6));
#endif
  ${SLOTS_BODY}
}
