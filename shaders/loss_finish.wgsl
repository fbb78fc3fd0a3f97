// Stage 2 of a sum: out[0] = scale · Σ_{j < n} v[j] (SQRT: its square root). One workgroup of 64
// invocations, each summing a strided slice, then a shared-memory tree (one dispatch per loss, so
// the barriers cost nothing that matters).
struct U { n: u32, scale: f32 }
@group(0) @binding(0) var<storage, read> v: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<uniform> u: U;
var<workgroup> part: array<f32, 64>;

@compute @workgroup_size(64)
fn main(@builtin(local_invocation_index) lid: u32) {
  var acc = 0.0;
  for (var j = lid; j < u.n; j += 64u) { acc += v[j]; }
  part[lid] = acc;
  workgroupBarrier();
  for (var s = 32u; s > 0u; s = s >> 1u) {
    if (lid < s) { part[lid] += part[lid + s]; }
    workgroupBarrier();
  }
  if (lid == 0u) {
#if ${SQRT}
    out[0] = sqrt(part[0] * u.scale);
#else
    out[0] = part[0] * u.scale;
#endif
  }
}
