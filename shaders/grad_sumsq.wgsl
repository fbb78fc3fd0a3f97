// Stage 1 of the global gradient norm for up to SLOTS tensors per dispatch (src/train/multi-tensor.ts):
// invocation t < threads of slot k writes partials[off_k + t] = Σ_{j ≡ t (mod threads)} g_k[j]²
// (the layout and order of loss_reduce.wgsl's SUMSQ, so the norm is the same to the bit). Stage 2 is
// loss_finish.wgsl. VEC4: every tensor of the dispatch has n % 4 == 0.
#include "common.wgsl"
#include "multi_tensor.wgsl"
struct U { total: vec4<u32>, slots: array<Slot, ${SLOTS}> }
${BINDINGS}

fn sq(x: V) -> vec4<f32> {
#if ${VEC4}
  return x * x;
#else
  return vec4<f32>(x * x, 0.0, 0.0, 0.0);
#endif
}

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flat_id(gid, nwg, 64u);
  if (i >= u.total.x) { return; }
  ${SLOTS_BODY}
}
