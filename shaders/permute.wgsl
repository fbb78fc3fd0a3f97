// Strided gather: out[i] = x[base + sum_d c_d(i) * st[d]], where c(i) are the coordinates of i in
// `shape` (row-major, rank <= 8). permute uses it with st = the input strides taken in output
// order (base 0); slice with st = the input strides and base = the offset of `begin`.
// Defines: RANK (rank of the collapsed problem; constant loop bounds). TRANSPOSE4: the two innermost
// input dims [R, C] (multiples of 4) end the output swapped, [..., C, R]: each thread moves one 4x4
// block with four vec4 loads and four vec4 stores (no shared memory). Otherwise each thread copies
// 4 consecutive outputs, stepping along the last two output dims without re-decomposing the index.
#include "common.wgsl"
struct U {
  n: u32, orank: u32, r4: u32, c4: u32,
  shape: array<vec4<u32>, 2>, st: array<vec4<u32>, 2>, base: u32,
}
#if ${TRANSPOSE4}
@group(0) @binding(0) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read_write> out: array<vec4<f32>>;
#else
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
#endif
@group(0) @binding(2) var<uniform> u: U;

// Offset of flat index i over the first `rank` dims of (shape, st). RANK (a define, the rank of the
// collapsed problem) makes the loop trip count constant, so it unrolls with constant indices.
fn offset_of(i: u32) -> u32 {
  var rem = i;
  var off = u.base;
  for (var d = ${RANK} - 1; d >= 0; d--) {
    let n = dim8(u.shape, u32(d));
    off += (rem % n) * dim8(u.st, u32(d));
    rem = rem / n;
  }
  return off;
}

#if ${TRANSPOSE4}
// out[o, c, r] = x[in(o) + r * C + c] with the innermost input dims [R, C] (multiples of 4)
// swapped at the end of the output; the outer output dims o (RANK of them, shape/st) are any
// permutation of the other input dims. One thread = one 4x4 block.
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = flat_id(gid, nwg, 64u);
  if (t >= u.n) { return; }
  let cq = t % u.c4;
  let rest = t / u.c4;
  let rq = rest % u.r4;
  let o = rest / u.r4;
  let ib = offset_of(o) / 4u + 4u * rq * u.c4 + cq;
  let v0 = x[ib];
  let v1 = x[ib + u.c4];
  let v2 = x[ib + 2u * u.c4];
  let v3 = x[ib + 3u * u.c4];
  let ob = (o * 4u * u.c4 + 4u * cq) * u.r4 + rq;
  out[ob] = vec4<f32>(v0.x, v1.x, v2.x, v3.x);
  out[ob + u.r4] = vec4<f32>(v0.y, v1.y, v2.y, v3.y);
  out[ob + 2u * u.r4] = vec4<f32>(v0.z, v1.z, v2.z, v3.z);
  out[ob + 3u * u.r4] = vec4<f32>(v0.w, v1.w, v2.w, v3.w);
}
#else
// Each thread copies 4 consecutive outputs, carrying along the last two dims incrementally.
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i0 = flat_id(gid, nwg, 64u) * 4u;
  if (i0 >= u.n) { return; }
  let last = u32(${RANK}) - 1u;
  let len = dim8(u.shape, last);
  let s = dim8(u.st, last);
  let prev = max(last, 1u) - 1u;
  let len2 = select(1u, dim8(u.shape, prev), last > 0u);
  let s2 = dim8(u.st, prev);
  var c = i0 % len;
  var c2 = (i0 / len) % len2;
  var off = offset_of(i0);
  out[i0] = x[off];
  for (var k = 1u; k < 4u; k++) {
    let i = i0 + k;
    if (i >= u.n) { break; }
    c += 1u;
    if (c < len) {
      off += s;
    } else {
      c = 0u;
      c2 += 1u;
      if (c2 < len2) {
        off = off + s2 - (len - 1u) * s;
      } else {
        c2 = 0u;
        off = offset_of(i);
      }
    }
    out[i] = x[off];
  }
}
#endif
