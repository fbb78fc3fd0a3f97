// Small strided matmul for arcfaceHead: C[M, N] = Σ_k A(m, k) · B(k, n) with
// A(m, k) = a[m·sam + k·sak], B(k, n) = b[k·sbk + n·sbn] (transposes are strides). Each invocation
// computes a 4×4 block of C in registers (rows/cols past the edge load a clamped, valid index and
// are not stored).
#include "common.wgsl"
struct U { m: u32, n: u32, k: u32, sam: u32, sak: u32, sbk: u32, sbn: u32, bn: u32 }
@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read> b: array<f32>;
@group(0) @binding(2) var<storage, read_write> c: array<f32>;
@group(0) @binding(3) var<uniform> u: U;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = flat_id(gid, nwg, 64u);
  let bm = t / u.bn;
  let bnn = t - bm * u.bn;
  let m0 = bm * 4u;
  let n0 = bnn * 4u;
  if (m0 >= u.m) { return; }
  var ar: vec4<u32>;
  var bc: vec4<u32>;
  for (var i = 0u; i < 4u; i++) {
    ar[i] = min(m0 + i, u.m - 1u) * u.sam;
    bc[i] = min(n0 + i, u.n - 1u) * u.sbn;
  }
  var acc0 = vec4<f32>(0.0);
  var acc1 = vec4<f32>(0.0);
  var acc2 = vec4<f32>(0.0);
  var acc3 = vec4<f32>(0.0);
  for (var kk = 0u; kk < u.k; kk++) {
    let ka = kk * u.sak;
    let kb = kk * u.sbk;
    let bv = vec4<f32>(b[kb + bc.x], b[kb + bc.y], b[kb + bc.z], b[kb + bc.w]);
    acc0 += a[ar.x + ka] * bv;
    acc1 += a[ar.y + ka] * bv;
    acc2 += a[ar.z + ka] * bv;
    acc3 += a[ar.w + ka] * bv;
  }
  let accs = array<vec4<f32>, 4>(acc0, acc1, acc2, acc3);
  for (var i = 0u; i < 4u; i++) {
    let m = m0 + i;
    if (m >= u.m) { break; }
    for (var j = 0u; j < 4u; j++) {
      if (n0 + j < u.n) { c[m * u.n + n0 + j] = accs[i][j]; }
    }
  }
}
