// out = a (op) b with numpy broadcasting. The op canonicalises the problem first (size-1 dims of the
// output dropped, adjacent dims with the same broadcast pattern on both operands merged).
// Defines: ADD, SUB, MUL, EQ (1 where a == b, else 0), EXPAND (out = a * u.scale, b unused: the
// backward of sum/mean), else div; and the indexing variant:
//   VEC4 (canonical rank <= 3, innermost dim d2 % 4 == 0, n / 4 < 2^24): 4 outputs at a time, see main;
//   SAME (a, b and out have one shape), SCALAR_B / SCALAR_A (that operand has one element),
//   RANK3 (canonical rank <= 3 and n < 2^24: out index split with two float divmods; strides 0 on
//   broadcast dims), else generic (integer division over up to 8 dims).
// Uniform shapes: out shape and the element strides of a and b (0 on broadcast dims), padded to 8.
#include "common.wgsl"
fn op(x: f32, y: f32) -> f32 {
#if ${ADD}
  return x + y;
#elif ${SUB}
  return x - y;
#elif ${MUL}
  return x * y;
#elif ${EQ}
  return select(0.0, 1.0, x == y);
#elif ${EXPAND}
  return x * u.scale;
#else
  return x / y;
#endif
}

struct U { n: u32, rank: u32, scale: f32, shape: array<vec4<u32>, 2>, sa: array<vec4<u32>, 2>, sb: array<vec4<u32>, 2> }

#if ${VEC4}
@group(0) @binding(0) var<storage, read> a: array<${A_T}>;
@group(0) @binding(1) var<storage, read> b: array<${B_T}>;
@group(0) @binding(2) var<storage, read_write> out: array<vec4<f32>>;
@group(0) @binding(3) var<uniform> u: U;

fn op4(x: vec4<f32>, y: vec4<f32>) -> vec4<f32> {
  return vec4<f32>(op(x.x, y.x), op(x.y, y.y), op(x.z, y.z), op(x.w, y.w));
}

// out viewed as [d0, d1, d2 / 4] vec4s (n counts vec4s, u.shape[0].z = d2 / 4; u.rank holds T, the
// invocations of a grid-stride loop): an operand with stride 1 along d2 is read as vec4 (A_T / B_T
// = vec4<f32>, strides in vec4 units), one with stride 0 there is one scalar read, splat.
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  for (var i = flat_id(gid, nwg, 64u); i < u.n; i += u.rank) {
#if ${SAME4}
    // a, b and out of one shape: no index arithmetic.
    out[i] = op4(vec4<f32>(a[i]), vec4<f32>(b[i]));
#else
    let q2 = fdivmod(i, u.shape[0].z);
    let q1 = fdivmod(q2.x, u.shape[0].y);
    let ia = q1.x * u.sa[0].x + q1.y * u.sa[0].y + q2.y * u.sa[0].z;
    let ib = q1.x * u.sb[0].x + q1.y * u.sb[0].y + q2.y * u.sb[0].z;
    out[i] = op4(vec4<f32>(a[ia]), vec4<f32>(b[ib]));
#endif
  }
}
#else
@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read> b: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<uniform> u: U;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flat_id(gid, nwg, 64u);
  if (i >= u.n) { return; }
#if ${SAME}
  out[i] = op(a[i], b[i]);
#elif ${SCALAR_B}
  out[i] = op(a[i], b[0]);
#elif ${SCALAR_A}
  out[i] = op(a[0], b[i]);
#elif ${RANK3}
  // out viewed as [d0, d1, d2]
  let q2 = fdivmod(i, u.shape[0].z);
  let q1 = fdivmod(q2.x, u.shape[0].y);
  let ia = q1.x * u.sa[0].x + q1.y * u.sa[0].y + q2.y * u.sa[0].z;
  let ib = q1.x * u.sb[0].x + q1.y * u.sb[0].y + q2.y * u.sb[0].z;
  out[i] = op(a[ia], b[ib]);
#else
  var rem = i;
  var ia = 0u;
  var ib = 0u;
  for (var d = i32(u.rank) - 1; d >= 0; d--) {
    let dd = u32(d);
    let n = dim8(u.shape, dd);
    let c = rem % n;
    rem = rem / n;
    ia += c * dim8(u.sa, dd);
    ib += c * dim8(u.sb, dd);
  }
  out[i] = op(a[ia], b[ib]);
#endif
}
#endif
