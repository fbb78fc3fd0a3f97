// SGD step in place (PyTorch semantics, dampening 0) for up to SLOTS tensors per dispatch
// (src/train/multi-tensor.ts): d = g + wd·p; with MOMENTUM buf = first ? d : momentum·buf + d,
// d = nesterov ? d + momentum·buf : buf; then p -= lr·d. lr, momentum, wd and the flags are uniforms
// (changing lr recompiles nothing); first is per tensor (slot.size.w). VEC4: every tensor of the
// dispatch has n % 4 == 0.
#include "common.wgsl"
#include "multi_tensor.wgsl"
// h = (lr, momentum, wd, -), flags = (total invocations, nesterov, -, -)
struct U { h: vec4<f32>, flags: vec4<u32>, slots: array<Slot, ${SLOTS}> }
${BINDINGS}

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flat_id(gid, nwg, 64u);
  if (i >= u.flags.x) { return; }
  ${SLOTS_BODY}
}
