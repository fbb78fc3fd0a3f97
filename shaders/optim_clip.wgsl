// Gradient clipping in place for up to SLOTS tensors per dispatch (src/train/multi-tensor.ts):
// g *= min(1, maxNorm / (norm[0] + 1e-6)), norm computed on the GPU (grad_sumsq.wgsl partials +
// loss_finish.wgsl SQRT); no readback. VEC4: every tensor of the dispatch has n % 4 == 0.
#include "common.wgsl"
#include "multi_tensor.wgsl"
// h = (maxNorm, -, -, -), total invocations
struct U { h: vec4<f32>, total: vec4<u32>, slots: array<Slot, ${SLOTS}> }
${BINDINGS}

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flat_id(gid, nwg, 64u);
  if (i >= u.total.x) { return; }
  let c = min(1.0, u.h.x / (norm[0] + 1e-6));
  ${SLOTS_BODY}
}
