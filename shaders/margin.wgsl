// Combined margin (ArcFace / CosFace / SphereFace) on cosine logits [N, K], one element per
// invocation: for the label column out = s·(cos(m1·θ + m2) - m3), θ = acos(clamp(c, -1+1e-7, 1-1e-7)),
// elsewhere out = s·c. With m1 == 1 the isTarget uses cos(θ + m2) = c·cos m2 - sin θ·sin m2,
// sin θ = sqrt((1 - c)(1 + c)) (no acos, accurate near |c| = 1); otherwise acos_acc.
// Labels are class indices stored as f32; an invalid one (not an integer in [0, K)) makes the row NaN.
// GRAD: dc = g·s for other columns; for the isTarget g·s·m1·sin(m1θ + m2)/sin θ inside the clamp
// range, 0 outside.
#include "common.wgsl"
struct U { n: u32, k: u32, s: f32, m1: f32, m2: f32, m3: f32, cosm2: f32, sinm2: f32 }
@group(0) @binding(0) var<storage, read> c: array<f32>;
@group(0) @binding(1) var<storage, read> labels: array<f32>;
#if ${GRAD}
@group(0) @binding(2) var<storage, read> g: array<f32>;
@group(0) @binding(3) var<storage, read_write> dc: array<f32>;
@group(0) @binding(4) var<uniform> u: U;
#else
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<uniform> u: U;
#endif

// acos in float32 (lavapipe's builtin is ~1e-4 off): Cephes asinf polynomial on |x| <= 0.5
// (rel. error ~2.5e-7) and the half-angle identities beyond.
fn asin_small(x: f32) -> f32 {
  let z = x * x;
  return x + x * z * ((((4.2163199048e-2 * z + 2.4181311049e-2) * z + 4.5470025998e-2) * z + 7.4953002686e-2) * z + 1.6666752422e-1);
}
fn acos_acc(x: f32) -> f32 {
  if (x > 0.5) { return 2.0 * asin_small(sqrt(0.5 * (1.0 - x))); }
  if (x < -0.5) { return 3.14159265358979324 - 2.0 * asin_small(sqrt(0.5 * (1.0 + x))); }
  return 1.57079632679489662 - asin_small(x);
}

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flat_id(gid, nwg, 64u);
  if (i >= u.n * u.k) { return; }
  let r = i / u.k;
  let col = i - r * u.k;
  let lf = labels[r];
  let valid = lf >= 0.0 && lf < f32(u.k) && fract(lf) == 0.0;
  let nan = bitcast<f32>(0x7fc00000u | (u.n & 0u));
  let x = c[i];
  let lo = -1.0 + 1e-7;
  let hi = 1.0 - 1e-7;
  let cc = clamp(x, lo, hi);
  let sinT = sqrt((1.0 - cc) * (1.0 + cc));
  let isTarget = valid && col == u32(lf);
#if ${GRAD}
  var d = u.s;
  if (isTarget) {
    var sinM: f32;
    if (u.m1 == 1.0) {
      sinM = sinT * u.cosm2 + cc * u.sinm2; // sin(θ + m2)
    } else {
      sinM = sin(u.m1 * acos_acc(cc) + u.m2);
    }
    d = select(0.0, u.s * u.m1 * sinM / sinT, x >= lo && x <= hi);
  }
  dc[i] = select(nan, g[i] * d, valid);
#else
  var v = u.s * x;
  if (isTarget) {
    var cosM: f32;
    if (u.m1 == 1.0) {
      cosM = cc * u.cosm2 - sinT * u.sinm2;
    } else {
      cosM = cos(u.m1 * acos_acc(cc) + u.m2);
    }
    v = u.s * (cosM - u.m3);
  }
  out[i] = select(nan, v, valid);
#endif
}
