// Sum (times SCALE, so mean too) or max over any set of axes.
// Each output element o owns the input elements base(o) + off(r), r < R, where base decomposes o
// over the kept dims and off decomposes r over the reduced dims (both with the input's strides).
// Defines: MAX (else sum), PER_THREAD (one thread per (output, split): it reduces r in
// [s*chunk, min(R, (s+1)*chunk)) with no barriers (fast on lavapipe); with splits > 1 the partials
// [nOut, splits] are reduced by a second pass), else one 64-thread workgroup per output with a
// shared-memory tree (for GPUs).
#include "common.wgsl"
struct U {
  nOut: u32, r: u32, rank: u32, scale: f32, chunk: u32, splits: u32,
  keptShape: array<vec4<u32>, 2>, keptStride: array<vec4<u32>, 2>,
  redShape: array<vec4<u32>, 2>, redStride: array<vec4<u32>, 2>,
}
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<uniform> u: U;

fn base_of(o: u32) -> u32 {
  var rem = o;
  var off = 0u;
  for (var d = i32(u.rank) - 1; d >= 0; d--) {
    let n = dim8(u.keptShape, u32(d));
    off += (rem % n) * dim8(u.keptStride, u32(d));
    rem = rem / n;
  }
  return off;
}

fn off_of(r: u32) -> u32 {
  var rem = r;
  var off = 0u;
  for (var d = i32(u.rank) - 1; d >= 0; d--) {
    let n = dim8(u.redShape, u32(d));
    off += (rem % n) * dim8(u.redStride, u32(d));
    rem = rem / n;
  }
  return off;
}

fn combine(a: f32, b: f32) -> f32 {
#if ${MAX}
  return max(a, b);
#else
  return a + b;
#endif
}

fn identity() -> f32 {
#if ${MAX}
  return -3.4028234663852886e38;
#else
  return 0.0;
#endif
}

fn finish(v: f32) -> f32 {
#if ${MAX}
  return v;
#else
  return v * u.scale;
#endif
}

#if ${PER_THREAD}
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = flat_id(gid, nwg, 64u);
  if (t >= u.nOut * u.splits) { return; }
  let o = t / u.splits;
  let s = t % u.splits;
  let b = base_of(o);
  var acc = identity();
  let r1 = min(u.r, (s + 1u) * u.chunk);
  for (var r = s * u.chunk; r < r1; r++) { acc = combine(acc, x[b + off_of(r)]); }
  out[t] = finish(acc);
}
#else
var<workgroup> part: array<f32, 64>;
@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32, @builtin(num_workgroups) nwg: vec3<u32>) {
  let o = flat_group(wid, nwg);
  // o is uniform across the workgroup, so every thread reaches the barriers below.
  let live = o < u.nOut;
  var acc = identity();
  if (live) {
    let b = base_of(o);
    for (var r = lid; r < u.r; r += 64u) { acc = combine(acc, x[b + off_of(r)]); }
  }
  part[lid] = acc;
  workgroupBarrier();
  for (var s = 32u; s > 0u; s = s >> 1u) {
    if (lid < s) { part[lid] = combine(part[lid], part[lid + s]); }
    workgroupBarrier();
  }
  if (live && lid == 0u) { out[o] = finish(part[0]); }
}
#endif
