// Sum (times SCALE, so mean too) or max over any set of axes. The op canonicalises the problem first
// (size-1 dims dropped, adjacent dims with the same role merged), so most calls are one of
// [A, C, B] -> C (A and B reduced; A = 1: rows, B = 1: columns).
// Defines: MAX (else sum), and the variant:
//   ACB: out[s, c] reduces x[a, c, b] over the flat range r = a*B + b in [s*chunk, min(R, (s+1)*chunk))
//     with no per-element index decomposition (runs along b, one jump per row of a); lanes are
//     consecutive c. With splits > 1 the partials [splits, C] are reduced by a second pass (the op).
//   COLS: ACB with B = 1 (lanes read consecutive addresses, one stride of C per step).
//   PER_THREAD (generic): each output element o owns base(o) + off(r), r < R, base decomposing o over
//     the kept dims and off decomposing r over the reduced dims; one thread per (output, split),
//     partials [nOut, splits].
//   else (tree, for GPUs): generic indexing, one 64-thread workgroup per output, shared-memory tree.
#include "common.wgsl"
#if ${ACB}
struct U { c: u32, r: u32, b: u32, cb: u32, scale: f32, chunk: u32, splits: u32 }
#elif ${COLS}
struct U { c: u32, r: u32, b: u32, cb: u32, scale: f32, chunk: u32, splits: u32 }
#else
struct U {
  nOut: u32, r: u32, rank: u32, scale: f32, chunk: u32, splits: u32,
  keptShape: array<vec4<u32>, 2>, keptStride: array<vec4<u32>, 2>,
  redShape: array<vec4<u32>, 2>, redStride: array<vec4<u32>, 2>,
}
#endif
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<uniform> u: U;

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

#if ${ACB}
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = flat_id(gid, nwg, 64u);
  if (t >= u.c * u.splits) { return; }
  let s = t / u.c;
  let c = t - s * u.c;
  let r0 = s * u.chunk;
  let r1 = min(u.r, r0 + u.chunk);
  let a = r0 / u.b;
  var bb = r0 - a * u.b;
  var p = a * u.cb + c * u.b + bb;
  let jump = u.cb - u.b;
  var acc = identity();
  var r = r0;
  while (r < r1) {
    let n = min(u.b - bb, r1 - r);
    for (var k = 0u; k < n; k++) { acc = combine(acc, x[p + k]); }
    r += n;
    p += n + jump;
    bb = 0u;
  }
  out[t] = finish(acc);
}
#elif ${COLS}
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = flat_id(gid, nwg, 64u);
  if (t >= u.c * u.splits) { return; }
  let s = t / u.c;
  let c = t - s * u.c;
  let r0 = s * u.chunk;
  let r1 = min(u.r, r0 + u.chunk);
  var p = r0 * u.c + c;
  var acc = identity();
  for (var r = r0; r < r1; r++) {
    acc = combine(acc, x[p]);
    p += u.c;
  }
  out[t] = finish(acc);
}
#else
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
#endif
